"""Tiny synthetic FER data the tests build: class k is a bright horizontal bar at a class-specific row."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit.data.dataset import build_dataset
from ferkit.labels import FER7


def bar_images(n_per_class: int, seed: int = 0, size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    imgs, labels = [], []
    for k in range(7):
        for _ in range(n_per_class):
            img = rng.normal(90, 20, (size, size))
            row = 4 + 6 * k
            img[row : row + 3, 6:-6] = 230
            imgs.append(np.clip(img, 0, 255).astype(np.uint8))
            labels.append(k)
    return np.stack(imgs), np.array(labels)


def bar_dataset(n_train: int = 20, n_val: int = 6, seed: int = 0):
    """A FerDataset with splits train and public_test."""
    xt, yt = bar_images(n_train, seed)
    xv, yv = bar_images(n_val, seed + 1)
    n = len(yt) + len(yv)
    return build_dataset(
        images=np.concatenate([xt, xv]),
        labels=np.concatenate([yt, yv]),
        label_space=FER7,
        splits=["train"] * len(yt) + ["public_test"] * len(yv),
        split_order=("train", "public_test"),
        sources=[f"s{i}" for i in range(n)],
        format="synthetic",
        root="synthetic",
    )


def write_bar_csv(path: Path, n_train: int = 20, n_val: int = 6) -> Path:
    """The same data as a FER2013 CSV (emotion,pixels,Usage)."""
    ds = bar_dataset(n_train, n_val)
    usage = {"train": "Training", "public_test": "PublicTest"}
    lines = ["emotion,pixels,Usage"]
    for img, lab, sp in zip(ds.images, ds.labels, ds.split, strict=False):
        lines.append(f"{lab},{' '.join(map(str, img.ravel()))},{usage[sp]}")
    path.write_text("\n".join(lines) + "\n")
    return path
