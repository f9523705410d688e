"""MTCNN face detection with facenet-pytorch's P-, R- and O-Net weights, converted to `Faces` at the boundary.

Two ways to find faces in a frame:
- `detect`: the full cascade (Zhang et al. 2016, "Joint Face Detection and Alignment using Multi-task
  Cascaded Convolutional Networks"): P-Net slides over an image pyramid, R-Net and O-Net re-score and refine
  the candidates. It finds newcomers anywhere, and costs 100-400 ms on a 720p frame.
- `refine`: only O-Net, on boxes the tracker already follows: a face/no-face score, a corrected box and
  fresh landmarks for a handful of faces in about a millisecond each.
The cascade follows facenet-pytorch's `detect_face` (same thresholds, pyramid factor, box arithmetic), but
the pyramid and the crops are resized with OpenCV on uint8 frames, several times faster than torch's
area interpolation on float tensors. The weights ship inside the facenet-pytorch wheel: nothing is
downloaded.
"""

from __future__ import annotations

from importlib.metadata import version

import cv2
import numpy as np
import torch
from torchvision.ops import nms

from classpulse.faces.detections import Faces

try:
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet
except ImportError as exc:  # installed with --no-deps by `make install`; see README
    raise ImportError(
        "facenet-pytorch is missing: run `make install` (it installs it with --no-deps)"
    ) from exc


# MTCNN's first stage looks at 12x12 cells: smaller faces are out of its reach at any setting.
SMALLEST_FACE_PX = 12
LARGEST_MIN_FACE_PX = 20
CELL_PX, CELL_STRIDE = 12, 2
STAGE_THRESHOLDS = (0.6, 0.7, 0.7)  # P-, R-, O-Net face scores, as facenet-pytorch
PYRAMID_FACTOR = 0.709


def min_face_px_for(short_side: int) -> int:
    """The smallest face searched for in a frame: 1/24 of its short side, within [12, 20] px.

    20 px from 480p up keeps HD detection cheap; on a 270p classroom recording the back row is 10-15 px
    tall and would be missed at 20 (MTCNN scores them under our confidence cut), while the image pyramid
    of so small a frame stays cheap even when it starts at 12 px.
    """
    return int(np.clip(round(short_side / 24), SMALLEST_FACE_PX, LARGEST_MIN_FACE_PX))


def pyramid_scales(short_side: int, min_face_px: float) -> list[float]:
    """Scales at which P-Net's 12 px cell covers faces from `min_face_px` up to the whole short side."""
    scales, scale = [], CELL_PX / min_face_px
    while short_side * scale >= CELL_PX:
        scales.append(scale)
        scale *= PYRAMID_FACTOR
    return scales


def _to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 RGB (n, h, w, 3) -> the networks' input (n, 3, h, w), (x - 127.5) / 128."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return (x - 127.5) * 0.0078125


def _square(boxes: np.ndarray) -> np.ndarray:
    """Boxes (n, 4) -> squares (n, 4) of the longer side, same centres."""
    wh = boxes[:, 2:] - boxes[:, :2]
    side = wh.max(1, keepdims=True)
    x1y1 = boxes[:, :2] + wh / 2 - side / 2
    return np.concatenate([x1y1, x1y1 + side], axis=1)


def _crops(frame: np.ndarray, boxes: np.ndarray, size: int) -> tuple[torch.Tensor, np.ndarray]:
    """Square patches (m, 3, size, size) of the boxes (n, 4) that overlap the frame, and which those are.

    Boxes are clipped to the frame (not padded), as in facenet-pytorch's cascade, whose nets learned that.
    """
    h, w = frame.shape[:2]
    ints = np.trunc(boxes).astype(np.int64)
    x1, y1 = np.maximum(ints[:, 0], 1) - 1, np.maximum(ints[:, 1], 1) - 1
    x2, y2 = np.minimum(ints[:, 2], w), np.minimum(ints[:, 3], h)
    ok = (x2 > x1) & (y2 > y1)
    patches = [
        cv2.resize(frame[b:d, a:c], (size, size), interpolation=cv2.INTER_AREA)
        for a, b, c, d in zip(x1[ok], y1[ok], x2[ok], y2[ok], strict=True)
    ]
    if not patches:
        return torch.zeros((0, 3, size, size)), ok
    return _to_input(np.stack(patches)), ok


def _regress(boxes: np.ndarray, reg: np.ndarray, plus_one: bool) -> np.ndarray:
    """Apply the nets' box corrections (n, 4), relative to the box size."""
    wh = boxes[:, 2:] - boxes[:, :2] + (1 if plus_one else 0)
    return boxes + reg * np.tile(wh, 2)


