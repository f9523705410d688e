"""Train the expression network on FER2013 Training, select on PublicTest, export a shippable model.

Targets are the FER+ crowd-vote distributions when a votes file is given (selection then on PublicTest
against the FER+ majority), else the original labels with label smoothing. With teachers, the target is
mixed with the teachers' averaged predictions on the same augmented batch (distillation), so one fast
network can learn what an ensemble knows.

Resumable: every epoch writes `checkpoint.pt` (model, weight average, optimiser, RNG) and appends one
JSON line to `log.jsonl`; the best epoch by PublicTest accuracy (flip TTA) is kept as `best.pt`.
What is evaluated and kept is an exponential moving average of the weights, which is steadier and
usually a little more accurate than the last step's weights. Where the CPU has native bfloat16
(AVX512-BF16/AMX), the forward and backward passes run under bf16 autocast, about 3x faster.
`export_model` turns one or more checkpoints into the fp16 weights + manifest that
`EmotionClassifier` loads.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel

from classpulse.atomic import atomic_outputs, write_text_synced
from classpulse.emotion.augment import augment
from classpulse.emotion.calibration import expected_calibration_error, fit_temperature, softmax_at
from classpulse.emotion.classifier import (
    MANIFEST_NAME,
    native_bf16,
    precision_name,
    predict_log_proba,
    predict_proba,
    sha256_of,
)
from classpulse.emotion.ferplus import load_votes, majority, readable_weight, vote_distribution
from classpulse.emotion.metrics import classification_report
from classpulse.emotion.model import ARCHITECTURE, EMOTION_LABELS, EmotionNet, inference_net
from classpulse.emotion.widen import widen

log = logging.getLogger(__name__)

DISGUST = EMOTION_LABELS.index("disgust")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    warmup_epochs: int = 2
    disgust_repeat: int = 3
    widths: tuple[int, int, int, int] = (32, 64, 128, 256)
    ema_decay: float = 0.999
    bf16: bool = field(default_factory=native_bf16)
    init_from: str | None = None
    votes: str | None = None
    teachers: tuple[str, ...] = ()
    distill: float = 0.5
    seed: int = 0
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)


def load_fer2013(path: Path, votes: Path | None = None) -> dict[str, np.ndarray]:
    """The shared npz as plain arrays: train_x/train_y (Training) and val_x/val_y (PublicTest), plus
    train_votes/val_votes (n, 10) from the FER+ votes npz if given."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in ("train_x", "train_y", "val_x", "val_y")}
    return {**arrays, **load_votes(votes)} if votes else arrays


