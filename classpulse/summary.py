"""Turn finished track records into per-face results, the 1 s timeline and the audience summary.

Pure functions of numbers: no video, no models, no files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy.signal import find_peaks

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.readability import READABLE, REASONS, UNREADABLE
from classpulse.insights.affect import POLARITY_GROUPS, valence_arousal
from classpulse.insights.attention import ATTENDING, NOT_JUDGED, attention_codes
from classpulse.insights.build import build_insights, face_insights
from classpulse.insights.seconds import FaceSeconds
from classpulse.options import AnalysisOptions
from classpulse.policy import Policy
from classpulse.pulse.heart_rate import HeartRateWindow
from classpulse.pulse.stress import MIN_ACCEPTED_WINDOWS, baseline_bpm, stress_flags
from classpulse.pulse.tracking import track_quality_gate_db, track_series
from classpulse.results import (
    AnalysisResult,
    Audience,
    Confidence,
    EmotionSample,
    Face,
    FaceLabel,
    FaceRow,
    MinuteShare,
    Models,
    Moment,
    MomentKind,
    MomentRule,
    Privacy,
    Processing,
    Pulse,
    PulsePoint,
    SecondCounts,
    Session,
    Summary,
    TimelineSecond,
    Video,
)
from classpulse.track_record import TrackRecord
from classpulse.video.probe import VideoInfo

SMOOTH_S = 1.5
NEGATIVE = POLARITY_GROUPS["negative"]
MOMENT_MIN_SHARE = 0.4
MOMENT_MIN_SEPARATION_S = 10
MAX_MOMENTS = 6
MOMENT_SMOOTHING_S = 3
# Decoding that ends this much before the container's declared duration stopped early (a truncated or
# corrupt file). Intact files on the shared clips end within 0.04 s of it (or run past it).
TRUNCATION_TOLERANCE_S = 0.5
TRUNCATION_TOLERANCE_FRAMES = 3
#: The timeline label of a face whose expression could have been read, when no expression is inferred
#: (policy no-emotion): facing the camera, large and sharp enough (`classpulse.faces.readability`).
READABLE_LABEL = "readable"

#: What timeline.json holds under each policy (summary.json's `privacy.timeline`, the README and the report).
TIMELINE_MEANING: dict[Policy, str] = {
    Policy.FULL: (
        "[t, [[face_id, label], ...]]: the faces visible at second t, by their number in summary.json and "
        "faces.csv, with their expression (one of the seven labels, or 'unreadable')"
    ),
    Policy.AGGREGATE: (
        "[t, [[n, label], ...]]: the faces visible at second t with their expression, sorted by label and "
        "numbered 1..n within that second only: n is not a face number, and nobody can be followed from one "
        "second to the next"
    ),
    Policy.NO_EMOTION: (
        "[t, [[n, label], ...]]: the faces visible at second t, labelled 'readable' (facing the camera, "
        "large and sharp enough) or 'unreadable', sorted by label and numbered 1..n within that second "
        "only; no expression was inferred"
    ),
}


def truncation_warning(declared_s: float, decoded_s: float, fps: float) -> str | None:
    """A one-line warning when decoding stopped well before `declared_s` (seconds), else None."""
    tolerance = max(TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_FRAMES / fps)
    if decoded_s >= declared_s - tolerance:
        return None
    return (
        f"decoding stopped at {decoded_s:.1f} s of the {declared_s:.1f} s the file declares (truncated or "
        "corrupt file): this report covers only the part that could be decoded"
    )


def smooth_probabilities(
    times: np.ndarray, probs: np.ndarray, window_s: float = SMOOTH_S, readable: np.ndarray | None = None
) -> np.ndarray:
    """Centred moving average of probs (m, 7) over samples within ±window_s/2 of each time (m,) seconds.

    Only `readable` (m,) bool samples (all when None) enter an average, so an unreadable sample's
    probabilities never reach its neighbours; its own row comes back NaN.
    """
    if len(times) == 0:
        return probs
    ok = np.ones(len(times), dtype=bool) if readable is None else np.asarray(readable, dtype=bool)
    values = np.where(ok[:, None], probs, 0.0)
    csum = np.vstack([np.zeros((1, probs.shape[1])), np.cumsum(values, axis=0)])
    count = np.concatenate([[0], np.cumsum(ok)])
    lo = np.searchsorted(times, times - window_s / 2, side="left")
    hi = np.searchsorted(times, times + window_s / 2, side="right")
    smoothed = (csum[hi] - csum[lo]) / np.maximum(count[hi] - count[lo], 1)[:, None]
    smoothed[~ok] = np.nan
    return smoothed


def _round(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


class _Face:
    """One person's merged tracklets, sorted in time, with lookups by timeline second."""

    def __init__(self, face_id: int, records: list[TrackRecord], fps: float):
        records = sorted(records, key=lambda r: r.first_s)
        self.face_id = face_id
        self.frame_times = np.concatenate([r.frame_times for r in records])
        self.boxes = np.concatenate([r.boxes for r in records])
        self.emotion_times = np.concatenate([r.emotion_times for r in records])
        self.reason = np.concatenate([r.emotion_reason for r in records])
        self.readable = self.reason == READABLE
        self.probs = np.concatenate(
            [
                smooth_probabilities(r.emotion_times, r.emotion_probs, readable=r.emotion_readable)
                for r in records
            ]
        )
        self.pulse = [w for r in records for w in r.pulse]
        self.half_frame = 0.5 / fps
        self.fps = fps

    def visible_at(self, t: float) -> bool:
        i = np.searchsorted(self.frame_times, t - self.half_frame)
        return bool(i < len(self.frame_times) and self.frame_times[i] <= t + self.half_frame)

    def nearest_sample(self, t: float) -> int | None:
        """Index of the emotion sample (readability and, when inferred, probabilities) nearest to `t`."""
        if not len(self.emotion_times):
            return None
        i = int(np.searchsorted(self.emotion_times, t))
        near = [j for j in (i - 1, i) if 0 <= j < len(self.emotion_times)]
        return min(near, key=lambda j: abs(self.emotion_times[j] - t))

    def seconds(self, n_seconds: int) -> FaceSeconds:
        """This face at each second 0..n_seconds-1, from the sample nearest to it while visible."""
        present = np.zeros(n_seconds, bool)
        codes = np.full(n_seconds, NOT_JUDGED, np.int8)
        probs = np.full((n_seconds, len(EMOTION_LABELS)), np.nan)
        sample_codes = attention_codes(self.reason)
        for t in range(n_seconds):
            i = self.nearest_sample(t) if self.visible_at(t) else None
            if i is not None:
                present[t], codes[t], probs[t] = True, sample_codes[i], self.probs[i]
        return FaceSeconds(self.face_id, present, codes, probs)

    def probs_at(self, t: float) -> np.ndarray | None:
        """Smoothed probabilities (7,) of the emotion sample nearest to `t` (NaN if that sample was not
        readable), None if there is none."""
        i = self.nearest_sample(t)
        return None if i is None else self.probs[i]


