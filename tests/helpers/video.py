"""Video test helpers: clips made with ffmpeg on the spot."""

from __future__ import annotations

import subprocess
from pathlib import Path


def tiny_video(path: Path, size: str = "2x2", seconds: float = 1) -> Path:
    """A black H.264 clip of `size` pixels at 1 fps: too small for any face (issue 17)."""
    source = f"color=black:s={size}:r=1"
    args = ["-f", "lavfi", "-i", source, "-t", str(seconds), "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(path)], check=True)
    return path
