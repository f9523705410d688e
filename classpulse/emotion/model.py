"""The expression network and the one preprocessing step shared by training and inference.

Everything that must be identical between `train.py` and `classifier.py` lives here (the pixel
normalisation) or beside it in the torch-free `labels.py` (the label order and the input size).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch.utils import mkldnn as mkldnn_utils

from classpulse.emotion.labels import EMOTION_LABELS, INPUT_SIZE

ARCHITECTURE = "vgg-bn-4stage"


def preprocess(crops: np.ndarray) -> torch.Tensor:
    """Grayscale uint8 crops (n, 48, 48) -> float tensor (n, 1, 48, 48), standardised per image.

    Per-image standardisation removes exposure and contrast differences between FER2013's
    web photos and webcam or classroom footage, which global normalisation would keep.
    """
    if crops.ndim != 3 or crops.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
        raise ValueError(f"expected crops of shape (n, {INPUT_SIZE}, {INPUT_SIZE}), got {crops.shape}")
    return standardise(torch.from_numpy(np.ascontiguousarray(crops)).float().unsqueeze(1))


def standardise(x: torch.Tensor) -> torch.Tensor:
    """Gray levels (n, 1, h, w) float -> zero mean, unit standard deviation per image (floor 8 levels)."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = x.std(dim=(2, 3), keepdim=True).clamp_min(8.0)
    return (x - mean) / std


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class EmotionNet(nn.Module):
    """A compact VGG-style network: four stages of two 3x3 conv-BN-ReLU, each halving resolution.

    `widths` sets the channels per stage; the default keeps inference under ~1 ms per crop on
    two CPU cores, which leaves room for flip test-time augmentation within the 2 ms budget.
    """

    def __init__(self, widths: tuple[int, int, int, int] = (32, 64, 128, 256), dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for i, c in enumerate(widths):
            first = _conv_block(c_in, c)
            if i == 0:
                layers += [first, nn.MaxPool2d(2)]
            else:
                layers += [first, _conv_block(c, c), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in, len(EMOTION_LABELS))
        )
        self.widths = widths

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class OneDnnBf16(nn.Module):
    """Runs a feature extractor on oneDNN bfloat16 tensors, its weights reordered for oneDNN once at load.

    Under bf16 autocast on ordinary tensors the weights are converted and reordered on every call; here
    they are not, and the 2-member ensemble takes 1.73 instead of 2.36 ms per face (same predictions).
    """

    def __init__(self, features: nn.Module):
        super().__init__()
        with warnings.catch_warnings():  # its oneDNN modules are TorchScript classes, built on first use
            warnings.filterwarnings("ignore", "`torch.jit.script_method` is deprecated", FutureWarning)
            self.inner = mkldnn_utils.to_mkldnn(features, torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.contiguous().to(torch.bfloat16).to_mkldnn()).to_dense().float()


def for_inference(net: EmotionNet, bf16: bool = False) -> nn.Module:
    """An eval-mode copy with each BatchNorm folded into its convolution, for fp32 in channels-last layout
    or, with `bf16` (on a CPU that has it natively), with its features in `OneDnnBf16`.

    Same function, a fraction of the CPU time: folding removes a pass over every feature map, and
    oneDNN's convolutions are fastest on channels-last or on its own tensors. Training keeps the unfolded net.
    """
    net = copy.deepcopy(net).eval()
    for block in net.features:
        if isinstance(block, nn.Sequential):
            block[0], block[1] = fuse_conv_bn_eval(block[0], block[1]), nn.Identity()
    if bf16:
        net.features = OneDnnBf16(net.features)
        return net
    return net.to(memory_format=torch.channels_last)


def inference_net(widths: Sequence[int], state: dict[str, torch.Tensor], bf16: bool = False) -> nn.Module:
    """`for_inference` of an `EmotionNet` holding `state`, whose float tensors may be the shipped fp16."""
    net = EmotionNet(widths=tuple(widths))
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return for_inference(net, bf16=bf16)
