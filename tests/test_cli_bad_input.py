"""Bad input to `classpulse analyze`: one line on stderr, exit status 2, nothing left in the output folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.video import tiny_video


def _analyze(video: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", "analyze", str(video), "--out", str(out), *options],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _truncated(path: Path) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25:duration=2",
            "-pix_fmt",
            "yuv420p",
            str(path.with_suffix(".full.mp4")),
        ],
        check=True,
    )
    path.write_bytes(path.with_suffix(".full.mp4").read_bytes()[:4000])


def _audio_only(path: Path) -> None:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-f", "mp4", str(path)], check=True
    )


def _too_small(path: Path) -> None:
    """2x2 pixels: no face fits (issue 17: it was accepted and crashed in the detector)."""
    tiny_video(path)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_bytes(b""),
        lambda p: p.write_text("not a video"),
        _truncated,
        _audio_only,
        _too_small,
        None,
    ],
    ids=["zero-bytes", "text", "truncated", "audio-only", "too-small", "missing"],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, make) -> None:
    video = tmp_path / "lecture.mp4"
    if make:
        make(video)
    out = tmp_path / "report"
    result = _analyze(video, out)
    assert result.returncode == 2
    assert result.stderr.startswith("classpulse: lecture.mp4")
    assert result.stderr.count("\n") == 1, result.stderr
    assert not out.exists()


def test_existing_output_folder_is_left_untouched(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "earlier.txt").write_text("keep me")
    video = tmp_path / "lecture.mp4"
    video.write_text("not a video")
    assert _analyze(video, out).returncode == 2
    assert [p.name for p in out.iterdir()] == ["earlier.txt"]


def test_an_unknown_pulse_method_exits_2_naming_the_valid_ones(tmp_path: Path) -> None:
    video = tiny_video(tmp_path / "lecture.mp4", size="320x240")
    result = _analyze(video, tmp_path / "report", "--pulse-method", "nope")
    assert result.returncode == 2
    assert result.stderr == "classpulse: unknown pulse method 'nope'; valid: chrom, green, pos\n"
    assert not (tmp_path / "report").exists()
