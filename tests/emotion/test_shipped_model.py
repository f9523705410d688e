"""The shipped expression model: integrity, determinism, speed-independent accuracy floor, evaluation CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classpulse.emotion.classifier import (
    FP32_ENV,
    SHIPPED_DIR,
    EmotionClassifier,
    ModelIntegrityError,
    native_bf16,
)
from classpulse.emotion.ferplus import load_votes, majority
from classpulse.emotion.model import EMOTION_LABELS

# The shipped model (classpulse-fer 0.4.0) agrees with the FER+ majority on 0.820 (bf16) and 0.819 (fp32)
# of the first 1,000 PublicTest images that have one (979); the floor sits under both to catch a broken
# preprocessing or loading path, not to re-measure it.
VAL_SLICE = slice(0, 1000)
ACCURACY_FLOOR = 0.80


@pytest.fixture(scope="module")
def classifier() -> EmotionClassifier:
    return EmotionClassifier.load()


@pytest.fixture(scope="module")
def val_slice(fer_npz: Path, ferplus_npz: Path) -> tuple[np.ndarray, np.ndarray]:
    """The slice's faces that have a FER+ majority label, and that label."""
    label, valid = majority(load_votes(ferplus_npz)["val_votes"][VAL_SLICE])
    with np.load(fer_npz) as data:
        return data["val_x"][VAL_SLICE][valid], label[valid]


def test_manifest_describes_the_shipped_weights(classifier: EmotionClassifier) -> None:
    m = classifier.manifest
    assert m["labels"] == list(EMOTION_LABELS)
    assert len(classifier.nets) == len(m["members"]) >= 1
    assert sum((SHIPPED_DIR / member["file"]).stat().st_size for member in m["members"]) < 8_000_000
    assert all(len(member["sha256"]) == 64 for member in m["members"])
    assert 0 < m["public_test"]["accuracy"] <= 1
    assert classifier.version == f"{m['name']}-{m['version']}"


def test_tampered_weights_are_refused(tmp_path: Path, classifier: EmotionClassifier) -> None:
    copy = tmp_path / "weights"
    shutil.copytree(SHIPPED_DIR, copy)
    weights = copy / classifier.manifest["members"][-1]["file"]
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="does not match"):
        EmotionClassifier.load(copy)


def test_predictions_are_deterministic_probabilities(classifier, val_slice) -> None:
    x, _ = val_slice
    a = classifier.predict_proba(x[:64])
    b = classifier.predict_proba(x[:64][::-1])[::-1]
    assert a.shape == (64, 7) and np.allclose(a.sum(1), 1, atol=1e-5)
    assert np.allclose(a, b, atol=1e-6), "same crop, same answer, whatever its batch neighbours"
    assert classifier.predict_proba(x[:0]).shape == (0, 7)


@pytest.mark.skipif(not native_bf16(), reason="this CPU has no native bfloat16: inference runs in fp32 only")
def test_bf16_inference_gives_the_fp32_answers(val_slice) -> None:
    x, _ = val_slice
    fp32 = EmotionClassifier.load(bf16=False).predict_proba(x)
    bf16 = EmotionClassifier.load(bf16=True).predict_proba(x)
    assert (fp32.argmax(1) == bf16.argmax(1)).mean() >= 0.99
    assert np.abs(fp32 - bf16).max() < 0.05


def test_fp32_can_be_forced_where_bf16_is_native(monkeypatch) -> None:
    monkeypatch.setenv(FP32_ENV, "1")
    assert not native_bf16()
    assert not EmotionClassifier.load().bf16


def test_accuracy_on_a_fixed_validation_slice_stays_above_floor(classifier, val_slice) -> None:
    x, y = val_slice
    accuracy = float((classifier.predict_proba(x).argmax(1) == y).mean())
    assert accuracy >= ACCURACY_FLOOR


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True)


def test_evaluate_command_reports_metrics_and_writes_predictions(tmp_path: Path, val_slice) -> None:
    x, y = val_slice
    data = tmp_path / "faces.npz"
    big = np.stack([np.kron(c, np.ones((2, 2), np.uint8)) for c in x[:200]])  # any crop size is accepted
    np.savez(data, x=big, y=y[:200])
    out = tmp_path / "pred.npy"
    result = _cli("evaluate", "emotion", str(data), "--predictions", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 200 and set(report["recall"]) == set(EMOTION_LABELS)
    assert np.array(report["confusion"]).sum() == 200
    pred = np.load(out)
    assert pred.shape == (200,) and pred.dtype.kind == "i"
    assert report["accuracy"] == pytest.approx(float((pred == y[:200]).mean()))


def test_evaluate_command_rejects_a_file_without_the_arrays(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((2, 48, 48), np.uint8))
    result = _cli("evaluate", "emotion", str(bad))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no array" in result.stderr


def test_evaluate_command_crops_labelled_photos_like_the_pipeline(tmp_path: Path, faces_dir: Path) -> None:
    for label in ("happy", "surprise"):
        (tmp_path / label).mkdir()
        for photo in sorted((faces_dir / label).glob("*.jpg"))[:3]:
            shutil.copy(photo, tmp_path / label / photo.name)
    result = _cli("evaluate", "emotion", str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 6 and report["without_face"] == 0, "MTCNN finds one face on each portrait"
    confusion = np.array(report["confusion"])
    assert confusion[EMOTION_LABELS.index("happy")].sum() == 3
