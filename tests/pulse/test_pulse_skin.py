"""Skin regions and skin-masked mean colour on a real face photo (tinted to skin colour)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from classpulse.pulse import skin_mean_rgb, skin_mean_rgb_many, skin_regions
from classpulse.pulse.skin import CANONICAL_LANDMARKS

PHOTO = Path("neutral") / "Bill_Clinton_0022.jpg"  # 350x350 grayscale, frontal
TINT = np.array([1.0, 0.78, 0.62])  # grey -> a light skin tone (R > G > B)


@pytest.fixture(scope="module")
def face(faces_dir: Path, detect_face) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame (H, W, 3) uint8 RGB skin-tinted photo, box (4,), landmarks (5, 2)) from MTCNN."""
    from PIL import Image

    gray = np.asarray(Image.open(faces_dir / PHOTO).convert("RGB"), dtype=np.float64)
    frame = np.clip(gray * TINT, 0, 255).astype(np.uint8)
    found = detect_face(frame)
    assert found is not None, f"MTCNN found no face in {PHOTO}"
    return frame, *found


def _inside(region: np.ndarray, box: np.ndarray) -> bool:
    return bool(box[0] <= region[0] < region[2] <= box[2] and box[1] <= region[1] < region[3] <= box[3])


def test_regions_lie_inside_the_box_where_a_face_has_skin(face) -> None:
    _, box, points = face
    for landmarks in (points, None):
        forehead, left, right = skin_regions(box, landmarks)
        assert all(r.dtype.kind == "i" and r.shape == (4,) for r in (forehead, left, right))
        assert all(_inside(r, box) for r in (forehead, left, right))
        eye_y, nose_y, mouth_y = points[:2, 1].mean(), points[2, 1], points[3:, 1].mean()
        assert forehead[3] < eye_y  # above the eyes
        assert eye_y < left[1] and left[3] < mouth_y and eye_y < right[1] and right[3] < mouth_y
        assert left[2] < points[2, 0] < right[0]  # the nose lies between the cheeks
        assert left[1] < nose_y < left[3]


def test_regions_follow_the_landmarks_of_a_tilted_face() -> None:
    face_box = np.array([100.0, 80.0, 300.0, 320.0])
    upright = face_box[:2] + CANONICAL_LANDMARKS * (face_box[2:] - face_box[:2])
    angle = np.deg2rad(20.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pivot = upright[2]
    tilted = (upright - pivot) @ rotation.T + pivot
    room = np.array([0.0, 0.0, 400.0, 400.0])  # a loose box, so that nothing is clipped
    for before, after in zip(skin_regions(room, upright), skin_regions(room, tilted), strict=True):
        centre_before = (before[:2] + before[2:]) / 2
        centre_after = (after[:2] + after[2:]) / 2
        np.testing.assert_allclose(centre_after, (centre_before - pivot) @ rotation.T + pivot, atol=1.5)
    # Without landmarks, the canonical layout inside the box is used.
    for a, b in zip(skin_regions(face_box, None), skin_regions(face_box, upright), strict=True):
        np.testing.assert_array_equal(a, b)


def test_mask_keeps_skin_and_drops_other_colours(face) -> None:
    frame, box, points = face
    rgb, n_pixels = skin_mean_rgb(frame, box, points)
    assert np.isfinite(rgb).all() and n_pixels > 500
    assert rgb[0] > rgb[1] > rgb[2]
    assert rgb[1] / rgb[0] == pytest.approx(TINT[1], abs=0.02)
    # Paint half of the forehead saturated blue (a hat, a hand in a glove): the mean must stay skin.
    painted = frame.copy()
    x1, y1, x2, y2 = skin_regions(box, points)[0]
    painted[y1:y2, x1 : (x1 + x2) // 2] = (20, 60, 220)
    rgb_painted, n_painted = skin_mean_rgb(painted, box, points)
    assert n_painted < n_pixels - 0.4 * (y2 - y1) * (x2 - x1) / 2
    assert np.abs(rgb_painted - rgb).max() < 6.0


def test_grey_footage_falls_back_to_all_region_pixels(face) -> None:
    frame, box, points = face
    grey = np.repeat(frame[..., :1], 3, axis=2)  # Cr = Cb = 128: nothing looks like skin
    rgb, n_pixels = skin_mean_rgb(grey, box, points)
    areas = sum(int((r[2] - r[0]) * (r[3] - r[1])) for r in skin_regions(box, points))
    assert n_pixels == areas
    assert rgb[0] == pytest.approx(rgb[1]) == pytest.approx(rgb[2])


def test_faces_outside_the_frame_give_nan(face) -> None:
    frame, box, points = face
    away = np.array([frame.shape[1] + 50.0, 0.0])
    rgb, n_pixels = skin_mean_rgb(frame, box + np.tile(away, 2), points + away)
    assert np.isnan(rgb).all() and rgb.shape == (3,) and n_pixels == 0
    # Partly outside: only the part inside the frame counts.
    half_out = box - np.tile([(box[0] + box[2]) / 2, 0.0], 2)
    rgb_half, n_half = skin_mean_rgb(frame, half_out, None)
    assert np.isfinite(rgb_half).all() and n_half > 0


def test_many_faces_at_once_and_cost_per_face(face) -> None:
    frame, box, points = face
    big = np.zeros((1080, 1920, 3), np.uint8)
    big[200 : 200 + frame.shape[0], 300 : 300 + frame.shape[1]] = frame
    inside, outside = np.array([300.0, 200.0]), np.array([5000.0, 0.0])
    boxes = np.stack([box + np.tile(inside, 2), box + np.tile(outside, 2)])
    landmarks = np.stack([points + inside, points + outside])
    rgb, pixels = skin_mean_rgb_many(big, boxes, landmarks)
    assert rgb.shape == (2, 3) and pixels.shape == (2,)
    np.testing.assert_allclose(rgb[0], skin_mean_rgb(frame, box, points)[0])
    assert np.isnan(rgb[1]).all() and pixels[1] == 0
    assert skin_mean_rgb_many(big, np.empty((0, 4)), None)[0].shape == (0, 3)
    # Works on the region crops only: a ~190 px face in a 1080p frame.
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(100):
            skin_mean_rgb(big, boxes[0], landmarks[0])
        runs.append((time.perf_counter() - start) / 100)
    # Measured ~60-150 us per face on the shared 2-core machine; 1 ms leaves room for load.
    assert min(runs) < 1e-3


def test_bad_inputs(face) -> None:
    frame, box, points = face
    nan_landmarks = np.full((5, 2), np.nan)
    for a, b in zip(skin_regions(box, nan_landmarks), skin_regions(box, None), strict=True):
        np.testing.assert_array_equal(a, b)
    rgb, n_pixels = skin_mean_rgb(frame, np.full(4, np.nan), None)
    assert np.isnan(rgb).all() and n_pixels == 0
    with pytest.raises(ValueError, match="uint8"):
        skin_mean_rgb(frame.astype(np.float32), box, points)
