"""Load the shipped expression model (checksum verified) and classify batches of face crops."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from classpulse.emotion.model import EMOTION_LABELS, EmotionNet, for_inference, preprocess

SHIPPED_DIR = Path(__file__).parent / "weights"
MANIFEST_NAME = "manifest.json"


class ModelIntegrityError(RuntimeError):
    """The weights on disk are not the ones the manifest describes."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@torch.inference_mode()
def predict_proba(net: nn.Module, crops: np.ndarray, batch_size: int = 32, tta: bool = True) -> np.ndarray:
    """Crops (n, 48, 48) uint8 -> probabilities (n, 7) float32; `tta` averages with the mirror image."""
    net.eval()
    out = np.empty((len(crops), len(EMOTION_LABELS)), dtype=np.float32)
    for start in range(0, len(crops), batch_size):
        x = preprocess(crops[start : start + batch_size]).contiguous(memory_format=torch.channels_last)
        if tta:
            probs = torch.softmax(net(torch.cat([x, x.flip(3)])), dim=1)
            probs = (probs[: len(x)] + probs[len(x) :]) / 2
        else:
            probs = torch.softmax(net(x), dim=1)
        out[start : start + len(x)] = probs.numpy()
    return out


@dataclass(frozen=True)
class EmotionClassifier:
    """The inference network (see `for_inference`) plus its manifest (name, version, sha256, accuracy)."""

    net: nn.Module
    manifest: dict[str, Any]

    @classmethod
    def load(cls, directory: Path = SHIPPED_DIR) -> EmotionClassifier:
        manifest_path = directory / MANIFEST_NAME
        if not manifest_path.is_file():
            raise FileNotFoundError(f"no emotion model manifest at {manifest_path}")
        manifest = json.loads(manifest_path.read_text())
        weights = directory / manifest["file"]
        actual = sha256_of(weights)
        if actual != manifest["sha256"]:
            raise ModelIntegrityError(
                f"{weights}: sha256 {actual} does not match manifest {manifest['sha256']}"
            )
        net = EmotionNet(widths=tuple(manifest["widths"]))
        state = torch.load(weights, map_location="cpu", weights_only=True)
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        return cls(net=for_inference(net), manifest=manifest)

    @property
    def version(self) -> str:
        return f"{self.manifest['name']}-{self.manifest['version']}"

    def predict_proba(self, crops: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Crops (n, 48, 48) uint8 -> probabilities (n, 7), flip test-time augmentation included."""
        if len(crops) == 0:
            return np.zeros((0, len(EMOTION_LABELS)), dtype=np.float32)
        return predict_proba(self.net, crops, batch_size=batch_size, tta=True)
