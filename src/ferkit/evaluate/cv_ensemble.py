"""Score finished cross-validations together: per fold, the mean of their best checkpoints' probabilities.

Runs made by `cross_validate` with the same data, K, grouping and fold seed share their folds. For every fold
each run's best checkpoint (selected on that run's own hold-out of the training folds, never the test fold)
scores the test fold once; the ensemble averages the softmax probabilities with equal weights. Nothing is chosen
on the test folds. One run alone is a plain rescoring, e.g. with another test-time augmentation.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ferkit.config import load_config
from ferkit.data import FerDataset, load_dataset
from ferkit.errors import DataError
from ferkit.evaluate.cv import CVResult, FoldResult, cv_pool, make_folds

FOLD_KEYS = ("k", "grouped", "seed", "labels")


def read_cv_run(run_dir: str | Path) -> dict:
    """The `cv.json` of a finished cross-validation run directory.

    Raises:
        DataError: no `cv.json` there, or one that cannot be read.
    """
    f = Path(run_dir) / "cv.json"
    if not f.is_file():
        raise DataError(f"{run_dir}: no cv.json — not the run directory of a finished cross-validation")
    try:
        d = json.loads(f.read_text())
        missing = [k for k in (*FOLD_KEYS, "folds", "model") if k not in d]
    except (OSError, ValueError) as exc:
        raise DataError(f"{f}: cannot read it ({exc})") from None
    if missing:
        raise DataError(f"{f}: not a ferkit cv.json (missing {', '.join(missing)})")
    return d


def _same_folds(runs: dict[str, dict]) -> None:
    for key in FOLD_KEYS:
        if len({json.dumps(r[key]) for r in runs.values()}) > 1:
            seen = "; ".join(f"{d}: {r[key]}" for d, r in runs.items())
            raise DataError(f"these runs do not share their folds: {key} differs ({seen})")


def _test_folds(ds: FerDataset, run_dir: Path, run: dict) -> list[FerDataset]:
    """The test folds, rebuilt as `cross_validate` made them; checked against the run's fold sizes."""
    cfg = load_config(run_dir / "fold_01" / "config.yaml")
    pool = cv_pool(ds, cfg)
    if list(pool.label_space.names) != list(run["labels"]):
        raise DataError(
            f"{ds.root}: labels {', '.join(pool.label_space.names)} are not the runs' {', '.join(run['labels'])}"
        )
    folds = make_folds(pool.labels, pool.groups if run["grouped"] else None, run["k"], run["seed"])
    tests = [pool.subset(te) for _, te in folds]
    for i, (t, f) in enumerate(zip(tests, run["folds"], strict=True), 1):
        if len(t) != f["n_test"]:
            raise DataError(
                f"fold {i}: {len(t)} test samples rebuilt from {ds.root}, the run had {f['n_test']}: not its data"
            )
    return tests


def ensemble_cv(
    run_dirs: list[str | Path], data: str | Path | FerDataset, tta: str = "none", quiet: bool = True
) -> CVResult:
    """Per fold, the equal-weight mean of the runs' probabilities on the test fold, as a `CVResult`.

    Args:
        run_dirs: run directories of finished cross-validations (`cv.json`, `fold_XX/best.safetensors`) that
            share their folds; one directory rescores that run.
        data: the dataset they were cross-validated on (path or FerDataset).
        tta: test-time augmentation of every member (none, flip, tencrop).
        quiet: no per-fold progress line.

    Raises:
        DataError: no run, a directory that is not a finished run, runs with different folds, other data,
            or a missing fold checkpoint.
    """
    from ferkit.evaluate.evaluator import evaluate
    from ferkit.evaluate.metrics import compute_metrics

    if not run_dirs:
        raise DataError("no cross-validation run directory given")
    runs = {str(d): read_cv_run(d) for d in run_dirs}
    _same_folds(runs)
    first_dir, first = next(iter(runs.items()))
    ds = data if isinstance(data, FerDataset) else load_dataset(data, quiet=quiet)
    tests = _test_folds(ds, Path(first_dir), first)
    labels = tuple(first["labels"])
    folds = []
    for i, test in enumerate(tests, 1):
        t0 = time.perf_counter()
        probs = []
        for d in runs:
            ckpt = Path(d) / f"fold_{i:02d}" / "best.safetensors"
            if not ckpt.is_file():
                raise DataError(f"{ckpt}: missing — the run {d} has no best checkpoint for fold {i}")
            probs.append(evaluate(ckpt, test, tta=tta, quiet=True).probs)
        m = compute_metrics(test.labels, np.mean(probs, axis=0), labels)
        base = FoldResult.from_dict(first["folds"][i - 1])
        folds.append(
            replace(
                base,
                accuracy=m.accuracy,
                macro_f1=m.macro_f1,
                best_epoch=base.best_epoch if len(runs) == 1 else 0,
                seconds=time.perf_counter() - t0,
                confusion_matrix=m.confusion_matrix,
                tta=tta,
            )
        )
        if not quiet:
            print(f"fold {i}/{len(tests)}: accuracy {m.accuracy:.4f}, macro-F1 {m.macro_f1:.4f}")
    models = [r["model"] for r in runs.values()]
    return CVResult(
        folds=tuple(folds),
        labels=labels,
        grouped=first["grouped"],
        data=str(data) if not isinstance(data, FerDataset) else ds.root,
        config="+".join(r.get("config", "?") for r in runs.values()),
        model="+".join(models),
        init_from=first.get("init_from") if len(runs) == 1 else None,
        seed=first["seed"],
        run_dir=first_dir if len(runs) == 1 else "",
        tta=tta,
        members=tuple(runs) if len(runs) > 1 else (),
    )
