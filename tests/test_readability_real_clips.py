"""Readability on real recordings from ../shared: frontal faces are read, passers-by looking down are not.

Before the readability rule every face was forced into an expression; on the crowd walkway clip nine
passers-by, most looking down, were 77 % "sad".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from classpulse.faces.readability import UNREADABLE

pytestmark = pytest.mark.slow


def _analyze(video: Path, out: Path) -> tuple[dict, list]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "analyze",
            str(video),
            "--out",
            str(out),
            "--quiet",
            "--no-pulse",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((out / "summary.json").read_text()), json.loads((out / "timeline.json").read_text())


@pytest.mark.parametrize(
    "clip",
    [
        "single_face_expressions_pexels_360p_20s.mp4",
        "rppg_selfie_subjectD_ref68bpm_30fps_34s.mp4",
        "rppg_webcam_rest_lossless_ffv1_30s.mkv",
    ],
)
def test_frontal_well_lit_faces_are_readable(videos_dir: Path, tmp_path: Path, clip: str) -> None:
    summary, _ = _analyze(videos_dir / clip, tmp_path)
    assert summary["faces"]
    assert summary["audience"]["unreadable_share"] < 0.05
    assert all(face["unreadable_share"] < 0.05 for face in summary["faces"])


def test_crowd_looking_down_is_largely_unreadable(videos_dir: Path, tmp_path: Path) -> None:
    summary, timeline = _analyze(videos_dir / "multiface_crowd_walkway_1080p_4s.mp4", tmp_path)
    audience = summary["audience"]
    assert audience["unreadable_share"] > 0.4
    sad_of_all_face_time = audience["overall_share"]["sad"] * (1 - audience["unreadable_share"])
    assert sad_of_all_face_time < 0.5, "was 77 % when every face was forced into an expression"
    labels = [label for _, entries in timeline for _, label in entries]
    assert labels.count(UNREADABLE) / len(labels) == pytest.approx(audience["unreadable_share"], abs=1e-3)
    assert sum(face["unreadable_share"] == 1.0 for face in summary["faces"]) >= 1, "one passer-by never read"
