"""`classpulse analyze` on real recordings from ../shared: faces that appear late or leave early, small faces.

The two HEVC .mov clips have a variable frame rate; times must follow the container's timestamps.
Face presence per the clips' README: one face until about 2.7 s, or from about 3.6 s on (looking at the
frames, the face arrives with a cut between 3.93 s and 4.08 s).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _analyze(video: Path, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "analyze", str(video), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((out / "summary.json").read_text())


def test_face_that_leaves_ends_its_track(videos_dir: Path, tmp_path: Path) -> None:
    summary = _analyze(videos_dir / "single_face_then_noface_540p_6s.mov", tmp_path)
    assert summary["video"]["variable_frame_rate"]
    assert len(summary["faces"]) == 1
    face = summary["faces"][0]
    assert face["first_s"] == pytest.approx(0.0, abs=0.5)
    assert face["last_s"] == pytest.approx(2.7, abs=1.0)
    timeline = json.loads((tmp_path / "timeline.json").read_text())
    assert all(not faces for t, faces in timeline if t >= 4)


def test_face_that_arrives_late_starts_its_track(videos_dir: Path, tmp_path: Path) -> None:
    summary = _analyze(videos_dir / "noface_then_single_face_540p_6s.mov", tmp_path)
    assert len(summary["faces"]) == 1
    assert summary["faces"][0]["first_s"] == pytest.approx(4.0, abs=0.25), "found at the cut, not 1 s later"
    timeline = json.loads((tmp_path / "timeline.json").read_text())
    assert all(not faces for t, faces in timeline if t <= 2)


def test_group_clip_finds_each_person_once(videos_dir: Path, tmp_path: Path) -> None:
    summary = _analyze(videos_dir / "group_3people_standing_270p_3s.mp4", tmp_path)
    assert len(summary["faces"]) == 3
    timeline = json.loads((tmp_path / "timeline.json").read_text())
    assert [len(faces) for _, faces in timeline] == [3] * len(timeline)


def test_classroom_clip_finds_the_small_back_row_face_too(videos_dir: Path, tmp_path: Path) -> None:
    summary = _analyze(videos_dir / "classroom_4people_270p_3s.mp4", tmp_path)
    assert len(summary["faces"]) == 4, "four seated people, the smallest face about 11 px tall"
    assert summary["models"]["face_detector"]["min_face_px"] == 12
    timeline = json.loads((tmp_path / "timeline.json").read_text())
    assert [len(faces) for t, faces in timeline if t < 3] == [4, 4, 4], "the last frame is at 2.93 s"
