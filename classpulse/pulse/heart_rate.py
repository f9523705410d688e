"""Heart rate from a pulse signal, and a per-window heart-rate series for one face track.

The series holds one entry per `step_s` seconds, each either a heart rate with its spectral quality or
the reason it was withheld, and each analysed window's band spectrum. `classpulse.pulse.tracking` reads a
face's windows together (whole-track estimate, Viterbi path) before the report plots them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from classpulse.pulse.methods import HR_BAND_BPM, PulseMethod, get_method

# Spectral resolution of the zero-padded FFT; well under the 2-5 bpm errors rPPG achieves anyway.
HR_RESOLUTION_BPM = 0.1
# SNR template half-width around the peak and its first harmonic (de Haan & Jeanne 2013 use +-0.1 Hz).
SNR_HALF_WIDTH_BPM = 6.0
# Every analysed window also keeps its band spectrum sampled on this grid (bpm), for the whole-track
# estimate and the peak tracking (classpulse.pulse.tracking). 1 bpm: the Hann main lobe of a 10 s window
# is +-12 bpm wide, so the samples resolve it; 139 float32 values (~0.6 kB) per face and second.
SPECTRUM_STEP_BPM = 1.0
SPECTRUM_BPM = np.arange(HR_BAND_BPM[0], HR_BAND_BPM[1] + SPECTRUM_STEP_BPM / 2, SPECTRUM_STEP_BPM)
# Traces are resampled onto this uniform grid (Hz) before any processing: it copes with variable frame
# rates and dropped frames, and keeps the pulse band (<= 3 Hz) far below Nyquist.
RESAMPLE_HZ = 30.0
# Analysis window (s): ~10 beats at rest, enough for a sharp spectral peak, short enough to follow change.
WINDOW_S = 10.0
# A window is analysed only if at most this fraction of its grid samples lacks a usable frame nearby
# (within one median frame interval); shorter holes are linearly interpolated. Frames before the track
# starts or after it ends count as missing, so windows near the ends are analysed on >= 80 % of 10 s.
MAX_MISSING_FRACTION = 0.2
# SNR (dB) below which a window's heart rate is withheld; a clean pulse reaches ~10 dB in 10 s windows.
# Measured on 1500 independent 10 s windows of pure noise per method (white, pink, or common-mode
# flicker): <= 0.9 % reach 1 dB (99th percentiles -0.1 to 1.0 dB). Real clips: the lossless webcam clip
# gives POS 1.1-6.2 dB, 25/25 windows pass; on the compressed selfie (68 bpm) and the ROI clips nearly
# all windows sit at -6 to 0 dB; of those passing 1 dB, the selfie's (1-2 per method) are within 2.5 bpm
# while CHROM lets 2 wrong Sierra Leone ROI windows through. 0 dB would admit 1-4 % of noise windows;
# 1.5 dB starts dropping good webcam windows. See tests/pulse/test_pulse_real_clips.py.
MIN_QUALITY_DB = 1.0

# Frames whose face is smaller than this (pixels at analysis resolution) hold too few skin pixels for a
# pulse: the pipeline marks them not `valid`, and windows short of valid frames get REASON_FACE_TOO_SMALL.
MIN_FACE_PX = 60.0

REASON_TOO_FEW_SAMPLES = "too few samples"
REASON_FACE_TOO_SMALL = "face too small"
REASON_LOW_QUALITY = "low signal quality"
# Set by classpulse.pulse.tracking: the window's own SNR passed, but the tracked heart-rate path does not
# support it (its peak lies off the path, as an isolated wrong peak does, or the path is too uncertain
# there).
REASON_OFF_TRACK = "disagrees with neighbouring windows"


@dataclass(frozen=True, slots=True)
class HeartRateWindow:
    """One analysis window of a track. `t` is the window centre in seconds from the video start.

    `bpm` is None when withheld; `quality_db` is the spectral SNR (None when the window was not analysed);
    `reason` is None for accepted windows, else one of the REASON_* strings. `spectrum` (F,) float32 is the
    window's power on SPECTRUM_BPM normalised to sum 1 (None when the window was not analysed).
    """

    t: float
    bpm: float | None
    quality_db: float | None
    reason: str | None
    spectrum: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def accepted(self) -> bool:
        return self.bpm is not None


def snr_db(power: np.ndarray, freq_bpm: np.ndarray, peak_bpm: float) -> float:
    """De Haan & Jeanne (2013) spectral SNR in dB of `power` (F,) on `freq_bpm` (F,), the pulse band only:
    power within +-SNR_HALF_WIDTH_BPM of `peak_bpm` and of its first harmonic, over the rest (a harmonic
    above the band is not counted). inf when nothing lies outside the template."""
    template = (np.abs(freq_bpm - peak_bpm) <= SNR_HALF_WIDTH_BPM) | (
        np.abs(freq_bpm - 2.0 * peak_bpm) <= SNR_HALF_WIDTH_BPM
    )
    noise = float(power[~template].sum())
    return 10.0 * math.log10(float(power[template].sum()) / noise) if noise > 0.0 else math.inf


def _band_periodogram(
    bvp: np.ndarray, fs: float, band_bpm: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Hann-windowed periodogram of `bvp` (T,) at `fs` Hz, zero-padded to HR_RESOLUTION_BPM, restricted
    to `band_bpm` -> (power (F,), freq_bpm (F,)); None for a flat, too short or non-finite signal."""
    x = np.asarray(bvp, dtype=np.float64)
    if len(x) < 2 or not np.isfinite(x).all():
        return None
    x = (x - x.mean()) * np.hanning(len(x))
    n_fft = 1 << math.ceil(math.log2(max(len(x), 60.0 * fs / HR_RESOLUTION_BPM)))
    power = np.abs(np.fft.rfft(x, n_fft)) ** 2
    freq_bpm = np.fft.rfftfreq(n_fft, 1.0 / fs) * 60.0
    in_band = (freq_bpm >= band_bpm[0]) & (freq_bpm <= band_bpm[1])
    if not in_band.any() or power[in_band].sum() <= 0.0:
        return None
    return power[in_band], freq_bpm[in_band]


