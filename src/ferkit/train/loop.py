"""One training epoch and one validation pass, on whole tensors already on the device."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ferkit.config import Config
from ferkit.errors import TrainingError
from ferkit.models.data_config import DataConfig, preprocess
from ferkit.train.augment import augment_batch, mix
from ferkit.train.ema import ema_update
from ferkit.train.losses import multi_target_loss, soft_cross_entropy
from ferkit.train.schedules import lr_at


@dataclass
class EpochData:
    """Training tensors on the device: uint8 images N×1×H×W, float targets N×C, sampling weights or None."""

    images: torch.Tensor
    targets: torch.Tensor
    sample_weights: torch.Tensor | None
    class_weights: torch.Tensor | None


def autocast(device: torch.device, amp: bool):
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def epoch_order(
    n: int, weights: torch.Tensor | None, g: torch.Generator, rank: int, world: int
) -> torch.Tensor:
    """Sample order of one epoch (balanced sampling draws with replacement); rank's equal-sized shard."""
    if weights is not None:
        order = torch.multinomial(weights, n, replacement=True, generator=g)
    else:
        order = torch.randperm(n, generator=g, device=g.device)
    per = n // world
    return order[rank * per : (rank + 1) * per] if world > 1 else order


def train_one_epoch(
    model,
    opt,
    data: EpochData,
    cfg: Config,
    dc: DataConfig,
    *,
    epoch: int,
    step: int,
    total_steps: int,
    steps_per_epoch: int,
    g: torch.Generator,
    amp: bool,
    channels_last: bool,
    ema: dict | None,
    lr_override: float | None,
    rank: int,
    world: int,
    progress,
) -> tuple[dict, int]:
    """Train one epoch; returns ({train_loss, train_acc, lr, images_per_s}, next step)."""
    model.train()
    t0 = time.perf_counter()
    order = epoch_order(len(data.images), data.sample_weights, g, rank, world)
    if world > 1:  # same sample order on every rank, but each rank its own augmentation draws
        seed = int(torch.randint(2**62, (1,), generator=g, device=g.device).item())
        g = torch.Generator(device=g.device).manual_seed(seed + rank)
    mode = cfg.data.label_mode
    bs = cfg.train.batch_size
    loss_sum = torch.zeros((), device=data.images.device)
    correct = torch.zeros((), device=data.images.device)
    seen, lr = 0, cfg.optim.lr
    for b in range(steps_per_epoch):
        idx = order[b * bs : (b + 1) * bs]
        x = augment_batch(data.images[idx], dc, cfg.augment, g)
        y = data.targets[idx]
        if mode == "probability":  # FER+: a one-hot label drawn from the vote distribution at each use
            y = F.one_hot(torch.multinomial(y, 1, generator=g).squeeze(1), y.shape[1]).to(y.dtype)
        x, y = mix(x, y, cfg.augment, g)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        lr = (
            lr_override
            if lr_override is not None
            else lr_at(step, total_steps, steps_per_epoch, cfg.optim.lr, cfg.schedule)
        )
        for group in opt.param_groups:
            group["lr"] = lr
        with autocast(x.device, amp):
            logits = model(x)
        if mode == "multi_target":
            loss = multi_target_loss(logits, y)
        else:
            loss = soft_cross_entropy(logits, y, cfg.train.label_smoothing, data.class_weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.train.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        opt.step()
        if ema is not None:
            ema_update(ema, _unwrap(model), cfg.train.ema)
        loss_sum += loss.detach() * len(idx)
        correct += (logits.detach().argmax(1) == y.argmax(1)).sum()
        seen += len(idx)
        step += 1
        if b % 20 == 0 or b == steps_per_epoch - 1:
            running = float(loss_sum) / seen
            if not math.isfinite(running):
                raise TrainingError(
                    f"loss became {running} at epoch {epoch + 1}, step {b + 1}: lower optim.lr or set "
                    f"train.grad_clip; the last good checkpoint is kept"
                )
            progress(b + 1, running, float(correct) / seen, seen / (time.perf_counter() - t0))
    dt = time.perf_counter() - t0
    return {
        "lr": lr,
        "train_loss": float(loss_sum) / seen,
        "train_acc": float(correct) / seen,
        "images_per_s": seen * world / dt,
        "train_seconds": dt,
    }, step


def _unwrap(model):
    """The plain module under torch.compile (`_orig_mod`) and DDP (`module`) wrappers."""
    model = getattr(model, "_orig_mod", model)
    return getattr(model, "module", model)


@torch.no_grad()
def predict_logits(
    model, images: np.ndarray | torch.Tensor, dc: DataConfig, device, batch_size: int = 512, amp: bool = False
) -> torch.Tensor:
    """Logits (float32, on CPU) of uint8 face crops N×H×W, in batches, center-cropped per the data config."""
    model.eval()
    imgs = torch.as_tensor(images)
    out = []
    for i in range(0, len(imgs), batch_size):
        x = preprocess(imgs[i : i + batch_size].to(device), dc)
        with autocast(torch.device(device) if isinstance(device, str) else device, amp):
            out.append(model(x).float().cpu())
    return torch.cat(out) if out else torch.zeros((0, len(dc.labels)))


def validate(model, images, labels: np.ndarray, dc: DataConfig, device, batch_size: int, amp: bool) -> dict:
    """{val_loss, val_acc, val_macro_f1} on hard labels."""
    logits = predict_logits(model, images, dc, device, batch_size, amp)
    y = torch.as_tensor(labels, dtype=torch.long)
    pred = logits.argmax(1)
    c = logits.shape[1]
    cm = torch.bincount(y * c + pred, minlength=c * c).view(c, c).double()
    tp = cm.diag()
    prec = tp / cm.sum(0).clamp_min(1)
    rec = tp / cm.sum(1).clamp_min(1)
    f1 = torch.where(prec + rec > 0, 2 * prec * rec / (prec + rec), torch.zeros_like(tp))
    present = cm.sum(1) > 0
    return {
        "val_loss": float(F.cross_entropy(logits, y)),
        "val_acc": float((pred == y).double().mean()),
        "val_macro_f1": float(f1[present].mean()) if present.any() else 0.0,
    }
