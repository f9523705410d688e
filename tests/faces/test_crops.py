"""Aligned crops put the eyes where FER2013's faces have them, whatever the head roll."""

from __future__ import annotations

import cv2
import numpy as np

from classpulse.faces.crops import FER_LANDMARKS_48, aligned_crops, similarity_transform
from tests.helpers.faces import canvas_with


def test_similarity_transform_recovers_a_known_rotation_and_scale() -> None:
    angle = np.deg2rad(20)
    rot = 3.0 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = FER_LANDMARKS_48 @ rot.T + [50, 80]
    m = similarity_transform(src, FER_LANDMARKS_48)
    assert np.allclose(src @ m[:, :2].T + m[:, 2], FER_LANDMARKS_48, atol=1e-9)


def test_rolled_head_gives_the_same_crop(detector, face_photos) -> None:
    upright = canvas_with(face_photos[:1], [(500, 250)])
    centre = (600, 350)
    rolled = cv2.warpAffine(
        upright, cv2.getRotationMatrix2D(centre, 18, 1.0), (1280, 720), borderMode=cv2.BORDER_REPLICATE
    )
    crops = []
    for frame in (upright, rolled):
        faces = detector.detect([frame])[0]
        assert len(faces) == 1
        crops.append(aligned_crops(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), faces.landmarks)[0])
    assert crops[0].shape == (48, 48) and crops[0].dtype == np.uint8
    corr = np.corrcoef(crops[0].ravel().astype(float), crops[1].ravel().astype(float))[0, 1]
    assert corr > 0.9
