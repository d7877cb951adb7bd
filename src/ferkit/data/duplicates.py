"""Exact pixel duplicates: within a dataset (groups, cross-split, conflicting labels) and across two datasets."""

from __future__ import annotations

import hashlib

import numpy as np


def row_hashes(images: np.ndarray) -> np.ndarray:
    """A 64-bit content hash per image (blake2b of its bytes); equal images have equal hashes."""
    flat = np.ascontiguousarray(images.reshape(len(images), -1))
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8).digest(), "little") for r in flat),
        dtype=np.uint64,
        count=len(flat),
    )


def duplicate_groups(images: np.ndarray) -> np.ndarray:
    """int64 array N: a group id shared by identical images, -1 for images that occur once."""
    _, inverse, counts = np.unique(row_hashes(images), return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    group = np.where(counts[inverse] > 1, inverse, -1)
    return group.astype(np.int64)


def duplicate_summary(images: np.ndarray, labels: np.ndarray, split_ids: np.ndarray) -> dict:
    """{"groups", "extra_copies", "cross_split_groups", "conflicting_label_groups"} of exact duplicates."""
    group = duplicate_groups(images)
    sel = group >= 0
    if not sel.any():
        return {"groups": 0, "extra_copies": 0, "cross_split_groups": 0, "conflicting_label_groups": 0}
    g, lab, spl = group[sel], labels[sel], split_ids[sel]
    ids, sizes = np.unique(g, return_counts=True)
    pairs_label = np.unique(np.stack([g, lab], 1), axis=0)
    pairs_split = np.unique(np.stack([g, spl.astype(np.int64)], 1), axis=0)
    labels_per_group = np.bincount(np.searchsorted(ids, pairs_label[:, 0]), minlength=len(ids))
    splits_per_group = np.bincount(np.searchsorted(ids, pairs_split[:, 0]), minlength=len(ids))
    return {
        "groups": int(len(ids)),
        "extra_copies": int((sizes - 1).sum()),
        "cross_split_groups": int((splits_per_group > 1).sum()),
        "conflicting_label_groups": int((labels_per_group > 1).sum()),
    }


def seen_in(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Boolean array len(query): True where the image has an exact pixel duplicate in `reference`."""
    if len(reference) == 0 or len(query) == 0:
        return np.zeros(len(query), bool)
    if query.shape[1:] != reference.shape[1:]:
        return np.zeros(len(query), bool)
    return np.isin(row_hashes(query), row_hashes(reference))
