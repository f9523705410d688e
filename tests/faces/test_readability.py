"""Readability: frontal photos pass; the same faces turned, tilted, shrunk or blurred do not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from classpulse.faces.crops import FER_LANDMARKS_48, aligned_crops
from classpulse.faces.readability import (
    BLURRED,
    MAX_ABS_YAW,
    READABLE,
    TILTED,
    TOO_SMALL,
    TURNED_AWAY,
    assess_readability,
    face_pose,
    sharpness,
)
from tests.helpers.faces import canvas_with

# Depth of each landmark towards the camera, in eye distances: the nose tip stands out about 0.6 eye
# distances in front of the eyes on an average adult head, the mouth corners about 0.1.
DEPTH = np.array([0.0, 0.0, 0.6, 0.1, 0.1])


def rotated(landmarks: np.ndarray, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> np.ndarray:
    """Frontal landmarks (5, 2) px -> where they land when the head turns (yaw) or nods down (pitch),
    seen by an orthographic camera; rotation about the eye midpoint."""
    eye_dist = float(np.linalg.norm(landmarks[1] - landmarks[0]))
    centre = landmarks[:2].mean(0)
    xyz = np.column_stack([landmarks - centre, DEPTH * eye_dist])
    a, b = np.radians(yaw_deg), np.radians(pitch_deg)
    turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    nod = np.array([[1, 0, 0], [0, np.cos(b), np.sin(b)], [0, -np.sin(b), np.cos(b)]])
    return (xyz @ (nod @ turn).T)[:, :2] + centre


@pytest.fixture(scope="module")
def frontal(detector, face_photos) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three people's frontal photos on one canvas: gray frame, landmarks (3, 5, 2), face sizes (3,)."""
    frame = canvas_with(face_photos, [(100, 200), (500, 250), (900, 200)])
    faces = detector.detect([frame])[0]
    assert len(faces) == 3
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), faces.landmarks, faces.sizes


def test_the_landmarks_fer2013_faces_are_aligned_to_are_frontal() -> None:
    yaw, pitch, roll = face_pose(FER_LANDMARKS_48[None])
    assert abs(yaw[0]) < 0.05 and 0.45 < pitch[0] < 0.6 and abs(roll[0]) < 1


def test_frontal_photos_are_readable(frontal) -> None:
    gray, landmarks, sizes = frontal
    result = assess_readability(landmarks, sizes, aligned_crops(gray, landmarks))
    assert result.readable.all() and (result.reason == READABLE).all()


def test_roll_alone_changes_nothing(frontal) -> None:
    _, landmarks, _ = frontal
    angle = np.radians(30)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    yaw, pitch, roll = face_pose(landmarks)
    yaw_r, pitch_r, roll_r = face_pose(landmarks @ rot.T)
    assert np.allclose(yaw, yaw_r) and np.allclose(pitch, pitch_r)
    assert np.allclose(roll_r - roll, 30.0)


@pytest.mark.parametrize(("yaw_deg", "readable"), [(10, True), (-15, True), (45, False), (-60, False)])
def test_turned_head_is_not_readable(frontal, yaw_deg, readable) -> None:
    gray, landmarks, sizes = frontal
    turned = np.stack([rotated(pts, yaw_deg=yaw_deg) for pts in landmarks])
    result = assess_readability(turned, sizes, aligned_crops(gray, landmarks))
    assert (result.readable == readable).all()
    if not readable:
        assert (result.reason == TURNED_AWAY).all()
        assert (np.abs(face_pose(turned)[0]) > MAX_ABS_YAW).all()


def test_looking_down_is_tilted(frontal) -> None:
    gray, landmarks, sizes = frontal
    down = np.stack([rotated(pts, pitch_deg=-35) for pts in landmarks])
    result = assess_readability(down, sizes, aligned_crops(gray, landmarks))
    assert (result.reason == TILTED).all()


def test_heavily_blurred_crop_is_not_readable(frontal) -> None:
    gray, landmarks, sizes = frontal
    sharp = aligned_crops(gray, landmarks)
    blurred = np.stack([cv2.GaussianBlur(c, (0, 0), 2.5) for c in sharp])
    assert (sharpness(blurred) < sharpness(sharp) / 4).all()
    result = assess_readability(landmarks, sizes, blurred)
    assert (result.reason == BLURRED).all()


def test_tiny_face_is_too_small(frontal) -> None:
    gray, landmarks, sizes = frontal
    scale = 16 / sizes.max()
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    result = assess_readability(landmarks * scale, sizes * scale, aligned_crops(small, landmarks * scale))
    assert (result.reason == TOO_SMALL).all()


def test_no_faces_gives_empty_results() -> None:
    result = assess_readability(np.zeros((0, 5, 2)), np.zeros(0), np.zeros((0, 48, 48), np.uint8))
    assert result.readable.shape == (0,) and result.reason.shape == (0,)
