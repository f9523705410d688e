"""The analysis pipeline: one streaming pass over the frames, then an offline pass over the tracks.

frame -> faces (MTCNN, every `detect_every_s`) -> tracks (flow + association, every frame)
      -> skin RGB per track (every frame) and emotion probabilities (every `emotion_every_s`)
tracks -> merged faces -> pulse series, smoothed emotions -> summary, timeline, report.
"""

from __future__ import annotations

import datetime as dt
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from classpulse import __version__
from classpulse.emotion.classifier import EmotionClassifier
from classpulse.emotion.model import EMOTION_LABELS
from classpulse.faces.crops import aligned_crops
from classpulse.faces.detector import FaceDetector
from classpulse.faces.merge import merge_tracklets
from classpulse.faces.tracker import FaceTracker
from classpulse.pulse.heart_rate import MIN_QUALITY_DB, heart_rate_series
from classpulse.pulse.skin import skin_mean_rgb_many
from classpulse.summary import build_summary
from classpulse.track_record import TrackRecord
from classpulse.video.decode import analysis_rate, analysis_size, iter_frames
from classpulse.video.probe import InputError, VideoInfo, probe

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]

__all__ = ["AnalysisOptions", "InputError", "analyze", "analyze_to_dir", "classify_image"]


@dataclass(frozen=True)
class AnalysisOptions:
    """Customer-facing knobs. Intervals in seconds; `max_side` caps the analysis resolution (pixels)."""

    detect_every_s: float = 1.0
    emotion_every_s: float = 0.5
    max_side: int = 1280
    pulse: bool = True
    title: str | None = None
    pulse_method: str = "pos"
    pulse_min_face_px: float = 60.0
    min_track_s: float = 1.0
    merge_gap_s: float = 60.0

    def __post_init__(self) -> None:
        if self.detect_every_s <= 0 or self.emotion_every_s <= 0:
            raise ValueError("detect_every_s and emotion_every_s must be positive")
        if self.max_side < 64:
            raise ValueError("max_side must be at least 64 pixels")


@dataclass
class _Models:
    detector: FaceDetector
    classifier: EmotionClassifier


_models: _Models | None = None


def _load_models() -> _Models:
    """Load MTCNN and the emotion model once per process (a worker analyses many videos).

    OpenCV's own thread pool is switched off: beside torch's OpenMP threads it oversubscribes the
    cores, and on 2 cores that made MTCNN about 5x slower (README, "Performance").
    """
    global _models
    if _models is None:
        cv2.setNumThreads(1)
        _models = _Models(detector=FaceDetector(), classifier=EmotionClassifier.load())
    return _models


def _every(interval_s: float, fps: float) -> int:
    return max(1, round(interval_s * fps))


