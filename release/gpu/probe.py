"""Measure each config's seconds per training epoch on this machine and print the epoch counts that let all of
them, trained side by side on one device, finish within a time budget.

    python release/gpu/probe.py --budget 1140 --n-train 28709 configs/a.yaml configs/b.yaml ...

It times the trainer's own epoch function (augmentation, mixing, bf16 autocast and channels-last as the config
and device say) on random uint8 faces, after a warm-up epoch, plus one validation pass. Runs that share a GPU are
time-sliced, so the budget is split in proportion to each run's epoch time: every run gets the same epoch count,
floor(budget / sum of epoch times). Prints one `config epochs seconds_per_epoch` line per config.

Measured on an H100 (benchmarks/RESULTS.md, "Shipped models 0.2"): this rule is about 3x conservative for small
48x48 networks, whose runs overlap almost fully on the GPU (ResNet-18: 2.84 s/epoch alone, 4.44 s beside two
other runs; the probe said 4.50 s for it and 13.9 s for mobilefer, which took 6.5 s beside the others).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ferkit.config import load_config
from ferkit.labels import FER7
from ferkit.train import device as devmod
from ferkit.train.build import build_model, make_optimizer
from ferkit.train.loop import validate

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # _epoch
from _epoch import random_epoch_data, timed_epoch  # noqa: E402


def seconds_per_epoch(
    path: str, n_train: int, n_val: int, steps: int, overrides: list[str] | None = None
) -> float:
    cfg = load_config(path, overrides)
    device = devmod.pick_device(cfg.train.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    amp, cl = devmod.use_amp(cfg.train, device), devmod.use_channels_last(cfg.train, device)
    model = build_model(cfg, FER7, None, False, log=lambda *a: None).to(device)
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model)
    dc, bs = model.data_config, cfg.train.batch_size
    side = dc.image_size
    data = random_epoch_data(bs * steps, side, device)

    fwd = torch.compile(model) if cfg.train.compile else model

    def epoch() -> float:
        return timed_epoch(fwd, opt, data, cfg, dc, steps, amp=amp, channels_last=cl)

    epoch()  # warm-up: cuDNN autotuning, allocator, torch.compile
    per_step = epoch() / steps
    val = np.random.default_rng(0).integers(0, 256, (n_val, side, side), dtype=np.uint8)
    t0 = time.perf_counter()
    validate(model, val, np.zeros(n_val, np.int64), dc, device, cfg.train.eval_batch_size, amp)
    return per_step * (n_train // bs) + (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("configs", nargs="+")
    p.add_argument("--budget", type=float, required=True, help="seconds all runs together may take")
    p.add_argument("--n-train", type=int, default=28709)
    p.add_argument("--n-val", type=int, default=3589)
    p.add_argument("--steps", type=int, default=30, help="timed training steps per config")
    p.add_argument("--overhead", type=float, default=1.1, help="factor for saving, logging and data loading")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override in every config")
    args = p.parse_args()
    times = {
        c: seconds_per_epoch(c, args.n_train, args.n_val, args.steps, args.set) * args.overhead
        for c in args.configs
    }
    epochs = max(1, int(args.budget // sum(times.values())))
    for c, t in times.items():
        print(f"{c} {epochs} {t:.2f}")


if __name__ == "__main__":
    main()