def heart_rate(
    bvp: np.ndarray, fs: float, band_bpm: tuple[float, float] = HR_BAND_BPM
) -> tuple[float, float]:
    """Dominant pulse rate of `bvp` (T,) sampled at `fs` Hz -> (bpm, quality in dB).

    Peak of the Hann-windowed, zero-padded periodogram inside `band_bpm`; quality is `snr_db` around it.
    Returns (nan, nan) for a flat or non-finite signal.
    """
    spectrum = _band_periodogram(bvp, fs, band_bpm)
    if spectrum is None:
        return math.nan, math.nan
    power, freq_bpm = spectrum
    peak = float(freq_bpm[np.argmax(power)])
    return peak, snr_db(power, freq_bpm, peak)


def heart_rate_and_spectrum(bvp: np.ndarray, fs: float) -> tuple[float, float, np.ndarray | None]:
    """`heart_rate` of `bvp` (T,) at `fs` Hz in HR_BAND_BPM, plus its power sampled on SPECTRUM_BPM (F,)
    float32, normalised to sum 1 -> (bpm, quality dB, spectrum); (nan, nan, None) for a flat signal."""
    spectrum = _band_periodogram(bvp, fs, HR_BAND_BPM)
    if spectrum is None:
        return math.nan, math.nan, None
    power, freq_bpm = spectrum
    peak = float(freq_bpm[np.argmax(power)])
    sampled = np.interp(SPECTRUM_BPM, freq_bpm, power)
    return peak, snr_db(power, freq_bpm, peak), (sampled / sampled.sum()).astype(np.float32)


def _near(sample_times: np.ndarray, grid: np.ndarray, tol: float) -> np.ndarray:
    """For each grid time (G,), whether some sample time (sorted) lies within `tol` seconds of it."""
    if len(sample_times) == 0:
        return np.zeros(len(grid), dtype=bool)
    idx = np.searchsorted(sample_times, grid)
    left = sample_times[np.clip(idx - 1, 0, len(sample_times) - 1)]
    right = sample_times[np.clip(idx, 0, len(sample_times) - 1)]
    return np.minimum(np.abs(grid - left), np.abs(right - grid)) <= tol


