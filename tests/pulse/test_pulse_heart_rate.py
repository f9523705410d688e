"""heart_rate_series: window timing, missing samples, caller-flagged frames, reasons."""

from __future__ import annotations

import numpy as np
import pytest

from classpulse.pulse import (
    REASON_FACE_TOO_SMALL,
    REASON_LOW_QUALITY,
    REASON_TOO_FEW_SAMPLES,
    HeartRateWindow,
    heart_rate_series,
)


def _by_time(series: list[HeartRateWindow]) -> dict[float, HeartRateWindow]:
    return {w.t: w for w in series}


def test_one_entry_per_step_at_integer_multiples_covering_the_track(make_trace) -> None:
    rgb, times = make_trace(72.0, duration_s=30.0, seed=3)
    times = times + 12.4  # a track that starts mid-video
    series = heart_rate_series(rgb, times, step_s=0.5)
    assert [w.t for w in series] == pytest.approx(np.arange(12.5, times[-1], 0.5))
    first_accepted = next(w.t for w in series if w.accepted)
    # 80 % of a 10 s window must exist: the first centre is 3 s after the track starts.
    assert first_accepted == pytest.approx(15.5, abs=0.5)
    for w in series:
        assert (w.bpm is None) == (w.reason is not None)
        if w.t < first_accepted:
            assert w.reason == REASON_TOO_FEW_SAMPLES and w.quality_db is None


def test_short_nan_gaps_are_interpolated_long_ones_reject_windows(make_trace) -> None:
    rgb, times = make_trace(72.0, duration_s=45.0, seed=4)
    rgb = rgb.copy()
    rgb[(times >= 10.0) & (times < 10.5)] = np.nan  # face missed for 0.5 s: 5 % of a window
    rgb[(times >= 28.0) & (times < 34.0)] = np.nan  # 6 s without skin
    windows = _by_time(heart_rate_series(rgb, times))
    for t in (8.0, 10.0, 12.0):
        assert windows[t].accepted and abs(windows[t].bpm - 72.0) < 2.0
    for t in (28.0, 31.0, 34.0):  # >= 3.5 s of the 10 s window missing
        assert windows[t].bpm is None and windows[t].reason == REASON_TOO_FEW_SAMPLES
    assert windows[22.0].accepted  # [17, 27) s is untouched


def test_caller_flagged_frames_give_face_too_small(make_trace) -> None:
    rgb, times = make_trace(72.0, duration_s=40.0, seed=5)
    valid = ~((times >= 15.0) & (times < 25.0))
    windows = _by_time(heart_rate_series(rgb, times, valid=valid))
    assert windows[20.0].bpm is None and windows[20.0].reason == REASON_FACE_TOO_SMALL
    assert windows[8.0].accepted and windows[32.0].accepted


def test_reasons_prefer_missing_skin_over_flags_when_both_are_short(make_trace) -> None:
    rgb, times = make_trace(72.0, duration_s=40.0, seed=6)
    rgb = rgb.copy()
    rgb[(times >= 15.0) & (times < 25.0)] = np.nan
    valid = ~((times >= 15.0) & (times < 25.0))
    windows = _by_time(heart_rate_series(rgb, times, valid=valid))
    assert windows[20.0].reason == REASON_TOO_FEW_SAMPLES


def test_variable_frame_rate_track_at_15_fps_still_works(make_trace) -> None:
    rgb, times = make_trace(96.0, duration_s=30.0, seed=7)
    series = heart_rate_series(rgb[::2], times[::2])  # ~15 fps with jitter
    accepted = [w for w in series if w.accepted]
    assert len(accepted) >= 20 and all(abs(w.bpm - 96.0) < 2.0 for w in accepted)


def test_threshold_is_a_parameter(make_trace) -> None:
    rgb, times = make_trace(72.0, duration_s=20.0, seed=8)
    series = heart_rate_series(rgb, times, min_quality_db=50.0)
    assert not any(w.accepted for w in series)
    assert any(w.quality_db is not None for w in series)  # quality is still reported


def test_degenerate_inputs() -> None:
    assert heart_rate_series(np.empty((0, 3)), np.empty(0)) == []
    series = heart_rate_series(np.full((300, 3), np.nan), np.arange(300) / 30.0)
    assert series and all(w.reason == REASON_TOO_FEW_SAMPLES for w in series)
    with pytest.raises(ValueError, match="non-decreasing"):
        heart_rate_series(np.ones((3, 3)), np.array([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        heart_rate_series(np.ones((3, 3)), np.arange(3.0), valid=np.ones(4, bool))
    with pytest.raises(ValueError, match="valid:"):
        heart_rate_series(np.ones((3, 3)), np.arange(3.0), method="nope")


def test_a_flat_trace_is_low_quality_without_a_number() -> None:
    series = heart_rate_series(np.full((600, 3), 120.0), np.arange(600) / 30.0)
    analysed = [w for w in series if w.reason == REASON_LOW_QUALITY]
    assert analysed and all(w.quality_db is None and w.bpm is None for w in analysed)
