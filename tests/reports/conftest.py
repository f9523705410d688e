"""A factory for realistic `summary.json` + `timeline.json` pairs, shaped like the pipeline's output.

`make_report_data()` gives the standard fixture: a 125 s lecture with three faces — one with a clean pulse
and a stress window, one whose pulse is never reliable (all bpm null), one that leaves the picture for a while
and has motion-spoiled pulse stretches. Audience aggregates, moments and the timeline are derived from the
per-face samples, so every number in the report agrees with every other one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pytest

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.readability import UNREADABLE
from classpulse.pulse.heart_rate import REASON_FACE_TOO_SMALL, REASON_LOW_QUALITY, REASON_TOO_FEW_SAMPLES

NEGATIVE = ("angry", "disgust", "fear", "sad")


@dataclass(frozen=True)
class FaceSpec:
    """How one synthetic face behaves. Times in seconds, half-open [start, end)."""

    first_s: int
    last_s: int
    hidden: tuple[tuple[int, int], ...] = ()
    mood: str = "neutral"  # the label it drifts back to
    pulse: str = "good"  # good | null | stress
    baseline_bpm: float = 72.0
    stress: tuple[int, int] = (0, 0)
    motion: tuple[tuple[int, int], ...] = ()
    unreadable: tuple[tuple[int, int], ...] = ()  # visible, but turned away: expression "unreadable"
    extra: dict = field(default_factory=dict)


STANDARD_FACES = (
    FaceSpec(0, 125, mood="happy", pulse="stress", baseline_bpm=71.0, stress=(60, 78), motion=((95, 101),)),
    FaceSpec(4, 118, mood="neutral", pulse="null", unreadable=((40, 55),)),
    FaceSpec(20, 125, hidden=((48, 63),), mood="surprise", baseline_bpm=80.0, motion=((30, 38), (88, 92))),
)


def _emotions(spec: FaceSpec, rng: np.random.Generator) -> list[list]:
    """Per-second `[t, label, confidence]` while visible: a sticky random walk around `spec.mood`."""
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
            out.append([float(t), UNREADABLE, None])
        else:
            out.append([float(t), label, confidences[i]])
    return out


def _pulse(spec: FaceSpec, visible: list[float], rng: np.random.Generator) -> dict:
    noise = np.round(rng.normal(0, 1.5, len(visible)), 1).tolist()
    quality = np.round(rng.uniform(1, 6, len(visible)), 2).tolist()
    series = []
    for t, dn, q in zip(visible, noise, quality, strict=True):
        if spec.pulse == "null":
            series.append([t, None, None, REASON_FACE_TOO_SMALL, None])
        elif t - visible[0] < 10:
            series.append([t, None, None, REASON_TOO_FEW_SAMPLES, None])
        elif any(a <= t < b for a, b in spec.motion):
            series.append([t, None, round(q - 8.0, 2), REASON_LOW_QUALITY, None])
        else:
            in_stress = spec.stress[0] <= t < spec.stress[1]
            bpm = spec.baseline_bpm + dn + (19.0 if in_stress else 0.0)
            series.append([t, round(bpm, 1), q, None, in_stress])
    valid = [r[1] for r in series if r[1] is not None]
    return {
        "mean_bpm": round(float(np.mean(valid)), 1) if valid else None,
        "baseline_bpm": spec.baseline_bpm if valid else None,
        "method": "pos",
        "series": series,
    }


def _face(face_id: int, spec: FaceSpec, rng: np.random.Generator) -> dict:
    emotions = _emotions(spec, rng)
    labels = Counter(label for _, label, _ in emotions if label != UNREADABLE)
    readable = sum(labels.values())
    conf = np.array([c for _, _, c in emotions if c is not None])
    visible = [t for t, _, _ in emotions]
    return {
        "face_id": face_id,
        "box": [100 + 150 * (face_id % 4), 80, 180 + 150 * (face_id % 4), 180],
        "first_s": float(spec.first_s),
        "last_s": float(spec.last_s - 1) + 0.5,
        "visible_s": float(len(emotions)),
        "dominant_emotion": labels.most_common(1)[0][0],
        "emotion_share": {k: labels[k] / readable for k in EMOTION_LABELS},
        "unreadable_share": round(1 - readable / len(emotions), 4),
        "unreadable_reasons": {
            "too small": 0.0,
            "turned away": round(1 - readable / len(emotions), 4),
            "tilted": 0.0,
            "blurred": 0.0,
        },
        "confidence": {
            "min": float(conf.min()),
            "mean": round(float(conf.mean()), 3),
            "median": round(float(np.median(conf)), 3),
        },
        "emotions": emotions,
        "pulse": _pulse(spec, visible, rng),
        **spec.extra,
    }


def _moments(per_second: list) -> list[dict]:
    moments = []
    for kind, group in (("negative peak", NEGATIVE), ("surprise peak", ("surprise",))):
        best = None
        for t, counts in per_second:
            n = sum(v for k, v in counts.items() if k != UNREADABLE)
            if n >= 2:
                share = sum(counts.get(k, 0) for k in group) / n
                if share > 0 and (best is None or share > best[1]):
                    best = (t, share, n)
        if best:
            moments.append({"t": float(best[0]), "kind": kind, "share": round(best[1], 3), "faces": best[2]})
    return moments


def make_report_data(
    *,
    duration_s: float = 125.0,
    faces: tuple[FaceSpec, ...] = STANDARD_FACES,
    title: str | None = "Thermodynamics — week 3 lecture",
    seed: int = 3,
) -> tuple[dict, list]:
    """A consistent `(summary, timeline)` pair for a recording of `duration_s` seconds."""
    rng = np.random.default_rng(seed)
    face_dicts = [_face(i, spec, rng) for i, spec in enumerate(faces, start=1)]
    seconds = int(duration_s)
    timeline: list = [[float(t), []] for t in range(seconds)]
    for f in face_dicts:
        for t, label, _ in f["emotions"]:
            if int(t) < seconds:
                timeline[int(t)][1].append([f["face_id"], label])
    per_second = [[t, dict(Counter(label for _, label in entries))] for t, entries in timeline]

    minutes = int(np.ceil(duration_s / 60))
    minute_counts = [Counter() for _ in range(minutes)]
    minute_ids: list[set] = [set() for _ in range(minutes)]
    for (t, entries), (_, counts) in zip(timeline, per_second, strict=True):
        minute_counts[int(t // 60)].update(counts)
        minute_ids[int(t // 60)].update(fid for fid, _ in entries)
    per_minute = []
    for minute, (counts, ids) in enumerate(zip(minute_counts, minute_ids, strict=True)):
        n = sum(counts[k] for k in EMOTION_LABELS)
        everyone = n + counts[UNREADABLE]
        per_minute.append(
            {
                "minute": minute,
                "start_s": 60.0 * minute,
                "end_s": float(min(60 * (minute + 1), duration_s)),
                "faces": len(ids),
                "share": {k: (counts[k] / n if n else 0.0) for k in EMOTION_LABELS},
                "unreadable_share": counts[UNREADABLE] / everyone if everyone else 0.0,
            }
        )
    totals = sum(minute_counts, Counter())
    n_total = sum(totals[k] for k in EMOTION_LABELS)

    fps = 25.0
    summary = {
        "video": {
            "file": "thermo_week3.mp4",
            "duration_s": float(duration_s),
            "fps": fps,
            "analysis_fps": fps,
            "width": 1280,
            "height": 720,
            "codec": "h264",
            "frames_analysed": int(duration_s * fps),
            "title": title,
        },
        "faces": face_dicts,
        "audience": {
            "per_minute": per_minute,
            "per_second": per_second,
            "moments": _moments(per_second),
            "overall_share": {k: (totals[k] / n_total if n_total else 0.0) for k in EMOTION_LABELS},
            "unreadable_share": totals[UNREADABLE] / (n_total + totals[UNREADABLE]) if n_total else 0.0,
        },
        "models": {
            "emotion": {
                "name": "classpulse-fer",
                "version": "0.1.0",
                "sha256": ["9f2c4e1ab37d" + "0" * 52],
                "public_test_accuracy": 0.663,
                "macro_f1": 0.631,
                "architecture": "vgg-bn-4stage",
            },
            "face_detector": {"name": "facenet-pytorch MTCNN", "version": "2.6.0"},
            "pulse": {"method": "pos", "window_s": 10, "min_quality_db": 1.0},
            "readability": {
                "max_abs_yaw": 0.35,
                "min_pitch": 0.18,
                "max_pitch": 0.7,
                "min_face_px": 24.0,
                "min_sharpness": 0.045,
            },
        },
        "processing": {
            "wall_s": 196.4,
            "realtime_factor": round(duration_s / 196.4, 2),
            "detect_every_s": 1.0,
            "emotion_every_s": 0.5,
            "max_side": 1280,
            "started_at": "2025-03-14T10:22:05+00:00",
            "classpulse_version": "0.1.0",
        },
    }
    return summary, timeline


@pytest.fixture
def report_data() -> tuple[dict, list]:
    """The standard three-face, 125 s fixture (fresh copy per test)."""
    return make_report_data()


@pytest.fixture(scope="session")
def make_report():
    """The factory itself, for tests that need a variant (more faces, longer video, hostile title)."""
    return make_report_data


@pytest.fixture(scope="session")
def face_spec() -> type[FaceSpec]:
    """`FaceSpec`, for building the `faces=` argument of `make_report`."""
    return FaceSpec
