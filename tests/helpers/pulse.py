"""Pulse test helpers: synthetic skin traces with a known pulse, and streamed video decoding."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

# A light skin tone (RGB, 0-255) and the relative pulsatility of each channel (blood volume pulse
# signature: green strongest, then blue, then red; de Haan & van Leest 2014), normalised to green = 1.
SKIN_RGB = np.array([180.0, 125.0, 100.0])
PULSE_SIGNATURE = np.array([0.43, 1.0, 0.69])


def synthetic_trace(
    bpm: float | None = 72.0,
    *,
    duration_s: float = 30.0,
    amplitude: float = 0.004,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean skin RGB per frame (T, 3) and irregular frame times (T,) s, like a webcam at ~30 fps.

    The pulse (relative green amplitude `amplitude`; None for no pulse) rides on a slow illumination
    drift (+-5 % over 20 s), broadband intensity flicker (0.3 %, the same in all channels) and
    independent sensor noise (0.05 % per channel); frame intervals are uniform in 26-54 ms.
    """
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.uniform(0.026, 0.054, int(duration_s / 0.026) + 1))
    times = times[times < duration_s + times[0]] - times[0]
    pulse = np.zeros_like(times) if bpm is None else np.sin(2 * np.pi * bpm / 60.0 * times + 0.5)
    light = 1.0 + 0.05 * np.sin(2 * np.pi * times / 20.0) + rng.normal(0.0, 0.003, len(times))
    colour = 1.0 + amplitude * pulse[:, None] * PULSE_SIGNATURE
    noise = 1.0 + rng.normal(0.0, 0.0005, (len(times), 3))
    return SKIN_RGB * light[:, None] * colour * noise, times


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) Gaussian noise with a 1/f power spectrum, unit standard deviation."""
    freq = np.fft.rfftfreq(n)
    spectrum = rng.normal(size=len(freq)) + 1j * rng.normal(size=len(freq))
    spectrum[0] = 0.0
    spectrum[1:] /= np.sqrt(freq[1:])
    x = np.fft.irfft(spectrum, n)
    return x / x.std()


NOISE_KINDS = ("white", "pink", "common")


def noise_trace(kind: str, *, duration_s: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A skin trace (T, 3) with no pulse, and its times (T,) s: "white" is `synthetic_trace(None)`
    (drift, broadband flicker, sensor noise, jittery 26-54 ms frames); "pink" independent 1/f noise of
    0.3 % per channel, "common" 0.5 % 1/f flicker shared by all channels plus 0.05 % sensor noise, both
    at 30 fps. 1/f noise puts most power at low rates, the hardest case for a spectral SNR."""
    if kind == "white":
        return synthetic_trace(None, duration_s=duration_s, seed=seed)
    rng = np.random.default_rng(seed)
    times = np.arange(round(duration_s * 30.0)) / 30.0
    if kind == "pink":
        x = np.stack([_pink(len(times), rng) for _ in range(3)], axis=1) * 0.003
    else:
        x = _pink(len(times), rng)[:, None] * 0.005 + rng.normal(0.0, 0.0005, (len(times), 3))
    return SKIN_RGB * (1.0 + x), times


def video_fps(path: Path) -> float:
    """Average frame rate (Hz) from the container."""
    import ffmpeg

    stream = next(s for s in ffmpeg.probe(str(path))["streams"] if s["codec_type"] == "video")
    return float(Fraction(stream["avg_frame_rate"]))


def video_frames(path: Path, width: int, height: int) -> Iterator[np.ndarray]:
    """Stream frames as (height, width, 3) uint8 RGB, scaled by ffmpeg (area averaging)."""
    import ffmpeg

    process = (
        ffmpeg.input(str(path))
        .filter("scale", width, height, flags="area")
        .output("pipe:", format="rawvideo", pix_fmt="rgb24")
        .run_async(pipe_stdout=True, quiet=True)
    )
    size = width * height * 3
    try:
        while len(buf := process.stdout.read(size)) == size:
            yield np.frombuffer(buf, np.uint8).reshape(height, width, 3)
    finally:
        process.stdout.close()
        process.wait()
