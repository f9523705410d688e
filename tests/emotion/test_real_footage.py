"""The shipped expression model on faces from real footage, labelled by looking (tests/data/real_faces.json).

FER2013 accuracy says little about webcams and classrooms, where calm people were once called sad or angry
most of the time. These faces are cut from the shared clips by the pipeline's own detector and alignment,
so a model or crop change that brings that back fails here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from classpulse.emotion.classifier import EmotionClassifier
from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.crops import aligned_crops
from classpulse.faces.detector import FaceDetector

LABELLED = Path(__file__).resolve().parents[1] / "data" / "real_faces.json"
NEGATIVE = {"angry", "disgust", "fear", "sad"}


def _frame(video: Path, t: float) -> np.ndarray:
    """The RGB frame shown at `t` seconds, decoded by ffmpeg."""
    png = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(t), "-i", str(video), "-frames:v", "1", "-f", "image2pipe",
         "-vcodec", "png", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def predictions(videos_dir: Path) -> list[tuple[str, str]]:
    """(label, predicted) for every labelled face."""
    detector, classifier = FaceDetector(), EmotionClassifier.load()
    out = []
    for face in json.loads(LABELLED.read_text())["faces"]:
        rgb = _frame(videos_dir / face["clip"], face["t"])
        found = detector.detect([rgb])[0]
        distance = np.linalg.norm(found.centers - np.array(face["center"]), axis=1)
        i = int(distance.argmin())
        assert distance[i] < found.sizes[i] / 2, (
            f"no face at {face['center']} in {face['clip']} at {face['t']} s"
        )
        crop = aligned_crops(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), found.landmarks[i : i + 1])
        out.append((face["label"], EMOTION_LABELS[int(classifier.predict_proba(crop)[0].argmax())]))
    return out


def test_calm_faces_are_not_read_as_negative(predictions) -> None:
    calm = [predicted for label, predicted in predictions if label == "neutral"]
    negative = sum(p in NEGATIVE for p in calm) / len(calm)
    assert negative <= 0.2, f"{negative:.0%} of {len(calm)} calm faces read as negative: {calm}"


def test_accuracy_on_real_footage(predictions) -> None:
    accuracy = np.mean([label == predicted for label, predicted in predictions])
    assert accuracy >= 0.8, predictions
