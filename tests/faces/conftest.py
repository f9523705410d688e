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
