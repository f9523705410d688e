"""summary.pulse_summary on real heart-rate windows: tracking applied, the whole-track fields present."""

from __future__ import annotations

import pytest

from classpulse.pulse import HeartRateWindow, heart_rate_series
from classpulse.summary import pulse_summary
from tests.helpers.pulse import synthetic_trace


def test_pulse_summary_tracks_real_windows_and_adds_the_track_fields() -> None:
    rgb, times = synthetic_trace(75.0, duration_s=40.0, amplitude=0.001, seed=11)
    pulse, windows = pulse_summary(heart_rate_series(rgb, times))
    assert pulse.track_bpm == pytest.approx(75.0, abs=1.0)
    assert pulse.track_quality_db >= pulse.track_min_quality_db
    assert pulse.track_windows == sum(w.quality_db is not None for w in windows)
    assert pulse.mean_bpm == pytest.approx(75.0, abs=1.5)
    assert all(len(point) == 6 for point in pulse.series)
    assert pulse.accepted_windows == sum(point.bpm is not None for point in pulse.series)
    assert all(0.0 <= point.confidence <= 1.0 for point in pulse.series if point.confidence is not None)


def test_windows_without_spectra_pass_through_unchanged() -> None:
    """Windows built by hand (no spectrum) keep their rate; no track estimate is made from them."""
    series = [HeartRateWindow(float(t), 70.0, 3.0, None) for t in range(8)]
    pulse, windows = pulse_summary(series)
    assert [w.bpm for w in windows] == [70.0] * 8
    assert pulse.track_bpm is None and pulse.track_quality_db is None and pulse.track_windows == 0
    assert pulse.mean_bpm == 70.0
