"""Heart rate across a whole face track: quality-weighted spectrum averaging and Viterbi peak tracking.

A single 10 s window of compressed video rarely holds a pulse peak that stands clear of the noise, but
the pulse sits at nearly the same frequency in every window while noise peaks wander. Two pure functions
use that, both on the per-window spectra that `heart_rate_series` keeps (each (F,) on SPECTRUM_BPM,
normalised to sum 1):

* `track_estimate`: Welch's idea (Welch 1967, "The use of fast Fourier transform for the estimation of
  power spectra", IEEE Trans. Audio Electroacoust. 15(2)) of averaging the periodograms of overlapping
  segments, weighted by each window's SNR, gives one resting heart rate for the track with the SNR of
  the averaged spectrum as its quality.
* `viterbi_track`: the most probable heart-rate path through the spectrogram when the rate can change by
  at most MAX_RATE_CHANGE_BPM_PER_S (Viterbi 1967, IEEE Trans. Inf. Theory 13(2)), the spectral peak
  tracking with a bounded change of Zhang, Pi & Liu 2015, "TROIKA", IEEE TBME 62(2), done as one global
  optimum over the whole track instead of window by window. Forward-backward posteriors give a
  per-window confidence: the probability that the rate lies within CONFIDENCE_HALF_WIDTH_BPM of the
  path. An isolated wrong peak gets little posterior mass; a weak window between strong ones inherits
  theirs.

`track_series` applies both to one face's windows. Both gates (TRACK_QUALITY_GATE_DB, MIN_CONFIDENCE)
are calibrated on pure-noise traces and checked on held-out ones in tests/pulse/test_pulse_tracking.py:
noise stays below each in >= 99 % of trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from classpulse.pulse.heart_rate import (
    MIN_QUALITY_DB,
    REASON_LOW_QUALITY,
    REASON_OFF_TRACK,
    SPECTRUM_BPM,
    SPECTRUM_STEP_BPM,
    HeartRateWindow,
    snr_db,
)

# The fastest plausible change of heart rate between windows (bpm per second of window-centre spacing).
# Rates can rise ~10 bpm/s at the onset of exercise or a startle; 10 s windows 1 s apart smear any change
# over 10 s anyway, so a rate in these spectra moves far slower than this.
MAX_RATE_CHANGE_BPM_PER_S = 10.0
# Within the limit, a change of delta bpm over dt s costs -(delta / (RATE_CHANGE_SD_BPM_PER_S * dt))^2 / 2
# in log probability: steady rates are preferred, changes of a few bpm per second are cheap.
RATE_CHANGE_SD_BPM_PER_S = 2.0
# Posterior mass within this many bpm of the path is a window's confidence (about the 10 s Hann lobe's
# half width at half power, +-3 bpm).
CONFIDENCE_HALF_WIDTH_BPM = 3.0
# Windows 1 s apart overlap by 9 of their 10 s, so each stretch of signal is seen by ~10 windows: their
# spectra are raised to this power before they act as likelihoods, or the posterior would count the same
# evidence ten times over and be overconfident.
EMISSION_EXPONENT = 0.1
# Spectrum values are probabilities over the band; this floor keeps log(0) finite.
_FLOOR = 1e-9
# A window's weight in the average is its SNR as a power ratio, capped so one clean window cannot
# outweigh all others by more than this factor over a window at 0 dB.
MAX_WINDOW_WEIGHT = 10.0
# Gates, calibrated on noise (see module docstring). The average of more windows scatters less, so the
# SNR its peak needs falls with the number of windows averaged: (windows, dB) points, interpolated in
# log(windows) and held beyond the ends. Each sits just above the 99.5th percentile of pure-noise tracks
# (POS; 300 traces each of white, independent pink and common-mode pink noise, seeds 100-399; 99th /
# 99.5th percentile / max): 20 s = 15 windows -0.79 / -0.40 / +0.63 dB; 34 s = 29 windows -1.80 / -1.28 /
# -0.54; 60 s = 55 windows -2.55 / -2.35 / -1.35; 140 s = 135 windows -3.30 / -3.07 / -2.33.
TRACK_QUALITY_GATE_DB: tuple[tuple[int, float], ...] = ((15, -0.3), (29, -1.2), (55, -2.2), (135, -2.9))
# Fewer analysed windows than this (a 20 s track has about 15) give no track estimate: shorter averages
# were not calibrated.
MIN_TRACK_WINDOWS = 15
# Posterior confidence above which a tracked window's heart rate may be reported (pure noise: 99th
# percentile 0.37-0.42 over 34 s traces; a clean pulse reaches 0.6-0.7).
MIN_CONFIDENCE = 0.5
# The same for a window that passed its own SNR gate (pure noise does so in < 1 % of windows) with its peak
# on the path: that evidence is independent of the path's, so less posterior support is needed, and a
# short track (a few windows, whose posterior stays broad however clean they are) can still be reported.
# Pure noise, 300 tracks of 34 / 60 s: 11 / 10 windows in 8683 / 16487 (0.13 / 0.06 %) reach it, in 4 / 6
# tracks; 0.5 would silence the clean 6-window track of tests/test_analyze_end_to_end.py (0.40-0.42).
MIN_CONFIDENCE_OWN_GATE = 0.35


@dataclass(frozen=True, slots=True)
class TrackEstimate:
    """Whole-track heart rate: `bpm` (None when withheld), `quality_db` the SNR of the averaged spectrum
    (None when fewer than MIN_TRACK_WINDOWS windows were analysed), `windows` how many were averaged,
    `peak_bpm` the averaged spectrum's peak even when withheld (for evaluation, never for reports)."""

    bpm: float | None
    quality_db: float | None
    windows: int
    peak_bpm: float | None = None


