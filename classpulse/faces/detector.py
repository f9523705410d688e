"""MTCNN face detection (facenet-pytorch), batched over frames, converted to `Faces` at the boundary."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
import torch

from classpulse.faces.detections import Faces

try:
    from facenet_pytorch import MTCNN
except ImportError as exc:  # installed with --no-deps by `make install`; see README
    raise ImportError(
        "facenet-pytorch is missing: run `make install` (it installs it with --no-deps)"
    ) from exc


# MTCNN's first stage looks at 12x12 cells: smaller faces are out of its reach at any setting.
SMALLEST_FACE_PX = 12
LARGEST_MIN_FACE_PX = 20


def min_face_px_for(short_side: int) -> int:
    """The smallest face searched for in a frame: 1/24 of its short side, within [12, 20] px.

    20 px from 480p up keeps HD detection cheap; on a 270p classroom recording the back row is 10-15 px
    tall and would be missed at 20 (MTCNN scores them under our confidence cut), while the image pyramid
    of so small a frame stays cheap even when it starts at 12 px.
    """
    return int(np.clip(round(short_side / 24), SMALLEST_FACE_PX, LARGEST_MIN_FACE_PX))


class FaceDetector:
    """MTCNN with the weights shipped inside the facenet-pytorch wheel (nothing is downloaded).

    The smallest face searched for follows the frame size (`min_face_px_for`); `min_confidence` drops the
    weak detections that MTCNN's last stage lets through on posters, hands and patterned clothing.
    """

    name = "facenet-pytorch MTCNN"

    def __init__(self, min_confidence: float = 0.92, batch_size: int = 4):
        self._mtcnn = MTCNN(
            keep_all=True,
            min_face_size=LARGEST_MIN_FACE_PX,
            device=torch.device("cpu"),
            post_process=False,
            select_largest=False,
        )
        self.min_confidence = min_confidence
        self.batch_size = batch_size

    @property
    def version(self) -> str:
        return version("facenet-pytorch")

    @torch.inference_mode()
    def detect(self, frames: list[np.ndarray]) -> list[Faces]:
        """Frames (h, w, 3) uint8 RGB, all the same size -> one `Faces` per frame.

        Frames whose short side is under the smallest face searched for give no faces: MTCNN's image pyramid
        would have no level at all, and its first stage fails on the empty list (`torch.cat`).
        """
        out: list[Faces] = []
        if not frames:
            return out
        short_side = min(frames[0].shape[:2])
        self._mtcnn.min_face_size = min_face_px_for(short_side)
        if short_side < self._mtcnn.min_face_size:
            return [Faces.empty() for _ in frames]
        for start in range(0, len(frames), self.batch_size):
            batch = np.stack(frames[start : start + self.batch_size])
            boxes, probs, points = self._mtcnn.detect(batch, landmarks=True)
            for b, p, pts in zip(boxes, probs, points, strict=True):
                faces = Faces.from_mtcnn(b, p, pts)
                out.append(faces[faces.confidence >= self.min_confidence])
        return out
