"""Fixtures for the pulse tests: synthetic traces, video decoding and a face detector (helpers in
tests/helpers/pulse.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.pulse import synthetic_trace, video_fps, video_frames


@pytest.fixture(scope="session")
def make_trace() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    return synthetic_trace


def _require_ffmpeg() -> None:
    pytest.importorskip("ffmpeg", reason="ffmpeg-python not installed")
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg/ffprobe binaries not on PATH")


@pytest.fixture(scope="session")
def video_reader() -> tuple[Callable[[Path], float], Callable[[Path, int, int], Iterator[np.ndarray]]]:
    """(video_fps, video_frames), skipping when ffmpeg is unavailable."""
    _require_ffmpeg()
    return video_fps, video_frames


@pytest.fixture(scope="session")
def detect_face() -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray] | None]:
    """A function: frame (H, W, 3) uint8 RGB -> (box (4,), landmarks (5, 2)) of the most confident face
    by facenet-pytorch's MTCNN on the CPU, or None. Skips when facenet-pytorch is not installed."""
    facenet_pytorch = pytest.importorskip("facenet_pytorch", reason="facenet_pytorch not installed")
    import torch

    model = facenet_pytorch.MTCNN(keep_all=True, device="cpu")

    def detect(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        # One thread: on a shared, oversubscribed CPU two spinning torch threads were 10x slower.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            boxes, probs, points = model.detect(frame, landmarks=True)
        finally:
            torch.set_num_threads(threads)
        if boxes is None:
            return None
        best = int(np.argmax(probs))
        return np.asarray(boxes[best], np.float64), np.asarray(points[best], np.float64)

    return detect