def _refine_peak(spectrum: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Peak positions (bpm) refined between bins: a parabola through log power at `index` and its two
    neighbours. spectrum (W, F) on SPECTRUM_BPM, index (W,) bin of a local maximum in each row; bins at
    the band edges or not at a local maximum are returned as they are."""
    rows = np.arange(len(index))
    inner = np.clip(index, 1, spectrum.shape[1] - 2)
    left, mid, right = (np.log(spectrum[rows, inner + d] + _FLOOR) for d in (-1, 0, 1))
    curvature = left - 2.0 * mid + right
    is_peak = (inner == index) & (mid >= left) & (mid >= right) & (curvature < 0.0)
    offset = np.where(is_peak, 0.5 * (left - right) / np.where(is_peak, curvature, -1.0), 0.0)
    return SPECTRUM_BPM[index] + np.clip(offset, -0.5, 0.5) * SPECTRUM_STEP_BPM


def _local_peak(spectra: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's strongest local maximum within CONFIDENCE_HALF_WIDTH_BPM of its path bin: spectra
    (W, F), state (W,) bin indices -> (bin indices (W,), found (W,) bool). The path is smooth by
    construction; the rate is read from the window's own spectrum near it. Where no peak lies that close
    (the path is passing between peaks, as through a rate change), the path bin and found=False."""
    near = np.abs(SPECTRUM_BPM[None, :] - SPECTRUM_BPM[state][:, None]) <= CONFIDENCE_HALF_WIDTH_BPM
    local = np.argmax(np.where(near, spectra, -np.inf), axis=1)
    rows = np.arange(len(state))
    below = spectra[rows, np.maximum(local - 1, 0)]
    above = spectra[rows, np.minimum(local + 1, spectra.shape[1] - 1)]
    peak = spectra[rows, local]
    inside = (local > 0) & (local < spectra.shape[1] - 1)
    found = inside & (peak >= below) & (peak >= above) & (peak > np.minimum(below, above))
    return np.where(found, local, state), found


def track_quality_gate_db(windows: int) -> float:
    """SNR (dB) the averaged spectrum of `windows` analysed windows must reach (TRACK_QUALITY_GATE_DB)."""
    n, gate = np.array(TRACK_QUALITY_GATE_DB).T
    return float(np.interp(math.log(max(windows, 1)), np.log(n), gate))


def track_estimate(
    spectra: np.ndarray, quality_db: np.ndarray, *, min_quality_db: float | None = None
) -> TrackEstimate:
    """One heart rate for a whole track from its windows' spectra.

    spectra (W, F) band power on SPECTRUM_BPM, each row normalised to sum 1; quality_db (W,) each
    window's own SNR. The rows are averaged with weights 10^(quality/10) capped at MAX_WINDOW_WEIGHT;
    the peak of the average (refined between bins) is the estimate and `snr_db` around it its quality.
    Withheld (bpm None) below `min_quality_db` (default `track_quality_gate_db(W)`) or with fewer than
    MIN_TRACK_WINDOWS windows.
    """
    spectra = np.asarray(spectra, dtype=np.float64).reshape(-1, len(SPECTRUM_BPM))
    quality_db = np.asarray(quality_db, dtype=np.float64)
    if len(spectra) < MIN_TRACK_WINDOWS:
        return TrackEstimate(None, None, len(spectra))
    weights = np.minimum(10.0 ** (quality_db / 10.0), MAX_WINDOW_WEIGHT)
    average = weights @ spectra / weights.sum()
    peak = int(np.argmax(average))
    bpm = float(_refine_peak(average[None, :], np.array([peak]))[0])
    quality = snr_db(average, SPECTRUM_BPM, float(SPECTRUM_BPM[peak]))
    gate = track_quality_gate_db(len(spectra)) if min_quality_db is None else min_quality_db
    return TrackEstimate(bpm if quality >= gate else None, quality, len(spectra), bpm)


def _log_transitions(dt: float) -> np.ndarray:
    """(F, F) log transition weights between SPECTRUM_BPM states for windows `dt` seconds apart."""
    delta = SPECTRUM_BPM[None, :] - SPECTRUM_BPM[:, None]
    scale = max(dt, 1e-6)
    log_t = -0.5 * (delta / (RATE_CHANGE_SD_BPM_PER_S * scale)) ** 2
    log_t[np.abs(delta) > MAX_RATE_CHANGE_BPM_PER_S * scale + 1e-9] = -np.inf
    # Not normalised per row: a row sum would favour the band edges (fewer neighbours) for weak spectra.
    return log_t


def viterbi_track(spectra: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heart-rate path through a spectrogram and each window's confidence in it.

    spectra (W, F) band power on SPECTRUM_BPM, rows normalised to sum 1 (the emission probabilities of a
    hidden rate state per bin); times (W,) window centres in seconds, increasing (gaps allowed: the rate
    may then change by MAX_RATE_CHANGE_BPM_PER_S times the gap). Returns path (W,) bpm (the strongest
    peak of each window's own spectrum within CONFIDENCE_HALF_WIDTH_BPM of the path, refined between
    bins) and confidence (W,) in [0, 1], the forward-backward posterior
    probability that the rate lies within CONFIDENCE_HALF_WIDTH_BPM of the path, or 0 where the window's
    own spectrum has no peak that close.
    """
    spectra = np.asarray(spectra, dtype=np.float64).reshape(-1, len(SPECTRUM_BPM))
    times = np.asarray(times, dtype=np.float64)
    n = len(spectra)
    if n == 0:
        return np.empty(0), np.empty(0)
    if times.shape != (n,) or np.any(np.diff(times) <= 0):
        raise ValueError(f"times must be increasing with shape ({n},), got {times.shape}")
    log_e = EMISSION_EXPONENT * np.log(spectra / spectra.sum(axis=1, keepdims=True) + _FLOOR)
    transitions: dict[float, np.ndarray] = {}
    steps = [transitions.setdefault(round(dt, 6), _log_transitions(dt)) for dt in np.diff(times)]

    # Viterbi (max-product) and forward (sum-product) passes, both in the log domain.
    best = np.empty_like(log_e)
    back = np.zeros(log_e.shape, dtype=np.intp)
    forward = np.empty_like(log_e)
    best[0] = forward[0] = log_e[0] - math.log(log_e.shape[1])
    for i, log_t in enumerate(steps, start=1):
        scores = best[i - 1][:, None] + log_t
        back[i] = np.argmax(scores, axis=0)
        best[i] = scores[back[i], np.arange(log_e.shape[1])] + log_e[i]
        forward[i] = logsumexp(forward[i - 1][:, None] + log_t, axis=0) + log_e[i]
    backward = np.zeros_like(log_e)
    for i in range(n - 2, -1, -1):
        backward[i] = logsumexp(steps[i] + (log_e[i + 1] + backward[i + 1])[None, :], axis=1)
    posterior = forward + backward
    posterior = np.exp(posterior - logsumexp(posterior, axis=1, keepdims=True))

    state = np.empty(n, dtype=np.intp)
    state[-1] = int(np.argmax(best[-1]))
    for i in range(n - 1, 0, -1):
        state[i - 1] = back[i, state[i]]
    near = np.abs(SPECTRUM_BPM[None, :] - SPECTRUM_BPM[state][:, None]) <= CONFIDENCE_HALF_WIDTH_BPM
    peak, found = _local_peak(spectra, state)
    confidence = np.where(found, (posterior * near).sum(axis=1), 0.0)
    return _refine_peak(spectra, peak), np.clip(confidence, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class TrackedPulse:
    """One face's heart rate after tracking: the whole-track `estimate`, the final per-window `windows`
    (sorted by t, one per t) and each window's path `confidence` (None where it was not analysed)."""

    estimate: TrackEstimate
    windows: list[HeartRateWindow]
    confidence: list[float | None]


def track_series(
    series: list[HeartRateWindow], *, min_window_quality_db: float = MIN_QUALITY_DB
) -> TrackedPulse:
    """Whole-track estimate and Viterbi-tracked windows of one face from its `heart_rate_series` windows
    (possibly several tracklets, in any order).

    A window with a spectrum is reported, at the path's rate, when the whole-track estimate passed its
    gate and the window's confidence reaches MIN_CONFIDENCE, or when the window passed its own gate
    (`heart_rate_series` gave it a bpm: SNR >= `min_window_quality_db`), its peak lies within
    CONFIDENCE_HALF_WIDTH_BPM of the path and its confidence reaches MIN_CONFIDENCE_OWN_GATE. Otherwise
    its bpm is withheld with REASON_LOW_QUALITY, or REASON_OFF_TRACK when it had passed its own gate.
    Windows without a spectrum (not analysed) are kept as they are.
    When two windows share a centre time (overlapping tracklets) the better one is kept.
    """
    by_t: dict[float, HeartRateWindow] = {}
    for w in series:
        kept = by_t.get(w.t)
        if kept is None or (w.quality_db or -math.inf) > (kept.quality_db or -math.inf):
            by_t[w.t] = w
    windows = [by_t[t] for t in sorted(by_t)]
    analysed = [i for i, w in enumerate(windows) if w.spectrum is not None and w.quality_db is not None]
    if not analysed:
        return TrackedPulse(TrackEstimate(None, None, 0), windows, [None] * len(windows))
    spectra = np.stack([windows[i].spectrum for i in analysed])
    quality = np.array([windows[i].quality_db for i in analysed])
    estimate = track_estimate(spectra, quality)
    path, confidence = viterbi_track(spectra, np.array([windows[i].t for i in analysed]))
    out: list[HeartRateWindow] = list(windows)
    conf_out: list[float | None] = [None] * len(windows)
    for i, bpm, conf, q in zip(analysed, path.tolist(), confidence.tolist(), quality.tolist(), strict=True):
        w = windows[i]
        conf_out[i] = conf
        on_path = w.bpm is not None and abs(w.bpm - bpm) <= CONFIDENCE_HALF_WIDTH_BPM
        by_track = estimate.bpm is not None and conf >= MIN_CONFIDENCE
        by_own_gate = q >= min_window_quality_db and on_path and conf >= MIN_CONFIDENCE_OWN_GATE
        if by_track or by_own_gate:
            out[i] = HeartRateWindow(w.t, bpm, q, None, w.spectrum)
        else:
            reason = REASON_OFF_TRACK if q >= min_window_quality_db else REASON_LOW_QUALITY
            out[i] = HeartRateWindow(w.t, None, q, reason, w.spectrum)
    return TrackedPulse(estimate, out, conf_out)
