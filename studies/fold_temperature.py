"""Calibrate a trained run by temperature scaling folded into its classifier: fit one temperature T on the
validation split (minimum negative log-likelihood), divide the final linear layer's weight and bias by T, and write
a copy of the run whose best.safetensors holds the scaled weights. Argmax, and so accuracy, is unchanged; the
probabilities become calibrated. T is fitted on the split that also chose the epoch (FER2013 PublicTest), so the
calibration error measured there afterwards is slightly optimistic, as the accuracy is.

    python -m studies.fold_temperature runs/kd_fast2 --data ../shared/data/fer2013 --out runs/kd_fast2_t
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T > 0 minimising the mean NLL of softmax(logits / T) (L-BFGS on log T)."""
    log_t = torch.zeros((), requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="public_test")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    from ferkit.data import load_dataset
    from ferkit.models import load_model, save_checkpoint
    from ferkit.train.loop import predict_logits

    val = load_dataset(args.data).take_split(args.split)
    model = load_model(args.run / "best.safetensors")
    logits = predict_logits(model, val.images, model.data_config, "cpu")
    labels = torch.as_tensor(val.labels, dtype=torch.long)
    t = fit_temperature(logits, labels)
    with torch.no_grad():
        model.head.weight /= t
        model.head.bias /= t
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ("history.csv", "config.yaml", "curves.png"):
        if (args.run / name).is_file():
            shutil.copy2(args.run / name, args.out / name)
    folded = {"T": t, "fitted_on": args.split, "from": str(args.run / "best.safetensors")}
    save_checkpoint(
        args.out / "best.safetensors", model, {**model.checkpoint_meta, "temperature_folded": folded}
    )
    nll = (F.cross_entropy(logits, labels).item(), F.cross_entropy(logits / t, labels).item())
    print(f"T = {t:.4f} fitted on {args.split} ({len(labels)} images): NLL {nll[0]:.4f} -> {nll[1]:.4f}")


if __name__ == "__main__":
    main()
