"""The figure that honest evaluation adds: accuracy on the test faces with and without an exact pixel duplicate in
the training data (`ferkit evaluate --train-data`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit.data import FerDataset, load_dataset


def dedup_figure(
    test_images: np.ndarray,
    correct: np.ndarray,
    train_data: str | Path | FerDataset,
    quiet: bool = True,
    test_format: str | None = None,
) -> dict:
    """Accuracy on the test samples with and without an exact pixel duplicate in the training data.

    The training data is the `train` split of `train_data` when it has one, else all of it. When nothing matches
    and the two datasets come in different formats (`test_format`), a note says exact matching cannot see
    duplicates stored differently.
    """
    from ferkit.data.duplicates import seen_in

    train = train_data if isinstance(train_data, FerDataset) else load_dataset(train_data, quiet=quiet)
    which = "train" if "train" in train.splits else "all"
    if which == "train":
        train = train.take_split("train")
    seen = seen_in(test_images, train.images)
    unseen = ~seen
    out = {
        "train_data": str(train_data) if not isinstance(train_data, FerDataset) else train.root,
        "train_split": which,
        "n_seen": int(seen.sum()),
        "n_unseen": int(unseen.sum()),
        "accuracy_unseen": float(correct[unseen].mean()) if unseen.any() else None,
        "accuracy_seen": float(correct[seen].mean()) if seen.any() else None,
    }
    if len(test_images) and len(train) and test_images.shape[1:] != train.images.shape[1:]:
        out["note"] = (
            f"image sizes differ ({test_images.shape[1:]} vs {train.images.shape[1:]}): no duplicate can match"
        )
    elif not seen.any() and test_format and train.format != test_format:
        out["note"] = (
            f"no exact duplicate found between {test_format} and {train.format} data: duplicates are matched "
            "pixel for pixel, and the same face stored differently (FER2013's JPEGs vs FER+'s PNGs differ by "
            "~1.5 grey levels) never matches; compare data in one format"
        )
    return out
