"""Every shipped model (or any checkpoint) on the three validation sets that choose ferkit's models: real web photos
(RAF-DB train, the dataset's aligned colour faces, no detector), FER+ valid (majority of 10 votes) and FER2013
PublicTest (one annotator per face). Each model runs as `ferkit.load(name)` gives it (the int8 file where one
ships). Accuracy and macro-F1 in the model's label space: a class the data lacks (contempt, for RAF-DB and FER2013)
is a miss when predicted; data classes the model lacks are left out and counted.

    python -m benchmarks.validation [--models default,fer2013,ferplus,fast | runs/x/best.safetensors,...]
        [--write-metrics]   # also store the figures in src/ferkit/weights/<name>.metrics.json (the model card)
        [--tta none,flip]   # test-time augmentation, one row each (flip: each face also read mirrored)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.record import machine, record

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SETS = {  # key: (title, folder, split)
    "rafdb_train": ("RAF-DB train (real photos, aligned)", DATA / "rafdb" / "train", None),
    "ferplus_valid": ("FER+ valid", DATA / "ferplus", "valid"),
    "publictest": ("FER2013 PublicTest", DATA / "fer2013", "public_test"),
}


def measure(model: str, datasets: dict, tta: str = "none") -> dict:
    """{set key: accuracy, macro-F1, n, per-class recall, left-out classes} of one model."""
    from ferkit.backends import load_backend
    from ferkit.evaluate import evaluate

    backend = load_backend(model, "cpu", None)
    out = {"backend": type(backend).__name__, "file": getattr(backend, "name", model)}
    for key, ds in datasets.items():
        r = evaluate(backend, ds, split=SETS[key][2], tta=tta)
        m = r.to_dict()
        out[key] = {
            "n": m["n"],
            "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"],
            "recall": {c: round(v["recall"], 4) for c, v in m["per_class"].items() if v["support"]},
            "left_out": r.left_out,
        }
        print(f"{model} {key}: {m['accuracy']:.4f} acc, {m['macro_f1']:.4f} macro-F1, n={m['n']}", flush=True)
    return out


def table(results: dict) -> str:
    head = "| model | " + " | ".join(f"{SETS[k][0]}: acc / macro-F1" for k in SETS) + " |"
    rows = [head, "|---" * (len(SETS) + 1) + "|"]
    for (name, tta), r in results.items():
        cells = [f"{100 * r[k]['accuracy']:.2f} % / {r[k]['macro_f1']:.3f}" for k in SETS]
        rows.append(f"| `{name}` ({r['file']}){_tta(tta)} | " + " | ".join(cells) + " |")
    recall = ["", "Per-class recall on RAF-DB train:", ""]
    for (name, tta), r in results.items():
        per = ", ".join(f"{c} {100 * v:.0f}" for c, v in r["rafdb_train"]["recall"].items())
        recall.append(f"- `{name}`{_tta(tta)}: {per}")
    return "\n".join(rows + recall)


def _tta(tta: str) -> str:
    return "" if tta == "none" else f", TTA {tta}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="")
    ap.add_argument("--write-metrics", action="store_true")
    ap.add_argument(
        "--title", default="Validation: every shipped model on real photos, FER+ valid and PublicTest"
    )
    ap.add_argument(
        "--tta",
        default="none",
        help="test-time augmentations, comma-separated (ferkit's: none, flip, tencrop)",
    )
    args = ap.parse_args()
    from ferkit.constants import TTA_MODES

    ttas = list(dict.fromkeys(t for t in args.tta.split(",") if t)) or ["none"]
    if bad := [t for t in ttas if t not in TTA_MODES]:
        ap.error(f"--tta: unknown {', '.join(bad)}; choose from {', '.join(TTA_MODES)}")
    if args.write_metrics and ttas != ["none"]:
        ap.error("--write-metrics stores the figures a model gives as loaded: leave out --tta")
    import torch

    from ferkit.data import load_dataset
    from ferkit.weights import WEIGHTS_DIR, shipped_models

    torch.set_num_threads(2)
    models = [m for m in args.models.split(",") if m] or shipped_models()
    datasets = {k: load_dataset(folder, quiet=True) for k, (_, folder, _) in SETS.items()}
    results = {(m, t): measure(m, datasets, t) for m in models for t in ttas}
    title = args.title + (f", TTA {' against '.join(ttas)}" if ttas != ["none"] else "")
    record(title, table(results))
    if args.write_metrics:
        for (name, _), r in results.items():
            path = WEIGHTS_DIR / f"{name}.metrics.json"
            if path.is_file():
                metrics = json.loads(path.read_text())
                metrics["validation"] = {
                    **r,
                    "measured_on": machine(),
                    "command": "python " + " ".join(sys.argv),
                }
                path.write_text(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
