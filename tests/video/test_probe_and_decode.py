"""Probing refuses what we cannot analyse; decoding streams frames at a constant rate and capped size."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from classpulse.video.decode import analysis_rate, analysis_size, iter_frames
from classpulse.video.probe import InputError, probe


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """2 s of 320x240 test pattern at 25 fps, H.264."""
    path = tmp_path_factory.mktemp("clips") / "pattern.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-pix_fmt", "yuv420p", str(path))
    return path


def test_probe_reads_container_facts(clip: Path) -> None:
    info = probe(clip)
    assert (info.width, info.height, info.codec) == (320, 240, "h264")
    assert info.fps == pytest.approx(25.0)
    assert info.duration_s == pytest.approx(2.0, abs=0.05)


def _audio_only(path: Path) -> None:
    _ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-f", "mp4", str(path))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("lecture notes, not a video\n" * 50), "not a readable video"),
        (_audio_only, "no video stream"),
    ],
    ids=["zero-bytes", "text-file", "audio-only"],
)
def test_probe_rejects_bad_input(tmp_path: Path, make, reason: str) -> None:
    path = tmp_path / "upload.mp4"
    make(path)
    with pytest.raises(InputError, match=reason):
        probe(path)


def test_probe_rejects_truncated_file(tmp_path: Path, clip: Path) -> None:
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    with pytest.raises(InputError):
        probe(truncated)


def test_frames_come_at_the_analysis_rate_and_size(clip: Path) -> None:
    info = probe(clip)
    frames = list(iter_frames(info, fps=10.0, max_side=160))
    assert len(frames) == pytest.approx(20, abs=1)
    assert frames[0].rgb.shape == (120, 160, 3)
    assert [f.t for f in frames[:3]] == pytest.approx([0.0, 0.1, 0.2])
    assert not np.array_equal(frames[0].rgb, frames[10].rgb)


def test_analysis_geometry_caps_rate_and_long_side(clip: Path) -> None:
    info = probe(clip)
    assert analysis_rate(info, cap=12.0) == 12.0
    assert analysis_size(info, 1280) == (320, 240)
    assert analysis_size(info, 100) == (100, 76)


def test_variable_frame_rate_follows_container_timestamps(videos_dir: Path) -> None:
    """The HEVC .mov has a variable rate: decoded frames must match duration x rate, not the frame count."""
    info = probe(videos_dir / "single_face_then_noface_540p_6s.mov")
    rate = analysis_rate(info)
    frames = sum(1 for _ in iter_frames(info, fps=rate, max_side=320))
    assert frames == pytest.approx(info.duration_s * rate, rel=0.03)


def test_a_slice_of_frames_matches_the_same_frames_of_a_full_pass(clip: Path) -> None:
    info = probe(clip)
    full = list(iter_frames(info, fps=10.0, max_side=160))
    part = list(iter_frames(info, fps=10.0, max_side=160, first=7, count=5))
    assert [f.index for f in part] == [7, 8, 9, 10, 11]
    assert [f.t for f in part] == pytest.approx([0.7, 0.8, 0.9, 1.0, 1.1])
    for frame in part:
        assert np.array_equal(frame.rgb, full[frame.index].rgb)
