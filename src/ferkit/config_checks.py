"""Every check of a training config in one place: fixed choices, counts, numeric ranges, ordered pairs, the
device, and the rules that tie settings together. `ferkit.config` re-exports `check_config` and `check_choices`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ferkit.constants import LABEL_MODES, OPTIMIZERS, SCHEDULES
from ferkit.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from ferkit.config import Config


# Keys whose value is one of a fixed set: checked when a config is built and again when a run starts, so a typo
# is named at once instead of after the first epoch (or never, for a silently ignored value).
CHOICES: dict[str, tuple[str | None, ...]] = {
    "optim.name": OPTIMIZERS,
    "schedule.name": SCHEDULES,
    "data.label_mode": (None, *LABEL_MODES),
    "data.second_unmatched": ("skip", "add"),
    "train.class_weights": ("none", "balanced"),
    "train.sampler": ("random", "balanced"),
    "train.select_metric": ("val_acc", "val_macro_f1", "val_loss"),
    "train.amp": ("auto", "bf16", "none"),
    "train.distill_amp": ("auto", "bf16", "none"),
    "train.channels_last": ("auto", "on", "off"),
    "train.checkpoint_dtype": ("float32", "float16"),
}
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
AT_LEAST_ONE = ("train.epochs", "train.batch_size", "train.eval_batch_size", "train.save_every")

# Numeric settings and the range each must lie in: (low, high, low included, high included); None: unbounded.
# A value outside (or NaN) is named when the config is read, not after the data has loaded or the loss is NaN.
INF = float("inf")
RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "optim.lr": (0, INF, False, False),
    "optim.momentum": (0, 1, True, False),
    "optim.weight_decay": (0, INF, True, False),
    "optim.betas": (0, 1, True, False),
    "schedule.warmup_epochs": (0, INF, True, False),
    "schedule.min_lr": (0, INF, True, False),
    "schedule.pct_start": (0, 1, False, False),
    "schedule.div_factor": (0, INF, False, False),
    "schedule.final_div_factor": (0, INF, False, False),
    "schedule.step_size": (1, INF, True, False),
    "schedule.gamma": (0, 1, False, True),
    "schedule.factor": (0, 1, False, False),
    "schedule.patience": (0, INF, True, False),
    "augment.hflip": (0, 1, True, True),
    "augment.rotate": (0, 180, True, True),
    "augment.scale": (0, 10, False, True),
    "augment.translate": (0, 1, True, False),
    "augment.erase": (0, 1, True, True),
    "augment.erase_area": (0, 1, False, True),
    "augment.mixup": (0, INF, True, False),
    "augment.cutmix": (0, INF, True, False),
    "augment.mix_prob": (0, 1, True, True),
    "augment.photometric": (0, 1, True, True),
    "augment.brightness": (0, 1, True, True),
    "augment.contrast": (0, 1, True, False),
    "augment.gamma": (0, 1, True, True),
    "augment.downscale": (0, 1, True, True),
    "augment.downscale_min": (0, 1, False, True),
    "data.val_fraction": (0, 1, False, False),
    "data.second_weight": (0, 1, True, True),
    "train.label_smoothing": (0, 1, True, False),
    "train.grad_clip": (0, INF, True, False),
    "train.ema": (0, 1, True, False),
    "train.early_stopping": (0, INF, True, False),
    "train.seed": (0, 2**32 - 1, True, True),
    "train.threads": (0, 1024, True, True),
    "train.distill_weight": (0, 1, False, True),
    "train.distill_temperature": (0, INF, False, False),
}
ORDERED_PAIRS = ("augment.scale", "augment.erase_area")  # (low, high): low must not exceed high


def check_choices(cfg: Config, where: str = "config") -> None:
    """Raise ConfigError naming the key when a fixed-choice value (CHOICES, train.device) is not allowed, a count
    (AT_LEAST_ONE) is below 1 or a number is outside its range (RANGES)."""
    for key, allowed in CHOICES.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value not in allowed:
            names = [a for a in allowed if a is not None]
            hint = did_you_mean(str(value), names)
            unset = " (or leave it unset)" if None in allowed else ""
            raise ConfigError(
                f"{where}: {key}={value!r} is not allowed{hint}; choose one of {', '.join(names)}{unset}"
            )
    for key in AT_LEAST_ONE:
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value < 1:
            raise ConfigError(f"{where}: {key} must be at least 1, got {value}")
    for key, bounds in RANGES.items():
        _check_range(key, _value(cfg, key), bounds, where)
    for key in ORDERED_PAIRS:
        low, high = _value(cfg, key)
        if low > high:
            raise ConfigError(f"{where}: {key}=[{low}, {high}]: the first value must not exceed the second")
    if not DEVICE_PATTERN.fullmatch(cfg.train.device):
        raise ConfigError(
            f"{where}: train.device={cfg.train.device!r} is not a device; use auto, cpu, cuda, cuda:N or mps"
        )


def check_config(cfg: Config, where: str = "config") -> None:
    """Every check of a config, in one place: the single values (`check_choices`) and the rules that tie settings
    together. load_config runs it; `fit` runs it again for a Config built in Python. Raises ConfigError naming the
    keys."""
    check_choices(cfg, where)
    t, mode = cfg.train, cfg.data.label_mode
    if t.distill_from is not None and not teacher_paths(t.distill_from):
        raise ConfigError(
            f"{where}: train.distill_from is an empty list: name a teacher checkpoint or leave it out"
        )
    if t.distill_from is not None and mode == "multi_target":
        raise ConfigError(f"{where}: train.distill_from does not combine with data.label_mode=multi_target")
    if cfg.data.second_labels and mode == "multi_target":
        raise ConfigError(f"{where}: data.second_labels does not combine with data.label_mode=multi_target")
    if mode == "multi_target" and (cfg.augment.mixup > 0 or cfg.augment.cutmix > 0):
        raise ConfigError(
            f"{where}: augment.mixup / augment.cutmix do not combine with data.label_mode=multi_target: a blended "
            "target would make either sample's acceptable emotions acceptable for both; set them to 0"
        )


def _value(cfg: Config, key: str):
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def _check_range(key: str, value, bounds: tuple[float, float, bool, bool], where: str) -> None:
    low, high, low_in, high_in = bounds
    for v in value if isinstance(value, tuple | list) else (value,):
        above = v >= low if low_in else v > low
        below = v <= high if high_in else v < high
        if not (above and below):  # NaN fails both
            span = f"{'[' if low_in else '('}{_num(low)}, {_num(high)}{']' if high_in else ')'}"
            raise ConfigError(f"{where}: {key}={_show(value)} is out of range; it must lie in {span}")


def _num(x: float) -> str:
    return str(int(x)) if x != INF and float(x).is_integer() else f"{x:g}"


def _show(value) -> str:
    return f"[{', '.join(map(str, value))}]" if isinstance(value, tuple | list) else str(value)


def teacher_paths(distill_from: str | list[str] | None) -> list[str]:
    """train.distill_from as a list of checkpoint paths (one teacher, an ensemble, or none)."""
    if distill_from is None:
        return []
    return [distill_from] if isinstance(distill_from, str) else list(distill_from)
