"""The five seed recipes at their full length, side by side with what their authors claimed.

    python -m studies.seed_full run                # train whatever is missing, resuming interrupted runs
    python -m studies.seed_full run --threads 1    # ... with one torch thread (leaves a core for other work)
    python -m studies.seed_full run --threads 1 --only seed_cnn_wd   # one recipe (a second core's share)
    python -m studies.seed_full report             # the RESULTS.md section, curves and confusion matrices

`run` calls the same `ferkit train` / `ferkit cv` commands a user would type, one after the other, each resumed
where it stopped (rerun it after any interruption). The FER2013 recipes choose their epoch on PublicTest as the
recipes say; the CK+ recipes are cross-validated by subject, and the Keras CNN also with the random image split its
author used (frames of one person on both sides), to show what such a split measures. `report` writes the runs
that have finished (and lists the others); it copies each run's training curves and draws its confusion matrix
into benchmarks/figures/.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from benchmarks.record import record

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "benchmarks" / "figures"
TITLE = "Seed reproductions, full recipes"


@dataclass(frozen=True)
class Seed:
    """One seed recipe: its run folder under --runs, how it is run, and its author's claim (percent) if any."""

    name: str
    config: str
    data: str  # folder under --data
    cv: str = ""  # "", "subject" or "random" (cross-validation grouping)
    claim: float | None = None
    claim_split: str = ""

    def command(self, run_dir: Path, data_root: Path, threads: int) -> list[str]:
        """The ferkit command line that trains (or resumes) this recipe."""
        ferkit = [sys.executable, "-m", "ferkit"]
        common = ["-c", str(ROOT / "configs" / self.config), "--data", str(data_root / self.data), "--quiet"]
        if threads:
            common += ["--set", f"train.threads={threads}"]
        if not self.cv:
            again = "--resume" if (run_dir / "last_state.safetensors").is_file() else "--exist-ok"
            return [*ferkit, "train", *common, "--run-dir", str(run_dir), again]
        group = (
            ["--group", "subject"] if self.cv == "subject" else ["--group", "none", "--allow-subject-leak"]
        )
        return [*ferkit, "cv", *common, *group, "--folds", "10", "--run-dir", str(run_dir), "--resume"]


SEEDS = (
    Seed("seed_keras_cnn_ck48_subject", "seed_keras_cnn_ck48.yaml", "ckplus48", cv="subject"),
    Seed("seed_keras_cnn_ck48_random", "seed_keras_cnn_ck48.yaml", "ckplus48", cv="random"),
    Seed(
        "seed_dcnn_ck48",
        "seed_dcnn_ck48.yaml",
        "ckplus48",
        cv="subject",
        claim=70.0,
        claim_split="random split",
    ),
    Seed("seed_cnn4c2f", "seed_cnn4c2f.yaml", "fer2013"),
    Seed("seed_cnn_wd", "seed_cnn_wd.yaml", "fer2013"),
    Seed("seed_cnn4c3f_28", "seed_cnn4c3f_28.yaml", "fer2013"),
)


def run(args) -> None:
    names = {s.name for s in SEEDS}
    only = {n.strip() for n in args.only.split(",") if n.strip()} or names
    if only - names:
        raise SystemExit(
            f"unknown recipe {sorted(only - names)[0]!r}; choose from {', '.join(sorted(names))}"
        )
    for seed in (s for s in SEEDS if s.name in only):
        if _finished(seed, args.runs / seed.name):
            print(f"{seed.name}: finished", flush=True)
            continue
        cmd = seed.command(args.runs / seed.name, args.data, args.threads)
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)


