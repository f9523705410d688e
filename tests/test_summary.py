"""Pure summary arithmetic: expression smoothing, the audience mix and notable moments."""

from __future__ import annotations

import numpy as np
import pytest

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.pulse.heart_rate import HeartRateWindow
from classpulse.summary import (
    MIN_ACCEPTED_WINDOWS,
    MOMENT_MIN_SEPARATION_S,
    _audience,
    _Face,
    _face_summary,
    smooth_probabilities,
)
from classpulse.track_record import TrackRecord


def test_smoothing_averages_neighbours_within_the_window() -> None:
    times = np.array([0.0, 0.5, 1.0, 1.5, 5.0])
    probs = np.eye(7)[[3, 3, 4, 3, 0]]
    smoothed = smooth_probabilities(times, probs, window_s=1.5)
    assert smoothed[2, 3] == pytest.approx(2 / 3) and smoothed[2, 4] == pytest.approx(1 / 3)
    assert smoothed[4].tolist() == probs[4].tolist(), "an isolated sample stays as it is"
    assert np.allclose(smoothed.sum(1), 1.0)


def _timeline(labels_per_second: list[list[str]]) -> list[list]:
    return [
        [t, [[i + 1, label] for i, label in enumerate(labels)]] for t, labels in enumerate(labels_per_second)
    ]


def test_audience_shares_per_minute_and_overall() -> None:
    timeline = _timeline([["happy", "neutral"]] * 60 + [["sad"]] * 30)
    audience = _audience(timeline)
    first, second = audience["per_minute"]
    assert first["faces"] == 2 and first["share"]["happy"] == 0.5 and first["share"]["neutral"] == 0.5
    assert second["faces"] == 1 and second["share"]["sad"] == 1.0
    assert audience["overall_share"]["sad"] == pytest.approx(30 / 150)
    assert set(audience["overall_share"]) == set(EMOTION_LABELS)


def test_moments_are_peaks_of_negative_share_and_surprise_far_enough_apart() -> None:
    seconds = [["neutral", "neutral", "happy"]] * 60
    for t in (10, 11, 12):
        seconds[t] = ["sad", "angry", "happy"]
    seconds[14] = ["fear", "sad", "neutral"]  # closer than the separation: not a second moment
    for t in (40, 41, 42):
        seconds[t] = ["surprise", "surprise", "neutral"]
    seconds[50] = ["surprise", "surprise", "surprise"]  # one second alone is smoothed away
    moments = _audience(_timeline(seconds))["moments"]
    assert [(m["kind"], m["t"]) for m in moments] == [("negative peak", 11.0), ("surprise peak", 41.0)]
    assert MOMENT_MIN_SEPARATION_S > 14 - 11


def test_no_faces_gives_no_moments_and_zero_shares() -> None:
    audience = _audience(_timeline([[]] * 5))
    assert audience["moments"] == [] and sum(audience["overall_share"].values()) == 0


def _face_with_pulse(bpms: list[float | None]) -> _Face:
    record = TrackRecord(track_id=1)
    for t in range(len(bpms) + 10):
        record.add_frame(float(t), np.array([0, 0, 100, 100.0]), np.array([120, 90, 80.0]), 100.0)
        record.add_emotion(float(t), np.eye(7)[6])
    record.pulse = [
        HeartRateWindow(5.0 + i, bpm, 3.0 if bpm else 0.2, None if bpm else "low signal quality")
        for i, bpm in enumerate(bpms)
    ]
    return _Face(1, [record], fps=1.0)


def test_heart_rate_is_summarised_only_from_enough_accepted_windows() -> None:
    few = [None] * 10 + [57.0] * (MIN_ACCEPTED_WINDOWS - 1)
    summary, _ = _face_summary(_face_with_pulse(few), list(range(20)))
    pulse = summary["pulse"]
    assert pulse["mean_bpm"] is None and pulse["baseline_bpm"] is None
    assert pulse["accepted_windows"] == MIN_ACCEPTED_WINDOWS - 1
    assert all(row[4] is None for row in pulse["series"]), "no rise flags without a baseline"

    enough = [None] * 10 + [60.0, 62.0, 64.0, 60.0, 62.0, 90.0]
    assert len(enough) - 10 >= MIN_ACCEPTED_WINDOWS
    summary, _ = _face_summary(_face_with_pulse(enough), list(range(20)))
    accepted = [b for b in enough if b is not None]
    assert summary["pulse"]["mean_bpm"] == pytest.approx(np.mean(accepted), abs=0.05)
    assert summary["pulse"]["baseline_bpm"] == pytest.approx(np.median(accepted))
