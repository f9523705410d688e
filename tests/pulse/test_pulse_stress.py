"""Baseline and heart-rate-rise flags on constructed series."""

from __future__ import annotations

import pytest

from classpulse.pulse import REASON_LOW_QUALITY, HeartRateWindow, baseline_bpm, stress_flags


def _series(bpms: list[float | None], start: float = 5.0) -> list[HeartRateWindow]:
    def window(t: float, bpm: float | None) -> HeartRateWindow:
        if bpm is None:
            return HeartRateWindow(t, None, -3.0, REASON_LOW_QUALITY)
        return HeartRateWindow(t, bpm, 5.0, None)

    return [window(start + i, bpm) for i, bpm in enumerate(bpms)]


def test_baseline_is_the_median_of_the_first_minute() -> None:
    calm = [70.0, 71.0, 69.0, 200.0, 70.0] * 14  # one wild window in five does not move the median
    series = _series([None, None, *calm, *[95.0] * 100])
    assert baseline_bpm(series) == pytest.approx(70.0)
    assert baseline_bpm(series, baseline_s=300.0) == pytest.approx(95.0)


def test_baseline_falls_back_to_the_whole_track_when_the_start_is_thin() -> None:
    series = _series([72.0, *[None] * 70, *[80.0] * 20])
    assert baseline_bpm(series) == pytest.approx(80.0)  # 1 accepted window in the first minute
    assert baseline_bpm(_series([None, None])) is None
    assert baseline_bpm([]) is None


def test_flags_need_both_the_absolute_and_the_relative_rise() -> None:
    # baseline 60: +15 bpm (75) beats +15 % (69); baseline 120: +15 % (138) beats +15 bpm (135)
    low = stress_flags(_series([*[60.0] * 20, 74.0, 76.0, None]))
    assert low[-3:] == [False, True, None]
    high = stress_flags(_series([*[120.0] * 20, 136.0, 139.0]))
    assert high[-2:] == [False, True]
    assert len(low) == 23 and not any(low[:20])


def test_flags_are_none_without_a_baseline_and_margins_are_parameters() -> None:
    assert stress_flags(_series([None, None, None])) == [None, None, None]
    flags = stress_flags(_series([*[60.0] * 20, 66.0]), rise_bpm=5.0, rise_fraction=0.05)
    assert flags[-1] is True
