"""Timing the trainer's own epoch function on random faces (shared by benchmarks/trainer_overhead.py and release/train_gpu.py)."""

from __future__ import annotations

import time

import torch


def random_epoch_data(n: int, side: int, device="cpu", n_classes: int = 7):
    """`EpochData` of n random uint8 faces side×side with one-hot targets, on `device`."""
    from ferkit.train.loop import EpochData

    images = torch.randint(0, 256, (n, 1, side, side), dtype=torch.uint8, device=device)
    targets = torch.nn.functional.one_hot(torch.randint(0, n_classes, (n,), device=device), n_classes).float()
    return EpochData(images, targets, None, None)


def timed_epoch(model, opt, data, cfg, dc, steps: int, *, amp: bool, channels_last: bool) -> float:
    """Seconds `train_one_epoch` takes for `steps` batches (device work finished before the clock stops)."""
    from ferkit.train.loop import TrainSetup, train_one_epoch

    device = data.images.device
    setup = TrainSetup(model, opt, data, cfg, dc, steps, amp=amp, channels_last=channels_last)
    g = torch.Generator(device=device).manual_seed(0)
    t0 = time.perf_counter()
    train_one_epoch(setup, epoch=0, step=0, g=g)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0
