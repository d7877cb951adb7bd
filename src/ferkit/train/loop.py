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


@dataclass
class TrainSetup:
    """What every epoch of a run shares: the model to call (possibly compiled or DDP-wrapped), its optimizer, the
    training tensors, the recipe and the speed options. `ema` holds the averaged weights when train.ema is on."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer
    data: EpochData
    cfg: Config
    dc: DataConfig
    steps_per_epoch: int
    amp: bool = False
    channels_last: bool = False
    ema: dict | None = None
    rank: int = 0
    world: int = 1

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.cfg.train.epochs


def train_one_epoch(
    s: TrainSetup, epoch: int, step: int, g: torch.Generator, lr_override: float | None = None, progress=None
) -> tuple[dict, int]:
    """Train one epoch from global step `step`; returns ({lr, train_loss, train_acc, images_per_s,
    train_seconds}, next step). `lr_override` replaces the schedule (reduce-on-plateau)."""
    s.model.train()
    t0 = time.perf_counter()
    order = epoch_order(len(s.data.images), s.data.sample_weights, g, s.rank, s.world)
    if s.world > 1:  # same sample order on every rank, but each rank its own augmentation draws
        seed = int(torch.randint(2**62, (1,), generator=g, device=g.device).item())
        g = torch.Generator(device=g.device).manual_seed(seed + s.rank)
    bs, device = s.cfg.train.batch_size, s.data.images.device
    loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device)
    seen, lr = 0, s.cfg.optim.lr
    for b in range(s.steps_per_epoch):
        idx = order[b * bs : (b + 1) * bs]
        x, y = _batch(s, idx, g)
        lr = lr_override if lr_override is not None else _scheduled_lr(s, step)
        logits, loss = _step(s, x, y, lr)
        loss_sum += loss.detach() * len(idx)
        correct += (logits.detach().argmax(1) == y.argmax(1)).sum()
        seen, step = seen + len(idx), step + 1
        if b % 20 == 0 or b == s.steps_per_epoch - 1:
            running = _finite_running_loss(float(loss_sum) / seen, epoch, b)
            if progress is not None:
                progress(b + 1, running, float(correct) / seen, seen / (time.perf_counter() - t0))
    dt = time.perf_counter() - t0
    return {
        "lr": lr,
        "train_loss": float(loss_sum) / seen,
        "train_acc": float(correct) / seen,
        "images_per_s": seen * s.world / dt,
        "train_seconds": dt,
    }, step


def _scheduled_lr(s: TrainSetup, step: int) -> float:
    return lr_at(step, s.total_steps, s.steps_per_epoch, s.cfg.optim.lr, s.cfg.schedule)


def _batch(s: TrainSetup, idx: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One augmented (and mixed) training batch with its targets."""
    x = augment_batch(s.data.images[idx], s.dc, s.cfg.augment, g)
    y = s.data.targets[idx]
    if (
        s.cfg.data.label_mode == "probability"
    ):  # FER+: a one-hot label drawn from the vote distribution each use
        y = F.one_hot(torch.multinomial(y, 1, generator=g).squeeze(1), y.shape[1]).to(y.dtype)
    x, y = mix(x, y, s.cfg.augment, g)
    if s.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y


def _step(s: TrainSetup, x: torch.Tensor, y: torch.Tensor, lr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step at learning rate `lr` (and the EMA update); returns (logits, loss)."""
    for group in s.opt.param_groups:
        group["lr"] = lr
    with autocast(x.device, s.amp):
        logits = s.model(x)
    if s.cfg.data.label_mode == "multi_target":
        loss = multi_target_loss(logits, y)
    else:
        loss = soft_cross_entropy(logits, y, s.cfg.train.label_smoothing, s.data.class_weights)
    s.opt.zero_grad(set_to_none=True)
    loss.backward()
    if s.cfg.train.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(s.model.parameters(), s.cfg.train.grad_clip)
    s.opt.step()
    if s.ema is not None:
        ema_update(s.ema, _unwrap(s.model), s.cfg.train.ema)
    return logits, loss


def _finite_running_loss(running: float, epoch: int, b: int) -> float:
    if not math.isfinite(running):
        raise TrainingError(
            f"loss became {running} at epoch {epoch + 1}, step {b + 1}: lower optim.lr or set "
            f"train.grad_clip; the last good checkpoint is kept"
        )
    return running


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
