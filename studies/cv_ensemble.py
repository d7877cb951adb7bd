"""Score finished cross-validations again, fold by fold: each run alone and the mean of their probabilities.

    python -m studies.cv_ensemble runs/ckplus_cv/finetune runs/ckplus_cv_fast/finetune
        [--data ../shared/data/ckplus48] [--tta none,flip] [--no-record]

A table over `ferkit.evaluate.cv_ensemble.rescore_runs` (behind `ferkit cv-ensemble`; one scoring pass) for
every test-time augmentation in `--tta`: each RUN (a `ferkit cv` / `studies/ckplus_cv.py` run directory)
rescored alone, then the equal-weight ensemble of all of them. The runs must share their folds (same data, K, grouping, fold seed);
every fold's checkpoint was selected on its run's own hold-out of the training folds, and nothing — weight, run
or TTA — is chosen on the test folds: every row is printed and recorded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.record import record

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ["model", "accuracy mean ± std", "macro-F1 mean", "pooled accuracy", "accuracy per fold (%)"]


def row(name: str, cv) -> list[str]:
    return [
        name,
        f"{cv.mean_accuracy:.4f} ± {cv.std_accuracy:.4f}",
        f"{cv.mean_macro_f1:.4f}",
        f"{cv.pooled_accuracy:.4f}",
        " ".join(f"{f.accuracy * 100:.1f}" for f in cv.folds),
    ]


def main(argv: list[str] | None = None) -> int:
    from ferkit._table import format_table
    from ferkit.data import load_dataset
    from ferkit.evaluate.cv_ensemble import rescore_runs

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="run directories of finished cross-validations")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ckplus48"))
    p.add_argument("--tta", default="none,flip", help="comma-separated test-time augmentations")
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    ds = load_dataset(args.data)
    rows = []
    for tta in args.tta.split(","):
        ens, members = rescore_runs(args.runs, ds, tta=tta)
        for run, cv in zip(args.runs, members, strict=True):
            kind = "fine-tuned" if cv.init_from else "scratch"
            rows.append(row(f"{cv.model} {kind} (`{run}`), TTA {tta}", cv))
        rows.append(row(f"**ensemble of the {len(args.runs)}** (mean probabilities), TTA {tta}", ens))
    first = ens
    print(format_table(HEADERS, rows, title=f"{len(first.folds)}-fold CV, rescored"))
    if not args.no_record:
        body = "\n".join(
            [
                f"Folds: {len(first.folds)}, {'grouped by subject' if first.grouped else 'not grouped'}, fold seed "
                f"{first.seed}, data `{args.data}`; each fold's checkpoint was selected on its run's own hold-out "
                "of the training folds; the ensemble averages the runs' probabilities with equal weights "
                "(nothing chosen on the test folds). Same figures from the CLI: "
                f"`ferkit cv-ensemble {' '.join(args.runs)} --data {args.data} --tta flip`.",
                "",
                "| " + " | ".join(HEADERS) + " |",
                "|" + "---|" * len(HEADERS),
                *("| " + " | ".join(r) + " |" for r in rows),
            ]
        )
        record(f"Cross-validation rescored: single runs and their ensemble ({len(first.folds)} folds)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
