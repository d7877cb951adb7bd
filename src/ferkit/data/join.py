"""Matching the same faces across two copies of a dataset by their pixels, e.g. the Kaggle FER2013 JPEGs and the
lossless FER+ PNGs (which hold no FER2013 file names): the join that gives a Kaggle download its FER+ votes.

Each face is summarised by its 12×12 block means; the nearest candidates by that summary are then compared at full
resolution, and a pair matches when the mean absolute pixel difference is within `tolerance` grey levels (JPEG
re-encoding leaves about 1.4). Exact duplicates inside one copy match the same face of the other, which is right:
their pixels are the same; among exact duplicates in the other copy the lowest index is chosen, on every machine.
"""

from __future__ import annotations

import numpy as np
import torch

SUMMARY_SIDE = 12
CANDIDATES = 3


def _summaries(images: np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(np.ascontiguousarray(images), dtype=torch.float32)[:, None]
    return torch.nn.functional.adaptive_avg_pool2d(x, SUMMARY_SIDE).flatten(1)


def match_faces(
    a: np.ndarray, b: np.ndarray, tolerance: float = 4.0, chunk: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """For each face of `a` (uint8 N×H×W), the index of the same face in `b` (uint8 M×H×W), or -1.

    Returns:
        (index into b or -1, mean absolute difference of the chosen pair in grey levels; inf when unmatched).
    """
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"faces of different sizes: {a.shape[1:]} and {b.shape[1:]}")
    index = np.full(len(a), -1, np.int64)
    diff = np.full(len(a), np.inf, np.float32)
    if len(a) == 0 or len(b) == 0:
        return index, diff
    sb = _summaries(b)
    nb = (sb * sb).sum(1)
    bt = torch.as_tensor(np.ascontiguousarray(b)).flatten(1).float()
    k = min(CANDIDATES, len(b))
    for start in range(0, len(a), chunk):
        sa = _summaries(a[start : start + chunk])
        dist = (sa * sa).sum(1, keepdim=True) + nb[None] - 2 * sa @ sb.T
        # chunk×k nearest by summary, in index order: among exact duplicates the lowest index wins on every machine
        cand = dist.topk(k, dim=1, largest=False).indices.sort(dim=1).values
        full = torch.as_tensor(np.ascontiguousarray(a[start : start + chunk])).flatten(1).float()
        err = (full[:, None, :] - bt[cand]).abs().mean(2)  # chunk×k full-resolution differences
        best = err.argmin(1)
        rows = torch.arange(len(cand))
        chosen, chosen_err = cand[rows, best].numpy(), err[rows, best].numpy()
        ok = chosen_err <= tolerance
        index[start : start + chunk] = np.where(ok, chosen, -1)
        diff[start : start + chunk] = np.where(ok, chosen_err, np.inf)
    return index, diff
