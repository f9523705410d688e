"""Resource limits a recording must meet before it is accepted (upload, archive scan).

A small file can still be expensive: frame pixels drive decoding memory, duration drives processing time.
"""

from __future__ import annotations

from classpulse.video.probe import InputError, VideoInfo
from service.settings import Settings


def check_recording(info: VideoInfo, settings: Settings) -> None:
    """Raise `InputError` (one line naming the file and the limit) if `info` exceeds a configured limit."""
    name = info.path.name
    pixels = info.width * info.height
    if pixels > settings.max_video_pixels:
        raise InputError(
            f"{name}: {info.width}x{info.height} frames ({pixels / 1e6:.1f} megapixels) exceed the limit of "
            f"{settings.max_video_pixels / 1e6:.1f} megapixels"
        )
    if info.duration_s > settings.max_video_duration_s:
        raise InputError(
            f"{name}: {info.duration_s / 3600:.2f} hours exceeds the limit of "
            f"{settings.max_video_duration_s / 3600:.2f} hours per recording"
        )
