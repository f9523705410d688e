"""Realistic analysis results for the report tests, built through the summary contract.

`make_report_data()` gives the standard result: a 125 s lecture with three faces — one with a clean pulse
and a stress window, one whose pulse is never reliable (all bpm null), one that leaves the picture for a while
and has motion-spoiled pulse stretches. Each face is a `classpulse.results.Face` built from its per-second
samples; the timeline and the audience (shares, moments) come from the producer's own functions
(`classpulse.summary.timeline_of`, `audience_summary`), so every number in the report agrees with every
other one and the fixture cannot drift from what the pipeline writes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.readability import REASONS, TURNED_AWAY, UNREADABLE, readability_rule
from classpulse.insights.attention import ATTENDING, AWAY, NOT_JUDGED
from classpulse.insights.build import build_insights, face_insights
from classpulse.insights.markers import Marker
from classpulse.insights.seconds import FaceSeconds
from classpulse.policy import Policy
from classpulse.pulse.heart_rate import REASON_FACE_TOO_SMALL, REASON_LOW_QUALITY, REASON_TOO_FEW_SAMPLES
from classpulse.results import (
    AnalysisResult,
    Confidence,
    DetectorModel,
    EmotionModel,
    EmotionSample,
    Face,
    FaceLabel,
    Models,
    Privacy,
    Processing,
    Pulse,
    PulseModel,
    PulsePoint,
    ReadabilityRule,
    Session,
    Summary,
    TimelineSecond,
    TrackerModel,
    Video,
)
from classpulse.summary import (
    READABLE_LABEL,
    TIMELINE_MEANING,
    anonymous_timeline,
    audience_summary,
    timeline_of,
)


@dataclass(frozen=True)
class FaceSpec:
    """How one synthetic face behaves. Times in seconds, half-open [start, end)."""

    first_s: int
    last_s: int
    hidden: tuple[tuple[int, int], ...] = ()
    mood: str = "neutral"  # the label it drifts back to
    pulse: str = "good"  # good | null
    baseline_bpm: float = 72.0
    stress: tuple[int, int] = (0, 0)
    motion: tuple[tuple[int, int], ...] = ()
    unreadable: tuple[tuple[int, int], ...] = ()  # visible, but turned away: expression "unreadable"


STANDARD_FACES = (
    FaceSpec(0, 125, mood="happy", baseline_bpm=71.0, stress=(60, 78), motion=((95, 101),)),
    FaceSpec(4, 118, mood="neutral", pulse="null", unreadable=((40, 55),)),
    FaceSpec(20, 125, hidden=((48, 63),), mood="surprise", baseline_bpm=80.0, motion=((30, 38), (88, 92))),
)


def _emotions(spec: FaceSpec, rng: np.random.Generator) -> list[EmotionSample]:
    """One sample per visible second: a sticky random walk around `spec.mood`."""
    n = spec.last_s - spec.first_s
    jumps, picks = rng.random(n).tolist(), rng.integers(len(EMOTION_LABELS), size=n).tolist()
    confidences = np.round(rng.uniform(0.3, 0.95, n), 3).tolist()
    label, out = spec.mood, []
    for i, t in enumerate(range(spec.first_s, spec.last_s)):
        if any(a <= t < b for a, b in spec.hidden):
            continue
        if jumps[i] < 0.12:
            label = EMOTION_LABELS[picks[i]]
        elif jumps[i] < 0.3:
            label = spec.mood
        if any(a <= t < b for a, b in spec.unreadable):
            out.append(EmotionSample(t, UNREADABLE, None))
        else:
            out.append(EmotionSample(t, label, confidences[i]))
    return out


def _pulse(spec: FaceSpec, visible: list[int], rng: np.random.Generator) -> Pulse:
    noise = np.round(rng.normal(0, 1.5, len(visible)), 1).tolist()
    quality = np.round(rng.uniform(1, 6, len(visible)), 2).tolist()
    series = []
    for t, dn, q in zip(visible, noise, quality, strict=True):
        if spec.pulse == "null":
            series.append(PulsePoint(float(t), None, None, REASON_FACE_TOO_SMALL, None, None))
        elif t - visible[0] < 10:
            series.append(PulsePoint(float(t), None, None, REASON_TOO_FEW_SAMPLES, None, None))
        elif any(a <= t < b for a, b in spec.motion):
            series.append(PulsePoint(float(t), None, round(q - 8.0, 2), REASON_LOW_QUALITY, None, 0.1))
        else:
            in_stress = spec.stress[0] <= t < spec.stress[1]
            bpm = spec.baseline_bpm + dn + (19.0 if in_stress else 0.0)
            series.append(PulsePoint(float(t), round(bpm, 1), q, None, in_stress, 0.9))
    valid = [point.bpm for point in series if point.bpm is not None]
    return Pulse(
        mean_bpm=round(float(np.mean(valid)), 1) if valid else None,
        baseline_bpm=spec.baseline_bpm if valid else None,
        accepted_windows=len(valid),
        track_bpm=None,
        track_quality_db=None,
        track_min_quality_db=None,
        track_windows=0,
        series=tuple(series),
    )


def _seconds(
    face_id: int, emotions: list[EmotionSample], n_seconds: int, *, expressions: bool
) -> FaceSeconds:
    """The per-second arrays the insights are computed from, matching the samples: a readable sample's
    label takes its confidence and the other classes share the rest (no probabilities at all without
    `expressions`); unreadable ones were turned away."""
    present = np.zeros(n_seconds, bool)
    attention = np.full(n_seconds, NOT_JUDGED, np.int8)
    probs = np.full((n_seconds, len(EMOTION_LABELS)), np.nan)
    for t, label, confidence in emotions:
        present[t] = True
        attention[t] = AWAY if label == UNREADABLE else ATTENDING
        if label != UNREADABLE and expressions:
            probs[t] = (1 - confidence) / (len(EMOTION_LABELS) - 1)
            probs[t, EMOTION_LABELS.index(label)] = confidence
    return FaceSeconds(face_id, present, attention, probs)


def _face(
    face_id: int, spec: FaceSpec, rng: np.random.Generator, n_seconds: int, *, expressions: bool
) -> tuple[Face, FaceSeconds]:
    emotions = _emotions(spec, rng)
    per_second = _seconds(face_id, emotions, n_seconds, expressions=expressions)
    attention, affect, engagement = face_insights(per_second, expressions=expressions)
    labels = Counter(e.label for e in emotions if e.label != UNREADABLE)
    readable = sum(labels.values())
    conf = np.array([e.confidence for e in emotions if e.confidence is not None])
    turned_away = round(1 - readable / len(emotions), 4)
    face = Face(
        face_id=face_id,
        box=(100.0 + 150 * (face_id % 4), 80.0, 180.0 + 150 * (face_id % 4), 180.0),
        first_s=float(spec.first_s),
        last_s=float(spec.last_s - 1) + 0.5,
        visible_s=float(len(emotions)),
        dominant_emotion=labels.most_common(1)[0][0],
        emotion_share={k: labels[k] / readable for k in EMOTION_LABELS},
        unreadable_share=turned_away,
        unreadable_reasons={r: turned_away if r == REASONS[TURNED_AWAY] else 0.0 for r in REASONS[1:]},
        confidence=Confidence(
            min=float(conf.min()), mean=round(float(conf.mean()), 3), median=round(float(np.median(conf)), 3)
        ),
        emotions=tuple(emotions),
        pulse=_pulse(spec, [e.t for e in emotions], rng),
        attention=attention,
        affect=affect,
        engagement=engagement,
    )
    return face, per_second


MODELS = Models(
    emotion=EmotionModel(
        name="classpulse-fer",
        version="0.1.0",
        architecture="vgg-bn-4stage",
        sha256=("9f2c4e1ab37d" + "0" * 52,),
        epochs_trained=(40,),
        precision="float32",
        public_test_accuracy=0.663,
        macro_f1=0.631,
        public_test_ferplus_accuracy=None,
        calibration=None,
        photos=None,
    ),
    face_detector=DetectorModel(
        name="facenet-pytorch MTCNN", version="2.6.0", min_confidence=0.92, min_face_px=20
    ),
    tracker=TrackerModel(
        method="MTCNN, optical flow and Hungarian association",
        search_every_s=5.0,
        max_misses=4,
        merge_gap_s=60.0,
        min_track_s=1.0,
        descriptor="dlib ResNet face descriptor (dlib_face_recognition_resnet_model_v1), dlib 20.0.1",
        descriptor_views=3,
        descriptor_min_face_px=80.0,
        same_person_distance=0.4,
        different_person_distance=0.55,
        two_people_joined=0.002,
        one_person_split=0.024,
    ),
    pulse=PulseModel(
        method="pos",
        window_s=10.0,
        min_quality_db=1.0,
        min_face_px=60.0,
        stress_rise_bpm=15.0,
        stress_rise_fraction=0.15,
        baseline_s=60.0,
        min_accepted_windows=5,
        track_quality_gate_db=((15, -0.3), (29, -1.2), (55, -2.2), (135, -2.9)),
        min_track_windows=15,
        max_rate_change_bpm_per_s=10.0,
        min_confidence=0.5,
        min_confidence_own_gate=0.35,
    ),
    readability=ReadabilityRule(**readability_rule()),
)


def make_report_data(
    *,
    duration_s: float = 125.0,
    faces: tuple[FaceSpec, ...] = STANDARD_FACES,
    title: str | None = "Thermodynamics — week 3 lecture",
    seed: int = 3,
    markers: tuple[Marker, ...] = (),
    negative_stretch_min: float = 1.0,
    course: str | None = "Thermodynamics",
    session_date: str = "2025-03-14",
    policy: Policy = Policy.FULL,
) -> AnalysisResult:
    """A consistent result (summary and timeline; no CSV rows) for a recording of `duration_s` seconds.
    The insights come from the producer's own `build_insights` (flags after `negative_stretch_min`).
    Under `policy` aggregate or no-emotion the result holds what `classpulse.summary.build_summary` keeps:
    no faces, an anonymous timeline, no pulse; and under no-emotion no expression at all."""
    rng = np.random.default_rng(seed)
    n_seconds = int(duration_s) + 1
    expressions = policy.infers_emotions
    built = [_face(i, spec, rng, n_seconds, expressions=expressions) for i, spec in enumerate(faces, start=1)]
    face_records = tuple(face for face, _ in built)
    timeline = timeline_of(face_records, range(n_seconds))
    if not expressions:
        timeline = [
            TimelineSecond(
                t, tuple(FaceLabel(i, READABLE_LABEL if e != UNREADABLE else e) for i, e in entries)
            )
            for t, entries in timeline
        ]
    audience = audience_summary(timeline, expressions=expressions)
    insights = build_insights(
        [seconds for _, seconds in built],
        n_seconds,
        duration_s,
        markers=markers,
        moments=audience.moments,
        pulses={face.face_id: face.pulse for face in face_records},
        negative_stretch_min=negative_stretch_min,
        expressions=expressions,
        per_face=policy.per_face,
    )
    if not policy.per_face:
        face_records, timeline = (), anonymous_timeline(timeline)
    fps = 25.0
    summary = Summary(
        privacy=Privacy(policy.value, None, False, TIMELINE_MEANING[policy]),
        session=Session(course, session_date, "given"),
        video=Video(
            file="thermo_week3.mp4",
            title=title,
            duration_s=duration_s,
            fps=fps,
            width=1280,
            height=720,
            codec="h264",
            variable_frame_rate=False,
            warning=None,
        ),
        faces=face_records,
        audience=audience,
        insights=insights,
        models=MODELS if expressions else replace(MODELS, emotion=None),
        processing=Processing(
            wall_s=196.4,
            realtime_factor=round(duration_s / 196.4, 2),
            frames_analysed=int(duration_s * fps),
            analysis_fps=fps,
            analysis_width=1280,
            detect_every_s=1.0,
            search_every_s=5.0,
            emotion_every_s=0.5,
            max_side=1280,
            max_fps=fps,
            pulse=policy.per_face,
            peak_rss_mb=1024.0,
            stage_s={},
            started_at="2025-03-14T10:22:05+00:00",
            classpulse_version="0.1.0",
        ),
    )
    return AnalysisResult(summary=summary, timeline=tuple(timeline), rows=())
