"""Start a wider expression network from a trained narrower one without changing what it computes.

Net2WiderNet (Chen, Goodfellow & Shlens 2016, "Net2Net: accelerating learning via knowledge transfer",
ICLR): each new channel copies an existing one (its convolution filter and its BatchNorm statistics), and
the next layer divides its weights from that channel by how many copies there are, so the wider network
starts with exactly the narrower one's outputs. Training then only has to use the added capacity, instead
of relearning from scratch what the narrow network took a few hundred CPU epochs to learn. A little noise
on the copies lets them drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from classpulse.emotion.model import EmotionNet


def _conv_bn_pairs(net: EmotionNet) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    return [(block[0], block[1]) for block in net.features if isinstance(block, nn.Sequential)]


@torch.no_grad()
def widen(narrow: EmotionNet, widths: Sequence[int], *, noise: float = 0.01, seed: int = 0) -> EmotionNet:
    """An `EmotionNet` of `widths` (each >= the narrow one's) computing what `narrow` computes (in eval
    mode, before the `noise`: relative standard deviation added to the copied filters)."""
    gen = torch.Generator().manual_seed(seed)
    wide = EmotionNet(widths=tuple(widths), dropout=narrow.head[2].p)
    pairs_in, pairs_out = _conv_bn_pairs(narrow), _conv_bn_pairs(wide)
    source = torch.arange(1)  # the input's single channel maps onto itself
    for (conv, bn), (new_conv, new_bn) in zip(pairs_in, pairs_out, strict=True):
        c_old, c_new = conv.out_channels, new_conv.out_channels
        if c_new < c_old:
            raise ValueError(f"cannot narrow {c_old} channels to {c_new}")
        mapping = torch.cat([torch.arange(c_old), torch.randint(0, c_old, (c_new - c_old,), generator=gen)])
        copies = torch.bincount(source).float()
        weight = conv.weight[mapping][:, source] / copies[source].view(1, -1, 1, 1)
        jitter = torch.randn(weight.shape, generator=gen) * noise * weight.std()
        new_conv.weight.copy_(weight + jitter * (torch.arange(c_new) >= c_old).view(-1, 1, 1, 1))
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(new_bn, name).copy_(getattr(bn, name)[mapping])
        new_bn.num_batches_tracked.copy_(bn.num_batches_tracked)
        source = mapping
    copies = torch.bincount(source).float()
    linear, new_linear = narrow.head[3], wide.head[3]
    new_linear.weight.copy_(linear.weight[:, source] / copies[source])
    new_linear.bias.copy_(linear.bias)
    return wide
