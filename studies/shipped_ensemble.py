"""What the shipped models hold together: weighted averages of their log-probabilities, with logit adjustment by the
FER+ training prior, on the three validation sets (RAF-DB train, FER+ valid, PublicTest). If no mix of them reaches
a target, neither can a model distilled from them.

    python -m studies.shipped_ensemble [--models default,fer2013,ferplus] [--weights 0,0.5,1] [--taus 0,0.25,0.5]

Each model runs as `ferkit.load(name)` gives it (its int8 file on the fastest runtime); probabilities are cached
under runs/shipped_ensemble/. Scores are in FER+'s 8 classes; a 7-class model gives contempt no mass (on FER+
valid's contempt faces it is uniform over its 7 classes).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from benchmarks.record import record
from benchmarks.validation import SETS

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "runs" / "shipped_ensemble"


def probabilities(model: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(probs N×8 in FER+ order, labels in FER+ order) of one shipped model on one validation set, cached."""
    from ferkit.backends import load_backend
    from ferkit.evaluate import evaluate
    from ferkit.labels import FERPLUS8

    path = CACHE / f"{model}.{key}.npz"
    if not path.is_file():
        backend = load_backend(model, "cpu", None)
        r = evaluate(backend, SETS[key][1], split=SETS[key][2])
        names = list(backend.data_config.labels.names)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(path, probs=r.probs, y=r.y_true, names=np.array(names))
    z = np.load(path)
    names, probs, y = list(z["names"]), z["probs"], z["y"]
    order = [FERPLUS8.names.index(n) for n in names]
    out = np.zeros((len(probs), len(FERPLUS8.names)))
    out[:, order] = probs
    return out, np.array(order)[y]


def aligned(models: list[str], key: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Every model's probabilities on the same samples: a 7-class model skips FER+ valid's contempt faces, which
    get a uniform distribution over its classes."""
    from ferkit.labels import FERPLUS8

    per = {m: probabilities(m, key) for m in models}
    ref = max(per.values(), key=lambda py: len(py[1]))[1]
    contempt = FERPLUS8.names.index("contempt")
    out = []
    for probs, _ in per.values():
        if len(probs) != len(ref):
            full = np.full((len(ref), probs.shape[1]), 1 / contempt)
            full[:, contempt] = 0
            full[ref != contempt] = probs
            probs = full
        out.append(probs)
    return out, ref


def scores(logp: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import f1_score

    pred = logp.argmax(1)
    return float((pred == y).mean()), float(f1_score(y, pred, labels=np.unique(y), average="macro"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="default,fer2013,ferplus")
    p.add_argument("--weights", default="0,0.5,1", help="weights tried for each model")
    p.add_argument("--taus", default="0,0.25,0.5", help="logit adjustment by the FER+ training prior")
    p.add_argument("--top", type=int, default=8, help="rows shown, best RAF-DB accuracy first")
    args = p.parse_args()
    import json

    from ferkit.backends.resolve import weights_dir
    from ferkit.labels import FERPLUS8

    models = args.models.split(",")
    card = json.loads((weights_dir() / "default.metrics.json").read_text())["prior_adjustment"]["prior"]
    prior = np.array([card[n] for n in FERPLUS8.names])  # the FER+ training prior, in FER+ order
    data = {k: aligned(models, k) for k in SETS}
    rows = []
    weights = [float(w) for w in args.weights.split(",")]
    for ws in (w for w in itertools.product(weights, repeat=len(models)) if sum(w) > 0):
        for tau in (float(t) for t in args.taus.split(",")):
            cells = []
            for probs, y in data.values():
                logp = sum(w * np.log(np.clip(pr, 1e-6, 1)) for w, pr in zip(ws, probs, strict=True)) / sum(
                    ws
                )
                cells.append(scores(logp - tau * np.log(prior), y))
            rows.append((ws, tau, cells))
    rows.sort(key=lambda r: -r[2][0][0])
    best_fer = max(rows, key=lambda r: r[2][1][0])
    head = "| weights (" + ", ".join(models) + ") | τ | " + " | ".join(SETS[k][0] for k in SETS) + " |"
    table = [head, "|---" * (len(SETS) + 2) + "|"]
    for ws, tau, cells in [*rows[: args.top], best_fer]:
        cell = " | ".join(f"{100 * a:.2f} % / {f:.3f}" for a, f in cells)
        table.append(f"| {', '.join(f'{w:g}' for w in ws)} | {tau:g} | {cell} |")
    body = (
        f"Weighted log-probability averages of {', '.join(models)} (weights {args.weights} each, {len(rows)} "
        f"mixes with τ in {args.taus}); the {args.top} best on RAF-DB train, then the best on FER+ valid. "
        "Accuracy / macro-F1:\n\n"
        + "\n".join(table)
        + f"\n\nBest RAF-DB train accuracy of any mix: {100 * rows[0][2][0][0]:.2f} %; best FER+ valid: "
        f"{100 * best_fer[2][1][0]:.2f} %. Each model ran as `ferkit.load(name)` gives it (its int8 file on the "
        "runtime picked for this CPU); τ is applied on top of every member, and `default` already carries τ = 0.5 in "
        "its classifier's bias."
    )
    record("What the shipped models hold together: weighted mixes on the validation sets", body)


if __name__ == "__main__":
    main()
