"""Valence, engagement, segments and flags on per-second faces built by hand, with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.insights.affect import CIRCUMPLEX, valence_arousal
from classpulse.insights.attention import ATTENDING, AWAY, NOT_JUDGED
from classpulse.insights.build import build_insights, face_insights
from classpulse.insights.markers import Marker
from classpulse.insights.seconds import FaceSeconds
from classpulse.insights.segments import fixed_windows
from classpulse.results import FlagKind


def _face(face_id: int, labels: list[str | None], attention: list[int] | None = None) -> FaceSeconds:
    """One face, one label per second (None: absent); attending whenever present unless given."""
    n = len(labels)
    present = np.array([label is not None for label in labels])
    probs = np.full((n, len(EMOTION_LABELS)), np.nan)
    for t, label in enumerate(labels):
        if label is not None:
            probs[t] = 0.02
            probs[t, EMOTION_LABELS.index(label)] = 0.88
    codes = np.where(present, ATTENDING, NOT_JUDGED) if attention is None else np.array(attention)
    return FaceSeconds(face_id, present, codes.astype(np.int8), probs)


def _insights(faces: list[FaceSeconds], markers: tuple[Marker, ...] = (), minutes: float = 3.0):
    n = len(faces[0].present)
    return build_insights(
        faces,
        n,
        float(n),
        markers=markers,
        moments=(),
        pulses={},
        negative_stretch_min=minutes,
        expressions=True,
        per_face=True,
    )


def test_circumplex_places_pleasant_right_and_activated_up() -> None:
    assert CIRCUMPLEX["neutral"] == (0.0, 0.0)
    assert CIRCUMPLEX["happy"][0] > 0.9 and CIRCUMPLEX["sad"][0] < -0.8
    assert CIRCUMPLEX["surprise"][1] > 0.9 and CIRCUMPLEX["sad"][1] < 0
    valence, arousal = valence_arousal(np.full(len(EMOTION_LABELS), np.nan))
    assert np.isnan(valence) and np.isnan(arousal)


def test_a_happy_to_sad_switch_flips_valence() -> None:
    insights = _insights([_face(1, ["happy"] * 60 + ["sad"] * 60)])
    valence = [s.valence for s in insights.per_second]
    assert all(v > 0.5 for v in valence[:50]) and all(v < -0.5 for v in valence[70:])
    crossing = next(t for t, v in enumerate(valence) if v < 0)
    assert 55 <= crossing <= 62


def test_engagement_is_its_documented_combination() -> None:
    # present half the time, attending in half of that, expressions always happy (p neutral 0.02)
    attention = [ATTENDING] * 30 + [AWAY] * 30 + [NOT_JUDGED] * 60
    face = _face(1, ["happy"] * 60 + [None] * 60, attention)
    _, affect, engagement = face_insights(face, expressions=True)
    assert (engagement.presence, engagement.attention, engagement.expressiveness) == (0.5, 0.5, 0.98)
    assert engagement.index == pytest.approx(100 * (0.3 * 0.5 + 0.5 * 0.5 + 0.2 * 0.98), abs=0.05)
    assert affect.positive == 1.0 and affect.readable_s == 60
    _, _, without_expressions = face_insights(face, expressions=False)
    assert without_expressions.index is None and without_expressions.expressiveness is None


def test_turning_away_for_20_s_loses_attention_there_and_only_there() -> None:
    attention = [ATTENDING] * 40 + [AWAY] * 20 + [ATTENDING] * 40
    faces = [_face(1, ["neutral"] * 100, attention), _face(2, ["neutral"] * 100)]
    per_second = _insights(faces).per_second
    assert [s.attending for s in per_second] == [2] * 40 + [1] * 20 + [2] * 40
    raw = [s.attending / s.judged for s in per_second]
    assert [t for t, a in enumerate(raw) if a < 1] == list(range(40, 60))


def test_markers_give_segments_with_the_right_boundaries() -> None:
    faces = [_face(1, ["happy"] * 100 + ["sad"] * 200)]
    markers = (Marker(0, None, "Intro"), Marker(100, 250, "Exercise"), Marker(260, None, "Q&A"))
    segments = _insights(faces, markers).segments
    assert [(s.label, s.start_s, s.end_s) for s in segments] == [
        ("Intro", 0, 100),
        ("Exercise", 100, 250),
        ("Q&A", 260, 300),
    ]
    assert segments[0].affect.positive == 1.0 and segments[1].affect.negative == 1.0
    assert segments[0].expression_share["happy"] == 1.0 and segments[2].expression_share["sad"] == 1.0


def test_without_markers_segments_are_five_minute_windows() -> None:
    assert [(a, b) for _, a, b in fixed_windows(720.0)] == [(0, 300), (300, 600), (600, 720)]
    assert [label for label, _, _ in fixed_windows(720.0)] == ["0:00-5:00", "5:00-10:00", "10:00-12:00"]
    assert [(a, b) for _, a, b in fixed_windows(42.0)] == [(0, 42)]


def test_a_long_negative_stretch_is_flagged_with_its_evidence() -> None:
    labels = ["neutral"] * 60 + (["sad"] * 9 + ["neutral"]) * 24 + ["neutral"] * 60
    flags = _insights([_face(7, labels)], minutes=3).flags
    stretch = [f for f in flags if f.kind == FlagKind.NEGATIVE_STRETCH]
    assert len(stretch) == 1
    assert (stretch[0].face_id, stretch[0].start_s) == (7, 60)
    assert 295 <= stretch[0].end_s <= 300
    assert "90%" in stretch[0].evidence and "sad" in stretch[0].evidence
    assert not _insights([_face(7, labels)], minutes=5).flags


def test_attention_falling_for_most_of_the_room_is_flagged() -> None:
    away = [ATTENDING] * 100 + [AWAY] * 120 + [ATTENDING] * 100
    faces = [_face(i, ["neutral"] * 320, away if i < 4 else None) for i in range(1, 5)]
    flags = [f for f in _insights(faces).flags if f.kind == FlagKind.ATTENTION_DROP]
    assert len(flags) == 1 and flags[0].face_id is None
    assert 95 <= flags[0].start_s <= 110 and 210 <= flags[0].end_s <= 225
    assert flags[0].values["attention_before"] > 0.9 and flags[0].values["attention"] < 0.35
