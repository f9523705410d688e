"""`classpulse analyze --markers --session-date --negative-minutes`: what is given reaches summary.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.video import tiny_video


def test_markers_session_date_and_stretch_reach_the_summary(tmp_path: Path) -> None:
    video = tiny_video(tmp_path / "lecture.mp4", size="320x240", seconds=3)
    markers = tmp_path / "markers.csv"
    markers.write_bytes("\ufeffstart,label\n0,Intro\n0:02,Q&A\n".encode())  # as Excel saves it
    out = tmp_path / "report"
    result = subprocess.run(
        [
            sys.executable, "-m", "cli", "analyze", str(video), "--out", str(out), "--quiet",
            "--markers", str(markers), "--session-date", "2025-03-14", "--negative-minutes", "2.5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    segments = summary["insights"]["segments"]
    assert [(s["label"], s["start_s"], s["end_s"]) for s in segments] == [("Intro", 0, 2), ("Q&A", 2, 3)]
    assert summary["insights"]["rules"]["segment_source"] == "markers"
    assert summary["insights"]["rules"]["negative_stretch_min"] == 2.5
    assert summary["session"] == {"course": None, "date": "2025-03-14", "date_source": "given"}
