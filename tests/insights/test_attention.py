"""Attention from head pose, checked on faces of known pose: an average face's five points rotated in 3D
and projected through a pinhole camera, so the angle is exact."""

from __future__ import annotations

import numpy as np
import pytest

from classpulse.faces.readability import BLURRED, READABLE, TILTED, TOO_SMALL, TURNED_AWAY, face_pose
from classpulse.insights.attention import (
    ATTENDING,
    AWAY,
    GENERIC_FACE_MM,
    MAX_ABS_YAW,
    MAX_ABS_YAW_DEG,
    MAX_PITCH,
    MAX_PITCH_DOWN_DEG,
    MAX_PITCH_UP_DEG,
    MIN_PITCH,
    NOT_JUDGED,
    attention_codes,
)


def _landmarks(yaw_deg: float, pitch_deg: float, distance_mm: float = 600.0) -> np.ndarray:
    """GENERIC_FACE_MM turned by yaw (about the vertical axis) and pitch (positive: looking down), seen by
    a camera `distance_mm` away with a 500 px focal length -> (1, 5, 2) pixels."""
    y, p = np.radians(yaw_deg), np.radians(pitch_deg)
    turn = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    nod = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    points = GENERIC_FACE_MM @ (nod @ turn).T
    return (points[:, :2] * 500.0 / (distance_mm - points[:, 2:3]))[None]


def _attending(yaw_deg: float, pitch_deg: float) -> bool:
    yaw, pitch, _ = face_pose(_landmarks(yaw_deg, pitch_deg))
    return bool(abs(yaw[0]) <= MAX_ABS_YAW and MIN_PITCH <= pitch[0] <= MAX_PITCH)


@pytest.mark.parametrize("sign", [1, -1])
def test_the_yaw_threshold_sits_at_the_documented_angle(sign: int) -> None:
    for angle in (0, 10, 20, 30, MAX_ABS_YAW_DEG - 2):
        assert _attending(sign * angle, 0), angle
    for angle in (MAX_ABS_YAW_DEG + 2, 50, 60, 75):
        assert not _attending(sign * angle, 0), angle


def test_the_pitch_thresholds_sit_at_the_documented_angles() -> None:
    assert all(_attending(0, a) for a in (-MAX_PITCH_UP_DEG + 2, -20, 0, 10, MAX_PITCH_DOWN_DEG - 2))
    assert not any(_attending(0, a) for a in (MAX_PITCH_DOWN_DEG + 2, 35, 50, -MAX_PITCH_UP_DEG - 2))


def test_distance_to_the_camera_does_not_change_the_verdict() -> None:
    for distance in (400.0, 900.0, 3000.0):
        yaw, _, _ = face_pose(_landmarks(MAX_ABS_YAW_DEG + 3, 0, distance))
        assert abs(yaw[0]) > MAX_ABS_YAW
        yaw, _, _ = face_pose(_landmarks(MAX_ABS_YAW_DEG - 3, 0, distance))
        assert abs(yaw[0]) <= MAX_ABS_YAW


def test_codes_follow_the_readability_reason() -> None:
    reasons = np.array([READABLE, BLURRED, TURNED_AWAY, TILTED, TOO_SMALL])
    assert attention_codes(reasons).tolist() == [ATTENDING, ATTENDING, AWAY, AWAY, NOT_JUDGED]
