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
ADDED_SINCE_FIRST_PLANS = {
    "augment": ("photometric", "brightness", "contrast", "gamma", "downscale", "downscale_min"),
}
"""Config options added after plans hashed the whole config ("config" key): left out of that hash when a resumed
run leaves them at their defaults, so such a plan still matches the recipe it was made under."""


def _digest_json(d: dict) -> str:
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _non_default(d: dict, defaults: dict) -> dict:
    """The leaves of a config dict that differ from ferkit's defaults (nested sections kept as sections)."""
    out = {}
    for key, value in d.items():
        base = defaults.get(key, object())
        if isinstance(value, dict) and isinstance(base, dict):
            sub = _non_default(value, base)
            if sub:
                out[key] = sub
        elif value != base:
            out[key] = value
    return out


def _dicts(cfg: Config) -> tuple[dict, dict]:
    """The config and ferkit's default config as plain dicts."""
    from ferkit.config import config_to_dict

    return config_to_dict(cfg), config_to_dict(Config())


def recipe_digest(cfg: Config) -> str:
    """Hash of the recipe as it differs from ferkit's defaults: an option a later ferkit adds, left at its default,
    does not change it (a whole-config hash would refuse every earlier run's folds)."""
    return _digest_json(_non_default(*_dicts(cfg)))


def _first_plan_digest(cfg: Config) -> str:
    """The whole-config hash that plans made before `recipe_digest` hold, of this config without the options
    added since (when at their defaults)."""
    d, defaults = _dicts(cfg)
    for section, keys in ADDED_SINCE_FIRST_PLANS.items():
        for key in keys:
            if d[section].get(key) == defaults[section][key]:
                d[section].pop(key, None)
    return _digest_json(d)


def fold_plan(pool: FerDataset, splits, grouped: bool, seed: int, cfg: Config, init_from) -> dict:
    """What a fold's result depends on besides TTA: the data, the fold assignment, the recipe, the start point."""

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
        "recipe": recipe_digest(cfg),
        "init_from": str(init_from) if init_from else None,
    }


def check_plan(root: Path, plan: dict, resume: bool, exist_ok: bool, cfg: Config) -> None:
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
        changed = _changed(old, plan, cfg)
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


def _changed(old: dict, plan: dict, cfg: Config) -> list[str]:
    """The plan keys that differ; a plan made before `recipe` compares its whole-config hash instead."""
    if "recipe" not in old and "config" in old:
        same = old["config"] == _first_plan_digest(cfg)
        return [k for k in plan if k != "recipe" and old.get(k) != plan[k]] + ([] if same else ["config"])
    return [k for k in plan if old.get(k) != plan[k]]
