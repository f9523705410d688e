"""Each face over the recording's seconds, in arrays: the one input of every insight measure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.insights.attention import NOT_JUDGED


@dataclass(frozen=True)
class FaceSeconds:
    """One face at seconds 0..T-1: `present` (T,) bool; `attention` (T,) int8 codes
    (`classpulse.insights.attention`, NOT_JUDGED while absent); `probs` (T, 7) smoothed class probabilities,
    NaN where absent, not readable or no expression was inferred."""

    face_id: int
    present: np.ndarray
    attention: np.ndarray
    probs: np.ndarray

    @property
    def readable(self) -> np.ndarray:
        return np.isfinite(self.probs).all(-1)


@dataclass(frozen=True)
class Grid:
    """All faces stacked: `present` (F, T), `attention` (F, T), `probs` (F, T, 7); F may be 0."""

    face_ids: tuple[int, ...]
    present: np.ndarray
    attention: np.ndarray
    probs: np.ndarray

    @classmethod
    def of(cls, faces: Sequence[FaceSeconds], n_seconds: int) -> Grid:
        if not faces:
            return cls(
                (),
                np.zeros((0, n_seconds), bool),
                np.full((0, n_seconds), NOT_JUDGED, np.int8),
                np.full((0, n_seconds, len(EMOTION_LABELS)), np.nan),
            )
        return cls(
            tuple(f.face_id for f in faces),
            np.stack([f.present for f in faces]),
            np.stack([f.attention for f in faces]),
            np.stack([f.probs for f in faces]),
        )

    @property
    def readable(self) -> np.ndarray:
        return np.isfinite(self.probs).all(-1)

    def window(self, start: int, end: int, rows: slice | list[int] = slice(None)) -> Grid:
        """The faces `rows` at seconds [start, end)."""
        ids = np.array(self.face_ids, dtype=np.int64)[rows]
        return Grid(
            tuple(ids.tolist()),
            self.present[rows, start:end],
            self.attention[rows, start:end],
            self.probs[rows, start:end],
        )