def pulse_summary(series: list[HeartRateWindow]) -> tuple[Pulse, list[HeartRateWindow]]:
    """One face's `heart_rate_series` windows (all its tracklets) -> (its `Pulse`, the final windows after
    tracking, sorted by t).

    The windows are tracked (`classpulse.pulse.tracking.track_series`); the mean, baseline and rise flags
    use only the reported windows, and only when there are at least MIN_ACCEPTED_WINDOWS of them.
    """
    tracked = track_series(series)
    windows, estimate = tracked.windows, tracked.estimate
    accepted = [w.bpm for w in windows if w.bpm is not None]
    enough = len(accepted) >= MIN_ACCEPTED_WINDOWS
    flags = stress_flags(windows) if enough else [None] * len(windows)
    pulse = Pulse(
        mean_bpm=_round(float(np.mean(accepted)), 1) if enough else None,
        baseline_bpm=_round(baseline_bpm(windows), 1) if enough else None,
        accepted_windows=len(accepted),
        track_bpm=_round(estimate.bpm, 1),
        track_quality_db=_round(estimate.quality_db, 2),
        track_min_quality_db=(
            _round(track_quality_gate_db(estimate.windows), 2) if estimate.quality_db is not None else None
        ),
        track_windows=estimate.windows,
        series=tuple(
            PulsePoint(_round(w.t, 2), _round(w.bpm, 1), _round(w.quality_db, 2), w.reason, f, _round(c, 3))
            for w, f, c in zip(windows, flags, tracked.confidence, strict=True)
        ),
    )
    return pulse, windows


