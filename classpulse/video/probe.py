"""Probe a recording with ffprobe and refuse anything we cannot analyse, with a one-line reason."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import ffmpeg

# ffmpeg will "play" these as a video stream: text files (tty demuxer) and still images.
NOT_VIDEO_CONTAINERS = {"tty", "image2"}
#: MTCNN looks at 12x12 cells (`classpulse.faces.detector.SMALLEST_FACE_PX`): a smaller frame holds no face.
MIN_FRAME_SIDE_PX = 12


class InputError(ValueError):
    """The input is not an analysable video; the message is one line a customer can read."""


@dataclass(frozen=True)
class VideoInfo:
    """Container facts. `width`/`height` are display pixels (rotation applied), `fps` the average rate."""

    path: Path
    duration_s: float
    fps: float
    width: int
    height: int
    codec: str
    variable_frame_rate: bool
    has_audio: bool
    recorded_on: str | None = None  # ISO date of the container's creation_time tag, when it has one

    def facts(self) -> dict:
        """The recording facts shown to customers (job records, API)."""
        return {
            "duration_s": round(self.duration_s, 3),
            "fps": round(self.fps, 3),
            "width": self.width,
            "height": self.height,
            "codec": self.codec,
        }


def _rate(text: str | None) -> float:
    if not text or "/" not in text:
        return float(text or 0)
    num, den = text.split("/")
    return float(num) / float(den) if float(den) else 0.0


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return abs(int(side["rotation"])) % 360
    return abs(int(stream.get("tags", {}).get("rotate", 0))) % 360


def _creation_date(text: str | None) -> str | None:
    """`2026-03-02T09:15:00.000000Z` -> `2026-03-02`; None when absent or not a date."""
    try:
        return date.fromisoformat((text or "")[:10]).isoformat()
    except ValueError:
        return None


def _first_frame_decodes(path: Path) -> bool:
    """Decode one frame to a tiny raw image; probing alone accepts files whose frames are all corrupt."""
    cmd = [
        "ffmpeg",
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-vf",
        "scale=8:8",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "pipe:",
    ]
    try:
        result = subprocess.run(cmd, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return len(result.stdout) == 64


def probe(path: Path) -> VideoInfo:
    """Facts about `path`, or `InputError` for missing, empty, unreadable, audio-only or undecodable files."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path.name}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: the file is empty (0 bytes)")
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as exc:
        lines = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        reason = lines[-1].replace(str(path), path.name) if lines else "ffprobe could not read it"
        raise InputError(f"{path.name}: not a readable video ({reason})") from None
    container = info.get("format", {}).get("format_name", "")
    if container in NOT_VIDEO_CONTAINERS or container.endswith("_pipe"):
        raise InputError(f"{path.name}: not a video (read as {container}: text or a still image)")
    streams = info.get("streams", [])
    video = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    if not video:
        kinds = sorted({s.get("codec_type", "unknown") for s in streams}) or ["nothing"]
        raise InputError(f"{path.name}: no video stream (contains {', '.join(kinds)})")
    stream = video[0]
    width, height = int(stream.get("width", 0)), int(stream.get("height", 0))
    if width <= 0 or height <= 0:
        raise InputError(f"{path.name}: the video stream has no frame size")
    if min(width, height) < MIN_FRAME_SIDE_PX:
        raise InputError(
            f"{path.name}: {width}x{height} pixels is too small to contain a face "
            f"(at least {MIN_FRAME_SIDE_PX} px on each side)"
        )
    if _rotation(stream) in (90, 270):
        width, height = height, width
    avg, nominal = _rate(stream.get("avg_frame_rate")), _rate(stream.get("r_frame_rate"))
    fps = avg or nominal
    duration = float(stream.get("duration") or info.get("format", {}).get("duration") or 0.0)
    if fps <= 0 or duration <= 0:
        raise InputError(f"{path.name}: no frame rate or duration (truncated or not a video)")
    recorded_on = _creation_date(info.get("format", {}).get("tags", {}).get("creation_time"))
    if not _first_frame_decodes(path):
        raise InputError(f"{path.name}: no decodable video frame (truncated or corrupt)")
    return VideoInfo(
        path=path,
        duration_s=duration,
        fps=fps,
        width=width,
        height=height,
        codec=stream.get("codec_name", "unknown"),
        variable_frame_rate=bool(avg and nominal and abs(avg - nominal) / nominal > 0.01),
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
        recorded_on=recorded_on,
    )
