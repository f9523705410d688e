"""`classpulse evaluate pulse`: one JSON object on real skin clips, exit 2 with one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROI_CLIP = "rppg_roi_India_video10_forehead.avi"


def _evaluate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", "evaluate", "pulse", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_whole_frame_skin_clip_gives_series_track_estimate_and_error(videos_dir: Path) -> None:
    truth = videos_dir / "rppg_roi_ground_truth.csv"
    result = _evaluate(str(videos_dir / ROI_CLIP), "--whole-frame", "--truth", str(truth))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    print({k: v for k, v in report.items() if k != "series"})
    assert report["mode"] == "whole_frame" and report["truth_bpm"] == pytest.approx(80.657)
    assert report["windows"] == len(report["series"]) >= 25
    assert all(len(row) == 6 for row in report["series"])
    assert report["track_windows"] >= 15 and report["track_quality_db"] is not None
    # Never a wrong number: an estimate, if given, is within 5 bpm of the oximeter mean.
    assert report["track_bpm"] is None or abs(report["track_error_bpm"]) <= 5.0
    reported = [row[1] for row in report["series"] if row[1] is not None]
    assert all(abs(bpm - 80.657) <= 10.0 for bpm in reported)
    assert report["coverage"] == pytest.approx(len(reported) / report["windows"], abs=1e-3)


def test_max_fps_caps_the_pulse_trace_rate(videos_dir: Path) -> None:
    # The ROI clip is 15 fps: at a 7.5 fps cap every other frame feeds the trace, and the same windows
    # are analysed (the trace is resampled onto one grid whatever its rate).
    result = _evaluate(str(videos_dir / ROI_CLIP), "--whole-frame", "--max-fps", "7.5")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["max_fps"] == 7.5
    assert report["windows"] >= 25 and report["track_windows"] >= 15
    assert report["track_bpm"] is None or abs(report["track_bpm"] - 80.657) <= 5.0


@pytest.mark.parametrize(
    ("make", "extra"),
    [
        (None, ()),
        (lambda p: p.write_text("not a video"), ()),
        (None, ("--truth", "sixty")),
        (None, ("--method", "ica")),
        (None, ("--max-fps", "2")),
    ],
    ids=["missing", "text", "bad-truth", "bad-method", "bad-max-fps"],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, make, extra: tuple[str, ...]) -> None:
    video = tmp_path / "clip.mp4"
    if make:
        make(video)
    result = _evaluate(str(video), "--whole-frame", *extra)
    assert result.returncode == 2
    assert result.stderr.startswith("classpulse: ") and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""


def test_truth_csv_without_a_row_for_the_clip_is_bad_input(videos_dir: Path) -> None:
    selfie_truth = videos_dir / "rppg_selfie_ground_truth.csv"
    result = _evaluate(str(videos_dir / ROI_CLIP), "--whole-frame", "--truth", str(selfie_truth))
    assert result.returncode == 2 and f"no row for {ROI_CLIP}" in result.stderr