def _face_summary(face: _Face, seconds: list[int], per_second: FaceSeconds) -> tuple[Face, list[FaceRow]]:
    """Shares, dominant expression and confidence count readable samples only; a second whose nearest
    sample was unreadable is labelled UNREADABLE, with no confidence and no probabilities."""
    readable_probs = face.probs[face.readable]
    labels, conf = readable_probs.argmax(1), readable_probs.max(1)
    counts = np.bincount(labels, minlength=len(EMOTION_LABELS)) / max(len(labels), 1)
    pulse, windows = pulse_summary(face.pulse)
    pulse_by_t = {round(w.t): w for w in windows}
    reasons = np.bincount(face.reason, minlength=len(REASONS)) / max(len(face.reason), 1)
    attention, affect, engagement = face_insights(per_second, expressions=True)
    emotions, rows = [], []
    for t in seconds:
        p = face.probs_at(t)
        if p is None:
            continue
        readable = bool(np.isfinite(p).all())
        label = EMOTION_LABELS[int(p.argmax())] if readable else UNREADABLE
        emotions.append(EmotionSample(t, label, round(float(p.max()), 4) if readable else None))
        w = pulse_by_t.get(t)
        code = per_second.attention[t] if t < len(per_second.attention) else NOT_JUDGED
        valence, arousal = valence_arousal(p) if readable else (None, None)
        rows.append(
            FaceRow(
                t,
                face.face_id,
                label,
                tuple(np.round(p, 4).tolist() if readable else [None] * len(EMOTION_LABELS)),
                _round(w.bpm, 1) if w else None,
                _round(w.quality_db, 2) if w else None,
                None if code == NOT_JUDGED else bool(code == ATTENDING),
                _round(valence),
                _round(arousal),
            )
        )
    summary = Face(
        face_id=face.face_id,
        box=tuple(np.round(np.median(face.boxes, axis=0), 1).tolist()),
        first_s=_round(face.frame_times[0], 2),
        last_s=_round(face.frame_times[-1], 2),
        visible_s=_round(len(face.frame_times) / face.fps, 2),
        dominant_emotion=EMOTION_LABELS[int(counts.argmax())] if len(labels) else None,
        emotion_share={label: round(float(c), 4) for label, c in zip(EMOTION_LABELS, counts, strict=True)},
        unreadable_share=round(float(reasons[1:].sum()), 4),
        unreadable_reasons={
            reason: round(float(share), 4) for reason, share in zip(REASONS[1:], reasons[1:], strict=True)
        },
        confidence=Confidence(
            *(_round(stat(conf)) if len(conf) else None for stat in (np.min, np.mean, np.median))
        ),
        emotions=tuple(emotions),
        pulse=pulse,
        attention=attention,
        affect=affect,
        engagement=engagement,
    )
    return summary, rows


def _moments(per_second: list[SecondCounts], faces_per_second: np.ndarray) -> list[Moment]:
    """Peaks in the share of negative expressions and of surprise, at least 10 s apart, among the
    `faces_per_second` (t,) faces whose expression could be read."""
    if not per_second:
        return []
    counts = np.array([[c[label] for label in EMOTION_LABELS] for _, c in per_second], dtype=float)
    total = np.maximum(faces_per_second, 1)
    kernel = np.ones(MOMENT_SMOOTHING_S) / MOMENT_SMOOTHING_S
    moments = []
    for kind, labels in ((MomentKind.NEGATIVE_PEAK, NEGATIVE), (MomentKind.SURPRISE_PEAK, ("surprise",))):
        share = counts[:, [EMOTION_LABELS.index(x) for x in labels]].sum(1) / total
        smooth = np.convolve(share, kernel, mode="same") if len(share) >= MOMENT_SMOOTHING_S else share
        peaks, _ = find_peaks(
            np.concatenate([[0], smooth, [0]]), height=MOMENT_MIN_SHARE, distance=MOMENT_MIN_SEPARATION_S
        )
        for p in peaks - 1:
            if faces_per_second[p] > 0:
                moments.append(
                    Moment(
                        t=float(per_second[p].t),
                        kind=kind,
                        share=round(float(smooth[p]), 3),
                        faces=int(faces_per_second[p]),
                    )
                )
    moments.sort(key=lambda m: -m.share)
    return sorted(moments[:MAX_MOMENTS], key=lambda m: m.t)


