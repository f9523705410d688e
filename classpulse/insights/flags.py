"""Flags: stretches worth a look, each with the measurements behind it and never a verdict.

- negative stretch: one person's readable seconds were mostly negative (`NEGATIVE_SHARE` of them
  angry, disgust, fear or sad) for at least the configured minutes, no two negative seconds further
  apart than `MAX_GAP_S`;
- attention drop: the audience's attention curve stayed below `ATTENTION_BELOW` (most of the judged
  room not facing the camera) for at least `ATTENTION_MIN_S`, with at least `ATTENTION_MIN_FACES` judged;
- heart-rate rise: a person's pulse windows flagged as a rise over their own baseline
  (`classpulse.pulse.stress`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.insights.affect import NEGATIVE, polarity
from classpulse.insights.seconds import FaceSeconds
from classpulse.insights.segments import clock
from classpulse.results import AudienceSecond, Flag, FlagKind, Pulse

NEGATIVE_SHARE = 0.75
MAX_GAP_S = 10.0
ATTENTION_BELOW = 0.5
ATTENTION_MIN_S = 60.0
ATTENTION_MIN_FACES = 2
#: Pulse windows further apart than this start a new rise.
RISE_MAX_GAP_S = 3.0


def _runs(times: np.ndarray, max_gap: float) -> list[tuple[float, float]]:
    """Sorted times -> (first, last) of the runs whose neighbours are at most `max_gap` apart."""
    if not len(times):
        return []
    breaks = np.flatnonzero(np.diff(times) > max_gap)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(times) - 1]])
    return [(float(times[a]), float(times[b])) for a, b in zip(starts, ends, strict=True)]


def negative_stretches(face: FaceSeconds, min_minutes: float) -> list[Flag]:
    readable = face.readable
    seconds = np.flatnonzero(readable)
    negative = seconds[polarity(face.probs[seconds]) == NEGATIVE]
    flags = []
    for first, last in _runs(negative.astype(float), MAX_GAP_S):
        length = last - first + 1
        window = seconds[(seconds >= first) & (seconds <= last)]
        share = float(np.isin(window, negative).mean())
        if length < min_minutes * 60 or share < NEGATIVE_SHARE:
            continue
        labels = face.probs[negative[(negative >= first) & (negative <= last)]].argmax(-1)
        top = EMOTION_LABELS[int(np.bincount(labels).argmax())]
        flags.append(
            Flag(
                kind=FlagKind.NEGATIVE_STRETCH,
                start_s=first,
                end_s=last + 1,
                face_id=face.face_id,
                evidence=(
                    f"face {face.face_id}: a negative expression in {share:.0%} of the {len(window)} "
                    f"readable seconds from {clock(first)} to {clock(last + 1)}, mostly {top}; the "
                    "expression model reads faces, not feelings"
                ),
                values={
                    "minutes": round(length / 60, 1),
                    "negative_share": round(share, 3),
                    "readable_s": len(window),
                },
            )
        )
    return flags


def attention_drops(per_second: Sequence[AudienceSecond]) -> list[Flag]:
    low = np.array(
        [
            s.t
            for s in per_second
            if s.attention is not None and s.attention < ATTENTION_BELOW and s.judged >= ATTENTION_MIN_FACES
        ],
        dtype=float,
    )
    flags = []
    for first, last in _runs(low, 1.0):
        if last - first + 1 < ATTENTION_MIN_S:
            continue
        during = [s for s in per_second if first <= s.t <= last]
        before = [s.attention for s in per_second if first - 60 <= s.t < first and s.attention is not None]
        mean = float(np.mean([s.attention for s in during]))
        judged = float(np.mean([s.judged for s in during]))
        before_text = f", against {np.mean(before):.0%} in the minute before" if before else ""
        flags.append(
            Flag(
                kind=FlagKind.ATTENTION_DROP,
                start_s=first,
                end_s=last + 1,
                face_id=None,
                evidence=(
                    f"from {clock(first)} to {clock(last + 1)} on average {mean:.0%} of the "
                    f"{judged:.1f} faces whose head pose could be judged faced the camera{before_text}"
                ),
                values={
                    "attention": round(mean, 3),
                    "judged_faces": round(judged, 1),
                    **({"attention_before": round(float(np.mean(before)), 3)} if before else {}),
                },
            )
        )
    return flags


def heart_rate_rises(face_id: int, pulse: Pulse) -> list[Flag]:
    points = [p for p in pulse.series if p.stress]
    if not points or pulse.baseline_bpm is None:
        return []
    times = np.array([p.t for p in points])
    flags = []
    for first, last in _runs(times, RISE_MAX_GAP_S):
        inside = [p for p in points if first <= p.t <= last]
        peak = max(p.bpm for p in inside)
        flags.append(
            Flag(
                kind=FlagKind.HEART_RATE_RISE,
                start_s=first,
                end_s=last,
                face_id=face_id,
                evidence=(
                    f"face {face_id}: heart rate up to {peak:.0f} bpm from {clock(first)} to {clock(last)}, "
                    f"against an own baseline of {pulse.baseline_bpm:.0f} bpm; exercise, posture, heat and "
                    "talking raise it too"
                ),
                values={"peak_bpm": peak, "baseline_bpm": pulse.baseline_bpm, "windows": len(inside)},
            )
        )
    return flags
