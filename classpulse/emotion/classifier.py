"""Load the shipped expression model (checksums verified) and classify batches of face crops.

A model is one or more member networks (an ensemble), each run on the crop and its mirror image; the
log-probabilities of all those views are averaged (a normalised geometric mean), which on PublicTest beat
averaging the probabilities for 5 of the 6 models and pairs we measured (training/emotion-v4/README.md).
Where the CPU has native bfloat16 (AVX512-BF16/AMX) the members run in bf16 on oneDNN tensors
(`model.for_inference`), about 2x faster than fp32; elsewhere in fp32. Either way it is deterministic on a
given machine.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from classpulse.emotion.calibration import softmax_at
from classpulse.emotion.model import EMOTION_LABELS, inference_net, preprocess

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


FP32_ENV = "CLASSPULSE_FP32"


def native_bf16() -> bool:
    """Whether bfloat16 inference is used: where this CPU runs bfloat16 convolutions natively (oneDNN on
    AVX512-BF16 or AMX), unless CLASSPULSE_FP32=1 asks for float32, as CPUs without native bf16 run it."""
    if os.environ.get(FP32_ENV, "").strip().lower() in ("1", "true", "yes"):
        return False
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def precision_name(bf16: bool) -> str:
    """How the manifest and the report name the inference precision."""
    return "bfloat16" if bf16 else "float32"


@torch.inference_mode()
def predict_log_proba(
    nets: nn.Module | Sequence[nn.Module],
    crops: np.ndarray,
    batch_size: int = 32,
    tta: bool = True,
) -> np.ndarray:
    """Crops (n, 48, 48) uint8 -> log-probabilities (n, 7) float32 averaged over the nets and, with `tta`,
    over each crop and its mirror image (not renormalised: `softmax_at` does that)."""
    nets = [nets] if isinstance(nets, nn.Module) else list(nets)
    for net in nets:
        net.eval()
    out = np.empty((len(crops), len(EMOTION_LABELS)), dtype=np.float32)
    for start in range(0, len(crops), batch_size):
        x = preprocess(crops[start : start + batch_size]).contiguous(memory_format=torch.channels_last)
        views = torch.cat([x, x.flip(3)]) if tta else x
        log_probs = torch.zeros(len(views), len(EMOTION_LABELS))
        for net in nets:
            log_probs += torch.log_softmax(net(views).float(), dim=1)
        per_view = log_probs.view(-1, len(x), len(EMOTION_LABELS))
        out[start : start + len(x)] = (per_view.mean(0) / len(nets)).numpy()
    return out


def predict_proba(
    nets: nn.Module | Sequence[nn.Module],
    crops: np.ndarray,
    batch_size: int = 32,
    tta: bool = True,
    temperature: float = 1.0,
) -> np.ndarray:
    """Crops (n, 48, 48) uint8 -> probabilities (n, 7) float32: the softmax, at `temperature`, of the
    log-probabilities averaged over the nets and views (`predict_log_proba`)."""
    log_probs = predict_log_proba(nets, crops, batch_size=batch_size, tta=tta)
    return softmax_at(log_probs, temperature).astype(np.float32)


def load_member(directory: Path, member: dict[str, Any], bf16: bool) -> nn.Module:
    """One member's inference network (see `model.for_inference`), after checking its weights against the
    manifest's sha256."""
    weights = directory / member["file"]
    actual = sha256_of(weights)
    if actual != member["sha256"]:
        raise ModelIntegrityError(f"{weights}: sha256 {actual} does not match manifest {member['sha256']}")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    return inference_net(member["widths"], state, bf16=bf16)


@dataclass(frozen=True)
class EmotionClassifier:
    """The member inference networks (see `model.for_inference`) and the manifest (version, accuracy)."""

    nets: tuple[nn.Module, ...]
    manifest: dict[str, Any]
    bf16: bool

    @classmethod
    def load(cls, directory: Path = SHIPPED_DIR, bf16: bool | None = None) -> EmotionClassifier:
        """`bf16` None: bfloat16 inference where the CPU has it natively."""
        manifest_path = directory / MANIFEST_NAME
        if not manifest_path.is_file():
            raise FileNotFoundError(f"no emotion model manifest at {manifest_path}")
        manifest = json.loads(manifest_path.read_text())
        bf16 = native_bf16() if bf16 is None else bf16
        nets = tuple(load_member(directory, member, bf16) for member in manifest["members"])
        return cls(nets=nets, manifest=manifest, bf16=bf16)

    @property
    def version(self) -> str:
        return f"{self.manifest['name']}-{self.manifest['version']}"

    def predict_proba(self, crops: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Crops (n, 48, 48) uint8 -> calibrated probabilities (n, 7), mirror views included."""
        if len(crops) == 0:
            return np.zeros((0, len(EMOTION_LABELS)), dtype=np.float32)
        temperature = self.manifest.get("calibration", {}).get("temperature", 1.0)
        return predict_proba(self.nets, crops, batch_size=batch_size, tta=True, temperature=temperature)
