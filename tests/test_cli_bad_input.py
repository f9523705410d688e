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


@pytest.mark.parametrize(
    ("markers", "expected"),
    [
        (b"start,label\n0,Intro\n1:75,Exercise\n", "classpulse: markers.csv: line 3: '1:75' has 75 seconds"),
        (b"0,Intro\n\xff\xfe,Q&A\n", "classpulse: markers.csv: line 2: not UTF-8 text"),
        (b"0,Intro\n" * 9000, "classpulse: markers.csv: the marker file is larger than 64 kB"),
        (None, "classpulse: markers.csv: cannot be read (No such file or directory)"),
    ],
    ids=["bad-time", "not-utf8", "too-large", "missing"],
)
def test_a_bad_marker_file_exits_2_naming_the_file_and_line(
    tmp_path: Path, markers: bytes | None, expected: str
) -> None:
    video = tiny_video(tmp_path / "lecture.mp4", size="320x240")
    if markers is not None:
        (tmp_path / "markers.csv").write_bytes(markers)
    out = tmp_path / "report"
    result = _analyze(video, out, "--markers", str(tmp_path / "markers.csv"))
    assert result.returncode == 2
    assert result.stderr.startswith(expected), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (
            ("--session-date", "14/03/2025"),
            "classpulse: session date '14/03/2025' is not written YYYY-MM-DD\n",
        ),
        (("--session-date", "2025-02-30"), "classpulse: session date '2025-02-30' is not a calendar date\n"),
        (("--negative-minutes", "0"), "classpulse: negative_stretch_min must be positive\n"),
        (("--negative-minutes", "nan"), "classpulse: negative_stretch_min must be positive\n"),
    ],
    ids=["date-format", "no-such-day", "zero-minutes", "nan-minutes"],
)
def test_a_bad_session_date_or_stretch_exits_2_with_one_line(
    tmp_path: Path, option: tuple[str, str], expected: str
) -> None:
    video = tiny_video(tmp_path / "lecture.mp4", size="320x240")
    result = _analyze(video, tmp_path / "report", *option)
    assert (result.returncode, result.stderr) == (2, expected)
    assert not (tmp_path / "report").exists()
