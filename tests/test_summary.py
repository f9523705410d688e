"""Pure summary arithmetic: expression smoothing, the audience mix and notable moments."""

from __future__ import annotations

import numpy as np
import pytest

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.readability import TURNED_AWAY, UNREADABLE
from classpulse.pulse.heart_rate import HeartRateWindow
from classpulse.pulse.stress import MIN_ACCEPTED_WINDOWS
from classpulse.summary import (
    MOMENT_MIN_SEPARATION_S,
    READABLE_LABEL,
    _Face,
    _face_summary,
    anonymous_timeline,
    audience_summary,
    smooth_probabilities,
    truncation_warning,
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
    audience = audience_summary(timeline)
    first, second = audience.per_minute
    assert first.faces == 2 and first.share["happy"] == 0.5 and first.share["neutral"] == 0.5
    assert second.faces == 1 and second.share["sad"] == 1.0
    assert audience.overall_share["sad"] == pytest.approx(30 / 150)
    assert set(audience.overall_share) == set(EMOTION_LABELS)


def test_moments_are_peaks_of_negative_share_and_surprise_far_enough_apart() -> None:
    seconds = [["neutral", "neutral", "happy"]] * 60
    for t in (10, 11, 12):
        seconds[t] = ["sad", "angry", "happy"]
    seconds[14] = ["fear", "sad", "neutral"]  # closer than the separation: not a second moment
    for t in (40, 41, 42):
        seconds[t] = ["surprise", "surprise", "neutral"]
    seconds[50] = ["surprise", "surprise", "surprise"]  # one second alone is smoothed away
    moments = audience_summary(_timeline(seconds)).moments
    assert [(m.kind, m.t) for m in moments] == [("negative peak", 11.0), ("surprise peak", 41.0)]
    assert MOMENT_MIN_SEPARATION_S > 14 - 11


def test_no_faces_gives_no_moments_and_zero_shares() -> None:
    audience = audience_summary(_timeline([[]] * 5))
    assert audience.moments == () and sum(audience.overall_share.values()) == 0


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


def _summary_of(face: _Face) -> tuple:
    return _face_summary(face, list(range(20)), face.seconds(20))


def test_heart_rate_is_summarised_only_from_enough_accepted_windows() -> None:
    few = [None] * 10 + [57.0] * (MIN_ACCEPTED_WINDOWS - 1)
    summary, _ = _summary_of(_face_with_pulse(few))
    pulse = summary.pulse
    assert pulse.mean_bpm is None and pulse.baseline_bpm is None
    assert pulse.accepted_windows == MIN_ACCEPTED_WINDOWS - 1
    assert all(point.stress is None for point in pulse.series), "no rise flags without a baseline"

    enough = [None] * 10 + [60.0, 62.0, 64.0, 60.0, 62.0, 90.0]
    assert len(enough) - 10 >= MIN_ACCEPTED_WINDOWS
    summary, _ = _summary_of(_face_with_pulse(enough))
    accepted = [b for b in enough if b is not None]
    assert summary.pulse.mean_bpm == pytest.approx(np.mean(accepted), abs=0.05)
    assert summary.pulse.baseline_bpm == pytest.approx(np.median(accepted))


def test_truncation_warning_only_when_decoding_stopped_early() -> None:
    # Measured on the shared clips: intact files end within 0.04 s of their declared duration, or past it.
    assert truncation_warning(19.685, 19.645, 23.98) is None
    assert truncation_warning(9.176, 10.01, 29.97) is None
    # The first 60,000 bytes of the 3.4 s group clip decode to 9 frames at 12 fps (issue 17).
    warning = truncation_warning(3.417, 9 / 12, 12.0)
    assert warning is not None and warning.startswith("decoding stopped at 0.8 s of the 3.4 s")


def test_unreadable_samples_never_reach_their_neighbours_smoothed_probabilities() -> None:
    times = np.array([0.0, 0.5, 1.0, 1.5])
    probs = np.eye(7)[[3, 0, 3, 3]].astype(np.float32)
    probs[1] = np.nan  # not classified
    readable = np.array([True, False, True, True])
    smoothed = smooth_probabilities(times, probs, window_s=1.5, readable=readable)
    assert np.isnan(smoothed[1]).all()
    assert np.allclose(smoothed[[0, 2, 3]], np.eye(7)[3]), "only the happy samples are averaged"


def _face_with_unreadable_stretch() -> _Face:
    """20 s, one sample per second: happy, except 5-9 s turned away (not classified) and 15-19 s sad."""
    record = TrackRecord(track_id=1)
    for t in range(20):
        record.add_frame(float(t), np.array([0, 0, 100, 100.0]), np.array([120, 90, 80.0]), 100.0)
        if 5 <= t < 10:
            record.add_emotion(float(t), np.full(7, np.nan), TURNED_AWAY)
        else:
            record.add_emotion(float(t), np.eye(7)[4 if t >= 15 else 3])
    return _Face(1, [record], fps=1.0)


def test_unreadable_seconds_are_labelled_and_left_out_of_the_shares() -> None:
    summary, rows = _summary_of(_face_with_unreadable_stretch())
    labels = [sample.label for sample in summary.emotions]
    assert labels[5:10] == [UNREADABLE] * 5 and labels[:5] == ["happy"] * 5
    assert all(sample.confidence is None for sample in summary.emotions if sample.label == UNREADABLE)
    assert summary.unreadable_share == 0.25
    assert summary.unreadable_reasons["turned away"] == 0.25
    assert summary.emotion_share["happy"] == pytest.approx(10 / 15, abs=1e-4)
    assert summary.emotion_share["sad"] == pytest.approx(5 / 15, abs=1e-4)
    assert summary.dominant_emotion == "happy" and summary.confidence.min is not None
    unreadable_rows = [row for row in rows if row.emotion == UNREADABLE]
    assert len(unreadable_rows) == 5 and all(p is None for row in unreadable_rows for p in row.probabilities)


def test_audience_shares_count_readable_face_time_and_state_the_rest() -> None:
    timeline = _timeline([["happy", UNREADABLE]] * 30 + [["sad", "sad"]] * 30)
    audience = audience_summary(timeline)
    assert audience.unreadable_share == 0.25
    assert audience.overall_share["happy"] == pytest.approx(30 / 90, abs=1e-4)
    assert audience.overall_share["sad"] == pytest.approx(60 / 90, abs=1e-4)
    minute = audience.per_minute[0]
    assert minute.unreadable_share == 0.25 and sum(minute.share.values()) == pytest.approx(1.0)
    assert audience.per_second[0].counts[UNREADABLE] == 1 and audience.per_second[0].counts["happy"] == 1


def test_a_moment_counts_only_the_faces_that_could_be_read() -> None:
    seconds = [["neutral", "neutral", "neutral"]] * 40
    for t in (20, 21, 22):
        seconds[t] = ["sad", UNREADABLE, UNREADABLE]
    (moment,) = audience_summary(_timeline(seconds)).moments
    assert moment.kind == "negative peak" and moment.t == 21.0
    assert moment.faces == 1 and moment.share == 1.0


def test_the_anonymous_timeline_keeps_each_seconds_labels_but_no_face_ids() -> None:
    timeline = [(0, ((7, "sad"), (2, "happy"))), (1, ((2, UNREADABLE), (7, "happy"), (9, "happy"))), (2, ())]
    assert [list(map(list, faces)) for _, faces in anonymous_timeline(timeline)] == [
        [[1, "happy"], [2, "sad"]],
        [[1, "happy"], [2, "happy"], [3, UNREADABLE]],
        [],
    ]


def test_a_presence_audience_has_no_expressions() -> None:
    timeline = _timeline([[READABLE_LABEL, UNREADABLE]] * 30 + [[READABLE_LABEL]] * 30)
    audience = audience_summary(timeline, expressions=False)
    assert audience.per_second[0].counts == {READABLE_LABEL: 1, UNREADABLE: 1}
    assert audience.overall_share == {} and audience.per_minute[0].share == {}
    assert audience.moments == () and audience.moment_rule is None
    assert audience.unreadable_share == pytest.approx(1 / 3, abs=1e-4) and audience.faces_seen == 2
