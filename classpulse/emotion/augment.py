"""Batch augmentation for expression training, vectorised on whole batches of (n, 1, 48, 48).

The pipeline sees faces that FER2013 does not: upscaled small classroom faces, downscaled sharp
webcam faces, slightly mis-aligned crops. The geometric jitter mimics crop misalignment, the
resolution jitter mimics the blur of an upscaled small face.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(
    x: torch.Tensor,
    gen: torch.Generator,
    max_deg: float = 12.0,
    max_shift: float = 0.08,
    scale: tuple[float, float] = (0.9, 1.12),
) -> torch.Tensor:
    """Rotate, scale, shift and mirror each image independently (border pixels replicated)."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(max_deg)
    s = torch.empty(n).uniform_(*scale, generator=gen)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * max_shift * 2
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift[:, 0]], 1), torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_resolution(
    x: torch.Tensor, gen: torch.Generator, p: float = 0.3, min_side: int = 16
) -> torch.Tensor:
    """Down- then up-sample a random subset, as an upscaled small face would look."""
    n, _, h, w = x.shape
    pick = torch.rand(n, generator=gen) < p
    if not pick.any():
        return x
    side = int(torch.randint(min_side, h, (1,), generator=gen))
    small = F.interpolate(x[pick], size=(side, side), mode="area")
    x = x.clone()
    x[pick] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return x


def random_erasing(
    x: torch.Tensor, gen: torch.Generator, p: float = 0.4, area: tuple[float, float] = (0.02, 0.15)
) -> torch.Tensor:
    """Zero a random rectangle in a random subset (hands, glasses, microphones over the face)."""
    n, _, h, w = x.shape
    frac = torch.empty(n).uniform_(*area, generator=gen)
    aspect = torch.exp(torch.empty(n).uniform_(math.log(0.3), math.log(3.3), generator=gen))
    eh = (torch.sqrt(frac * aspect) * h).clamp(1, h - 1).long()
    ew = (torch.sqrt(frac / aspect) * w).clamp(1, w - 1).long()
    y0 = (torch.rand(n, generator=gen) * (h - eh)).long()
    x0 = (torch.rand(n, generator=gen) * (w - ew)).long()
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    inside = (
        (rows >= y0.view(n, 1, 1))
        & (rows < (y0 + eh).view(n, 1, 1))
        & (cols >= x0.view(n, 1, 1))
        & (cols < (x0 + ew).view(n, 1, 1))
    )
    apply = (torch.rand(n, generator=gen) < p).view(n, 1, 1)
    return x.masked_fill((inside & apply).unsqueeze(1), 0.0)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The full training augmentation, applied after `model.preprocess`."""
    return random_erasing(random_resolution(random_affine(x, gen), gen), gen)
