"""Pure summary arithmetic: expression smoothing, the audience mix and notable moments."""

from __future__ import annotations

import numpy as np
import pytest

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.summary import MOMENT_MIN_SEPARATION_S, _audience, smooth_probabilities


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
