"""FER+ crowd votes (Barsoum et al., ICMI 2016) as training targets and as the reference to select on.

Ten annotators relabelled every FER2013 image; their vote distribution is a better target than the
original single label, which the FER+ majority contradicts on 37 % of Training faces (many "sad" and
"angry" faces are neutral to most people). FER+ adds contempt, unknown and not-a-face columns: contempt
has no FER2013 class and its votes are dropped, and images that most annotators could not read are left
out of the reference and down-weighted in training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classpulse.emotion.labels import EMOTION_LABELS

FERPLUS_COLUMNS = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF"
)  # fmt: skip
_FERPLUS_NAME = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness",
    "sad": "sadness", "surprise": "surprise", "neutral": "neutral",
}  # fmt: skip
TO_FER2013 = np.array([FERPLUS_COLUMNS.index(_FERPLUS_NAME[label]) for label in EMOTION_LABELS])
"""FER+ column of each FER2013 class, in FER2013 order."""
_UNREADABLE = [FERPLUS_COLUMNS.index("unknown"), FERPLUS_COLUMNS.index("NF")]


def load_votes(path: Path) -> dict[str, np.ndarray]:
    """The shared votes npz -> train_votes/val_votes (n, 10) in FER+ column order."""
    with np.load(path) as data:
        if tuple(data["columns"]) != FERPLUS_COLUMNS:
            raise ValueError(f"{path}: unexpected FER+ columns {list(data['columns'])}")
        return {k: data[k].astype(np.float32) for k in ("train_votes", "val_votes")}


def vote_distribution(votes: np.ndarray) -> np.ndarray:
    """Votes (n, 10) -> share of the expression votes per FER2013 class (n, 7); rows without any are zero."""
    emotions = votes[:, TO_FER2013]
    total = emotions.sum(1, keepdims=True)
    return np.divide(emotions, total, out=np.zeros_like(emotions), where=total > 0)


def readable_weight(votes: np.ndarray) -> np.ndarray:
    """Share of all votes that name one of the 7 classes (n,): 0 for "not a face", low for "unknown"."""
    return votes[:, TO_FER2013].sum(1) / np.maximum(votes.sum(1), 1)


def majority(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The FER+ majority label in FER2013 order (n,) and whether it exists (n,): the most-voted column
    (contempt aside) must be one of the 7 classes, not "unknown" or "not a face"; ties go to the class
    first in FER2013 order."""
    emotions = votes[:, TO_FER2013]
    valid = emotions.max(1) > votes[:, _UNREADABLE].max(1)
    return emotions.argmax(1), valid
