"""`classpulse evaluate emotion`: accuracy and speed of the shipped model on labelled faces.

Input is an npz of crops (FER2013 style) or a folder of photos sorted into label sub-folders, which are
cropped by the pipeline's own MTCNN + alignment path so the number reflects what the pipeline sees.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import cv2
import numpy as np

from classpulse.atomic import atomic_outputs
from classpulse.emotion.classifier import EmotionClassifier
from classpulse.emotion.metrics import classification_report
from classpulse.emotion.model import EMOTION_LABELS, INPUT_SIZE


class EvaluationInputError(ValueError):
    """The evaluation file is missing, unreadable or lacks the arrays asked for."""


def to_input_size(x: np.ndarray) -> np.ndarray:
    """Crops (n, h, w) uint8 of any size -> (n, 48, 48), area-resampled like FER2013's downscaled faces."""
    if x.shape[1:] == (INPUT_SIZE, INPUT_SIZE):
        return x
    return np.stack([cv2.resize(c, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA) for c in x])


def load_split(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """`split` "x" reads arrays x/y; "val" and "train" read val_x/val_y and train_x/train_y."""
    prefix = "" if split == "x" else f"{split}_"
    try:
        with np.load(path) as data:
            x, y = data[f"{prefix}x"], data[f"{prefix}y"]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise EvaluationInputError(f"{path}: not a readable .npz file ({exc})") from None
    except KeyError as exc:
        raise EvaluationInputError(
            f"{path}: no array {exc} (try --split val for the shared FER2013 file)"
        ) from None
    if x.ndim != 3 or x.dtype != np.uint8 or len(x) != len(y):
        raise EvaluationInputError(
            f"{path}: expected x as (N, H, W) uint8 and y as (N,), got {x.shape} {x.dtype}"
        )
    if len(y) and (y.min() < 0 or y.max() >= len(EMOTION_LABELS)):
        raise EvaluationInputError(f"{path}: labels must be 0..{len(EMOTION_LABELS) - 1} in FER2013 order")
    return x, y.astype(np.int64)


def load_photo_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Photos in `folder/<label>/*` -> crops exactly as the pipeline cuts them (MTCNN landmarks, aligned).

    The largest face of each photo is used; photos where MTCNN finds no face are left out and
    counted (the third value), since a face the pipeline never sees is never labelled either.
    """
    from classpulse.faces.crops import aligned_crops
    from classpulse.faces.detector import FaceDetector

    detector = FaceDetector()
    crops, labels, without_face = [], [], 0
    for label_index, label in enumerate(EMOTION_LABELS):
        for photo in sorted((folder / label).glob("*")):
            bgr = cv2.imread(str(photo))
            if bgr is None:
                continue
            faces = detector.detect([cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)])[0]
            if not len(faces):
                without_face += 1
                continue
            largest = faces[int(faces.sizes.argmax())]
            crops.append(aligned_crops(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), largest.landmarks)[0])
            labels.append(label_index)
    if not crops:
        raise EvaluationInputError(
            f"{folder}: no faces found in <label>/ sub-folders ({', '.join(EMOTION_LABELS)})"
        )
    return np.stack(crops), np.array(labels, dtype=np.int64), without_face


def evaluate_file(
    path: Path,
    *,
    split: str = "x",
    predictions: Path | None = None,
    classifier: EmotionClassifier | None = None,
) -> dict:
    """The JSON report: n, accuracy, macro_f1, recall per class, confusion matrix, ms per face."""
    extra = {}
    if path.is_dir():
        x, y, extra["without_face"] = load_photo_folder(path)
    else:
        x, y = load_split(path, split)
    classifier = classifier or EmotionClassifier.load()
    crops = to_input_size(x)
    start = time.perf_counter()
    pred = classifier.predict_proba(crops, batch_size=32).argmax(1)
    elapsed = time.perf_counter() - start
    report = {
        "model": classifier.version,
        **classification_report(y, pred),
        "ms_per_face": round(1000 * elapsed / max(len(x), 1), 3),
        "labels": list(EMOTION_LABELS),
        **extra,
    }
    if predictions:
        with (
            atomic_outputs(predictions.parent, [predictions.name]) as tmp,
            tmp[predictions.name].open("wb") as fh,
        ):
            np.save(fh, pred.astype(np.int64))
    return report
