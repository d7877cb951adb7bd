"""`fit()`: the resumable training run — data on the device as whole tensors, batched augmentation, per-epoch
validation, best/last checkpoints, history and curves, exact resume, optional DDP under torchrun."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ferkit.config import Config, check_config, config_to_dict, default_run_dir, save_config
from ferkit.data import FerDataset
from ferkit.errors import TrainingError
from ferkit.train import device as devmod
from ferkit.train.build import build_model, make_optimizer
from ferkit.train.data_setup import load_train_val, targets_of, with_data_label_mode
from ferkit.train.distill import distilled_targets
from ferkit.train.ema import ema_init
from ferkit.train.loop import EpochData, TrainSetup, train_one_epoch, validate
from ferkit.train.losses import balanced_class_weights
from ferkit.train.progress import Progress
from ferkit.train.run_files import read_history
from ferkit.train.saving import finish, keep_earlier_config, save_epoch, stop_if_diverged, with_weights
from ferkit.train.schedules import Plateau
from ferkit.train.second_labels import with_second_labels
from ferkit.train.speed_probe import resolve_cpu_speed
from ferkit.train.state import RunState, check_best, load_state


@dataclass(frozen=True)
class TrainResult:
    """What a finished (or early-stopped) run produced."""

    run_dir: Path
    best_path: Path
    last_path: Path
    best_epoch: int
    best_metrics: dict
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


RUN_FILES = ("config.yaml", "history.csv")  # what a run writes before its first full save


def _prepare_run_dir(run_dir: Path, resume: bool, exist_ok: bool) -> None:
    state = run_dir / "last_state.safetensors"
    if run_dir.exists() and not run_dir.is_dir():
        raise TrainingError(f"{run_dir}: the run directory is an existing file")
    if resume and not state.is_file():
        hint = (
            " (it stopped before its first saved epoch: start it again with --exist-ok)"
            if run_dir.is_dir()
            else ""
        )
        raise TrainingError(f"{run_dir}: nothing to resume (no last_state.safetensors){hint}")
    contents = [p.name for p in run_dir.iterdir()] if run_dir.is_dir() else []
    started_only = set(contents) <= set(RUN_FILES)  # interrupted before any checkpoint: nothing to lose
    if not resume and contents and not started_only and not exist_ok:
        raise TrainingError(
            f"{run_dir}: run directory already exists; pass --resume to continue it or --exist-ok "
            f"to start over in it"
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainingError(f"{run_dir}: cannot create the run directory ({exc.strerror or exc})") from None


@dataclass
class _Run:
    """A run once set up: where it writes, what it trains and how (built by `_set_up`)."""

    cfg: Config
    run_dir: Path
    device: torch.device
    rank: int
    world: int
    log: Callable
    quiet: bool
    model: torch.nn.Module  # the plain module (saved, validated); `epochs.model` may wrap it
    epochs: TrainSetup
    val: FerDataset
    plateau: Plateau | None
    meta: dict  # what every checkpoint of the run records about its training

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def mode(self) -> str:
        return _mode(self.cfg)


def _mode(cfg: Config) -> str:
    """Whether the selection metric improves upward ("max") or downward ("min", the validation loss)."""
    return "min" if cfg.train.select_metric == "val_loss" else "max"


def fit(
    cfg: Config,
    run_dir: str | Path | None = None,
    *,
    data_path: str | None = None,
    train: FerDataset | None = None,
    val: FerDataset | None = None,
    resume: bool = False,
    exist_ok: bool = False,
    init_from: str | None = None,
    freeze_features: bool = False,
    quiet: bool = False,
) -> TrainResult:
    """Train `cfg` into `run_dir`; selection of the best epoch uses the validation data only.

    Args:
        cfg: the resolved config (see `ferkit.config.load_config`).
        run_dir: output folder (history.csv, curves.png, config.yaml, best/last checkpoints, state, summary);
            None: runs/<config name>.
        data_path: dataset path, overriding `cfg.data.path`.
        train, val: ready datasets (cross-validation passes its folds) instead of loading `cfg.data`.
        resume: continue from `run_dir/last_state.safetensors` exactly where the last finished epoch ended.
        exist_ok: allow a non-empty run_dir without resuming (starts over).
        init_from: a checkpoint to start from (fine-tuning); the classifier is replaced when labels differ.
        freeze_features: train only the classifier.
        quiet: no progress bars or prints.
    """
    check_config(cfg)  # a Config built in Python skips load_config: name a bad value before any work
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(cfg)
    run = _set_up(cfg, run_dir, data_path, train, val, resume, exist_ok, init_from, freeze_features, quiet)
    state, history = _resume(run) if resume else (RunState(), [])
    if run.main:
        keep_earlier_config(run.run_dir, run.cfg, state.epoch, run.log)
        save_config(run.cfg, run.run_dir / "config.yaml")
    if state.stopped(cfg.train.early_stopping):
        run.log(f"{run.run_dir}: the run already stopped early after epoch {state.epoch}; nothing to resume")
    else:
        _train_epochs(run, state, history)
    summary = finish(run, history, state.best_epoch)
    best_row = next((r for r in history if r["epoch"] == state.best_epoch), {})
    rd = run.run_dir
    return TrainResult(
        rd, rd / "best.safetensors", rd / "last.safetensors", state.best_epoch, best_row, history, summary
    )


def _set_up(cfg, run_dir, data_path, train, val, resume, exist_ok, init_from, freeze, quiet) -> _Run:
    """Device (and DDP), run folder, data, model, optimizer and the epoch tensors, in that order."""
    rank, world = devmod.dist_info()
    device = devmod.pick_device(cfg.train.device)
    if world > 1:
        devmod.init_distributed(device)
    log = (lambda *a: None) if quiet or rank != 0 else print
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick the fastest kernels
    if rank == 0:
        _prepare_run_dir(run_dir, resume, exist_ok)
    if train is None:
        train, val = load_train_val(cfg, data_path, quiet=quiet or rank != 0)
        cfg = with_data_label_mode(cfg, train)
    train = with_second_labels(train, cfg.data, log, quiet=quiet or rank != 0, held_out=val)
    if len(train) == 0 or val is None or len(val) == 0:
        raise TrainingError("the training or validation split is empty")
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg, train.label_space, init_from, freeze, log).to(device)
    if resume:
        cfg = _kept_speed(cfg, run_dir)
    elif world == 1:  # under DDP every rank must run alike: `auto` keeps its fixed rule there
        cfg = resolve_cpu_speed(cfg, model, device, log)
    epochs = _epoch_setup(cfg, model, train, device, rank, world, log)
    plateau = Plateau(cfg.schedule, cfg.optim.lr, _mode(cfg)) if cfg.schedule.name == "plateau" else None
    meta = {
        "train_data": str(data_path or cfg.data.path or train.root),
        "train_n": len(train),
        "val_split": cfg.data.val_split or f"holdout({cfg.data.val_fraction})",
        "val_n": len(val),
        "select_metric": cfg.train.select_metric,
        "config": config_to_dict(cfg),
        **({"init_from": str(init_from)} if init_from else {}),
    }
    return _Run(cfg, run_dir, device, rank, world, log, quiet, model, epochs, val, plateau, meta)


def _kept_speed(cfg: Config, run_dir: Path) -> Config:
    """On resume, `auto` speed settings take the values the run's config.yaml recorded when it started (the
    probe's choice), so the resumed epochs run exactly as the first ones did."""
    import dataclasses

    from ferkit.config import load_config
    from ferkit.errors import ConfigError

    saved_path, t = run_dir / "config.yaml", cfg.train
    if (t.amp != "auto" and t.channels_last != "auto") or not saved_path.is_file():
        return cfg
    try:
        saved = load_config(saved_path).train
    except ConfigError:
        return cfg
    kept = {k: getattr(saved, k) for k in ("amp", "channels_last") if getattr(t, k) == "auto"}
    return dataclasses.replace(cfg, train=dataclasses.replace(t, **kept))