def heart_rate_series(
    rgb: np.ndarray,
    times: np.ndarray,
    *,
    method: str = "pos",
    window_s: float = WINDOW_S,
    step_s: float = 1.0,
    min_quality_db: float = MIN_QUALITY_DB,
    valid: np.ndarray | None = None,
) -> list[HeartRateWindow]:
    """Sliding-window heart rate of one face track.

    rgb (T, 3) mean skin RGB per frame, NaN rows where no skin was measured; times (T,) seconds from the
    video start, non-decreasing, possibly irregular; valid (T,) bool, False where the caller judged the
    frame unusable (face too small). Returns one HeartRateWindow per centre t = k * step_s inside
    [times[0], times[-1]]; each covers [t - window_s / 2, t + window_s / 2) resampled at RESAMPLE_HZ.
    Windows with more than MAX_MISSING_FRACTION missing get reason "face too small" if the `valid` flags
    caused it, else "too few samples"; analysed windows below `min_quality_db` get "low signal quality"
    (their quality is kept, their bpm is None).
    """
    pulse = get_method(method)
    rgb = np.asarray(rgb, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if rgb.ndim != 2 or rgb.shape[1] != 3 or times.shape != (len(rgb),):
        raise ValueError(f"need rgb (T, 3) and times (T,), got {rgb.shape} and {times.shape}")
    if valid is not None and np.shape(valid) != times.shape:
        raise ValueError(f"valid must have shape {times.shape}, got {np.shape(valid)}")
    timed = np.isfinite(times)
    if not timed.any():
        return []
    if np.any(np.diff(times[timed]) < 0):
        raise ValueError("times must be non-decreasing")
    measured = timed & np.isfinite(rgb).all(axis=1)
    usable = measured if valid is None else measured & np.asarray(valid, dtype=bool)
    grid = _resample(rgb, times, timed=timed, measured=measured, usable=usable)
    t_last = float(times[timed][-1])
    return [
        _window(grid, k * step_s, pulse=pulse, window_s=window_s, min_quality_db=min_quality_db)
        for k in range(math.ceil(grid.t0 / step_s - 1e-9), math.floor(t_last / step_s + 1e-9) + 1)
    ]


@dataclass(frozen=True)
class _Grid:
    """A track's trace resampled at RESAMPLE_HZ from `t0` seconds: rgb (G, 3), interpolated from the usable
    frames (NaN with fewer than two), and per grid time whether a usable / any measured frame is near."""

    t0: float
    rgb: np.ndarray
    usable: np.ndarray
    measured: np.ndarray


def _resample(
    rgb: np.ndarray, times: np.ndarray, *, timed: np.ndarray, measured: np.ndarray, usable: np.ndarray
) -> _Grid:
    """rgb (T, 3) at `times` (T,) s -> the uniform grid from the first to the last timed frame; `timed`,
    `measured` and `usable` (T,) bool say which frames have a time, a skin colour, and may be used."""
    t_first, t_last = float(times[timed][0]), float(times[timed][-1])
    grid = t_first + np.arange(math.floor((t_last - t_first) * RESAMPLE_HZ) + 1) / RESAMPLE_HZ
    frame_dt = float(np.median(np.diff(times[timed]))) if timed.sum() > 1 else 0.0
    tol = max(frame_dt, 1.0 / RESAMPLE_HZ) + 1e-9
    grid_usable = _near(times[usable], grid, tol)
    grid_measured = _near(times[measured], grid, tol)
    if usable.sum() >= 2:
        grid_rgb = np.stack([np.interp(grid, times[usable], rgb[usable, c]) for c in range(3)], axis=1)
    else:
        grid_rgb = np.full((len(grid), 3), np.nan)
    return _Grid(t_first, grid_rgb, grid_usable, grid_measured)


def _window(
    grid: _Grid, t: float, *, pulse: PulseMethod, window_s: float, min_quality_db: float
) -> HeartRateWindow:
    """The window centred at `t` s: its heart rate, or the reason it has none."""
    n_win = round(window_s * RESAMPLE_HZ)
    max_missing = MAX_MISSING_FRACTION * n_win
    start = round((t - window_s / 2.0 - grid.t0) * RESAMPLE_HZ)
    lo, hi = max(start, 0), min(start + n_win, len(grid.rgb))
    if n_win - grid.usable[lo:hi].sum() > max_missing:
        flagged = n_win - grid.measured[lo:hi].sum() <= max_missing
        return HeartRateWindow(t, None, None, REASON_FACE_TOO_SMALL if flagged else REASON_TOO_FEW_SAMPLES)
    present = np.flatnonzero(grid.usable[lo:hi]) + lo  # trim held (extrapolated) values at the ends
    bvp = pulse(grid.rgb[present[0] : present[-1] + 1], RESAMPLE_HZ)
    bpm, quality, spectrum = heart_rate_and_spectrum(bvp, RESAMPLE_HZ)
    if math.isnan(quality):  # flat or broken signal
        return HeartRateWindow(t, None, None, REASON_LOW_QUALITY)
    if quality < min_quality_db:
        return HeartRateWindow(t, None, quality, REASON_LOW_QUALITY, spectrum)
    return HeartRateWindow(t, bpm, quality, None, spectrum)
