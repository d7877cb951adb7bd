"""CK+48 10-fold subject-independent cross-validation: from scratch, and fine-tuned from a FER2013 checkpoint.

    python -m studies.ckplus_cv --data ../shared/data/ckplus48
    python -m studies.ckplus_cv --data ../shared/data/ckplus48 --init-from runs/vgg/best.safetensors
    python -m studies.ckplus_cv --data ../shared/data/ckplus48 --set train.epochs=20   # a reduced run

Folds are stratified and grouped by subject (frames of one person never cross folds); each fold's checkpoint is
selected on a subject-grouped hold-out of its training folds, and the test fold is used once. Prints a table and
appends the figures, the command, the machine and the time per fold to benchmarks/RESULTS.md
(via benchmarks/_record.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.record import record

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ckplus48"), help="CK+48 folder")
    p.add_argument("--config", default=str(ROOT / "configs" / "ckplus_cv.yaml"))
    p.add_argument("--folds", type=int, default=10)
    p.add_argument("--seed", type=int, default=0, help="seed of the fold assignment")
    p.add_argument("--init-from", metavar="CKPT", help="also fine-tune from this FER2013 checkpoint")
    p.add_argument("--skip-scratch", action="store_true", help="only the fine-tuning run (needs --init-from)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--run-dir", default=str(ROOT / "runs" / "bench_ckplus_cv"))
    p.add_argument("--resume", action="store_true", help="keep finished folds of an earlier, interrupted run")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def device() -> str:
    """Where training ran: the GPU when there is one, else the CPU with the threads torch used."""
    import torch

    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}"
    return f"CPU, {torch.get_num_threads()} torch threads"


def _rel(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else path


def run_mode(args, init_from: str | None):
    """One cross-validation (scratch or fine-tuned); returns (CVResult, wall seconds, overrides used)."""
    from ferkit.config import load_config
    from ferkit.evaluate import cross_validate
    from ferkit.models import read_checkpoint_meta

    overrides = list(args.overrides)
    if init_from:
        arch = read_checkpoint_meta(init_from)["model_name"]
        overrides.append(f"model.name={arch}")  # the architecture must be the checkpoint's
    cfg = load_config(args.config, overrides)
    mode = "finetune" if init_from else "scratch"
    t0 = time.perf_counter()
    res = cross_validate(
        cfg,
        args.data,
        folds=args.folds,
        group="subject",
        init_from=init_from,
        run_dir=Path(args.run_dir) / mode,
        seed=args.seed,
        quiet=args.quiet,
        exist_ok=True,
        resume=args.resume,
    )
    return res, time.perf_counter() - t0, overrides


def summary_rows(runs: dict) -> list[list]:
    rows = []
    for mode, (res, wall, _) in runs.items():
        per_fold = [f.seconds for f in res.folds]
        rows.append(
            [
                mode,
                f"{res.mean_accuracy:.4f} ± {res.std_accuracy:.4f}",
                f"{res.mean_macro_f1:.4f} ± {res.std_macro_f1:.4f}",
                f"{res.pooled_accuracy:.4f}",
                f"{sum(per_fold) / len(per_fold):.0f}",
                f"{wall / 60:.1f}",
            ]
        )
    return rows


HEADERS = ["run", "accuracy mean ± std", "macro-F1 mean ± std", "pooled accuracy", "s / fold", "total min"]


def markdown(args, runs: dict) -> str:
    """The RESULTS.md section body: how the figures were produced, summary table, per-fold table."""
    first = next(iter(runs.values()))[0]
    by_mode = {mode: res for mode, (res, _, _) in runs.items()}
    lines = [
        f"- training device: {device()}",
        f"- data: `{args.data}` ({sum(f.n_test for f in first.folds)} images, labels {', '.join(first.labels)})",
        f"- folds: stratified, grouped by subject (StratifiedGroupKFold, seed {args.seed}); checkpoint selection "
        f"on a subject-grouped hold-out of each fold's training folds; the test fold is used once",
        f"- recipe: `{_rel(args.config)}`" + (f" with {' '.join(args.overrides)}" if args.overrides else ""),
    ]
    for mode, (res, _, _) in runs.items():
        if res.init_from:
            lines.append(f"- {mode}: init from `{res.init_from}` (model {res.model}; new CK+ classifier)")
    lines += ["", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(r) + " |" for r in summary_rows(runs)]
    modes = list(by_mode)
    lines += ["", "| fold | " + " | ".join(f"{m} acc | {m} s | {m} best epoch" for m in modes) + " |"]
    lines.append("|---|" + "---|---|---|" * len(modes))
    for i in range(len(first.folds)):
        cells = []
        for m in modes:
            f = by_mode[m].folds[i]
            cells += [f"{f.accuracy:.4f}", f"{f.seconds:.0f}", str(f.best_epoch)]
        lines.append(f"| {i + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from ferkit._table import format_table
    from ferkit.evaluate.tables import format_cv

    args = parse_args(argv)
    if args.skip_scratch and not args.init_from:
        sys.exit("--skip-scratch needs --init-from")
    runs = {}
    if not args.skip_scratch:
        runs["scratch"] = run_mode(args, None)
    if args.init_from:
        runs["finetune"] = run_mode(args, args.init_from)
    for mode, (res, _, _) in runs.items():
        print(f"\n[{mode}]\n{format_cv(res)}")
    print("\n" + format_table(HEADERS, summary_rows(runs), title="CK+48 subject-independent CV"))
    title = f"CK+48 {args.folds}-fold subject-independent cross-validation, {Path(args.run_dir).name}"
    record(title, markdown(args, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
