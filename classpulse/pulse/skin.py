"""Mean skin colour of a face per frame: forehead and cheek rectangles, skin-masked in YCrCb.

Forehead and cheeks carry the strongest pulse and little motion (no eyes, mouth or beard edges), so the
rPPG trace is the mean over those patches only. Everything works on the small region crops, never on the
full frame: this runs for every face on every frame.
"""

from __future__ import annotations

import cv2
import numpy as np

# Median MTCNN landmarks as fractions of the box (x, y), measured on 61 faces of shared/data/faces and
# made left-right symmetric; order: left eye, right eye, nose, left mouth corner, right mouth corner.
# Used to place the regions when a detector gives only a box.
CANONICAL_LANDMARKS = np.array([[0.28, 0.38], [0.72, 0.38], [0.50, 0.57], [0.31, 0.76], [0.69, 0.76]])
# Regions in face coordinates: (centre_u, centre_v, half_u, half_v). u runs along the eye axis in units of
# the eye distance, v downwards in units of the eye-to-mouth distance, origin between the eyes. The
# forehead sits above the eyebrows (~0.3 down-units above the eyes), the cheeks beside the nose, under the
# eyes and outside the nostrils.
SKIN_REGIONS_FACE_COORDS = {
    "forehead": (0.0, -0.60, 0.35, 0.18),
    "left_cheek": (-0.55, 0.45, 0.18, 0.18),
    "right_cheek": (0.55, 0.45, 0.18, 0.18),
}
# Skin in YCrCb (OpenCV order Y, Cr, Cb): chroma bounds of Chai & Ngan (1999), which hold across skin
# tones because they bound colour, not brightness. Y excludes deep shadow and clipped highlights, which
# carry no pulse.
SKIN_YCRCB_LOWER = np.array([20, 133, 77], dtype=np.uint8)
SKIN_YCRCB_UPPER = np.array([250, 173, 127], dtype=np.uint8)
# When the mask keeps less than this fraction of the region pixels (odd white balance, grey or very dark
# footage), all region pixels are averaged instead: the regions are chosen to be skin anyway.
MIN_SKIN_FRACTION = 0.2


def skin_regions(box: np.ndarray, landmarks: np.ndarray | None) -> list[np.ndarray]:
    """Forehead, left-cheek and right-cheek rectangles of one face, each (4,) int xyxy pixels.

    box (4,) x1, y1, x2, y2 pixels; landmarks (5, 2) x, y pixels in MTCNN order, or None (or non-finite)
    to place the regions from box proportions (CANONICAL_LANDMARKS). Rectangles are clipped to the box
    and may be empty (x2 <= x1) for a degenerate face.
    """
    box = np.asarray(box, dtype=np.float64)
    points = None if landmarks is None else np.asarray(landmarks, dtype=np.float64)
    if points is None or not np.isfinite(points).all():
        points = box[:2] + CANONICAL_LANDMARKS * (box[2:] - box[:2])
    eyes_mid = (points[0] + points[1]) / 2.0
    eye_axis = points[1] - points[0]
    eye_dist = max(float(np.hypot(*eye_axis)), 1e-6)
    u = eye_axis / eye_dist
    v = np.array([-u[1], u[0]])  # image y points down, so this is "towards the mouth"
    mouth_dist = max(float((points[3:].mean(axis=0) - eyes_mid) @ v), 0.5 * eye_dist)

    lo = np.ceil(box[:2]).astype(int)
    hi = np.maximum(np.floor(box[2:]).astype(int), lo)
    regions = []
    for cu, cv, hu, hv in SKIN_REGIONS_FACE_COORDS.values():
        centre = eyes_mid + cu * eye_dist * u + cv * mouth_dist * v
        half = np.array([hu * eye_dist, hv * mouth_dist])
        xy1 = np.clip(np.round(centre - half).astype(int), lo, hi)
        xy2 = np.clip(np.round(centre + half).astype(int), lo, hi)
        regions.append(np.concatenate([xy1, xy2]))
    return regions


def skin_mean_rgb(frame: np.ndarray, box: np.ndarray, landmarks: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Mean RGB (3,) float64 over the skin pixels of the face's regions, and how many pixels were used.

    frame (H, W, 3) uint8 RGB. Falls back to all region pixels when the skin mask keeps fewer than
    MIN_SKIN_FRACTION of them; returns (NaN (3,), 0) when no region lies inside the frame.
    """
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
    if not np.isfinite(box).all():
        return np.full(3, np.nan), 0
    height, width = frame.shape[:2]
    skin_sum, skin_n = np.zeros(3), 0
    all_sum, all_n = np.zeros(3), 0
    for x1, y1, x2, y2 in skin_regions(box, landmarks):
        x1, x2 = min(max(x1, 0), width), min(max(x2, 0), width)
        y1, y2 = min(max(y1, 0), height), min(max(y2, 0), height)
        if x2 <= x1 or y2 <= y1:
            continue
        crop = frame[y1:y2, x1:x2]
        mask = cv2.inRange(cv2.cvtColor(crop, cv2.COLOR_RGB2YCrCb), SKIN_YCRCB_LOWER, SKIN_YCRCB_UPPER)
        n_region = crop.shape[0] * crop.shape[1]
        all_sum += np.asarray(cv2.sumElems(crop)[:3])
        all_n += n_region
        n_mask = cv2.countNonZero(mask)
        if n_mask:
            skin_sum += np.asarray(cv2.mean(crop, mask=mask)[:3]) * n_mask
            skin_n += n_mask
    if all_n == 0:
        return np.full(3, np.nan), 0
    if skin_n < MIN_SKIN_FRACTION * all_n:
        return all_sum / all_n, all_n
    return skin_sum / skin_n, skin_n


def skin_mean_rgb_many(
    frame: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """skin_mean_rgb for every face of a frame: boxes (n, 4), landmarks (n, 5, 2) or None ->
    (rgb (n, 3) float64, pixels (n,) int64)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    rgb = np.full((len(boxes), 3), np.nan)
    pixels = np.zeros(len(boxes), dtype=np.int64)
    for i, box in enumerate(boxes):
        rgb[i], pixels[i] = skin_mean_rgb(frame, box, None if landmarks is None else landmarks[i])
    return rgb, pixels
