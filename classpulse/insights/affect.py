"""Valence (unpleasant -1 .. pleasant +1) and arousal (calm -1 .. activated +1) from the seven class
probabilities, by placing each class on Russell's circumplex of affect.

Russell (1980, "A circumplex model of affect", J. Pers. Soc. Psychol. 39(6):1161-1178) scaled 28 affect
words onto a circle whose horizontal axis is pleasure and vertical axis arousal. Each class sits at the
angle he found for its word: happy 7.8 deg, astonished (surprise) 69.8, angry 99.0, afraid (fear) 116.8,
sad 207.5. Disgust is not among his words; it takes the angle of "distressed" (137.6), an unpleasant,
moderately activated state, which is a choice of ours. Neutral sits at the centre. A face's valence and
arousal are the probability-weighted mean of these points, so an uncertain face stays near the centre.

The compact positive / neutral / negative view groups the label itself (`POLARITY_GROUPS`), not valence:
on Russell's circle "angry" sits almost straight up (valence -0.16), so a valence cut would call an angry
face neutral. Surprise can be either, so it counts as neutral.
Expressiveness is 1 - p(neutral): how far the face is from a neutral one, in whatever direction.
"""

from __future__ import annotations

import math

import numpy as np

from classpulse.emotion.labels import EMOTION_LABELS

#: Degrees on Russell's (1980) circumplex: the word each class takes its angle from, and the angle.
CIRCUMPLEX_ANGLES: dict[str, tuple[str, float]] = {
    "angry": ("angry", 99.0),
    "disgust": ("distressed", 137.6),
    "fear": ("afraid", 116.8),
    "happy": ("happy", 7.8),
    "sad": ("sad", 207.5),
    "surprise": ("astonished", 69.8),
}
#: (valence, arousal) per class of EMOTION_LABELS; neutral at the centre.
CIRCUMPLEX: dict[str, tuple[float, float]] = {
    label: (
        (
            round(math.cos(math.radians(CIRCUMPLEX_ANGLES[label][1])), 3),
            round(math.sin(math.radians(CIRCUMPLEX_ANGLES[label][1])), 3),
        )
        if label in CIRCUMPLEX_ANGLES
        else (0.0, 0.0)
    )
    for label in EMOTION_LABELS
}
#: The compact view's groups of labels (the report's "negative" moments use the same group).
POLARITY_GROUPS: dict[str, tuple[str, ...]] = {
    "positive": ("happy",),
    "neutral": ("neutral", "surprise"),
    "negative": ("angry", "disgust", "fear", "sad"),
}
NEGATIVE, NEUTRAL, POSITIVE = -1, 0, 1
_POINTS = np.array([CIRCUMPLEX[label] for label in EMOTION_LABELS])
_NEUTRAL = EMOTION_LABELS.index("neutral")
_POLARITY_OF_CLASS = np.array(
    [
        POSITIVE
        if label in POLARITY_GROUPS["positive"]
        else NEGATIVE
        if label in POLARITY_GROUPS["negative"]
        else NEUTRAL
        for label in EMOTION_LABELS
    ],
    dtype=np.int8,
)


def valence_arousal(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (..., 7) -> valence (...) and arousal (...); NaN where the probabilities are NaN."""
    va = np.asarray(probs, dtype=np.float64) @ _POINTS
    return va[..., 0], va[..., 1]


def polarity(probs: np.ndarray) -> np.ndarray:
    """Probabilities (..., 7) -> POSITIVE, NEUTRAL or NEGATIVE (int8) of the most probable class; rows of
    NaN count as NEUTRAL, so callers select readable samples first."""
    return _POLARITY_OF_CLASS[np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=0.0).argmax(-1)]


def expressiveness(probs: np.ndarray) -> np.ndarray:
    """Probabilities (..., 7) -> 1 - p(neutral) (...), NaN where the probabilities are NaN."""
    return 1.0 - np.asarray(probs, dtype=np.float64)[..., _NEUTRAL]
