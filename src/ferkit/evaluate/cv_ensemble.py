"""Score finished cross-validations together: per fold, the mean of their best checkpoints' probabilities.

Runs made by `cross_validate` with the same data, K, grouping and fold seed share their folds. For every fold
each run's best checkpoint (selected on that run's own hold-out of the training folds, never the test fold)
scores the test fold once; the ensemble averages the softmax probabilities with equal weights. Nothing is chosen
on the test folds. One run alone is a plain rescoring, e.g. with another test-time augmentation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ferkit.config import load_config
from ferkit.data import FerDataset, load_dataset
from ferkit.errors import DataError
from ferkit.evaluate.cv_folds import cv_pool, make_folds
from ferkit.evaluate.cv_results import CVResult, FoldResult, rescored

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
    return rescore_runs(run_dirs, data, tta, quiet)[0]


def rescore_runs(
    run_dirs: list[str | Path], data: str | Path | FerDataset, tta: str = "none", quiet: bool = True
) -> tuple[CVResult, tuple[CVResult, ...]]:
    """(the ensemble, each run alone) from one pass in which every fold checkpoint scores its test fold once.

    Arguments and errors as `ensemble_cv`; with one run, the ensemble is that run rescored.
    """
    from ferkit.evaluate.evaluator import evaluate

    if not run_dirs:
        raise DataError("no cross-validation run directory given")
    runs = {str(d): read_cv_run(d) for d in run_dirs}
    _same_folds(runs)
    first_dir, first = next(iter(runs.items()))
    ds = data if isinstance(data, FerDataset) else load_dataset(data, quiet=quiet)
    tests = _test_folds(ds, Path(first_dir), first)
    probs = []  # probs[fold][run]: N×C
    for i, test in enumerate(tests, 1):
        fold_probs = []
        for d in runs:
            ckpt = Path(d) / f"fold_{i:02d}" / "best.safetensors"
            if not ckpt.is_file():
                raise DataError(f"{ckpt}: missing — the run {d} has no best checkpoint for fold {i}")
            fold_probs.append(evaluate(ckpt, test, tta=tta, quiet=True).probs)
        probs.append(fold_probs)
        if not quiet:
            print(f"fold {i}/{len(tests)}: scored by {len(runs)} run(s)")
    source = str(data) if not isinstance(data, FerDataset) else ds.root
    members = tuple(
        _result({d: r}, tests, [p[j] for p in probs], tta, source) for j, (d, r) in enumerate(runs.items())
    )
    if len(runs) == 1:
        return members[0], members
    return _result(runs, tests, [np.mean(p, axis=0) for p in probs], tta, source), members


def _result(runs: dict[str, dict], tests: list[FerDataset], probs: list, tta: str, source: str) -> CVResult:
    """A `CVResult` of `runs` (one run, or the members of an ensemble) from their per-fold probabilities.

    An ensemble fold has no best epoch (0) and costs the members' training time together.
    """
    from ferkit.evaluate.metrics import compute_metrics

    first_dir, first = next(iter(runs.items()))
    labels = tuple(first["labels"])
    single = len(runs) == 1
    folds = tuple(
        rescored(
            FoldResult.from_dict(first["folds"][i]),
            compute_metrics(test.labels, p, labels),
            tta,
            **(
                {}
                if single
                else {"best_epoch": 0, "seconds": sum(r["folds"][i]["seconds"] for r in runs.values())}
            ),
        )
        for i, (test, p) in enumerate(zip(tests, probs, strict=True))
    )
    return CVResult(
        folds=folds,
        labels=labels,
        grouped=first["grouped"],
        data=source,
        config="+".join(r.get("config", "?") for r in runs.values()),
        model="+".join(r["model"] for r in runs.values()),
        init_from=first.get("init_from") if single else None,
        seed=first["seed"],
        run_dir=first_dir if single else "",
        tta=tta,
        members=() if single else tuple(runs),
        subject_leak=bool(first.get("subject_leak", False)),
    )
