"""Does recomputing a model's BatchNorm statistics on clean training images help?

A model trained with augmentation and mixup keeps BatchNorm running statistics of augmented, mixed batches. This
script recomputes them (cumulative average, dropout off) on the un-augmented `train` images, scores PublicTest
before and after, and records both in benchmarks/RESULTS.md. Nothing is written next to the checkpoint.

    python -m studies.bn_recalibrate runs/gpu2/fer2013_resnet18_mixup_gpu/best.safetensors \
        --data ../shared/data/fer2013 [--flip]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from benchmarks.record import record


def recalibrate(model: torch.nn.Module, images: torch.Tensor, batch: int = 256) -> torch.nn.Module:
    """Reset every BatchNorm's running statistics and re-estimate them over `images` (uint8 N×H×W)."""
    from ferkit.models.data_config import preprocess

    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over all batches
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()
    with torch.no_grad():
        for i in range(0, len(images), batch):
            model(preprocess(images[i : i + batch], model.data_config))
    return model.eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--data", default="../shared/data/fer2013")
    ap.add_argument("--flip", action="store_true", help="also use the mirrored training images")
    args = ap.parse_args()
    torch.set_num_threads(2)
    from ferkit.backends import TorchBackend
    from ferkit.data import load_dataset
    from ferkit.evaluate import evaluate
    from ferkit.models import load_model

    fer = load_dataset(args.data)
    model = load_model(args.checkpoint)
    before = evaluate(TorchBackend(model), fer, split="public_test").metrics
    images = torch.from_numpy(fer.take_split("train").images)
    if args.flip:
        images = torch.cat([images, images.flip(-1)])
    t = time.perf_counter()
    recalibrate(model, images)  # in place: scoring left the model unchanged
    seconds = time.perf_counter() - t
    after = evaluate(TorchBackend(model), fer, split="public_test").metrics
    print(f"before {before.accuracy:.4f}  after {after.accuracy:.4f}  ({seconds:.0f} s)")
    body = "\n".join(
        [
            f"BatchNorm statistics re-estimated on {len(images):,} un-augmented `train` images"
            f"{' (with their mirror images)' if args.flip else ''} in {seconds:.0f} s; scored on PublicTest "
            f"({before.n:,}), no TTA.",
            "",
            "| BatchNorm statistics | PublicTest acc | macro-F1 |",
            "|---|---|---|",
            f"| from training (as shipped) | {100 * before.accuracy:.2f} % | {100 * before.macro_f1:.2f} % |",
            f"| re-estimated on clean train images | {100 * after.accuracy:.2f} % | {100 * after.macro_f1:.2f} % |",
        ]
    )
    record(f"BatchNorm re-estimation on clean images: {Path(args.checkpoint).parent.name}", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