def analyze(info: VideoInfo, options: AnalysisOptions, on_progress: Progress | None = None) -> dict:
    """Analyse a probed recording; returns (summary dict, per-face records keyed by face id)."""
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    models = _load_models()
    fps = analysis_rate(info)
    width, _ = analysis_size(info, options.max_side)
    to_source = info.width / width
    detect_every, emotion_every = _every(options.detect_every_s, fps), _every(options.emotion_every_s, fps)
    tracker = FaceTracker()
    live: dict[int, TrackRecord] = {}
    done: list[TrackRecord] = []
    n_frames = 0

    def finalise(track_ids: list[int]) -> None:
        for tid in track_ids:
            record = live.pop(tid, None)
            if record is None:
                continue
            if options.pulse and record.frame_times:
                rgb = np.array(record.rgb, dtype=np.float64)
                valid = np.array(record.face_px) >= options.pulse_min_face_px
                record.pulse = heart_rate_series(
                    rgb, np.array(record.frame_times), method=options.pulse_method, valid=valid
                )
            record.rgb = []
            done.append(record)

    for frame in iter_frames(info, fps=fps, max_side=options.max_side):
        n_frames += 1
        gray = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
        detections = models.detector.detect([frame.rgb])[0] if frame.index % detect_every == 0 else None
        update = tracker.update(gray, detections)
        finalise(update.ended)
        faces = update.visible
        if len(faces):
            rgb, _ = skin_mean_rgb_many(frame.rgb, faces.xyxy, faces.landmarks)
            sizes = faces.sizes
            for i, tid in enumerate(faces.track_id.tolist()):
                record = live.setdefault(tid, TrackRecord(tid))
                record.add_frame(frame.t, faces.xyxy[i] * to_source, rgb[i], float(sizes[i]))
            if frame.index % emotion_every == 0:
                probs = models.classifier.predict_proba(aligned_crops(gray, faces.landmarks))
                for i, tid in enumerate(faces.track_id.tolist()):
                    live[tid].add_emotion(frame.t, probs[i])
        if on_progress and frame.index % 10 == 0:
            on_progress("analysing frames", min(frame.t / info.duration_s, 1.0))
    finalise(tracker.finish())
    if on_progress:
        on_progress("summarising", 1.0)
    face_of = merge_tracklets(
        [r.span() for r in done], min_span_s=options.min_track_s, max_gap_s=options.merge_gap_s
    )
    wall_s = time.perf_counter() - started
    processing = {
        "wall_s": round(wall_s, 2),
        "realtime_factor": round(info.duration_s / wall_s, 3) if wall_s > 0 else None,
        "frames_analysed": n_frames,
        "analysis_fps": round(fps, 3),
        "analysis_width": width,
        "detect_every_s": options.detect_every_s,
        "emotion_every_s": options.emotion_every_s,
        "max_side": options.max_side,
        "pulse": options.pulse,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "started_at": started_at,
        "classpulse_version": __version__,
    }
    models_info = {
        "emotion": {
            **{k: models.classifier.manifest[k] for k in ("name", "version", "sha256", "architecture")},
            "public_test_accuracy": models.classifier.manifest["public_test"]["accuracy"],
            "macro_f1": models.classifier.manifest["public_test"]["macro_f1"],
            "epochs_trained": models.classifier.manifest["epochs_trained"],
        },
        "face_detector": {
            "name": models.detector.name,
            "version": models.detector.version,
            "min_confidence": models.detector.min_confidence,
        },
        "pulse": {
            "method": options.pulse_method,
            "window_s": 10.0,
            "min_quality_db": MIN_QUALITY_DB,
            "min_face_px": options.pulse_min_face_px,
        },
    }
    return build_summary(info, options, done, face_of, processing=processing, models=models_info)


def analyze_to_dir(
    video: Path, out_dir: Path, options: AnalysisOptions, on_progress: Progress | None = None
) -> dict:
    """Probe, analyse and write every output into `out_dir`; returns the summary. Raises `InputError`."""
    from classpulse.outputs import write_outputs

    info = probe(Path(video))
    if on_progress:
        on_progress("probing", 1.0)
    result = analyze(info, options, on_progress)
    if on_progress:
        on_progress("writing report", 0.0)
    write_outputs(result["summary"], result["timeline"], result["rows"], Path(out_dir))
    if on_progress:
        on_progress("done", 1.0)
    return result["summary"]


def classify_image(rgb: np.ndarray) -> list[dict]:
    """One still image (h, w, 3) uint8 RGB -> faces with boxes and the seven probabilities."""
    models = _load_models()
    faces = models.detector.detect([np.ascontiguousarray(rgb)])[0]
    if not len(faces):
        return []
    probs = models.classifier.predict_proba(
        aligned_crops(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), faces.landmarks)
    )
    return [
        {
            "box": [round(float(v), 1) for v in faces.xyxy[i]],
            "confidence": round(float(faces.confidence[i]), 4),
            "emotion": EMOTION_LABELS[int(probs[i].argmax())],
            "probabilities": {
                label: round(float(p), 4) for label, p in zip(EMOTION_LABELS, probs[i], strict=True)
            },
        }
        for i in range(len(faces))
    ]
