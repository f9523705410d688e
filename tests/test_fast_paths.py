"""The fast detection schedule (O-Net refinement each second, a full search every few seconds) against the
exhaustive one (the full MTCNN cascade on every frame), on a synthetic lecture with exact ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classpulse.options import AnalysisOptions
from classpulse.results import Summary
from reports.outputs import analyze_to_dir
from tests.synthetic_video import build_synthetic_lecture, score_analysis

pytestmark = pytest.mark.slow

FPS = 15.0


def _run(video: Path, out: Path, options: AnalysisOptions) -> tuple[Summary, list]:
    summary = analyze_to_dir(video, out, options)
    return summary, json.loads((out / "timeline.json").read_text())


def test_fast_schedule_agrees_with_detection_on_every_frame(tmp_path: Path, faces_dir: Path) -> None:
    truth = build_synthetic_lecture(
        tmp_path / "lecture.mp4", faces_dir, n_faces=3, duration_s=20.0, fps=FPS, size=(640, 360),
        face_px=120, absent_s=(6.0, 10.0),
    )  # fmt: skip
    fast_summary, fast = _run(tmp_path / "lecture.mp4", tmp_path / "fast", AnalysisOptions(pulse=False))
    every_frame = AnalysisOptions(pulse=False, detect_every_s=1 / FPS, search_every_s=1 / FPS)
    slow_summary, slow = _run(tmp_path / "lecture.mp4", tmp_path / "slow", every_frame)

    for summary, timeline in ((fast_summary, fast), (slow_summary, slow)):
        score = score_analysis(summary, timeline, truth)
        assert score["ids_per_person"] == [1, 1, 1] and score["shared_ids"] == 0, score
    entries = [(t, face, label) for t, faces in fast for face, label in faces]
    same = set(entries) & {(t, face, label) for t, faces in slow for face, label in faces}
    assert len(same) >= 0.95 * max(len(entries), sum(len(faces) for _, faces in slow))
