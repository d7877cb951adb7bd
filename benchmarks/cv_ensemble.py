"""Score finished cross-validations again, fold by fold: each run alone and the mean of their probabilities.

    python benchmarks/cv_ensemble.py runs/ckplus_cv/finetune runs/ckplus_cv_fast/finetune
        [--data ../shared/data/ckplus48] [--tta none,flip] [--no-record]

Each RUN is the run directory of `ferkit cv` / `benchmarks/ckplus_cv.py` (its `cv.json` and `fold_XX/`). The
runs must share their folds: the same data, K, grouping and fold seed, which this script checks before
rebuilding the folds with `ferkit.evaluate.make_folds`. For every fold, each run's best checkpoint (selected on
that run's own hold-out of the training folds) scores the test fold once; the ensemble averages the softmax
probabilities of all runs with equal weights — no weight, run or TTA is chosen on the test folds. Reported for
each test-time augmentation in `--tta`: per-run and ensemble accuracy, mean ± std over folds, macro-F1 and
pooled accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FOLD_KEYS = ("k", "grouped", "seed", "labels")


def read_runs(run_dirs: list[str]) -> list[dict]:
    """Each run's cv.json; exits with a message when one is missing or the runs' folds differ."""
    runs = []
    for d in run_dirs:
        f = Path(d) / "cv.json"
        if not f.is_file():
            sys.exit(f"{d}: no cv.json (not a finished cross-validation run directory)")
        runs.append({**json.loads(f.read_text()), "dir": str(d)})
    for key in FOLD_KEYS:
        if len({json.dumps(r[key]) for r in runs}) > 1:
            sys.exit(
                f"the runs do not share their folds: {key} differs ({', '.join(str(r[key]) for r in runs)})"
            )
    return runs


def fold_tests(data: str, run: dict):
    """The test fold of every fold (FerDataset subsets), rebuilt exactly as `cross_validate` made them."""
    from ferkit.config import load_config
    from ferkit.data import load_dataset
    from ferkit.evaluate import make_folds
    from ferkit.evaluate.cv import cv_pool

    cfg = load_config(Path(run["dir"]) / "fold_01" / "config.yaml")
    pool = cv_pool(load_dataset(data), cfg)
    if tuple(pool.label_space.names) != tuple(run["labels"]):
        sys.exit(f"{data}: labels {pool.label_space.names} are not the runs' {run['labels']}")
    folds = make_folds(pool.labels, pool.groups if run["grouped"] else None, run["k"], run["seed"])
    tests = [pool.subset(te) for _, te in folds]
    for i, (t, f) in enumerate(zip(tests, run["folds"], strict=True), 1):
        if len(t) != f["n_test"]:
            sys.exit(f"fold {i}: {len(t)} test samples rebuilt, the run had {f['n_test']}: not the same data")
    return tests


def score(y: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """(accuracy, macro-F1) of one fold."""
    from sklearn.metrics import f1_score

    pred = probs.argmax(1)
    return float((pred == y).mean()), float(f1_score(y, pred, average="macro"))


def summarise(name: str, per_fold: list[tuple[float, float]], n_correct: int, n: int) -> list[str]:
    acc = np.array([a for a, _ in per_fold])
    f1 = np.array([f for _, f in per_fold])
    return [
        name,
        f"{acc.mean():.4f} ± {acc.std(ddof=1):.4f}",
        f"{f1.mean():.4f}",
        f"{n_correct / n:.4f}",
        " ".join(f"{a * 100:.1f}" for a in acc),
    ]


HEADERS = ["model", "accuracy mean ± std", "macro-F1 mean", "pooled accuracy", "accuracy per fold (%)"]


def main(argv: list[str] | None = None) -> int:
    from ferkit._table import format_table
    from ferkit.evaluate import evaluate

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="run directories of finished cross-validations")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ckplus48"))
    p.add_argument("--tta", default="none,flip", help="comma-separated test-time augmentations")
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    runs = read_runs(args.runs)
    tests = fold_tests(args.data, runs[0])
    names = [f"{r['model']} {'fine-tuned' if r['init_from'] else 'scratch'} (`{r['dir']}`)" for r in runs]
    rows = []
    for tta in args.tta.split(","):
        per_run = [[] for _ in runs]
        ens, ens_ok, run_ok, n = [], 0, [0] * len(runs), 0
        for i, test in enumerate(tests, 1):
            probs = []
            for j, r in enumerate(runs):
                res = evaluate(
                    Path(r["dir"]) / f"fold_{i:02d}" / "best.safetensors", test, tta=tta, quiet=True
                )
                probs.append(res.probs)
                per_run[j].append(score(res.y_true, res.probs))
                run_ok[j] += int((res.probs.argmax(1) == res.y_true).sum())
            mean = np.mean(probs, axis=0)
            ens.append(score(res.y_true, mean))
            ens_ok += int((mean.argmax(1) == res.y_true).sum())
            n += len(test)
        rows += [
            summarise(f"{nm}, TTA {tta}", pf, ok, n)
            for nm, pf, ok in zip(names, per_run, run_ok, strict=True)
        ]
        rows.append(
            summarise(f"**ensemble of the {len(runs)}** (mean probabilities), TTA {tta}", ens, ens_ok, n)
        )
    print(format_table(HEADERS, rows, title=f"{runs[0]['k']}-fold CV, rescored"))
    if not args.no_record:
        body = "\n".join(
            [
                f"Folds: {runs[0]['k']}, {'grouped by subject' if runs[0]['grouped'] else 'not grouped'}, fold "
                f"seed {runs[0]['seed']}, data `{args.data}`; each fold's checkpoint was selected on its run's "
                "own hold-out of the training folds; the ensemble averages the runs' probabilities with equal "
                "weights (nothing chosen on the test folds).",
                "",
                "| " + " | ".join(HEADERS) + " |",
                "|" + "---|" * len(HEADERS),
                *("| " + " | ".join(r) + " |" for r in rows),
            ]
        )
        record(f"Cross-validation rescored: single runs and their ensemble ({runs[0]['k']} folds)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
