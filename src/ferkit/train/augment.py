"""Batched augmentation with tensor ops, on the training device: one affine warp per batch (crop, shift,
rotation, scale, flip in one `grid_sample`), photometric jitter and resolution loss, random erasing, and mixup /
cutmix on soft targets."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ferkit.config import AugmentCfg
from ferkit.models.data_config import DataConfig


def _uniform(n: int, lo: float, hi: float, g: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, generator=g, device=device) * (hi - lo) + lo


def random_affine(x: torch.Tensor, aug: AugmentCfg, out_size: int, g: torch.Generator) -> torch.Tensor:
    """Warp a float batch N×C×H×W to N×C×out×out: random crop position, translation, rotation, scale, h-flip."""
    n, dev = x.shape[0], x.device
    crop = out_size / x.shape[-1]  # fraction of the image the output covers at scale 1
    angle = _uniform(n, -aug.rotate, aug.rotate, g, dev) * (math.pi / 180)
    scale = _uniform(n, aug.scale[0], aug.scale[1], g, dev)
    shift = 2 * aug.translate + (1 - crop)
    tx, ty = _uniform(n, -shift, shift, g, dev), _uniform(n, -shift, shift, g, dev)
    flip = torch.where(torch.rand(n, generator=g, device=dev) < aug.hflip, -1.0, 1.0)
    k = crop / scale
    cos, sin = torch.cos(angle) * k, torch.sin(angle) * k
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, [n, x.shape[1], out_size, out_size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_erase(x: torch.Tensor, aug: AugmentCfg, g: torch.Generator) -> torch.Tensor:
    """Replace one random rectangle per selected image (probability aug.erase) with Gaussian noise."""
    n, _, h, w = x.shape
    dev = x.device
    area = _uniform(n, aug.erase_area[0], aug.erase_area[1], g, dev) * h * w
    ratio = torch.exp(_uniform(n, math.log(0.3), math.log(3.3), g, dev))
    eh = torch.sqrt(area * ratio).clamp(1, h)
    ew = torch.sqrt(area / ratio).clamp(1, w)
    y0 = torch.rand(n, generator=g, device=dev) * (h - eh)
    x0 = torch.rand(n, generator=g, device=dev) * (w - ew)
    yy = torch.arange(h, device=dev).view(1, h, 1)
    xx = torch.arange(w, device=dev).view(1, 1, w)
    mask = (yy >= y0.view(n, 1, 1)) & (yy < (y0 + eh).view(n, 1, 1))
    mask = mask & (xx >= x0.view(n, 1, 1)) & (xx < (x0 + ew).view(n, 1, 1))
    mask = mask & (torch.rand(n, generator=g, device=dev) < aug.erase).view(n, 1, 1)
    noise = torch.randn(x.shape, generator=g, device=dev, dtype=x.dtype)
    return torch.where(mask.unsqueeze(1), noise, x)


def mix(
    x: torch.Tensor, y: torch.Tensor, aug: AugmentCfg, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup or cutmix (chosen at random when both are on) of a batch and its soft targets N×C."""
    modes = [m for m, a in (("mixup", aug.mixup), ("cutmix", aug.cutmix)) if a > 0]
    if not modes or torch.rand(1, generator=g, device=x.device).item() >= aug.mix_prob:
        return x, y
    mode = modes[int(torch.randint(len(modes), (1,), generator=g, device=x.device).item())]
    alpha = aug.mixup if mode == "mixup" else aug.cutmix
    lam = _beta(alpha, g, x.device)
    perm = torch.randperm(x.shape[0], generator=g, device=x.device)
    if mode == "mixup":
        return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]
    h, w = x.shape[-2:]
    ch, cw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy = int(torch.randint(h, (1,), generator=g, device=x.device).item())
    cx = int(torch.randint(w, (1,), generator=g, device=x.device).item())
    y0, y1, x0, x1 = max(cy - ch // 2, 0), min(cy + ch // 2, h), max(cx - cw // 2, 0), min(cx + cw // 2, w)
    x = x.clone()
    x[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
    lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    return x, lam * y + (1 - lam) * y[perm]


def _beta(alpha: float, g: torch.Generator, device) -> float:
    """Beta(alpha, alpha) from the seeded generator (via two Gamma draws made from uniforms)."""
    # torch's Beta sampler takes no generator: seed a forked global RNG from our generator instead.
    seed = int(torch.randint(2**62, (1,), generator=g, device=device).item())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return float(torch.distributions.Beta(alpha, alpha).sample().item())


def photometric(x: torch.Tensor, aug: AugmentCfg, g: torch.Generator) -> torch.Tensor:
    """Per selected image (probability aug.photometric) of a float batch in [0, 1]: contrast about its mean,
    brightness shift and gamma, each drawn uniformly; the result is clipped to [0, 1]."""
    n, dev = x.shape[0], x.device
    on = (torch.rand(n, generator=g, device=dev) < aug.photometric).float().view(n, 1, 1, 1)
    contrast = 1 + on * _uniform(n, -aug.contrast, aug.contrast, g, dev).view(n, 1, 1, 1)
    bright = on * _uniform(n, -aug.brightness, aug.brightness, g, dev).view(n, 1, 1, 1)
    gamma = torch.exp(on * _uniform(n, -aug.gamma, aug.gamma, g, dev).view(n, 1, 1, 1))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    y = ((x - mean) * contrast + mean + bright).clamp(0, 1)
    return y.clamp_min(1e-6).pow(gamma).where(on.bool(), x)


def downscale(x: torch.Tensor, aug: AugmentCfg, g: torch.Generator) -> torch.Tensor:
    """Selected images (probability aug.downscale) of a float batch shrunk to one random fraction of their side
    (uniform in [aug.downscale_min, 1], the same for the batch) and enlarged back: the softness of small faces."""
    n, size, dev = x.shape[0], x.shape[-1], x.device
    on = torch.rand(n, generator=g, device=dev) < aug.downscale
    small = max(4, round(size * float(_uniform(1, aug.downscale_min, 1.0, g, dev))))
    if small >= size:
        return x
    soft = F.interpolate(x, size=(small, small), mode="bilinear", antialias=True)
    soft = F.interpolate(soft, size=(size, size), mode="bilinear", align_corners=False)
    return torch.where(on.view(n, 1, 1, 1), soft, x)


def augment_batch(images: torch.Tensor, cfg: DataConfig, aug: AugmentCfg, g: torch.Generator) -> torch.Tensor:
    """uint8 batch N×1×H×W (image_size) → augmented, normalised float N×C×input×input."""
    x = images.float() / 255.0
    if x.shape[-1] != cfg.image_size:
        x = F.interpolate(x, size=(cfg.image_size, cfg.image_size), mode="bilinear", antialias=True)
    x = random_affine(x, aug, cfg.input_size, g)
    if aug.downscale > 0:
        x = downscale(x, aug, g)
    if aug.photometric > 0:
        x = photometric(x, aug, g)
    mean = torch.tensor(cfg.mean, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(cfg.std, device=x.device).view(1, -1, 1, 1)
    if cfg.channels == 3:
        x = x.expand(-1, 3, -1, -1)
    x = (x - mean) / std
    if aug.erase > 0:
        x = random_erase(x, aug, g)
    return x.contiguous()
