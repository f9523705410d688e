"""The rPPG methods and the spectral heart-rate estimate on synthetic traces with a known pulse."""

from __future__ import annotations

import numpy as np
import pytest

from classpulse.pulse import (
    HR_BAND_BPM,
    MIN_QUALITY_DB,
    PULSE_METHODS,
    REASON_LOW_QUALITY,
    get_method,
    heart_rate_series,
)
from classpulse.pulse.heart_rate import heart_rate


def test_registry_lists_methods_and_rejects_unknown_names() -> None:
    assert set(PULSE_METHODS) == {"pos", "chrom", "green"}
    assert get_method("pos") is PULSE_METHODS["pos"]
    with pytest.raises(ValueError, match="chrom, green, pos"):
        get_method("ica")


@pytest.mark.parametrize("name", sorted(PULSE_METHODS))
def test_method_keeps_length_and_rejects_bad_input(name: str) -> None:
    method = get_method(name)
    rgb = 100.0 + np.random.default_rng(0).normal(0.0, 1.0, (301, 3))
    bvp = method(rgb, 30.0)
    assert bvp.shape == (301,) and np.isfinite(bvp).all()
    with pytest.raises(ValueError, match=r"\(T, 3\) with T >= 2"):
        method(rgb[:, :2], 30.0)
    with pytest.raises(ValueError, match="too low"):
        method(rgb, 5.0)  # Nyquist 2.5 Hz is below the 3 Hz top of the band


def test_heart_rate_resolves_well_under_one_bpm() -> None:
    fs = 30.0
    t = np.arange(int(10 * fs)) / fs
    for true_bpm in (55.3, 72.0, 96.7, 150.2):
        bpm, quality = heart_rate(np.sin(2 * np.pi * true_bpm / 60.0 * t), fs)
        assert bpm == pytest.approx(true_bpm, abs=0.3)
        assert quality > 8.0  # a clean 10 s sinusoid: ~10 dB, limited by the Hann main lobe


def test_heart_rate_ignores_peaks_outside_the_band() -> None:
    fs = 30.0
    t = np.arange(int(10 * fs)) / fs
    breathing = 5.0 * np.sin(2 * np.pi * 0.25 * t)  # 15 per minute, far stronger than the pulse
    bpm, _ = heart_rate(breathing + np.sin(2 * np.pi * 1.2 * t), fs)
    assert HR_BAND_BPM[0] <= bpm <= HR_BAND_BPM[1]
    assert bpm == pytest.approx(72.0, abs=1.0)


def test_heart_rate_of_flat_or_broken_signal_is_nan() -> None:
    assert all(np.isnan(heart_rate(np.zeros(300), 30.0)))
    assert all(np.isnan(heart_rate(np.full(300, np.nan), 30.0)))


@pytest.mark.parametrize("name", sorted(PULSE_METHODS))
def test_methods_recover_a_known_pulse_through_drift_noise_and_jittery_timestamps(name, make_trace) -> None:
    rgb, times = make_trace(72.0, duration_s=30.0, seed=1)
    assert np.ptp(np.diff(times)) > 0.02  # really irregular
    series = heart_rate_series(rgb, times, method=name)
    accepted = [w for w in series if w.accepted]
    assert len(accepted) >= 20  # of 30 entries; the first/last 3 lack 80 % of a window
    assert all(abs(w.bpm - 72.0) < 2.0 and w.quality_db >= MIN_QUALITY_DB for w in accepted)


@pytest.mark.parametrize("name", sorted(PULSE_METHODS))
def test_pure_noise_is_rejected_as_low_quality(name, make_trace) -> None:
    rgb, times = make_trace(None, duration_s=60.0, seed=2)
    series = heart_rate_series(rgb, times, method=name)
    analysed = [w for w in series if w.quality_db is not None]
    assert len(analysed) >= 50
    rejected = [w for w in analysed if w.reason == REASON_LOW_QUALITY and w.bpm is None]
    # Pure noise passes MIN_QUALITY_DB in < 1 % of independent windows; these windows overlap by 90 %,
    # so allow a short run of them.
    assert len(rejected) >= 0.9 * len(analysed)
