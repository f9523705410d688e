"""`Faces`: every face in one frame as parallel numpy arrays, so code never loops or special-cases none."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Faces:
    """n faces: `xyxy` (n, 4) pixels, `confidence` (n,), `landmarks` (n, 5, 2) pixels in MTCNN order
    (left eye, right eye, nose, left mouth corner, right mouth corner), `track_id` (n,) int (-1 = none).
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    landmarks: np.ndarray
    track_id: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(self.xyxy)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(n)
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32).reshape(n, 5, 2)
        if self.track_id is None:
            self.track_id = np.full(n, -1, dtype=np.int64)
        self.track_id = np.asarray(self.track_id, dtype=np.int64).reshape(n)

    @classmethod
    def empty(cls) -> Faces:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))

    @classmethod
    def from_mtcnn(
        cls, boxes: np.ndarray | None, probs: np.ndarray | None, points: np.ndarray | None
    ) -> Faces:
        """Convert one image's `MTCNN.detect(..., landmarks=True)` output (None when no face)."""
        if boxes is None or len(boxes) == 0:
            return cls.empty()
        return cls(np.asarray(boxes), np.asarray(probs), np.asarray(points))

    @classmethod
    def merge(cls, parts: list[Faces]) -> Faces:
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.landmarks for p in parts]),
            np.concatenate([p.track_id for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: int | slice | np.ndarray) -> Faces:
        """An int, slice, index array or boolean mask applied to every field."""
        if isinstance(index, int | np.integer):
            index = np.array([index])
        return Faces(self.xyxy[index], self.confidence[index], self.landmarks[index], self.track_id[index])

    @property
    def sizes(self) -> np.ndarray:
        """(n,) face size in pixels: the geometric mean of box width and height."""
        return box_sizes(self.xyxy)

    @property
    def centers(self) -> np.ndarray:
        """(n, 2) box centres in pixels."""
        return box_centers(self.xyxy)


def box_sizes(xyxy: np.ndarray) -> np.ndarray:
    """Boxes (n, 4) -> (n,) sizes: the geometric mean of width and height (0 for an empty box)."""
    wh = xyxy[:, 2:] - xyxy[:, :2]
    return np.sqrt(np.clip(wh[:, 0], 0, None) * np.clip(wh[:, 1], 0, None))


def box_centers(xyxy: np.ndarray) -> np.ndarray:
    """Boxes (n, 4) -> (n, 2) centres."""
    return (xyxy[:, :2] + xyxy[:, 2:]) / 2


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes a (n, 4) and b (m, 4) -> (n, m)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