def _nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS on intersection over the smaller box, so a box inside a larger face is dropped."""
    order = np.argsort(-scores)
    area = np.prod(boxes[:, 2:] - boxes[:, :2] + 1, axis=1)
    keep = []
    while len(order):
        i, rest = order[0], order[1:]
        keep.append(i)
        lt = np.maximum(boxes[i, :2], boxes[rest, :2])
        rb = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.prod(np.clip(rb - lt + 1, 0, None), axis=1)
        order = rest[inter / np.minimum(area[i], area[rest]) <= threshold]
    return np.array(keep, dtype=np.int64)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    return nms(torch.from_numpy(boxes).float(), torch.from_numpy(scores).float(), iou).numpy()


class FaceDetector:
    """The MTCNN cascade (`detect`) and its last stage alone on tracked boxes (`refine`).

    The smallest face searched for follows the frame size (`min_face_px_for`); `min_confidence` drops the
    weak detections that MTCNN's last stage lets through on posters, hands and patterned clothing. A face
    already tracked has passed that cut once: `refine_min_confidence`, O-Net's own threshold in the cascade,
    keeps it while O-Net still sees a face there (at 0.92, tracked faces scoring 0.90-0.95 blinked out).
    """

    refine_min_confidence = STAGE_THRESHOLDS[2]

    name = "facenet-pytorch MTCNN"

    def __init__(self, min_confidence: float = 0.92):
        self.pnet, self.rnet, self.onet = PNet().eval(), RNet().eval(), ONet().eval()
        self.min_confidence = min_confidence

    @property
    def version(self) -> str:
        return version("facenet-pytorch")

    def detect(self, frames: list[np.ndarray]) -> list[Faces]:
        """Frames (h, w, 3) uint8 RGB -> one `Faces` per frame (confidence >= `min_confidence`)."""
        out = []
        for frame in frames:
            faces = self._cascade(frame)
            out.append(faces[faces.confidence >= self.min_confidence])
        return out

    @torch.inference_mode()
    def refine(self, frame: np.ndarray, boxes: np.ndarray) -> Faces:
        """O-Net on known boxes (n, 4) of a frame -> n faces: corrected boxes, landmarks and a face score
        (0 where a box lies outside the frame). The caller decides which scores still count as a face."""
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        squares = _square(boxes)
        crops, ok = _crops(frame, squares, 48)
        faces = Faces(boxes, np.zeros(len(boxes)), np.zeros((len(boxes), 5, 2)))
        if len(crops):
            reg, points, prob = (t.numpy() for t in self.onet(crops))
            inside = squares[ok]
            faces.landmarks[ok] = self._landmarks(inside, points)
            faces.xyxy[ok] = _regress(inside, reg, plus_one=True)
            faces.confidence[ok] = prob[:, 1]
        return faces

    @staticmethod
    def _landmarks(boxes: np.ndarray, points: np.ndarray) -> np.ndarray:
        """O-Net's landmark output (n, 10), relative to the input boxes (n, 4) -> (n, 5, 2) pixels."""
        wh = boxes[:, 2:] - boxes[:, :2] + 1
        xs = boxes[:, :1] + wh[:, :1] * points[:, :5] - 1
        ys = boxes[:, 1:2] + wh[:, 1:] * points[:, 5:] - 1
        return np.stack([xs, ys], axis=2)

    @torch.inference_mode()
    def _cascade(self, frame: np.ndarray) -> Faces:
        h, w = frame.shape[:2]
        candidates = [
            self._pnet(frame, scale) for scale in pyramid_scales(min(h, w), min_face_px_for(min(h, w)))
        ]
        if not candidates:
            return Faces.empty()
        boxes, scores, reg = (np.concatenate(parts) for parts in zip(*candidates, strict=True))
        keep = _nms(boxes, scores, 0.7)
        boxes = _square(_regress(boxes[keep], reg[keep], plus_one=False))

        crops, ok = _crops(frame, boxes, 24)
        if not len(crops):
            return Faces.empty()
        reg, prob = (t.numpy() for t in self.rnet(crops))
        passed = prob[:, 1] > STAGE_THRESHOLDS[1]
        boxes, scores, reg = boxes[ok][passed], prob[passed, 1], reg[passed]
        keep = _nms(boxes, scores, 0.7)
        boxes = _square(_regress(boxes[keep], reg[keep], plus_one=True))

        crops, ok = _crops(frame, boxes, 48)
        if not len(crops):
            return Faces.empty()
        reg, points, prob = (t.numpy() for t in self.onet(crops))
        passed = prob[:, 1] > STAGE_THRESHOLDS[2]
        boxes = boxes[ok][passed]
        landmarks = self._landmarks(boxes, points[passed])
        boxes, scores = _regress(boxes, reg[passed], plus_one=True), prob[passed, 1]
        keep = _nms_min(boxes, scores, 0.7)
        return Faces(boxes[keep], scores[keep], landmarks[keep])

    def _pnet(self, frame: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P-Net's candidates at one scale, after non-maximum suppression within it: boxes (k, 4) in frame
        pixels, scores (k,) and box corrections (k, 4)."""
        h, w = frame.shape[:2]
        image = cv2.resize(frame, (int(w * scale + 1), int(h * scale + 1)), interpolation=cv2.INTER_AREA)
        reg, prob = self.pnet(_to_input(image[None]))
        ys, xs = torch.nonzero(prob[0, 1] >= STAGE_THRESHOLDS[0], as_tuple=True)
        cells = torch.stack([xs, ys], 1).numpy().astype(np.float32) * CELL_STRIDE
        boxes = np.concatenate([np.floor((cells + 1) / scale), np.floor((cells + CELL_PX) / scale)], axis=1)
        scores = prob[0, 1, ys, xs].numpy()
        reg = reg[0, :, ys, xs].T.numpy()
        keep = _nms(boxes, scores, 0.5)
        return boxes[keep], scores[keep], reg[keep]