def _history(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _planned_epochs(run_dir: Path) -> int:
    import yaml

    return int(yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["epochs"])


def _confusion(cm: np.ndarray, labels: list[str], path: Path) -> None:
    """The pooled confusion matrix drawn as `ferkit evaluate` draws it."""
    from ferkit.evaluate.metrics import compute_metrics
    from ferkit.evaluate.plots import confusion_png

    y_true = np.repeat(np.arange(len(labels)), cm.sum(axis=1))
    y_pred = np.concatenate([np.repeat(np.arange(len(labels)), row) for row in cm])
    confusion_png(compute_metrics(y_true, np.eye(len(labels))[y_pred], labels), path)


@dataclass(frozen=True)
class Row:
    """What one finished run measured."""

    seed: Seed
    epochs: str  # "<n> of <n>"
    figure: float  # percent
    spread: str  # "± std over folds" or the macro-F1
    split: str
    hours: float
    threads: int
    best: str  # best epoch(s)
    late: bool  # the best epoch is among the last five: the recipe was still improving


def _train_row(seed: Seed, run_dir: Path, data_root: Path) -> Row:
    from ferkit.evaluate.evaluator import evaluate
    from ferkit.evaluate.plots import confusion_png

    hist, planned = _history(run_dir / "history.csv"), _planned_epochs(run_dir)
    best = max(hist, key=lambda r: r["val_acc"])
    ev = evaluate(run_dir / "best.safetensors", data_root / seed.data, split="public_test")
    confusion_png(ev.metrics, FIGURES / f"{seed.name}_confusion.png")
    shutil.copyfile(run_dir / "curves.png", FIGURES / f"{seed.name}_curves.png")
    return Row(
        seed,
        f"{len(hist)} of {planned}",
        100 * ev.metrics.accuracy,
        f"macro-F1 {100 * ev.metrics.macro_f1:.2f} %",
        "FER2013 PublicTest (also the selection split, as the recipe says)",
        sum(r["seconds"] for r in hist) / 3600,
        _threads(run_dir),
        str(int(best["epoch"])),
        best["epoch"] > len(hist) - 5,
    )


def _cv_row(seed: Seed, run_dir: Path) -> Row:
    cv = json.loads((run_dir / "cv.json").read_text())
    folds = sorted(run_dir.glob("fold_*"))
    runs = [len(_history(f / "history.csv")) for f in folds]
    planned = _planned_epochs(folds[0])
    _confusion(np.asarray(cv["confusion_matrix"]), cv["labels"], FIGURES / f"{seed.name}_confusion.png")
    shutil.copyfile(folds[0] / "curves.png", FIGURES / f"{seed.name}_curves.png")
    best = [f["best_epoch"] for f in cv["folds"]]
    split = "CK+48, 10 folds " + ("by subject" if cv["grouped"] else "of images at random (leaky)")
    return Row(
        seed,
        f"{min(runs)} of {planned} (× {len(folds)} folds)",
        100 * cv["mean_accuracy"],
        f"± {100 * cv['std_accuracy']:.2f} over folds, macro-F1 {100 * cv['mean_macro_f1']:.2f} %",
        split,
        cv["seconds"] / 3600,
        _threads(folds[0]),
        f"{min(best)}–{max(best)}",
        sum(b > planned - 5 for b in best) > len(best) / 2,
    )


def _threads(run_dir: Path) -> int:
    import yaml

    return int(yaml.safe_load((run_dir / "config.yaml").read_text())["train"].get("threads") or 0)


def verdict(row: Row, rows: dict[str, Row]) -> str:
    """One line: the claim holds or not, and why; for the random CK+ split, what it adds over the honest one."""
    s = row.seed
    if s.cv == "random":
        honest = rows.get(s.name.replace("_random", "_subject"))
        if honest is None:
            return "the author's random split scores faces already seen in training (no subject split to compare)"
        gap = f"{row.figure - honest.figure:+.1f} points against the subject split"
        return f"the author's random split reads {gap}: it scores faces already seen in training"
    still = " Still improving at its last epochs." if row.late else ""
    if s.claim is None:
        return f"no figure claimed; {row.figure:.1f} % is what the recipe reaches.{still}"
    holds = "holds" if row.figure >= s.claim - 1 else "does not hold"
    return f"the claim {holds}: {row.figure:.1f} % here against {s.claim:.0f} % claimed on a {s.claim_split}.{still}"


def _progress(seed: Seed, run_dir: Path) -> str:
    """How far an unfinished run got, for the section's list of runs still going."""
    if seed.cv:
        done = len(list(run_dir.glob("fold_*/fold.json")))
        return f"`{seed.name}`: {done} of 10 folds"
    hist = run_dir / "history.csv"
    epochs = len(_history(hist)) if hist.is_file() else 0
    planned = _planned_epochs(run_dir) if (run_dir / "config.yaml").is_file() else "?"
    return f"`{seed.name}`: {epochs} of {planned} epochs"


def _finished(seed: Seed, run_dir: Path) -> bool:
    if seed.cv:
        return (run_dir / "cv.json").is_file()
    hist = run_dir / "history.csv"
    return hist.is_file() and len(_history(hist)) >= _planned_epochs(run_dir)


def _cpu_name() -> str:
    """The reporting machine's CPU in a few words ("Intel Xeon with AMX", "Intel Xeon without AMX", "AMD EPYC"):
    the runs it reports ran there (run folders do not travel between machines)."""
    from benchmarks.record import cpuinfo, has_unit

    info = cpuinfo()
    name = (info.get("model name") or "CPU").replace("(R)", "").replace(" Processor", "")
    if has_unit("AMX"):
        return f"{name} with AMX"
    return f"{name} without AMX" if info.get("vendor_id") == "GenuineIntel" else name


def _recorded_rows() -> dict[str, str]:
    """{seed name: table row} already in RESULTS.md's section: a finished run whose folder is not on this machine
    keeps its recorded row (and its plots) until it is run again."""
    from benchmarks.record import RESULTS, section_span

    text = RESULTS.read_text() if RESULTS.is_file() else ""
    span = section_span(text, TITLE)
    if span is None:
        return {}
    section = text[span[0] : span[1]]
    names = {s.name for s in SEEDS}
    rows = {}
    for line in section.splitlines():
        name = line.split("`")[1] if line.startswith("| `") else ""
        if name in names:
            rows[name] = line
    return rows


def report(args) -> None:
    FIGURES.mkdir(parents=True, exist_ok=True)
    rows: dict[str, Row] = {}
    going = []
    recorded = _recorded_rows()
    kept: dict[str, str] = {}
    for seed in SEEDS:
        run_dir = args.runs / seed.name
        if _finished(seed, run_dir):
            rows[seed.name] = _cv_row(seed, run_dir) if seed.cv else _train_row(seed, run_dir, args.data)
        elif seed.name in recorded and not run_dir.exists():
            kept[seed.name] = recorded[seed.name]
        else:
            going.append(_progress(seed, run_dir))
    body = [
        "| seed model | epochs | figure | split | author's claim | CPU time | verdict | plots |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cpu = _cpu_name()
    for name in (s.name for s in SEEDS if s.name in kept or s.name in rows):
        if name in kept:
            body.append(kept[name])
            continue
        r = rows[name]
        claim = f"{r.seed.claim:.0f} % ({r.seed.claim_split})" if r.seed.claim else "—"
        threads = f"{r.threads} torch thread{'s' if r.threads != 1 else ''}" if r.threads else "all cores"
        threads += f", {cpu}"
        plots = (
            f"[curves](figures/{r.seed.name}_curves.png), [confusion](figures/{r.seed.name}_confusion.png)"
        )
        body.append(
            f"| `{r.seed.name}` | {r.epochs} (best {r.best}) | **{r.figure:.2f} %** {r.spread} | {r.split} | "
            f"{claim} | {r.hours:.2f} h ({threads}) | {verdict(r, rows)} | {plots} |"
        )
    if going:
        body.append(f"\nStill training (`python -m studies.seed_full run` resumes them): {'; '.join(going)}.")
    body.append(
        "\nEach recipe at its own epochs, batch, optimizer, schedule, augmentation and input size "
        "(`configs/seed_*.yaml`), trained from scratch. CPU time is the training epochs' wall time with the "
        "threads and the CPU named, with no other training on the same core. For cross-validations the curves "
        "are fold 1's and the confusion matrix pools the ten test folds."
    )
    record(TITLE, "\n".join(body))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=("run", "report"))
    p.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder of fer2013, ckplus48"
    )
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "seed_full", help="one run folder per recipe")
    p.add_argument("--threads", type=int, default=0, help="torch threads of each run (0: all cores)")
    p.add_argument(
        "--only",
        default="",
        help="comma-separated recipes to run (default: all); two `run`s with disjoint --only lists can train "
        "side by side, one per core",
    )
    args = p.parse_args(argv)
    if args.only and args.what != "run":
        p.error("--only goes with run (report writes every recipe)")
    run(args) if args.what == "run" else report(args)


if __name__ == "__main__":
    main()
