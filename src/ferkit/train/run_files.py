"""Files of a run directory: history.csv, curves.png, config.yaml, summary.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ferkit._atomic import atomic_path
from ferkit.errors import TrainingError

HISTORY_FIELDS = [
    "epoch",
    "lr",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "val_macro_f1",
    "seconds",
    "images_per_s",
]


def write_history(path: Path, rows: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.10g}" if isinstance(v, float) else v) for k, v in r.items()})


def read_history(path: Path, upto_epoch: int) -> list[dict]:
    """The rows of epochs 1..upto_epoch of a run's history.csv.

    Raises:
        TrainingError: the file is missing, unreadable, or lacks one of those epochs (naming the file and line).
    """
    if upto_epoch < 1:
        return []
    try:
        with open(path, newline="") as fh:
            rows = [_history_row(r, path, i) for i, r in enumerate(csv.DictReader(fh), start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TrainingError(f"{path}: cannot read the run's history ({exc})") from None
    kept = [r for r in rows if r["epoch"] <= upto_epoch]
    if [r["epoch"] for r in kept] != list(range(1, upto_epoch + 1)):
        have = ", ".join(str(r["epoch"]) for r in kept) or "none"
        raise TrainingError(
            f"{path}: the run saved {upto_epoch} epoch(s) but its history has epochs {have}; the file is damaged "
            "(restore it, or start the run again with --exist-ok)"
        )
    return kept


def _history_row(row: dict, path: Path, line: int) -> dict:
    missing = [k for k in HISTORY_FIELDS if k != "lr" and not row.get(k)]
    if missing:
        raise TrainingError(f"{path} line {line}: no {missing[0]} (the file is damaged)")
    try:
        return {k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if k is not None and v}
    except (TypeError, ValueError):
        raise TrainingError(f"{path} line {line}: not a row of numbers (the file is damaged)") from None


def plot_curves(path: Path, rows: list[dict], title: str) -> None:
    """Loss and accuracy per epoch (train and validation) in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [r["epoch"] for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(ep, [r["train_loss"] for r in rows], label="train")
    a1.plot(ep, [r["val_loss"] for r in rows], label="val")
    a1.set(xlabel="epoch", ylabel="loss", title="loss")
    a2.plot(ep, [r["train_acc"] for r in rows], label="train")
    a2.plot(ep, [r["val_acc"] for r in rows], label="val")
    a2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_json(path: Path, obj: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2))
