"""Typed training configs: YAML files + `key=value` overrides, validated against dataclasses.

    cfg = load_config("configs/default.yaml", ["optim.lr=0.05", "train.epochs=30"])

Unknown keys are an error that names the key and suggests the closest one; values are checked against the
field types; every other check is in `ferkit.config_checks`. `config_to_dict(cfg)` is what gets saved in the run
directory and inside each checkpoint.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ferkit.config_checks import check_choices, check_config, teacher_paths  # noqa: F401 (public here too)
from ferkit.errors import ConfigError, did_you_mean


@dataclass
class ModelCfg:
    name: str = "vgg_fer_gap"
    kwargs: dict = field(default_factory=dict)


@dataclass
class DataCfg:
    path: str | None = None
    format: str | None = None
    label_mode: str | None = None  # FER+ only: majority, probability, crossentropy, multi_target
    train_split: str = "train"
    val_split: str | None = "public_test"  # None: a stratified hold-out of train (val_fraction, seed)
    val_fraction: float = 0.1
    allow_test_selection: bool = False  # selecting on a split named test/private_test needs this
    # a second copy of the training faces with labels of its own (e.g. the FER2013 folders beside FER+), matched
    # by pixels; a matched face trains on (1 - second_weight) * its own target + second_weight * the second label
    second_labels: str | None = None
    second_weight: float = 0.3
    second_unmatched: str = "skip"  # skip, add: faces only the second set holds join training on their label


@dataclass
class AugmentCfg:
    hflip: float = 0.5
    rotate: float = 10.0  # degrees, uniform ±
    scale: tuple[float, float] = (0.9, 1.1)
    translate: float = 0.1  # fraction of the image, uniform ±
    erase: float = 0.25  # probability of one random-erasing rectangle
    erase_area: tuple[float, float] = (0.02, 0.2)
    mixup: float = 0.0  # alpha; 0 = off
    cutmix: float = 0.0  # alpha; 0 = off
    mix_prob: float = 1.0  # fraction of batches mixed when mixup/cutmix is on
    # photometric jitter, as real photos vary (probability per image; 0 = off): brightness ± and contrast ×(1 ±)
    # and gamma ×exp(±), each uniform
    photometric: float = 0.0
    brightness: float = 0.2
    contrast: float = 0.3
    gamma: float = 0.3
    # resolution loss, as faces in photos are often small or soft: the image shrunk to a uniform fraction in
    # [downscale_min, 1] of its side and enlarged back (probability per image; one fraction per batch)
    downscale: float = 0.0
    downscale_min: float = 0.4


@dataclass
class OptimCfg:
    name: str = "sgd"  # sgd (Nesterov), adam, adamw
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.999)


@dataclass
class ScheduleCfg:
    name: str = "onecycle"  # onecycle, cosine, plateau, step, constant
    warmup_epochs: float = 0.0  # cosine: linear warm-up
    min_lr: float = 0.0
    pct_start: float = 0.25  # onecycle
    div_factor: float = 25.0  # onecycle: initial lr = lr / div_factor
    final_div_factor: float = 1e3  # onecycle: final lr = initial / final_div_factor
    step_size: int = 10  # step: epochs per decay
    gamma: float = 0.1  # step
    factor: float = 0.5  # plateau
    patience: int = 5  # plateau


@dataclass
class TrainCfg:
    epochs: int = 30
    batch_size: int = 128
    label_smoothing: float = 0.0
    class_weights: str = "none"  # none, balanced
    sampler: str = "random"  # random, balanced
    grad_clip: float = 0.0  # max grad norm; 0 = off
    ema: float = 0.0  # EMA decay of weights (e.g. 0.999); 0 = off
    early_stopping: int = 0  # epochs without improvement; 0 = off
    select_metric: str = "val_acc"  # val_acc, val_macro_f1, val_loss
    seed: int = 0
    device: str = "auto"  # auto, cpu, cuda, mps
    amp: str = "auto"  # auto (bf16 on CUDA; on a CPU the faster of the two, timed per model), bf16, none
    channels_last: str = "auto"  # auto (on CUDA; on a CPU the faster, timed with amp), on, off
    compile: bool = False
    threads: int = 0  # CPU threads; 0 = torch default
    eval_batch_size: int = 512
    checkpoint_dtype: str = "float32"  # float32 or float16 storage of best/last weights
    save_every: int = 1  # epochs between saves of last + optimizer state; best on every improvement
    # teacher checkpoint, or a list of them (an ensemble: their softened probabilities are averaged), whose soft
    # predictions join the training targets
    distill_from: str | list[str] | None = None
    distill_weight: float = 0.5  # share of the teacher in each target (the rest: the dataset's label)
    distill_temperature: float = 2.0  # softmax temperature of the teacher's logits
    distill_amp: str = "auto"  # the teacher's pass: auto (as train.amp), bf16, none


@dataclass
class Config:
    name: str = "run"
    model: ModelCfg = field(default_factory=ModelCfg)
    data: DataCfg = field(default_factory=DataCfg)
    augment: AugmentCfg = field(default_factory=AugmentCfg)
    optim: OptimCfg = field(default_factory=OptimCfg)
    schedule: ScheduleCfg = field(default_factory=ScheduleCfg)
    train: TrainCfg = field(default_factory=TrainCfg)


def config_to_dict(cfg) -> dict:
    """Plain dict (tuples as lists) of a config dataclass."""

    def conv(v):
        if isinstance(v, tuple):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v

    return conv(dataclasses.asdict(cfg))


def config_from_dict(d: dict, where: str = "config") -> Config:
    """Build a Config from a (possibly partial) dict; unknown keys, wrong types and values outside a key's
    choices raise ConfigError."""
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level, got {type(d).__name__}")
    cfg = _build(Config, d, where, "")
    if isinstance(cfg.train.distill_from, str):  # one teacher is an ensemble of one
        cfg.train.distill_from = [cfg.train.distill_from]
    check_config(cfg, where)
    return cfg


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (or the defaults when path is None) and apply `section.key=value` overrides."""
    data: dict = {}
    where = "config"
    if path is not None:
        p = Path(path)
        where = str(p)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: expected a mapping of sections, got {type(data).__name__}")
    for item in overrides or []:
        _apply_override(data, item)
    return config_from_dict(data, where)


