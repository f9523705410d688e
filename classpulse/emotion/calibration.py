"""Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks") and its measure.

The report prints a confidence per expression; it should mean what it says: of the faces shown at 70 %
confidence, about 70 % should carry that label. One scalar temperature, fitted on PublicTest by
negative log-likelihood, rescales the averaged log-probabilities without changing any prediction.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

ECE_BINS = 15


def softmax_at(log_probs: np.ndarray, temperature: float) -> np.ndarray:
    """Averaged log-probabilities (n, k) -> probabilities (n, k) at `temperature`."""
    return np.exp(log_softmax(log_probs / temperature, axis=1))


def fit_temperature(log_probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.25, 4] that minimises the negative log-likelihood of `labels` (n,)."""

    def nll(temperature: float) -> float:
        return float(-log_softmax(log_probs / temperature, axis=1)[np.arange(len(labels)), labels].mean())

    return float(minimize_scalar(nll, bounds=(0.25, 4.0), method="bounded").x)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    confidence, predicted = probs.max(1), probs.argmax(1)
    correct = predicted == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gap = 0.0
    for b in np.unique(which):
        in_bin = which == b
        gap += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(gap)
