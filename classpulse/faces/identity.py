"""Who a tracklet is: a 128-number face descriptor from a few of its best views (dlib's ResNet).

A tracklet keeps its best `CHIPS_PER_TRACK` views while the video streams (`ChipPicker`): 150x150 RGB
chips cut the way dlib's face-recognition network expects, from the tracked box and dlib's 5-point
landmark model. When the tracklet ends, `FaceDescriber.describe` turns them into one unit-length
descriptor. Two descriptors of one person are close; the merge (`classpulse.faces.merge`) joins
tracklets whose descriptors are closer than `SAME_PERSON_DISTANCE`.

The models ship in the `face-recognition-models` package (CC0 / public domain, by Davis King, trained on
his own 5-point annotations and on face datasets under Creative Commons); its 68-point model, trained on
data that forbids commercial use, is never loaded. Located without importing the package, whose
`__init__` needs `pkg_resources`.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Views kept per tracklet for its descriptor, and the seconds between two candidate views of one track.
CHIPS_PER_TRACK = 3
CHIP_EVERY_S = 2.0
#: Faces smaller than this (px at analysis resolution, geometric mean of the box sides) give no view: below
#: it, two people seen at once in the shared clips were as close as 0.27 (16 % of pairs under 0.40).
MIN_CHIP_FACE_PX = 80.0
#: Descriptor distances (Euclidean, unit vectors), chosen from measured pairs (`scripts/reid_pairs.py`,
#: README "Who is who"): up to SAME_PERSON_DISTANCE two tracklets are one person wherever they appear
#: (two people: 0.2 % of 64,000 photo pairs; one person in one recording: 2.4 % of single-view pairs
#: farther); beyond DIFFERENT_PERSON_DISTANCE they are two people even in the same seat (one person: 1.2 %
#: of photo pairs taken years apart, 0.3 % within a recording).
SAME_PERSON_DISTANCE = 0.40
DIFFERENT_PERSON_DISTANCE = 0.55
#: The measured error rates at SAME_PERSON_DISTANCE (fractions), as the report states them: two people's
#: photos joined, and two views of one person within a recording split.
TWO_PEOPLE_JOINED = 0.002
ONE_PERSON_SPLIT = 0.024

CHIP_SIZE = 150
CHIP_PADDING = 0.25
DESCRIPTOR_NAME = "dlib ResNet face descriptor (dlib_face_recognition_resnet_model_v1)"


def _models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the face-recognition-models package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class FaceDescriber:
    """dlib's 5-point landmark model and ResNet descriptor, loaded once per process (`load`)."""

    def __init__(self) -> None:
        import dlib

        models = _models_dir()
        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        network = models / "dlib_face_recognition_resnet_model_v1.dat"
        self._network = dlib.face_recognition_model_v1(str(network))

    @staticmethod
    @functools.cache
    def load() -> FaceDescriber:
        return FaceDescriber()

    @property
    def version(self) -> str:
        return self._dlib.__version__

    def chip(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Frame (h, w, 3) uint8 RGB, face box (4,) pixels -> the aligned chip (150, 150, 3) uint8."""
        x1, y1, x2, y2 = np.rint(box).astype(int).tolist()
        shape = self._landmarks(rgb, self._dlib.rectangle(x1, y1, x2, y2))
        return np.asarray(self._dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING))

    def describe(self, chips: list[np.ndarray]) -> np.ndarray | None:
        """Chips (150, 150, 3) -> their mean descriptor (128,), unit length; None without chips."""
        if not chips:
            return None
        vectors = np.array([self._network.compute_face_descriptor(c) for c in chips], dtype=np.float64)
        return unit(vectors.mean(axis=0))


def unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def _best(views: list[tuple[float, np.ndarray]]) -> list[tuple[float, np.ndarray]]:
    return sorted(views, key=lambda v: -v[0])[:CHIPS_PER_TRACK]


def view_quality(size_px: float, yaw: float) -> float:
    """How good a view is for recognition: larger and more frontal is better (yaw in eye distances)."""
    return float(size_px) * max(0.0, 1.0 - min(abs(yaw), 1.0))


@dataclass
class ChipPicker:
    """A tracklet's best views so far, by `view_quality`, at most `CHIPS_PER_TRACK` of them."""

    next_t: float = 0.0
    views: list[tuple[float, np.ndarray]] = field(default_factory=list)

    def wants(self, t: float, size_px: float, quality: float) -> bool:
        """Whether a view at `t` s of this size and quality is worth cutting a chip for."""
        if t < self.next_t or size_px < MIN_CHIP_FACE_PX:
            return False
        return len(self.views) < CHIPS_PER_TRACK or quality > min(q for q, _ in self.views)

    def add(self, t: float, quality: float, chip: np.ndarray) -> None:
        self.next_t = t + CHIP_EVERY_S
        self.views = _best([*self.views, (quality, chip)])

    def merged(self, later: ChipPicker) -> ChipPicker:
        """The best views of two pickers of one tracklet (split at a chunk border)."""
        return ChipPicker(next_t=later.next_t, views=_best(self.views + later.views))

    def chips(self) -> list[np.ndarray]:
        return [chip for _, chip in self.views]
