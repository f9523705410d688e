"""Real face photographs and a shared MTCNN detector for the face tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from classpulse.faces.detector import FaceDetector


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="session")
def face_photos(faces_dir: Path) -> list[np.ndarray]:
    """Three different people's photos as RGB (350x350), from ../shared/data/faces."""
    paths = sorted((faces_dir / "happy").glob("*.jpg"))[:3]
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]


def canvas_with(photos: list[np.ndarray], offsets: list[tuple[int, int]], size=(720, 1280)) -> np.ndarray:
    """A grey canvas with each photo scaled to 200 px pasted at its (x, y) offset."""
    canvas = np.full((*size, 3), 120, np.uint8)
    for photo, (x, y) in zip(photos, offsets, strict=True):
        canvas[y : y + 200, x : x + 200] = cv2.resize(photo, (200, 200), interpolation=cv2.INTER_AREA)
    return canvas
