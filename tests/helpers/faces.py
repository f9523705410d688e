"""Face test helpers: real photographs laid out on a canvas."""

from __future__ import annotations

import cv2
import numpy as np


def canvas_with(photos: list[np.ndarray], offsets: list[tuple[int, int]], size=(720, 1280)) -> np.ndarray:
    """A grey canvas with each photo scaled to 200 px pasted at its (x, y) offset."""
    canvas = np.full((*size, 3), 120, np.uint8)
    for photo, (x, y) in zip(photos, offsets, strict=True):
        canvas[y : y + 200, x : x + 200] = cv2.resize(photo, (200, 200), interpolation=cv2.INTER_AREA)
    return canvas
