"""Training mechanics on a tiny network and data set: log, checkpoint, resume, export, folded inference."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from classpulse.emotion.classifier import EmotionClassifier, predict_proba
from classpulse.emotion.model import EmotionNet, for_inference
from classpulse.emotion.train import TrainConfig, export_model, record_photo_check, train
from classpulse.emotion.widen import widen

TINY = TrainConfig(epochs=1, batch_size=32, widths=(4, 8, 8, 16), threads=1)


@pytest.fixture(scope="module")
def tiny_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "train_x": rng.integers(0, 256, (96, 48, 48), dtype=np.uint8),
        "train_y": np.arange(96) % 7,
        "val_x": rng.integers(0, 256, (40, 48, 48), dtype=np.uint8),
        "val_y": np.arange(40) % 7,
    }


def _log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_a_run_resumes_from_its_checkpoint_and_exports_a_loadable_model(tmp_path: Path, tiny_data) -> None:
    run = tmp_path / "run"
    train(tiny_data, run, TINY)
    assert [r["epoch"] for r in _log(run)] == [1]
    assert (run / "checkpoint.pt").is_file() and (run / "best.pt").is_file()

    train(tiny_data, run, replace(TINY, epochs=3))
    assert [r["epoch"] for r in _log(run)] == [1, 2, 3], "resumed at epoch 2, not restarted"

    manifest = export_model([run / "best.pt"], tiny_data, tmp_path / "model", version="9.9.9")
    loaded = EmotionClassifier.load(tmp_path / "model")
    assert loaded.version == "classpulse-fer-9.9.9" and manifest["members"][0]["widths"] == [4, 8, 8, 16]
    predicted = loaded.predict_proba(tiny_data["val_x"]).argmax(1)
    assert np.isclose((predicted == tiny_data["val_y"]).mean(), manifest["public_test"]["accuracy"])

    report = {"n": 5, "without_face": 1, "accuracy": 0.4, "macro_f1": 0.3, "recall": {}, "ms_per_face": 1.0}
    record_photo_check(tmp_path / "model", report, source="faces")
    rechecked = EmotionClassifier.load(tmp_path / "model").manifest
    assert rechecked["photos"] == {
        "source": "faces",
        "n": 5,
        "without_face": 1,
        "accuracy": 0.4,
        "macro_f1": 0.3,
        "recall": {},
    }
    assert rechecked["public_test"] == manifest["public_test"]


def test_a_warm_start_begins_from_the_given_weights(tmp_path: Path, tiny_data) -> None:
    train(tiny_data, tmp_path / "first", TINY)
    start = torch.load(tmp_path / "first" / "best.pt", weights_only=False)["model"]
    tuned = train(
        tiny_data, tmp_path / "tuned", replace(TINY, lr=0.0, init_from=str(tmp_path / "first" / "best.pt"))
    )
    after = torch.load(tmp_path / "tuned" / "best.pt", weights_only=False)["model"]
    assert tuned["epoch"] == 1
    assert all(
        torch.allclose(start[k], after[k]) for k in start if "running" not in k and "num_batches" not in k
    )


def test_a_wider_warm_start_computes_what_the_narrow_network_did(tmp_path: Path, tiny_data) -> None:
    train(tiny_data, tmp_path / "narrow", TINY)
    narrow_state = torch.load(tmp_path / "narrow" / "best.pt", weights_only=False)["model"]
    narrow = EmotionNet(widths=TINY.widths)
    narrow.load_state_dict(narrow_state)
    _randomise_batchnorm(narrow)

    exact = widen(narrow, (6, 12, 16, 24), noise=0.0)
    assert exact.widths == (6, 12, 16, 24)
    crops = tiny_data["val_x"]
    assert np.allclose(predict_proba(narrow, crops), predict_proba(exact, crops), atol=1e-5)
    assert not np.allclose(predict_proba(exact, crops), predict_proba(widen(narrow, exact.widths), crops))
    with pytest.raises(ValueError, match="cannot narrow"):
        widen(exact, TINY.widths)

    wide_cfg = replace(TINY, lr=0.0, widths=(6, 12, 16, 24), init_from=str(tmp_path / "narrow" / "best.pt"))
    train(tiny_data, tmp_path / "wide", wide_cfg)
    wide = torch.load(tmp_path / "wide" / "best.pt", weights_only=False)["model"]
    assert wide["features.0.0.weight"].shape[0] == 6
    assert torch.equal(wide["features.0.0.weight"][:4], narrow_state["features.0.0.weight"])


def test_narrower_widths_than_the_warm_start_exit_2_and_write_nothing(tmp_path: Path, tiny_data) -> None:
    train(tiny_data, tmp_path / "narrow", TINY)
    np.savez(tmp_path / "data.npz", **tiny_data)
    out = tmp_path / "narrower"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "train", "emotion", "--data", str(tmp_path / "data.npz"),
         "--out", str(out), "--epochs", "1", "--threads", "1", "--widths", "2", "4", "4", "8",
         "--init-from", str(tmp_path / "narrow" / "best.pt")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["classpulse: cannot narrow 4 channels to 2"]
    assert not out.exists()


def _randomise_batchnorm(net: EmotionNet) -> None:
    """Running statistics and scales away from their initial values, so a test of them means something."""
    for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)


def test_folded_inference_net_computes_the_same_probabilities(tiny_data) -> None:
    torch.manual_seed(0)
    net = EmotionNet(widths=(8, 16, 16, 32))
    _randomise_batchnorm(net)
    folded = for_inference(net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    crops = tiny_data["val_x"]
    assert np.allclose(predict_proba(net, crops), predict_proba(folded, crops), atol=1e-5)


def test_an_ensemble_export_averages_its_members_log_probabilities(tmp_path: Path, tiny_data) -> None:
    small, wide = tmp_path / "small", tmp_path / "wide"
    train(tiny_data, small, TINY)
    train(tiny_data, wide, replace(TINY, widths=(8, 8, 16, 16), seed=1))
    runs = [small / "best.pt", wide / "best.pt"]
    manifest = export_model(runs, tiny_data, tmp_path / "model", version="1.0")
    assert [m["widths"] for m in manifest["members"]] == [[4, 8, 8, 16], [8, 8, 16, 16]]
    assert manifest["architecture"].startswith("ensemble of 2")
    ensemble = EmotionClassifier.load(tmp_path / "model")
    singles = [EmotionClassifier(nets=(net,), manifest=manifest, bf16=ensemble.bf16) for net in ensemble.nets]
    crops = tiny_data["val_x"]
    mean_log = (np.log(singles[0].predict_proba(crops)) + np.log(singles[1].predict_proba(crops))) / 2
    geometric = np.exp(mean_log) / np.exp(mean_log).sum(1, keepdims=True)
    assert np.allclose(ensemble.predict_proba(crops), geometric, atol=1e-5)
    predicted = ensemble.predict_proba(crops).argmax(1)
    assert np.isclose((predicted == tiny_data["val_y"]).mean(), manifest["public_test"]["accuracy"])
