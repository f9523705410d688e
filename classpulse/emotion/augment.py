"""Batch augmentation for expression training, vectorised on whole batches of (n, 1, 48, 48).

The pipeline sees faces that FER2013's web photos do not: upscaled small classroom faces, webcam noise
and compression blocks, gamma and contrast of other cameras, heads turned a little, slightly mis-aligned
crops. Each function below mimics one of these; `augment` applies them all, each to a random subset.
Photometric steps work on intensities in [0, 1], before the per-image standardisation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from classpulse.emotion.model import standardise


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


def random_perspective(
    x: torch.Tensor, gen: torch.Generator, p: float = 0.4, strength: float = 0.25
) -> torch.Tensor:
    """Foreshorten a random subset sideways or vertically, as a head turned or tilted a little would be."""
    n = x.shape[0]
    k = (torch.rand(n, 2, generator=gen) * 2 - 1) * strength * (torch.rand(n, 1, generator=gen) < p)
    base = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), list(x.shape), align_corners=False)
    denom = 1 + k[:, None, None, 0] * base[..., 0] + k[:, None, None, 1] * base[..., 1]
    return F.grid_sample(x, base / denom.unsqueeze(-1), padding_mode="border", align_corners=False)


def random_tone(x: torch.Tensor, gen: torch.Generator, max_log_gamma: float = 0.5) -> torch.Tensor:
    """Gamma and contrast of another camera: intensities [0, 1] -> [0, 1]."""
    n = x.shape[0]
    gamma = torch.exp((torch.rand(n, generator=gen) * 2 - 1) * max_log_gamma).view(n, 1, 1, 1)
    contrast = torch.empty(n).uniform_(0.65, 1.2, generator=gen).view(n, 1, 1, 1)
    x = x.clamp(0, 1) ** gamma
    mean = x.mean(dim=(2, 3), keepdim=True)
    return ((x - mean) * contrast + mean).clamp(0, 1)


def random_blur(
    x: torch.Tensor, gen: torch.Generator, p: float = 0.3, max_sigma: float = 1.2
) -> torch.Tensor:
    """Gaussian blur of random strength on a random subset (focus, motion, deinterlacing)."""
    n = x.shape[0]
    sigma = torch.empty(n).uniform_(0.3, max_sigma, generator=gen) * (torch.rand(n, generator=gen) < p)
    taps = torch.arange(-3, 4, dtype=x.dtype)
    kernel = torch.exp(-(taps**2) / (2 * sigma.clamp_min(1e-3).view(n, 1) ** 2))
    kernel = kernel / kernel.sum(1, keepdim=True)  # (n, 7); sigma 0 keeps the image (a delta kernel)
    rows = F.conv2d(
        F.pad(x, (3, 3, 0, 0), mode="replicate").transpose(0, 1), kernel.view(n, 1, 1, 7), groups=n
    )
    cols = F.conv2d(F.pad(rows, (0, 0, 3, 3), mode="replicate"), kernel.view(n, 1, 7, 1), groups=n)
    return cols.transpose(0, 1)


def _dct_matrix(size: int = 8) -> torch.Tensor:
    k = torch.arange(size, dtype=torch.float32).view(-1, 1)
    i = torch.arange(size, dtype=torch.float32).view(1, -1)
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * size)) * math.sqrt(2 / size)
    d[0] /= math.sqrt(2)
    return d


def random_compression(x: torch.Tensor, gen: torch.Generator, p: float = 0.4) -> torch.Tensor:
    """JPEG/H.264-like artefacts: 8x8 block DCT coefficients quantised, coarser for higher frequencies."""
    n, c, h, w = x.shape
    step = torch.empty(n).uniform_(0.01, 0.06, generator=gen) * (torch.rand(n, generator=gen) < p)
    d = _dct_matrix()
    freq = torch.arange(8, dtype=torch.float32)
    q = step.view(n, 1, 1, 1, 1, 1) * (1 + freq.view(8, 1) + freq.view(1, 8)) + 1e-6
    blocks = x.reshape(n, c, h // 8, 8, w // 8, 8).permute(0, 1, 2, 4, 3, 5)
    coeffs = d @ blocks @ d.T
    blocks = d.T @ (torch.round(coeffs / q) * q) @ d
    return blocks.permute(0, 1, 2, 4, 3, 5).reshape(n, c, h, w).clamp(0, 1)


def random_noise(
    x: torch.Tensor, gen: torch.Generator, p: float = 0.3, max_std: float = 0.025
) -> torch.Tensor:
    """Sensor noise of random strength on a random subset."""
    n = x.shape[0]
    std = torch.empty(n).uniform_(0, max_std, generator=gen) * (torch.rand(n, generator=gen) < p)
    return (x + torch.randn(x.shape, generator=gen) * std.view(n, 1, 1, 1)).clamp(0, 1)


def augment(crops: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Training batch: uint8 crops (n, 48, 48) -> augmented, standardised input (n, 1, 48, 48)."""
    x = crops.float().unsqueeze(1) / 255
    x = random_affine(random_perspective(x, gen), gen)
    x = random_resolution(random_blur(random_tone(x, gen), gen), gen)
    x = random_noise(random_compression(x, gen), gen)
    return random_erasing(standardise(x * 255), gen)
