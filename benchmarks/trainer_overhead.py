"""Share of a training epoch spent outside the model step (sampling, augmentation, bookkeeping).

    python -m benchmarks.trainer_overhead [--model vgg_fer_gap] [--steps 20]

Raw = forward + backward + optimizer step on a fixed, pre-made batch. Trainer = `train_one_epoch` on uint8 data of
FER2013's size with the default recipe's augmentation. Overhead = 1 − raw / trainer.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from benchmarks._epoch import random_epoch_data, timed_epoch
from benchmarks.record import record


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="vgg_fer_gap")
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    from ferkit.config import load_config
    from ferkit.models import create_model
    from ferkit.train.build import make_optimizer
    from ferkit.train.losses import soft_cross_entropy

    root = Path(__file__).resolve().parents[1]
    cfg = load_config(root / "configs/fer2013_vgg_gap_cpu.yaml", [f"model.name={args.model}"])
    model = create_model(args.model).to(memory_format=torch.channels_last)
    dc, bs = model.data_config, cfg.train.batch_size
    opt = make_optimizer(cfg, model)
    x = torch.randn(bs, 1, dc.input_size, dc.input_size).contiguous(memory_format=torch.channels_last)
    y = torch.nn.functional.one_hot(torch.randint(0, 7, (bs,)), 7).float()

    def raw_step():
        loss = soft_cross_entropy(model(x), y, 0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):
        raw_step()
    t = time.perf_counter()
    for _ in range(args.steps):
        raw_step()
    raw = time.perf_counter() - t
    data = random_epoch_data(28709, dc.image_size)
    full = timed_epoch(model, opt, data, cfg, dc, args.steps, amp=False, channels_last=True)
    body = (
        f"| model | steps × batch | raw model steps (s) | trainer loop (s) | overhead |\n|---|---|---|---|---|\n"
        f"| {args.model} | {args.steps} × {bs} | {raw:.2f} | {full:.2f} | {100 * (1 - raw / full):.1f} % |"
    )
    record("Trainer overhead beyond the model step", body)


if __name__ == "__main__":
    main()
