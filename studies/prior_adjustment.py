"""How far to correct a model for its training-label priors (logit adjustment: logits − τ · log prior, with the
prior the mean training target) on the three validation sets: RAF-DB train (real photos, aligned), FER+ valid and
FER2013 PublicTest. FER+ annotators chose neutral for about a third of the faces and disgust, fear and contempt
rarely, so a model trained on their votes leans to neutral on real photos; τ trades that lean against accuracy.

    python -m studies.prior_adjustment runs/two_labels/best.safetensors [--taus 0,0.25,0.5,0.75,1]
    python -m studies.prior_adjustment src/ferkit/weights/ferplus.safetensors --data ../shared/data/ferplus

Prints accuracy and macro-F1 per set and τ (PyTorch, bf16 autocast; logits of each set cached beside the checkpoint).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from benchmarks.validation import SETS

ROOT = Path(__file__).resolve().parents[1]


def training_prior(checkpoint: Path, data: str | None = None) -> np.ndarray:
    """Mean training target of the run that wrote `checkpoint` (its recorded config; its recorded data folder
    unless `data` names it, as for a shipped model)."""
    from ferkit.config import config_from_dict
    from ferkit.models import read_checkpoint_meta
    from ferkit.train.prior import training_prior as prior_of

    meta = read_checkpoint_meta(checkpoint)
    return prior_of(config_from_dict(meta["config"]), data or meta["train_data"])


def logits_on(checkpoint: Path, key: str, ds):
    """(logits N×C, labels in the model's space or −1) of the checkpoint on one validation set, cached."""
    import torch

    from ferkit.labels import remap_table
    from ferkit.models import load_model
    from ferkit.train.loop import predict_logits

    ds = ds.take_split(SETS[key][2]) if SETS[key][2] else ds
    model = load_model(checkpoint)
    cache = checkpoint.with_name(f"{checkpoint.stem}.{key}.logits.npy")
    if cache.is_file():
        logits = np.load(cache)
    else:
        logits = predict_logits(
            model, ds.images, model.data_config, torch.device("cpu"), 256, amp=True
        ).numpy()
        np.save(cache, logits)
    return logits, remap_table(ds.label_space, model.data_config.labels)[ds.labels]


def scores(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import f1_score

    keep = y >= 0
    pred, y = logits[keep].argmax(1), y[keep]
    return float((pred == y).mean()), float(f1_score(y, pred, labels=np.unique(y), average="macro"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--taus", default="0,0.25,0.5,0.75,1")
    ap.add_argument(
        "--data", help="the training data folder, where the checkpoint records none (a shipped model)"
    )
    args = ap.parse_args()
    import torch

    from ferkit.data import load_dataset

    torch.set_num_threads(2)
    prior = training_prior(args.checkpoint, args.data)
    print("training prior:", np.round(prior, 4).tolist())
    sets = {k: logits_on(args.checkpoint, k, load_dataset(SETS[k][1], quiet=True)) for k in SETS}
    print("| τ | " + " | ".join(f"{SETS[k][0]}: acc / macro-F1" for k in SETS) + " |")
    for tau in (float(t) for t in args.taus.split(",")):
        cells = [scores(lg - tau * np.log(prior), y) for lg, y in sets.values()]
        print(f"| {tau:g} | " + " | ".join(f"{100 * a:.2f} % / {f:.3f}" for a, f in cells) + " |")


if __name__ == "__main__":
    main()
