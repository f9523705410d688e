"""rPPG methods: one pure function per paper, RGB trace (T, 3) at `fs` Hz in, pulse signal (T,) out.

All band limits and window lengths live here, so the methods, the heart-rate estimator and the tests agree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

# Plausible heart rates (0.7-3.0 Hz): resting adults sit well inside; 180 bpm stays below the Nyquist
# frequency of 15 fps video (3.0 Hz < 7.5 Hz). Used for filtering, the spectral peak search and the SNR.
HR_BAND_BPM: tuple[float, float] = (42.0, 180.0)
# Butterworth order of the band-pass; run forwards and backwards (zero phase), so effectively order 6.
BANDPASS_ORDER = 3
# Both CHROM and POS estimate their colour-mixing weights over short windows (~ one heart beat or two),
# which tracks illumination and motion changes (de Haan & Jeanne 2013; Wang et al. 2017 use 1.6 s at 20 fps).
POS_WINDOW_S = 1.6
CHROM_WINDOW_S = 1.6
# POS projection plane orthogonal to the skin tone (Wang et al. 2017, eq. 10).
POS_PROJECTION = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])
# CHROM chrominance axes for standardised skin (de Haan & Jeanne 2013): Xs = 3R - 2G, Ys = 1.5R + G - 1.5B.
CHROM_PROJECTION = np.array([[3.0, -2.0, 0.0], [1.5, 1.0, -1.5]])
_EPS = 1e-12

PulseMethod = Callable[[np.ndarray, float], np.ndarray]


def bandpass(
    x: np.ndarray, fs: float, band_bpm: tuple[float, float] = HR_BAND_BPM, axis: int = -1
) -> np.ndarray:
    """Zero-phase Butterworth band-pass of `x` along `axis`; `fs` in Hz, band in bpm. Same shape out."""
    sos = _bandpass_sos(float(fs), float(band_bpm[0]), float(band_bpm[1]))
    n = x.shape[axis]
    # sosfiltfilt's default padding (3 * (2 * sections + 1)) can exceed a short window; pad with what exists.
    padlen = min(3 * (2 * len(sos) + 1), n - 1)
    return signal.sosfiltfilt(sos, x, axis=axis, padlen=padlen)


@lru_cache(maxsize=16)
def _bandpass_sos(fs: float, low_bpm: float, high_bpm: float) -> np.ndarray:
    # Designing the filter costs as much as running it on a 10 s window; the heart-rate series reuses it.
    band_hz = [low_bpm / 60.0, high_bpm / 60.0]
    return signal.butter(BANDPASS_ORDER, band_hz, btype="bandpass", fs=fs, output="sos")


def _window_length(window_s: float, fs: float, n: int) -> int:
    return max(2, min(n, round(window_s * fs)))


def _check(rgb: np.ndarray, fs: float) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.ndim != 2 or rgb.shape[1] != 3 or len(rgb) < 2:
        raise ValueError(f"rgb must have shape (T, 3) with T >= 2, got {rgb.shape}")
    if fs <= 2.0 * HR_BAND_BPM[1] / 60.0:
        raise ValueError(f"fs={fs} Hz is too low for the heart-rate band {HR_BAND_BPM} bpm")
    return rgb


def green(rgb: np.ndarray, fs: float) -> np.ndarray:
    """Green-channel baseline (Verkruysse, Svaasand & Nelson 2008, "Remote plethysmographic imaging using
    ambient light", Opt. Express 16(26)): haemoglobin absorbs green most, so the normalised, linearly
    detrended and band-passed green channel already carries the pulse, with no motion robustness at all.

    rgb (T, 3) mean skin RGB per frame, fs in Hz -> bvp (T,), unitless (relative intensity change).
    """
    rgb = _check(rgb, fs)
    g = rgb[:, 1] / max(float(rgb[:, 1].mean()), _EPS) - 1.0
    return bandpass(signal.detrend(g), fs)


def chrom(rgb: np.ndarray, fs: float) -> np.ndarray:
    """CHROM (de Haan & Jeanne 2013, "Robust pulse rate from chrominance-based rPPG", IEEE TBME 60(10)).

    Per 1.6 s window (half overlapping): normalise each channel by its mean, project on two chrominance
    axes that cancel specular reflection for standardised skin, band-pass both, and subtract them with
    alpha = std(X) / std(Y) so the residual motion component cancels; Hann-weighted overlap-add.

    rgb (T, 3) mean skin RGB per frame, fs in Hz -> bvp (T,), unitless.
    """
    rgb = _check(rgb, fs)
    n = len(rgb)
    win = _window_length(CHROM_WINDOW_S, fs, n)
    win += win % 2  # even, so half-overlapping Hann windows sum to a constant
    if win > n:
        win = n - n % 2
    hop = win // 2
    starts = np.arange(0, n - win + 1, hop)
    windows = sliding_window_view(rgb, win, axis=0)[starts]  # (W, 3, win)
    norm = windows / np.maximum(windows.mean(axis=2, keepdims=True), _EPS)
    xy = bandpass(np.einsum("kc,wcl->wkl", CHROM_PROJECTION, norm), fs)  # (W, 2, win)
    alpha = xy[:, 0].std(axis=1) / np.maximum(xy[:, 1].std(axis=1), _EPS)
    s = (xy[:, 0] - alpha[:, None] * xy[:, 1]) * signal.windows.hann(win, sym=False)
    return _overlap_add(s, starts, n)


def pos(rgb: np.ndarray, fs: float) -> np.ndarray:
    """POS, plane-orthogonal-to-skin (Wang, den Brinker, Stuijk & de Haan 2017, "Algorithmic principles of
    remote PPG", IEEE TBME 64(7)), followed by the usual band-pass.

    For every 1.6 s window (hop one sample): temporally normalise, project onto the plane orthogonal to
    the skin tone, alpha-tune the two projections (h = S1 + std(S1)/std(S2) * S2), remove the window
    mean and overlap-add.

    rgb (T, 3) mean skin RGB per frame, fs in Hz -> bvp (T,), unitless.
    """
    rgb = _check(rgb, fs)
    n = len(rgb)
    win = _window_length(POS_WINDOW_S, fs, n)
    windows = sliding_window_view(rgb, win, axis=0)  # (n - win + 1, 3, win)
    norm = windows / np.maximum(windows.mean(axis=2, keepdims=True), _EPS)
    s = np.einsum("kc,wcl->wkl", POS_PROJECTION, norm)  # (W, 2, win)
    alpha = s[:, 0].std(axis=1) / np.maximum(s[:, 1].std(axis=1), _EPS)
    h = s[:, 0] + alpha[:, None] * s[:, 1]
    h -= h.mean(axis=1, keepdims=True)
    return bandpass(_overlap_add(h, np.arange(len(h)), n), fs)


def _overlap_add(segments: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Sum segments (W, L) into a signal (n,) at sample offsets `starts` (W,)."""
    idx = starts[:, None] + np.arange(segments.shape[1])
    return np.bincount(idx.ravel(), weights=segments.ravel(), minlength=n)


PULSE_METHODS: dict[str, PulseMethod] = {"pos": pos, "chrom": chrom, "green": green}


def get_method(name: str) -> PulseMethod:
    """The pulse method registered under `name`; ValueError listing the valid names otherwise."""
    try:
        return PULSE_METHODS[name]
    except KeyError:
        valid = ", ".join(sorted(PULSE_METHODS))
        raise ValueError(f"unknown pulse method {name!r}; valid: {valid}") from None
