"""Cut landmark-aligned 48x48 grayscale face crops framed exactly like FER2013's faces.

`FER_LANDMARKS_48` is where our own MTCNN puts the five landmarks on FER2013 training faces:
the median over 501 Training images upscaled to 192 px with confidence > 0.95 (measured once,
see README "Emotion model"). Mapping every tracked face onto it with a similarity transform gives
the classifier faces framed like the ones it learned from.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from classpulse.emotion.labels import INPUT_SIZE

FER_LANDMARKS_48 = np.array(
    [[14.33, 19.23], [32.87, 19.11], [23.69, 29.46], [15.72, 38.40], [31.43, 38.77]], dtype=np.float64
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + shift mapping points src (k, 2) onto dst (k, 2) -> (2, 3)."""
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    s, d = src - src_mean, dst - dst_mean
    a = (s * d).sum()
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()
    norm = (s**2).sum()
    if norm < 1e-9:
        raise ValueError("degenerate landmarks")
    c, sn = a / norm, b / norm
    rot = np.array([[c, -sn], [sn, c]])
    return np.hstack([rot, (dst_mean - rot @ src_mean)[:, None]])


def aligned_crops(gray: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Frame (h, w) uint8, landmarks (n, 5, 2) pixels -> crops (n, 48, 48) uint8.

    Large faces are warped at up to 4x the output size and then area-averaged down, so they are
    anti-aliased the way FER2013's downscaled photos were.
    """
    crops = np.empty((len(landmarks), INPUT_SIZE, INPUT_SIZE), dtype=np.uint8)
    for i, pts in enumerate(landmarks):
        m = similarity_transform(pts.astype(np.float64), FER_LANDMARKS_48)
        scale = math.hypot(m[0, 0], m[1, 0])
        k = int(min(4, max(1, math.ceil(1 / max(scale, 1e-6)))))
        big = cv2.warpAffine(
            gray,
            m * np.array([[k], [k]]),
            (INPUT_SIZE * k, INPUT_SIZE * k),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        crops[i] = big if k == 1 else cv2.resize(big, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
    return crops
