"""Ship a trained run as a packaged model: fp16 weights in src/ferkit/weights/, metrics.json, confusion matrix and
MODEL_CARD.md, all measured here (nothing typed in by hand).

    python -m release.ship_model runs/fer2013_vgg_gap_cpu --name default \
        [--dataset fer2013|ferplus] [--data DIR] --ckplus ../shared/data/ckplus48 [--device-note "CPU, 2 cores"]

Measures (on FER2013 PublicTest, or FER+ valid with --dataset ferplus): accuracy of the fp32 and fp16 weights
(fp16 is shipped only when equal within 0.1 point),
no-TTA / flip / ten-crop, the dedup-aware figure, calibration, cross-dataset accuracy on CK+48 (shared classes),
and faces/s on this CPU at batch 1 and 64.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from benchmarks.record import machine

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "ferkit" / "weights"
DATASETS = {
    "fer2013": {
        "data": ROOT / "../shared/data/fer2013",
        "split": "public_test",
        "key": "publictest",
        "selection": "FER2013 PublicTest",
        "train_data": "FER2013 (Kaggle folders) train split",
        "card": None,
    },
    "ferplus": {
        "data": ROOT / "../shared/data/ferplus",
        "split": "valid",
        "key": "evaluation",
        "selection": "FER+ valid (the FER2013 PublicTest faces, majority of 10 votes)",
        "train_data": "FER+ train (the FER2013 train faces, 10 votes each)",
        "card": {
            "eval": "FER+ valid",
            "eval_title": "FER+ valid (majority labels, 8 classes)",
            "train": "FER+ `train`: the 28,558 FER2013 train faces FER+ kept, as vote distributions",
            "unused": "FER+ test (= FER2013 PrivateTest)",
        },
    },
}


def faces_per_second(backend, batch: int, seconds: float = 3.0) -> float:
    x = np.random.default_rng(0).integers(0, 256, (batch, 48, 48), dtype=np.uint8)
    backend.logits(x)
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds:
        backend.logits(x)
        n += batch
    return n / (time.perf_counter() - t)


def best_epoch_row(run: Path) -> tuple[list[dict], dict]:
    """A run's history.csv rows and the row of its best epoch by validation accuracy."""
    with open(run / "history.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return rows, max(rows, key=lambda r: float(r["val_acc"]))


def training_summary(rows: list[dict], best: dict) -> dict:
    """Epochs, hours, best epoch and the accuracy curve of a run, from best_epoch_row()."""
    return {
        "epochs": len(rows),
        "hours": sum(float(r["seconds"]) for r in rows) / 3600,
        "best_epoch": int(best["epoch"]),
        "curve": [
            {
                "epoch": int(r["epoch"]),
                "train_acc": round(float(r["train_acc"]), 4),
                "val_acc": round(float(r["val_acc"]), 4),
            }
            for r in rows
        ],
    }


def parent_stage(parent: dict) -> dict:
    """The training stage of the model a run was fine-tuned from, as its metrics.json records it (with the stages
    that model was itself fine-tuned from)."""
    tr, ev = parent["training"], parent.get("publictest") or parent["evaluation"]
    named = (
        {} if "publictest" in parent else {"eval_name": parent.get("dataset", {}).get("eval", "FER+ valid")}
    )
    return {
        "name": parent["name"],
        "publictest_accuracy" if "publictest" in parent else "eval_accuracy": ev["accuracy"],
        "publictest_macro_f1" if "publictest" in parent else "eval_macro_f1": ev["macro_f1"],
        **named,
        **{k: tr[k] for k in ("epochs", "hours", "best_epoch", "device", "config", "init_from") if k in tr},
    }


def run_stage(run: Path, device: str, earlier: dict | None) -> dict:
    """An intermediate fine-tuning run that was never shipped: its recipe, compute and the PublicTest accuracy of
    its selected epoch as the trainer measured it (history.csv), fine-tuned from `earlier`."""
    import yaml

    rows, best = best_epoch_row(run)
    summary = training_summary(rows, best)
    config = yaml.safe_load((run / "config.yaml").read_text())
    return {
        "name": config.get("name", run.name),
        "run": run.name,
        "publictest_accuracy": float(best["val_acc"]),
        "publictest_macro_f1": float(best["val_macro_f1"]),
        **{k: summary[k] for k in ("epochs", "hours", "best_epoch")},
        "device": device,
        "config": config,
        **({"init_from": earlier} if earlier else {}),
    }


def card_data(spec: dict, note: str | None) -> dict:
    """The card's description of the data, with the training data as `--train-data-note` says where given."""
    return {**spec["card"], "train": note} if note else spec["card"]


def prior_adjustment(model, meta: dict, tau: float, data: str) -> dict | None:
    """Fold logit adjustment (τ · log of the run's training prior) into `model`'s classifier; what was folded."""
    if not tau:
        return None
    from ferkit.config import config_from_dict
    from ferkit.train.prior import fold_prior_adjustment, training_prior

    prior = training_prior(config_from_dict(meta["config"]), data)
    fold_prior_adjustment(model, prior, tau)
    names = model.data_config.labels.names
    return {"tau": tau, "prior": {n: round(float(p), 5) for n, p in zip(names, prior, strict=True)}}


KEPT_META = ("train_data", "train_n", "val_split", "val_n", "select_metric", "config", "epoch", "metrics")
EVAL_KEYS = (
    "n",
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "top2_accuracy",
    "ece",
    "labels",
    "per_class",
    "confusion_matrix",
)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--name", default="default")
    ap.add_argument(
        "--dataset", choices=sorted(DATASETS), default="fer2013", help="what the model was trained on"
    )
    ap.add_argument("--data", help="that dataset's folder (default: ../shared/data/<dataset>)")
    ap.add_argument("--ckplus", default=str(ROOT / "../shared/data/ckplus48"))
    ap.add_argument("--device-note", default="this machine's CPU (2 cores)")
    ap.add_argument(
        "--parent-metrics",
        type=Path,
        help="metrics.json of the shipped model the run was fine-tuned from (read before anything is "
        "overwritten): its training stage is kept in metrics.json and the model card",
    )
    ap.add_argument(
        "--stage",
        type=Path,
        action="append",
        default=[],
        help="an unshipped run between the parent and RUN (repeatable, oldest first): RUN was fine-tuned from "
        "the last one, each from the one before, the first from --parent-metrics",
    )
    ap.add_argument(
        "--train-data-note", help="what the model learnt from, where the dataset's own line falls short"
    )
    ap.add_argument(
        "--prior-tau",
        type=float,
        default=0.0,
        help="fold logit adjustment by the run's training prior into the classifier (logits - tau * log prior; "
        "ferkit.train.prior), tau chosen on the validation sets (studies/prior_adjustment.py)",
    )
    return ap.parse_args()


def lineage(args: argparse.Namespace) -> dict | None:
    """The training stages RUN was fine-tuned from: the parent's, then each --stage (oldest first)."""
    earlier = parent_stage(json.loads(args.parent_metrics.read_text())) if args.parent_metrics else None
    for stage in args.stage:
        earlier = run_stage(stage, args.device_note, earlier)
    return earlier


def write_weights(args: argparse.Namespace, spec: dict, model32, meta: dict, adjustment: dict | None) -> Path:
    """The fp16 weights in src/ferkit/weights/<name>.safetensors, with the run's metadata that a user needs."""
    from ferkit.models import save_checkpoint

    WEIGHTS.mkdir(parents=True, exist_ok=True)
    out = WEIGHTS / f"{args.name}.safetensors"
    keep = {k: meta[k] for k in KEPT_META if k in meta}
    keep["train_data"] = args.train_data_note or spec["train_data"]
    if adjustment:
        keep["prior_adjustment"] = adjustment
    save_checkpoint(out, model32, {**keep, "shipped_name": args.name}, dtype=torch.float16)
    return out


def measure_accuracy(model32, model16, name: str, fer, split: str, ckplus: str) -> tuple:
    """(fp32 result, {tta: fp16 result}, CK+ result); refuses fp16 weights that change the accuracy."""
    from ferkit.backends import TorchBackend
    from ferkit.evaluate import evaluate

    r32 = evaluate(TorchBackend(model32), fer, split=split)
    runs = {
        t: evaluate(
            TorchBackend(model16, name=name),
            fer,
            split=split,
            tta=t,
            train_data=fer if t == "none" else None,
        )
        for t in ("none", "flip", "tencrop")
    }
    if abs(r32.metrics.accuracy - runs["none"].metrics.accuracy) > 0.001:
        raise SystemExit(
            f"fp16 changes accuracy: {r32.metrics.accuracy:.4f} vs {runs['none'].metrics.accuracy:.4f}"
        )
    return r32, runs, evaluate(TorchBackend(model16, name=name), ckplus)


def measure_speed(model16, name: str, out: Path) -> dict:
    """Faces/s at batch 1 and 64 with PyTorch and, when installed, ONNX Runtime on an export of `out`."""
    from ferkit.backends import TorchBackend

    backend = TorchBackend(model16, name=name)
    speed = {
        "torch_batch1_faces_per_s": faces_per_second(backend, 1),
        "torch_batch64_faces_per_s": faces_per_second(backend, 64),
    }
    try:
        from ferkit.backends.onnx_backend import OnnxBackend
        from ferkit.export import export_onnx

        onnx_path = Path("/tmp") / f"ferkit-{name}.onnx"
        export_onnx(out, onnx_path)
        ob = OnnxBackend.load(onnx_path)
        speed.update(
            {
                "onnx_batch1_faces_per_s": faces_per_second(ob, 1),
                "onnx_batch64_faces_per_s": faces_per_second(ob, 64),
            }
        )
    except ImportError as exc:
        speed["onnx_note"] = f"ONNX not measured: {exc}"
    return speed


def reference_prediction(out: Path) -> dict:
    """The shipped file's prediction for the bundled astronaut photo, through `ferkit.load`."""
    import ferkit

    ref = ferkit.load(str(out)).predict(str(ROOT / "src/ferkit/samples/astronaut.jpg"))[0].faces[0]
    return {
        "source": "samples/astronaut.jpg",
        "box": list(ref.box),
        "label": ref.label,
        "probs": {k: round(float(v), 6) for k, v in ref.probs.items()},
    }


def metrics_json(args, spec: dict, model16, meta: dict, measured: dict, extra: dict) -> dict:
    """<name>.metrics.json: the architecture, every figure measured here, the training and how it was made.

    `measured` holds the evaluations (`r32`, `runs`, `ck`) and `speed`; `extra` the weights file (`out`), the
    prior `adjustment`, the `reference` prediction and the `earlier` training stages.
    """
    from ferkit.models import model_info

    r32, runs, ck = measured["r32"], measured["runs"], measured["ck"]
    adjustment, earlier = extra["adjustment"], extra["earlier"]
    info = model_info(model16.model_name)
    base = runs["none"].to_dict()
    fp32_key = "publictest_fp32_accuracy" if args.dataset == "fer2013" else "eval_fp32_accuracy"
    return {
        "name": args.name,
        "architecture": model16.model_name,
        "params": info["params"],
        "mflops": info["mflops"],
        "weights_file": extra["out"].name,
        "weights_dtype": "float16",
        "selection": {
            "split": spec["selection"],
            "rule": f"best epoch by {meta.get('select_metric', 'val_acc')}",
        },
        spec["key"]: {k: base[k] for k in EVAL_KEYS},
        fp32_key: r32.metrics.accuracy,
        **({"dataset": card_data(spec, args.train_data_note)} if spec["card"] else {}),
        "tta": {
            t: {"accuracy": runs[t].metrics.accuracy, "macro_f1": runs[t].metrics.macro_f1} for t in runs
        },
        "dedup": base["dedup"],
        "ckplus48_cross_dataset": {
            k: ck.to_dict()[k] for k in ("n", "accuracy", "macro_f1", "left_out", "labels")
        },
        "speed_cpu": measured["speed"],
        **({"prior_adjustment": adjustment} if adjustment else {}),
        "training": {
            **training_summary(*best_epoch_row(args.run)),
            "device": args.device_note,
            "config": meta.get("config"),
            **({"init_from": earlier} if earlier else {}),
        },
        "reference_prediction": extra["reference"],
        "measured_on": machine(),
        "command": "python " + " ".join(sys.argv),
    }


def main() -> None:
    args = parse_args()
    earlier = lineage(args)
    torch.set_num_threads(2)
    from ferkit.data import load_dataset
    from ferkit.evaluate.plots import confusion_png
    from ferkit.models import load_model

    spec = DATASETS[args.dataset]
    fer = load_dataset(args.data or spec["data"])
    model32 = load_model(args.run / "best.safetensors")
    meta = dict(model32.checkpoint_meta)
    adjustment = prior_adjustment(model32, meta, args.prior_tau, str(args.data or spec["data"]))
    out = write_weights(args, spec, model32, meta, adjustment)
    model16 = load_model(out)
    r32, runs, ck = measure_accuracy(model32, model16, args.name, fer, spec["split"], args.ckplus)
    measured = {"r32": r32, "runs": runs, "ck": ck, "speed": measure_speed(model16, args.name, out)}
    extra = {"out": out, "adjustment": adjustment, "reference": reference_prediction(out), "earlier": earlier}
    metrics = metrics_json(args, spec, model16, meta, measured, extra)
    (WEIGHTS / f"{args.name}.metrics.json").write_text(json.dumps(metrics, indent=2))
    confusion_png(runs["none"].metrics, WEIGHTS / f"{args.name}_confusion.png")
    from release.card import write_model_card

    write_model_card(WEIGHTS)
    print(json.dumps({k: metrics[k] for k in ("tta", "dedup", "speed_cpu")}, indent=2))


if __name__ == "__main__":
    main()
