"""Device choice and the speed settings that depend on it (autocast, channels-last, threads, DDP)."""

from __future__ import annotations

import os

import torch

from ferkit.config import TrainCfg
from ferkit.errors import ConfigError


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name!r} but CUDA is not available here")
    if name == "cuda" and int(os.environ.get("WORLD_SIZE", 1)) > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))  # one GPU per torchrun process
    return torch.device(name)


def use_amp(t: TrainCfg, device: torch.device) -> bool:
    """bf16 autocast: on for CUDA under 'auto'. On a CPU the trainer replaces 'auto' by the measured faster
    setting before this is asked (`ferkit.train.speed_probe`); a leftover 'auto' on a CPU means off."""
    return t.amp == "bf16" or (t.amp == "auto" and device.type == "cuda")


def use_teacher_amp(t: TrainCfg, device: torch.device) -> bool:
    """bf16 autocast for the distillation teacher's pass: `train.distill_amp`, or as `train.amp` under 'auto'."""
    return use_amp(t, device) if t.distill_amp == "auto" else t.distill_amp == "bf16"


def use_channels_last(t: TrainCfg, device: torch.device) -> bool:
    return t.channels_last == "on" or (t.channels_last == "auto" and device.type == "cuda")


def dist_info() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) when not distributed."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def init_distributed(device: torch.device) -> None:
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            torch.cuda.set_device(device)