def _shares(labels: list[str]) -> tuple[dict[str, float], float]:
    """Labels of face-seconds -> (share of each expression among the readable ones, share unreadable)."""
    readable = [label for label in labels if label != UNREADABLE]
    n = max(len(readable), 1)
    share = {label: round(readable.count(label) / n, 4) for label in EMOTION_LABELS}
    return share, round((len(labels) - len(readable)) / max(len(labels), 1), 4)


def audience_summary(timeline: Sequence[TimelineSecond], *, expressions: bool = True) -> Audience:
    """Per-second counts (the seven labels and UNREADABLE), per-minute and overall shares of readable
    face-time with the share not readable beside them, and notable moments among the readable faces.

    Without `expressions` (a presence timeline, labelled READABLE_LABEL or UNREADABLE) the counts are of
    those two labels, the shares empty and there are no moments. `timeline` must carry real face ids
    (`faces_seen` and each minute's `faces` count distinct ones)."""
    labels = EMOTION_LABELS if expressions else (READABLE_LABEL,)
    per_second = [
        SecondCounts(t, {label: sum(1 for _, e in entries if e == label) for label in (*labels, UNREADABLE)})
        for t, entries in timeline
    ]
    readable_per_second = np.array([sum(1 for _, e in entries if e != UNREADABLE) for _, entries in timeline])
    minutes: dict[int, list] = defaultdict(list)
    for t, entries in timeline:
        minutes[int(t // 60)].extend(entries)
    per_minute = []
    for minute in sorted(minutes):
        entries = minutes[minute]
        share, unreadable = _shares([e for _, e in entries])
        if not expressions:
            share = {}
        per_minute.append(
            MinuteShare(
                minute=minute,
                start_s=minute * 60,
                end_s=(minute + 1) * 60,
                faces=len({fid for fid, _ in entries}),
                share=share,
                unreadable_share=unreadable,
            )
        )
    overall, unreadable = _shares([e for _, entries in timeline for _, e in entries])
    return Audience(
        faces_seen=len({fid for _, entries in timeline for fid, _ in entries}),
        per_minute=tuple(per_minute),
        per_second=tuple(per_second),
        overall_share=overall if expressions else {},
        unreadable_share=unreadable,
        moments=tuple(_moments(per_second, readable_per_second)) if expressions else (),
        moment_rule=MomentRule(
            negative=NEGATIVE,
            min_share=MOMENT_MIN_SHARE,
            smoothing_s=MOMENT_SMOOTHING_S,
            min_separation_s=MOMENT_MIN_SEPARATION_S,
            max_moments=MAX_MOMENTS,
        )
        if expressions
        else None,
    )


def timeline_of(faces: Sequence[Face], seconds: Sequence[int]) -> list[TimelineSecond]:
    """Each second's visible faces with their expression, from the faces' per-second samples."""
    by_second: dict[int, list[FaceLabel]] = defaultdict(list)
    for face in faces:
        for t, label, _ in face.emotions:
            by_second[t].append(FaceLabel(face.face_id, label))
    return [TimelineSecond(t, tuple(by_second.get(t, []))) for t in seconds]


def presence_timeline(faces: Sequence[_Face], seconds: Sequence[int]) -> list[TimelineSecond]:
    """Each second's visible faces, labelled READABLE_LABEL or UNREADABLE by their nearest sample's
    readability (policy no-emotion: nothing else is known about them)."""
    by_second: dict[int, list[FaceLabel]] = defaultdict(list)
    for face in faces:
        for t in seconds:
            i = face.nearest_sample(t) if face.visible_at(t) else None
            if i is not None:
                label = READABLE_LABEL if face.readable[i] else UNREADABLE
                by_second[t].append(FaceLabel(face.face_id, label))
    return [TimelineSecond(t, tuple(by_second.get(t, []))) for t in seconds]


def anonymous_timeline(timeline: Sequence[TimelineSecond]) -> list[TimelineSecond]:
    """The same seconds and labels, each second's entries sorted by label and numbered 1..n: the counts
    survive, but nobody can be followed from one second to the next (policies aggregate, no-emotion)."""
    return [
        TimelineSecond(
            t, tuple(FaceLabel(n, label) for n, label in enumerate(sorted(e for _, e in faces), 1))
        )
        for t, faces in timeline
    ]


def session_of(options: AnalysisOptions, info: VideoInfo, processing: Processing) -> Session:
    """The course label and the session's date: given by the job, else the recording's own creation
    date, else the day it was analysed."""
    if options.session_date:
        return Session(options.course, options.session_date, "given")
    if info.recorded_on:
        return Session(options.course, info.recorded_on, "recording")
    return Session(options.course, processing.started_at[:10], "analysed")


def build_summary(
    info: VideoInfo,
    options: AnalysisOptions,
    records: list[TrackRecord],
    face_of: dict[int, int],
    *,
    processing: Processing,
    models: Models,
    decoded_s: float | None = None,
) -> AnalysisResult:
    """Finished tracks -> the summary, the timeline and the faces.csv rows, as `options.policy` allows:
    per-face results (face summaries, rows, face ids in the timeline) only under the full policy.

    `decoded_s`: seconds of video actually decoded. When decoding stopped early (`truncation_warning`), the
    summary covers that and says so in `video.warning`, instead of the duration the container declares."""
    warning = (
        None if decoded_s is None else truncation_warning(info.duration_s, decoded_s, processing.analysis_fps)
    )
    if warning:
        info = replace(info, duration_s=decoded_s)
    grouped: dict[int, list[TrackRecord]] = defaultdict(list)
    for record in records:
        if record.track_id in face_of:
            grouped[face_of[record.track_id]].append(record)
    faces = [_Face(fid, grouped[fid], processing.analysis_fps) for fid in sorted(grouped)]
    seconds = list(range(int(np.floor(info.duration_s)) + 1))
    face_seconds = [face.seconds(len(seconds)) for face in faces]
    policy = options.policy
    face_summaries, rows = [], []
    if policy.infers_emotions:
        for face, per_second in zip(faces, face_seconds, strict=True):
            visible = [t for t in seconds if face.visible_at(t)]
            summary, face_rows = _face_summary(face, visible, per_second)
            face_summaries.append(summary)
            rows.extend(face_rows)
        timeline = timeline_of(face_summaries, seconds)
    else:
        timeline = presence_timeline(faces, seconds)
    audience = audience_summary(timeline, expressions=policy.infers_emotions)
    insights = build_insights(
        face_seconds,
        len(seconds),
        info.duration_s,
        markers=options.markers,
        moments=audience.moments,
        pulses={face.face_id: face.pulse for face in face_summaries},
        negative_stretch_min=options.negative_stretch_min,
        expressions=policy.infers_emotions,
        per_face=policy.per_face,
    )
    if not policy.per_face:
        face_summaries, rows, timeline = [], [], anonymous_timeline(timeline)
    rows.sort(key=lambda r: (r.t, r.face_id))
    video = Video(
        file=info.path.name,
        title=options.title,
        duration_s=round(info.duration_s, 3),
        fps=round(info.fps, 3),
        width=info.width,
        height=info.height,
        codec=info.codec,
        variable_frame_rate=info.variable_frame_rate,
        warning=warning,
    )
    summary = Summary(
        privacy=Privacy(
            policy=policy.value,
            purpose=options.purpose and options.purpose.value,
            consent=options.consent,
            timeline=TIMELINE_MEANING[policy],
        ),
        session=session_of(options, info, processing),
        video=video,
        faces=tuple(face_summaries),
        audience=audience,
        insights=insights,
        models=models,
        processing=processing,
    )
    return AnalysisResult(summary=summary, timeline=tuple(timeline), rows=tuple(rows))