def default_run_dir(cfg: Config) -> Path:
    """Where a run goes when no folder is named: runs/<config name>."""
    return Path("runs") / cfg.name


def load_run_config(
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
) -> Config:
    """The recipe of a training run: `path` (None: the defaults) with `overrides`. When resuming a run with no
    config named, the run's own config.yaml, so a resume continues the recipe it was started with."""
    if path is None and resume and run_dir is not None:
        saved = Path(run_dir) / "config.yaml"
        path = saved if saved.is_file() else None
    return load_config(path, overrides)


def _apply_override(data: dict, item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like section.key=value (e.g. optim.lr=0.05)")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part!r} is not a section")
    node[parts[-1]] = value


def _build(cls, d: dict, where: str, prefix: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in d.items():
        full = f"{prefix}{key}"
        if key not in fields:
            known = [f"{prefix}{k}" for k in fields]
            raise ConfigError(
                f"{where}: unknown key {full!r}{did_you_mean(full, known)}; known: {', '.join(known)}"
            )
        kwargs[key] = _coerce(hints[key], value, where, full)
    return cls(**kwargs)


def _coerce(tp, value, where: str, key: str):
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key!r} must be a section (mapping), got {value!r}")
        return _build(tp, value, where, key + ".")
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(a, value, where, key)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ConfigError(f"{where}: {key!r} must be a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(a, v, where, key) for a, v in zip(args, value, strict=False))
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: {key!r} must be a list, got {value!r}")
        return [_coerce(args[0], v, where, key) for v in value]
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key!r} must be a mapping, got {value!r}")
        return dict(value)
    return _coerce_scalar(tp, value, where, key)


def _coerce_scalar(tp, value, where: str, key: str):
    """bool, int, float or str from a YAML value; a ConfigError naming the key when it is not one."""
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: {key!r} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: {key!r} must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: {key!r} must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):  # YAML 1.1 reads on/off as booleans (`--set train.channels_last=on`)
            return "on" if value else "off"
        if isinstance(value, (int, float)):
            return str(value)
        raise ConfigError(f"{where}: {key!r} must be a string, got {value!r}")
    return value


def save_config(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
