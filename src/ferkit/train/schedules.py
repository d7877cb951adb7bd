"""Learning-rate schedules as pure functions of the step (so a resumed run needs only the step count), plus
reduce-on-plateau, whose small state is saved as JSON in the training state."""

from __future__ import annotations

import math

from ferkit.config import ScheduleCfg
from ferkit.constants import SCHEDULES
from ferkit.errors import ConfigError


def _cos(a: float, b: float, t: float) -> float:
    """Cosine interpolation from a (t=0) to b (t=1)."""
    return b + (a - b) * 0.5 * (1 + math.cos(math.pi * min(max(t, 0.0), 1.0)))


def lr_at(step: int, total: int, steps_per_epoch: int, base_lr: float, s: ScheduleCfg) -> float:
    """Learning rate of optimizer step `step` (0-based) out of `total` (not for plateau: see Plateau)."""
    if s.name == "onecycle":
        peak_step = max(1, int(s.pct_start * total))
        start = base_lr / s.div_factor
        if step < peak_step:
            return _cos(start, base_lr, step / peak_step)
        return _cos(base_lr, start / s.final_div_factor, (step - peak_step) / max(1, total - peak_step))
    if s.name == "cosine":
        warm = int(s.warmup_epochs * steps_per_epoch)
        if step < warm:
            return base_lr * (step + 1) / warm
        return _cos(base_lr, s.min_lr, (step - warm) / max(1, total - warm))
    if s.name == "step":
        return base_lr * s.gamma ** ((step // steps_per_epoch) // max(1, s.step_size))
    if s.name in ("constant", "plateau"):
        return base_lr
    raise ConfigError(f"unknown schedule {s.name!r}; choose one of {', '.join(SCHEDULES)}")


class Plateau:
    """Reduce the LR by `factor` after `patience` epochs without a better validation metric."""

    def __init__(self, s: ScheduleCfg, base_lr: float, mode: str = "max") -> None:
        self.factor, self.patience, self.min_lr, self.mode = s.factor, s.patience, s.min_lr, mode
        self.lr, self.best, self.bad = base_lr, None, 0

    def update(self, metric: float) -> float:
        better = self.best is None or (metric > self.best if self.mode == "max" else metric < self.best)
        if better:
            self.best, self.bad = metric, 0
        else:
            self.bad += 1
            if self.bad > self.patience:
                self.lr, self.bad = max(self.lr * self.factor, self.min_lr), 0
        return self.lr

    def state_dict(self) -> dict:
        return {"lr": self.lr, "best": self.best, "bad": self.bad}

    def load_state_dict(self, d: dict) -> None:
        self.lr, self.best, self.bad = d["lr"], d["best"], d["bad"]