def _targets(data: dict[str, np.ndarray], cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft targets (n, 7), per-image loss weights (n,) and the hard labels used for class repetition."""
    if "train_votes" in data:
        votes = data["train_votes"]
        return vote_distribution(votes), readable_weight(votes), majority(votes)[0]
    k = len(EMOTION_LABELS)
    onehot = np.eye(k, dtype=np.float32)[data["train_y"]]
    smoothed = onehot * (1 - cfg.label_smoothing) + cfg.label_smoothing / k
    return smoothed, np.ones(len(onehot), dtype=np.float32), data["train_y"]


def validate(nets: torch.nn.Module | list[torch.nn.Module], data: dict[str, np.ndarray]) -> dict:
    """PublicTest accuracy and macro-F1 against the original labels and, with votes, the FER+ majority."""
    pred = predict_proba(nets, data["val_x"], batch_size=256).argmax(1)
    original = classification_report(data["val_y"], pred)
    report = {"val_accuracy": original["accuracy"], "val_macro_f1": original["macro_f1"]}
    if "val_votes" in data:
        label, valid = majority(data["val_votes"])
        ferplus = classification_report(label[valid], pred[valid])
        report |= {"val_ferplus_accuracy": ferplus["accuracy"], "val_ferplus_macro_f1": ferplus["macro_f1"]}
    return report


def selection_key(data: dict[str, np.ndarray]) -> str:
    """The PublicTest measure that picks the best epoch: FER+ majority accuracy when votes are known."""
    return "val_ferplus_accuracy" if "val_votes" in data else "val_accuracy"


def _teacher_nets(paths: Sequence[str]) -> list[torch.nn.Module]:
    nets = []
    for path in paths:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        nets.append(inference_net(ckpt["config"]["widths"], ckpt["model"], bf16=native_bf16()))
    return nets


def _lr_at(step: float, total: float, warmup: float, peak: float) -> float:
    """Linear warm-up then cosine decay to zero; `step` and the spans in epochs."""
    if step < warmup:
        return peak * (step + 1e-3) / warmup
    progress = (step - warmup) / max(total - warmup, 1e-9)
    return 0.5 * peak * (1 + np.cos(np.pi * min(progress, 1.0)))


def _ema_step(decay: float) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """An exponential moving average whose decay ramps up from 0.1 over the first steps.

    With a fixed 0.999 the average would still be mostly random initial weights after two epochs.
    """

    def step(average: torch.Tensor, current: torch.Tensor, n_averaged: torch.Tensor) -> torch.Tensor:
        d = min(decay, (1 + float(n_averaged)) / (10 + float(n_averaged)))
        return average * d + current * (1 - d)

    return step


def _epoch_order(labels: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """A shuffled index list in which the tiny disgust class appears `disgust_repeat` times."""
    idx = np.arange(len(labels))
    extra = np.repeat(idx[labels == DISGUST], cfg.disgust_repeat - 1)
    return rng.permutation(np.concatenate([idx, extra]))


@dataclass(frozen=True)
class _TrainingSet:
    """FER2013 Training as the loop reads it: images (n, 48, 48) uint8, soft targets (n, 7), per-image loss
    weights (n,), and the hard labels (n,) that decide the class repetition."""

    x: torch.Tensor
    targets: torch.Tensor
    weights: torch.Tensor
    labels: np.ndarray


def _training_set(data: dict[str, np.ndarray], cfg: TrainConfig) -> _TrainingSet:
    targets, weights, labels = _targets(data, cfg)
    return _TrainingSet(
        torch.from_numpy(data["train_x"]), torch.from_numpy(targets), torch.from_numpy(weights), labels
    )


def _resume(
    ckpt_path: Path,
    net: EmotionNet,
    ema: AveragedModel,
    opt: torch.optim.Optimizer,
    rng: np.random.Generator,
    gen: torch.Generator,
) -> tuple[int, dict]:
    """Restore weights, weight average, optimiser and RNG states from `checkpoint.pt`; returns the epoch to
    start from and the best record so far."""
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    net.load_state_dict(ckpt["model"])
    if "ema" in ckpt:  # runs from before the weight average start it afresh from the resumed weights
        ema.load_state_dict(ckpt["ema"])
    opt.load_state_dict(ckpt["optimizer"])
    rng.bit_generator.state = ckpt["numpy_rng"]
    gen.set_state(ckpt["torch_rng"])
    return ckpt["epoch"] + 1, ckpt["best"]


def _train_epoch(
    net: EmotionNet,
    ema: AveragedModel,
    opt: torch.optim.Optimizer,
    epoch: int,
    train_set: _TrainingSet,
    *,
    teachers: list[torch.nn.Module],
    cfg: TrainConfig,
    rng: np.random.Generator,
    gen: torch.Generator,
    on_progress: Callable[[int, int, float], None] | None,
) -> tuple[float, float]:
    """One pass over the shuffled training set -> (mean loss, share of images whose top class matches
    the target's)."""
    net.train()
    order = _epoch_order(train_set.labels, cfg, rng)
    n_batches = len(order) // cfg.batch_size
    loss_sum = correct = seen = 0.0
    for b in range(n_batches):
        for group in opt.param_groups:
            group["lr"] = _lr_at(epoch + b / n_batches, cfg.epochs, cfg.warmup_epochs, cfg.lr)
        sel = torch.from_numpy(order[b * cfg.batch_size : (b + 1) * cfg.batch_size])
        x = augment(train_set.x[sel], gen).contiguous(memory_format=torch.channels_last)
        y = train_set.targets[sel]
        if teachers:
            y = (1 - cfg.distill) * y + cfg.distill * _teacher_proba(teachers, x)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            logits = net(x)
        per_image = -(y * F.log_softmax(logits.float(), dim=1)).sum(1)
        weights = train_set.weights[sel]
        loss = (per_image * weights).sum() / weights.sum().clamp_min(1e-6)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update_parameters(net)
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(1) == y.argmax(1)).sum().item()
        seen += len(y)
        if on_progress:
            on_progress(epoch, cfg.epochs, (b + 1) / n_batches)
    return loss_sum / seen, correct / seen


def _save_epoch(
    out_dir: Path,
    record: dict,
    best: dict,
    key: str,
    *,
    net: EmotionNet,
    ema: AveragedModel,
    opt: torch.optim.Optimizer,
    rng: np.random.Generator,
    gen: torch.Generator,
    cfg: TrainConfig,
) -> dict:
    """Append the epoch's `record` to log.jsonl, keep the weight average as best.pt when it beats `best` on
    `key`, and write checkpoint.pt to resume from; returns the best record."""
    with (out_dir / "log.jsonl").open("a") as fh:
        fh.write(json.dumps(record) + "\n")
    log.info(
        "epoch %d: loss %.4f, PublicTest %s %.4f", record["epoch"], record["train_loss"], key, record[key]
    )
    if record[key] > best[key]:
        best = record
        best_state = {"model": ema.module.state_dict(), "config": asdict(cfg), "record": record}
        _atomic_save(best_state, out_dir / "best.pt")
    checkpoint = {
        "model": net.state_dict(),
        "ema": ema.state_dict(),
        "optimizer": opt.state_dict(),
        "numpy_rng": rng.bit_generator.state,
        "torch_rng": gen.get_state(),
        "epoch": record["epoch"] - 1,
        "best": best,
        "config": asdict(cfg),
    }
    _atomic_save(checkpoint, out_dir / "checkpoint.pt")
    return best


def train(
    data: dict[str, np.ndarray],
    out_dir: Path,
    cfg: TrainConfig,
    on_progress: Callable[[int, int, float], None] | None = None,
) -> dict:
    """Train (or resume) into `out_dir`; returns the best epoch's log record."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    net = (_initial_net(cfg) if cfg.init_from else EmotionNet(widths=cfg.widths)).to(
        memory_format=torch.channels_last
    )
    out_dir.mkdir(parents=True, exist_ok=True)  # only once the starting weights are known to fit
    ema = AveragedModel(net, avg_fn=_ema_step(cfg.ema_decay), use_buffers=True)
    opt = torch.optim.SGD(
        net.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay
    )
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    key = selection_key(data)
    start_epoch, best = 0, {key: -1.0}
    ckpt_path = out_dir / "checkpoint.pt"
    if ckpt_path.exists():
        start_epoch, best = _resume(ckpt_path, net, ema, opt, rng, gen)
        log.info("resuming %s at epoch %d", out_dir, start_epoch + 1)

    train_set = _training_set(data, cfg)
    teachers = _teacher_nets(cfg.teachers)
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        loss, accuracy = _train_epoch(
            net,
            ema,
            opt,
            epoch,
            train_set,
            teachers=teachers,
            cfg=cfg,
            rng=rng,
            gen=gen,
            on_progress=on_progress,
        )
        record = {
            "epoch": epoch + 1,
            "train_loss": loss,
            "train_accuracy": accuracy,
            **validate(ema.module, data),
            "lr": opt.param_groups[0]["lr"],
            "seconds": time.perf_counter() - t0,
        }
        best = _save_epoch(out_dir, record, best, key, net=net, ema=ema, opt=opt, rng=rng, gen=gen, cfg=cfg)
    return best


def _initial_net(cfg: TrainConfig) -> EmotionNet:
    """The network `cfg.init_from` holds, widened (`classpulse.emotion.widen`) when `cfg.widths` is wider."""
    ckpt = torch.load(cfg.init_from, map_location="cpu", weights_only=False)
    net = EmotionNet(widths=tuple(ckpt["config"]["widths"]))
    net.load_state_dict(ckpt["model"])
    return net if net.widths == cfg.widths else widen(net, cfg.widths, seed=cfg.seed)


@torch.inference_mode()
def _teacher_proba(teachers: list[torch.nn.Module], x: torch.Tensor) -> torch.Tensor:
    """The teachers' normalised geometric mean, as the shipped classifier combines members."""
    log_probs = sum(torch.log_softmax(t(x).float(), dim=1) for t in teachers) / len(teachers)
    return torch.softmax(log_probs, dim=1)


def _atomic_save(obj: dict, path: Path) -> None:
    with atomic_outputs(path.parent, [path.name]) as tmp:
        torch.save(obj, tmp[path.name])


def _fp16_member(checkpoint: Path, bf16: bool) -> tuple[dict, torch.nn.Module, dict[str, torch.Tensor]]:
    """A checkpoint's config, its inference net with fp16-rounded weights, and the fp16 state to ship."""
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    half = {k: v.half() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    return ckpt, inference_net(ckpt["config"]["widths"], half, bf16=bf16), half


def export_model(
    checkpoints: Sequence[Path],
    data: dict[str, np.ndarray],
    dest: Path,
    *,
    name: str = "classpulse-fer",
    version: str,
) -> dict:
    """Write fp16 weights of each checkpoint and a manifest into `dest`; several checkpoints ship as an
    ensemble. PublicTest metrics are measured on the exported weights, per member and for the whole model,
    in the precision `EmotionClassifier` will use on this machine (recorded as `precision`): against the
    original labels and, when `data` has votes, against the FER+ majority, which then also calibrates the
    model's temperature (`calibration`)."""
    bf16 = native_bf16()
    keys = ("n", "accuracy", "macro_f1", "recall")
    reference, valid = (
        majority(data["val_votes"])
        if "val_votes" in data
        else (data["val_y"], np.ones(len(data["val_y"]), bool))
    )

    def public_test(nets: list[torch.nn.Module]) -> dict:
        pred = predict_log_proba(nets, data["val_x"], batch_size=32).argmax(1)
        val = classification_report(data["val_y"], pred)
        scores = {k: val[k] for k in keys}
        if "val_votes" in data:
            scores["ferplus"] = {
                k: v for k, v in classification_report(reference[valid], pred[valid]).items() if k in keys
            }
        return scores

    kind = ARCHITECTURE if len(checkpoints) == 1 else f"ensemble of {len(checkpoints)} {ARCHITECTURE}"
    members, nets, payloads = [], [], {}
    for i, checkpoint in enumerate(checkpoints, start=1):
        ckpt, net, half = _fp16_member(checkpoint, bf16)
        file = f"{name}-{version}-{i}.pt" if len(checkpoints) > 1 else f"{name}-{version}.pt"
        buffer = io.BytesIO()  # a file object, so the archive's inner name never depends on the temp name
        torch.save(half, buffer)
        payloads[file] = buffer.getvalue()
        nets.append(net)
        members.append(
            {
                "file": file,
                "widths": list(ckpt["config"]["widths"]),
                "epochs_trained": ckpt["record"]["epoch"],
                "config": ckpt["config"],
                "public_test": public_test([net]),
            }
        )
    with atomic_outputs(dest, [*payloads, MANIFEST_NAME]) as tmp:
        for member in members:
            tmp[member["file"]].write_bytes(payloads[member["file"]])
            member["sha256"] = sha256_of(tmp[member["file"]])
        manifest = {
            "name": name,
            "version": version,
            "architecture": kind,
            "labels": list(EMOTION_LABELS),
            "input": "48x48 grayscale, per-image standardised; flip TTA, log-probabilities averaged",
            "precision": precision_name(bf16),
            "training_data": "FER2013 Training (28,709 images)"
            + (", FER+ vote distributions as targets" if "train_votes" in data else ""),
            "selection_split": "FER2013 PublicTest (3,589 images)",
            "public_test": public_test(nets),
            "calibration": _calibration(predict_log_proba(nets, data["val_x"])[valid], reference[valid]),
            "date": dt.date.today().isoformat(),
            "members": members,
        }
        _write_manifest(tmp[MANIFEST_NAME], manifest)
    return manifest


def _calibration(log_probs: np.ndarray, labels: np.ndarray) -> dict:
    """The fitted temperature and the expected calibration error before and after, on PublicTest."""
    temperature = fit_temperature(log_probs, labels)
    return {
        "method": "temperature scaling, fitted on PublicTest by negative log-likelihood",
        "temperature": round(temperature, 4),
        "ece_before": round(expected_calibration_error(softmax_at(log_probs, 1.0), labels), 4),
        "ece_after": round(expected_calibration_error(softmax_at(log_probs, temperature), labels), 4),
    }


def record_photo_check(model_dir: Path, report: dict, source: str) -> dict:
    """Add an `evaluate_file` report on labelled photos of other people to the model's manifest.

    FER2013 accuracy alone flatters a model that customers run on other faces; the report states both.
    """
    manifest = json.loads((model_dir / MANIFEST_NAME).read_text())
    keys = ("n", "without_face", "accuracy", "macro_f1", "recall")
    manifest["photos"] = {"source": source, **{k: report[k] for k in keys}}
    with atomic_outputs(model_dir, [MANIFEST_NAME]) as tmp:
        _write_manifest(tmp[MANIFEST_NAME], manifest)
    return manifest


def _write_manifest(path: Path, manifest: dict) -> None:
    write_text_synced(path, json.dumps(manifest, indent=2) + "\n")
