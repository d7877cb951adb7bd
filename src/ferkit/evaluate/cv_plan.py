"""The plan of a cross-validation, kept beside its folds so that `--resume` only reuses folds made under it."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from ferkit.config import Config
from ferkit.data import FerDataset
from ferkit.errors import DataError, DataOptionError

PLAN_FILE = "cv_plan.json"


def fold_plan(pool: FerDataset, splits, grouped: bool, seed: int, cfg: Config, init_from) -> dict:
    """What a fold's result depends on besides TTA: the data, the fold assignment, the recipe, the start point."""
    from ferkit.config import config_to_dict

    def digest(*arrays) -> str:
        h = hashlib.sha256()
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]

    return {
        "folds": len(splits),
        "seed": seed,
        "grouped": grouped,
        "data": digest(pool.images, pool.labels),
        "test_folds": [digest(te) for _, te in splits],
        "config": hashlib.sha256(json.dumps(config_to_dict(cfg), sort_keys=True).encode()).hexdigest()[:16],
        "init_from": str(init_from) if init_from else None,
    }


def check_plan(root: Path, plan: dict, resume: bool, exist_ok: bool) -> None:
    """Refuse to resume folds made under another plan (their test folds would overlap the new training
    folds); record the plan of a new run. Warnings point at the caller of `cross_validate`."""
    path = root / PLAN_FILE
    if not resume and not exist_ok and path.is_file():
        raise DataOptionError(
            "{root}: already holds a cross-validation; pass {resume} to continue it or {exist_ok} to start over",
            root=root,
        )
    if resume and path.is_file():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read the plan of the earlier run ({exc})") from None
        changed = [k for k in plan if old.get(k) != plan[k]]
        if changed:
            raise DataOptionError(
                "{root}: the earlier cross-validation differs in {changed}; its finished folds cannot be reused "
                "(their test folds would not be this run's). Use another {run_dir}, or {exist_ok} to start over",
                root=root,
                changed=", ".join(changed),
            )
        return
    if resume and any(root.glob("fold_*/fold.json")):
        warnings.warn(
            f"{root}: folds from an older ferkit without {PLAN_FILE}: reused as they are; their data, seed "
            "and recipe cannot be checked",
            stacklevel=3,
        )
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan, indent=2))