def _epoch_setup(cfg: Config, model, train: FerDataset, device, rank: int, world: int, log) -> TrainSetup:
    """The optimizer, the training tensors on the device and the (compiled, DDP-wrapped) model to call."""
    amp, cl = devmod.use_amp(cfg.train, device), devmod.use_channels_last(cfg.train, device)
    if cl:
        model.to(memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model)
    data = _epoch_data(train, len(train.label_space), cfg, device, log)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device] if device.type == "cuda" else None
        )
    fwd = torch.compile(net) if cfg.train.compile else net
    steps = max(1, len(train) // world // cfg.train.batch_size)
    ema = ema_init(model) if cfg.train.ema > 0 else None
    return TrainSetup(fwd, opt, data, cfg, model.data_config, steps, amp, cl, ema, rank, world)


def _resume(run: _Run) -> tuple[RunState, list[dict]]:
    """Model, optimizer, EMA and schedule state from last_state.safetensors, and the history up to it."""
    info, ema = load_state(
        run.run_dir / "last_state.safetensors", run.model, run.epochs.opt, run.device, run.cfg.model.name
    )
    state = RunState.from_info(info)
    if run.epochs.ema is not None:
        if ema is None:
            run.log("the config enables EMA but the saved run had none: EMA starts from the resumed weights")
        run.epochs.ema = ema or run.epochs.ema
    if run.plateau is not None and state.plateau:
        run.plateau.load_state_dict(state.plateau)
    check_best(run.run_dir, state.best_epoch)
    run.log(f"resuming {run.run_dir} after epoch {state.epoch}")
    return state, read_history(run.run_dir / "history.csv", state.epoch)


def _train_epochs(run: _Run, state: RunState, history: list[dict]) -> None:
    """Epochs from state.epoch to the config's last, or until early stopping; each one saved as it ends."""
    for epoch in range(state.epoch, run.cfg.train.epochs):
        row, eval_model, improved = _one_epoch(run, state, epoch)
        history.append(row)
        if run.main:
            save_epoch(run, state, row, eval_model, improved, history)
            _log_epoch(run, row, improved)
        if state.stopped(run.cfg.train.early_stopping):
            run.log(f"early stopping: no improvement of {run.cfg.train.select_metric} for {state.bad} epochs")
            break


def _one_epoch(run: _Run, state: RunState, epoch: int) -> tuple[dict, torch.nn.Module, bool]:
    """Train and validate epoch `epoch` (0-based); returns (history row, the model validated, improved)."""
    t0, cfg, s = time.perf_counter(), run.cfg, run.epochs
    g = torch.Generator(device=run.device).manual_seed(cfg.train.seed * 100_003 + epoch)
    torch.manual_seed(cfg.train.seed * 100_003 + epoch + 1 + 7919 * run.rank)
    bar = Progress(
        s.steps_per_epoch, f"epoch {epoch + 1}/{cfg.train.epochs}", disable=run.quiet or not run.main
    )
    lr = run.plateau.lr if run.plateau else None
    tr, state.step = train_one_epoch(s, epoch, state.step, g, lr, bar.update)
    bar.close()
    eval_model = with_weights(run.model, s.ema) if s.ema is not None else run.model
    va = validate(
        eval_model, run.val.images, run.val.labels, s.dc, run.device, cfg.train.eval_batch_size, s.amp
    )
    stop_if_diverged(epoch + 1, tr, va, run.run_dir)
    metric = va[cfg.train.select_metric]
    if run.plateau is not None:
        run.plateau.update(metric)
        state.plateau = run.plateau.state_dict()
    improved = state.record(epoch + 1, metric, run.mode)
    return {"epoch": epoch + 1, **tr, **va, "seconds": time.perf_counter() - t0}, eval_model, improved


def _log_epoch(run: _Run, row: dict, improved: bool) -> None:
    run.log(
        f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f} | val loss "
        f"{row['val_loss']:.4f} acc {row['val_acc']:.4f} macro-F1 {row['val_macro_f1']:.4f} | "
        f"{row['images_per_s']:.0f} img/s, {row['seconds']:.1f} s{'  *best*' if improved else ''}"
    )


def _epoch_data(train: FerDataset, n_classes: int, cfg: Config, device, log) -> EpochData:
    """The training images (uint8) and targets as whole tensors on the device, distillation blended in."""
    images = torch.from_numpy(np.ascontiguousarray(train.images)).unsqueeze(1).to(device)
    soft = targets_of(train, n_classes)
    if cfg.train.distill_from:
        soft = distilled_targets(train, soft, cfg, device, log)
    sample_w = class_w = None
    if cfg.train.sampler == "balanced":
        w = balanced_class_weights(train.labels, n_classes)
        sample_w = torch.from_numpy(w[train.labels].astype(np.float32)).to(device)
    if cfg.train.class_weights == "balanced":
        class_w = torch.from_numpy(balanced_class_weights(train.labels, n_classes)).to(device)
    return EpochData(images, torch.from_numpy(soft).to(device), sample_w, class_w)
