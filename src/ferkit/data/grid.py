"""A labelled sample grid: one row per class, a few random samples each (Pillow only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ferkit.data.dataset import FerDataset
from ferkit.errors import DataError


def sample_grid(ds: FerDataset, out: str | Path, per_class: int = 10, scale: int = 2, seed: int = 0) -> Path:
    """Draw `per_class` random samples of every class, one labelled row per class, to an image file (the
    suffix picks the format: .png, .jpg, .webp, ...)."""
    out = Path(out)
    if per_class < 1:
        raise DataError(f"samples per class must be at least 1, got {per_class}")
    if out.suffix.lower() not in Image.registered_extensions():
        raise DataError(f"{out}: name the grid image with an image suffix such as .png")
    rng = np.random.default_rng(seed)
    h, w = ds.images.shape[1:3]
    th, tw = h * scale, w * scale
    label_w, pad = 150, 4
    names = ds.label_space.names
    canvas = Image.new("L", (label_w + per_class * (tw + pad), len(names) * (th + pad) + pad), 255)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(12, th // 5))
    for row, name in enumerate(names):
        idx = np.flatnonzero(ds.labels == row)
        y = pad + row * (th + pad)
        draw.text((6, y + th // 3), f"{name} ({len(idx):,})", fill=0, font=font)
        for col, i in enumerate(rng.permutation(idx)[:per_class]):
            tile = Image.fromarray(ds.images[i]).resize((tw, th), Image.Resampling.NEAREST)
            canvas.paste(tile, (label_w + col * (tw + pad), y))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        canvas.save(out)
    except (OSError, ValueError) as exc:
        raise DataError(f"{out}: cannot write the grid image ({exc.strerror or exc})") from None
    return out
