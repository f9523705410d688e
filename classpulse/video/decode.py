"""Stream frames out of ffmpeg at a constant analysis rate and capped size, one frame in memory at a time."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import ffmpeg
import numpy as np

from classpulse.video.probe import InputError, VideoInfo

MAX_ANALYSIS_FPS = 30.0


@dataclass(frozen=True)
class Frame:
    """One decoded frame: `rgb` (h, w, 3) uint8 at analysis size, `t` seconds from the start."""

    index: int
    t: float
    rgb: np.ndarray


def analysis_rate(info: VideoInfo, cap: float = MAX_ANALYSIS_FPS) -> float:
    """The source rate, capped; variable-rate sources are resampled to it by ffmpeg's fps filter."""
    return min(info.fps, cap)


def analysis_size(info: VideoInfo, max_side: int) -> tuple[int, int]:
    """(width, height) with the long side at most `max_side`, both even (what yuv scalers like)."""
    scale = min(1.0, max_side / max(info.width, info.height))
    return max(2, round(info.width * scale / 2) * 2), max(2, round(info.height * scale / 2) * 2)


def _drain(stream, tail: deque) -> None:
    for line in iter(stream.readline, b""):
        tail.append(line.decode(errors="replace").rstrip())


def iter_frames(info: VideoInfo, *, fps: float, max_side: int) -> Iterator[Frame]:
    """Yield frames at exactly `fps` (timestamps from the container, duplicated or dropped by ffmpeg).

    ffmpeg applies display rotation itself, so frames come out in the probed `width` x `height`.
    """
    width, height = analysis_size(info, max_side)
    process = (
        ffmpeg.input(str(info.path))
        .video.filter("fps", fps=fps)
        .filter("scale", width, height)
        .output("pipe:", format="rawvideo", pix_fmt="rgb24")
        .global_args("-v", "error", "-nostdin")
        .run_async(pipe_stdout=True, pipe_stderr=True)
    )
    tail: deque[str] = deque(maxlen=5)
    reader = threading.Thread(target=_drain, args=(process.stderr, tail), daemon=True)
    reader.start()
    frame_bytes = width * height * 3
    index = 0
    try:
        while True:
            buf = process.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            yield Frame(
                index=index, t=index / fps, rgb=np.frombuffer(buf, np.uint8).reshape(height, width, 3)
            )
            index += 1
    finally:
        process.stdout.close()
        if process.poll() is None:
            process.kill()
        process.wait()
        reader.join(timeout=5)
    if index == 0:
        raise InputError(f"{info.path.name}: no decodable video frame ({'; '.join(tail) or 'empty stream'})")
