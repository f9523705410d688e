"""Stream frames out of ffmpeg at a constant analysis rate and capped size, one frame in memory at a time."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import ffmpeg
import numpy as np

from classpulse.video.probe import InputError, VideoInfo

MAX_ANALYSIS_FPS = 30.0
# Frames read ahead of the analysis: ffmpeg decodes while the analysis works instead of waiting on a full
# pipe, so decoding (another process, another core) overlaps with the analysis. 4 frames of 720p: 11 MB.
PREFETCH_FRAMES = 4


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


def _read_frames(stream, frame_bytes: int, out: queue.Queue, stop: threading.Event) -> None:
    """Reader thread: whole frames from ffmpeg's stdout into `out`, then None at the end of the stream."""
    try:
        while not stop.is_set():
            buf = stream.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            out.put(buf)
    finally:
        out.put(None)


def iter_frames(
    info: VideoInfo, *, fps: float, max_side: int, first: int = 0, count: int | None = None
) -> Iterator[Frame]:
    """Yield frames at exactly `fps` (timestamps from the container, duplicated or dropped by ffmpeg).

    `first` and `count` select frames of that grid (frame i is at i / fps s): ffmpeg seeks to the frame
    at `first / fps` s, so a chunk of a long recording decodes only its own part, with the same indices
    and times as a pass from the start. ffmpeg applies display rotation itself, so frames come out in
    the probed `width` x `height`. A reader thread keeps up to PREFETCH_FRAMES decoded frames ready.
    """
    width, height = analysis_size(info, max_side)
    limit = {} if count is None else {"frames:v": count}
    process = (
        ffmpeg.input(str(info.path), **({"ss": f"{first / fps:.6f}"} if first else {}))
        .video.filter("fps", fps=fps)
        .filter("scale", width, height, flags="area")
        .output("pipe:", format="rawvideo", pix_fmt="rgb24", **limit)
        .global_args("-v", "error", "-nostdin")
        .run_async(pipe_stdout=True, pipe_stderr=True)
    )
    tail: deque[str] = deque(maxlen=5)
    errors = threading.Thread(target=_drain, args=(process.stderr, tail), daemon=True)
    errors.start()
    frames: queue.Queue[bytes | None] = queue.Queue(maxsize=PREFETCH_FRAMES)
    stop = threading.Event()
    reader = threading.Thread(
        target=_read_frames, args=(process.stdout, width * height * 3, frames, stop), daemon=True
    )
    reader.start()
    index = first
    try:
        while (buf := frames.get()) is not None:
            yield Frame(
                index=index, t=index / fps, rgb=np.frombuffer(buf, np.uint8).reshape(height, width, 3)
            )
            index += 1
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                frames.get(timeout=0.05)
        process.stdout.close()
        process.wait()
        errors.join(timeout=5)
    if index == first:
        raise InputError(f"{info.path.name}: no decodable video frame ({'; '.join(tail) or 'empty stream'})")
