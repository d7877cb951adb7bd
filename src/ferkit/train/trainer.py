"""`fit()`: the resumable training run — data on the device as whole tensors, batched augmentation, per-epoch
validation, best/last checkpoints, history and curves, exact resume, optional DDP under torchrun."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ferkit.config import Config, check_choices, config_to_dict, save_config, teacher_paths
from ferkit.data import FerDataset
from ferkit.errors import ConfigError, TrainingError
from ferkit.models import save_checkpoint
from ferkit.train import device as devmod
from ferkit.train.build import build_model, make_optimizer
from ferkit.train.data_setup import load_train_val, targets_of
from ferkit.train.distill import blend, check_distill_cfg, teacher_probs
from ferkit.train.ema import ema_init
from ferkit.train.loop import EpochData, train_one_epoch, validate
from ferkit.train.losses import balanced_class_weights
from ferkit.train.progress import Progress
from ferkit.train.run_files import plot_curves, read_history, write_history, write_json
from ferkit.train.schedules import Plateau
from ferkit.train.state import check_best, load_state, save_state


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


def _epoch_data(train: FerDataset, n_classes: int, cfg: Config, device, log) -> EpochData:
    images = torch.from_numpy(np.ascontiguousarray(train.images)).unsqueeze(1).to(device)
    soft = targets_of(train, n_classes)
    t = cfg.train
    if t.distill_from:
        t0 = time.perf_counter()
        teacher_amp = devmod.use_teacher_amp(t, device)
        probs = teacher_probs(
            t.distill_from, train.images, train.label_space, t.distill_temperature, device, teacher_amp
        )
        soft = blend(soft, probs, t.distill_weight)
        agree = float((probs.argmax(1) == train.labels).mean())
        teachers = " + ".join(teacher_paths(t.distill_from))
        log(
            f"distilling from {teachers}: the teacher agrees with {agree:.1%} of the training labels "
            f"(weight {t.distill_weight}, temperature {t.distill_temperature}, {time.perf_counter() - t0:.0f} s)"
        )
    targets = torch.from_numpy(soft).to(device)
    sample_w = class_w = None
    if cfg.train.sampler == "balanced":
        w = balanced_class_weights(train.labels, n_classes)
        sample_w = torch.from_numpy(w[train.labels].astype(np.float32)).to(device)
    elif cfg.train.sampler != "random":
        raise TrainingError(f"train.sampler must be random or balanced, got {cfg.train.sampler!r}")
    if cfg.train.class_weights == "balanced":
        class_w = torch.from_numpy(balanced_class_weights(train.labels, n_classes)).to(device)
    elif cfg.train.class_weights != "none":
        raise TrainingError(f"train.class_weights must be none or balanced, got {cfg.train.class_weights!r}")
    return EpochData(images, targets, sample_w, class_w)


def fit(
    cfg: Config,
    run_dir: str | Path,
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
        run_dir: output folder (history.csv, curves.png, config.yaml, best/last checkpoints, state, summary).
        data_path: dataset path, overriding `cfg.data.path`.
        train, val: ready datasets (cross-validation passes its folds) instead of loading `cfg.data`.
        resume: continue from `run_dir/last_state.safetensors` exactly where the last finished epoch ended.
        exist_ok: allow a non-empty run_dir without resuming (starts over).
        init_from: a checkpoint to start from (fine-tuning); the classifier is replaced when labels differ.
        freeze_features: train only the classifier.
        quiet: no progress bars or prints.
    """
    check_choices(cfg)  # a Config built in Python skips config_from_dict: name a bad value before any work
    rank, world = devmod.dist_info()
    device = devmod.pick_device(cfg.train.device)
    if world > 1:
        devmod.init_distributed(device)
    main = rank == 0
    log = (lambda *a: None) if quiet or not main else print
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick the fastest kernels
    check_distill_cfg(cfg.train, cfg.data.label_mode)
    run_dir = Path(run_dir)
    if main:
        _prepare_run_dir(run_dir, resume, exist_ok)
    if train is None:
        train, val = load_train_val(cfg, data_path, quiet=quiet or not main)
    if len(train) == 0 or val is None or len(val) == 0:
        raise TrainingError("the training or validation split is empty")
    if cfg.data.label_mode == "multi_target" and (cfg.augment.mixup > 0 or cfg.augment.cutmix > 0):
        raise ConfigError(
            "augment.mixup / augment.cutmix do not combine with data.label_mode=multi_target: a blended target "
            "would make either sample's acceptable emotions acceptable for both; set them to 0"
        )
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg, train.label_space, init_from, freeze_features, log).to(device)
    dc, n_classes = model.data_config, len(train.label_space)
    amp, cl = devmod.use_amp(cfg.train, device), devmod.use_channels_last(cfg.train, device)
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model)
    data = _epoch_data(train, n_classes, cfg, device, log)
    bs = cfg.train.batch_size
    steps_per_epoch = max(1, len(train) // world // bs)
    total_steps = steps_per_epoch * cfg.train.epochs
    mode = "min" if cfg.train.select_metric == "val_loss" else "max"
    plateau = Plateau(cfg.schedule, cfg.optim.lr, mode) if cfg.schedule.name == "plateau" else None
    ema = ema_init(model) if cfg.train.ema > 0 else None
    start, step, best, best_epoch, bad = 0, 0, None, 0, 0
    if resume:
        info, ema_state = load_state(run_dir / "last_state.safetensors", model, opt, device, cfg.model.name)
        start, step, best, best_epoch, bad = (
            info["epoch"],
            info["step"],
            info["best"],
            info["best_epoch"],
            info["bad"],
        )
        if ema is not None and ema_state is None:
            log("the config enables EMA but the saved run had none: EMA starts from the resumed weights")
        ema = (ema_state or ema) if ema is not None else None
        if plateau is not None and info.get("plateau"):
            plateau.load_state_dict(info["plateau"])
        check_best(run_dir, best_epoch)
        log(f"resuming {run_dir} after epoch {start}")
    history = read_history(run_dir / "history.csv", start) if resume else []
    if main:
        _keep_earlier_config(run_dir, cfg, start, log)
        save_config(cfg, run_dir / "config.yaml")
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device] if device.type == "cuda" else None
        )
    fwd = torch.compile(net) if cfg.train.compile else net
    train_meta = {
        "train_data": str(data_path or cfg.data.path or train.root),
        "train_n": len(train),
        "val_split": cfg.data.val_split or f"holdout({cfg.data.val_fraction})",
        "val_n": len(val),
        "select_metric": cfg.train.select_metric,
        "config": config_to_dict(cfg),
        **({"init_from": str(init_from)} if init_from else {}),
    }
    epoch = start
    finished = bool(cfg.train.early_stopping and bad >= cfg.train.early_stopping)
    if finished:
        log(f"{run_dir}: the run already stopped early after epoch {start}; nothing to resume")
    for epoch in range(start, start if finished else cfg.train.epochs):
        t0 = time.perf_counter()
        g = torch.Generator(device=device).manual_seed(cfg.train.seed * 100_003 + epoch)
        torch.manual_seed(cfg.train.seed * 100_003 + epoch + 1 + 7919 * rank)
        bar = Progress(steps_per_epoch, f"epoch {epoch + 1}/{cfg.train.epochs}", disable=quiet or not main)
        tr, step = train_one_epoch(
            fwd,
            opt,
            data,
            cfg,
            dc,
            epoch=epoch,
            step=step,
            total_steps=total_steps,
            steps_per_epoch=steps_per_epoch,
            g=g,
            amp=amp,
            channels_last=cl,
            ema=ema,
            lr_override=plateau.lr if plateau else None,
            rank=rank,
            world=world,
            progress=bar.update,
        )
        bar.close()
        eval_model = _with_weights(model, ema) if ema is not None else model
        va = validate(eval_model, val.images, val.labels, dc, device, cfg.train.eval_batch_size, amp)
        _stop_if_diverged(epoch + 1, tr, va, run_dir)
        row = {"epoch": epoch + 1, **tr, **va, "seconds": time.perf_counter() - t0}
        history.append(row)
        metric = va[cfg.train.select_metric]
        improved = best is None or (metric > best if mode == "max" else metric < best)
        if plateau is not None:
            plateau.update(metric)
        best, best_epoch, bad = (metric, epoch + 1, 0) if improved else (best, best_epoch, bad + 1)
        stopping = bool(cfg.train.early_stopping and bad >= cfg.train.early_stopping)
        if main:
            _save_epoch(
                run_dir,
                cfg,
                model,
                eval_model,
                opt,
                ema,
                row,
                improved,
                train_meta,
                {
                    "epoch": epoch + 1,
                    "step": step,
                    "best": best,
                    "best_epoch": best_epoch,
                    "bad": bad,
                    "model_name": cfg.model.name,
                    "plateau": plateau.state_dict() if plateau else None,
                },
                history,
                full=stopping or (epoch + 1) % cfg.train.save_every == 0 or epoch + 1 == cfg.train.epochs,
            )
            log(
                f"epoch {epoch + 1}: train loss {tr['train_loss']:.4f} acc {tr['train_acc']:.4f} | val loss "
                f"{va['val_loss']:.4f} acc {va['val_acc']:.4f} macro-F1 {va['val_macro_f1']:.4f} | "
                f"{tr['images_per_s']:.0f} img/s, {row['seconds']:.1f} s{'  *best*' if improved else ''}"
            )
        if stopping:
            log(f"early stopping: no improvement of {cfg.train.select_metric} for {bad} epochs")
            break
    summary = _finish(run_dir, model, history, best_epoch, cfg, world, main, log)
    best_row = next((r for r in history if r["epoch"] == best_epoch), {})
    return TrainResult(
        run_dir,
        run_dir / "best.safetensors",
        run_dir / "last.safetensors",
        best_epoch,
        best_row,
        history,
        summary,
    )


def _stop_if_diverged(epoch: int, tr: dict, va: dict, run_dir: Path) -> None:
    """A NaN or infinite loss ends the run as a failure, before that epoch's weights are saved."""
    losses = {"training": tr["train_loss"], "validation": va["val_loss"]}
    bad = [name for name, value in losses.items() if not math.isfinite(value)]
    if bad:
        raise TrainingError(
            f"epoch {epoch}: the {bad[0]} loss is {losses[bad[0]]}: the run diverged (a learning rate or "
            f"train.ema too high?); nothing of this epoch was saved, earlier checkpoints in {run_dir} are kept"
        )


def _keep_earlier_config(run_dir: Path, cfg: Config, start: int, log) -> None:
    """A resume with changed settings keeps the earlier recipe as config.until-epoch-<start>.yaml."""
    import yaml

    saved = run_dir / "config.yaml"
    if start == 0 or not saved.is_file():
        return
    try:
        before = yaml.safe_load(saved.read_text())
    except (OSError, yaml.YAMLError):
        before = None
    if before == yaml.safe_load(yaml.safe_dump(config_to_dict(cfg), sort_keys=False)):
        return
    kept = run_dir / f"config.until-epoch-{start}.yaml"
    saved.replace(kept)
    log(f"the config changed on resume: the settings of epochs up to {start} are kept in {kept.name}")


def _with_weights(model, ema: dict):
    """A copy of the model carrying the EMA weights (for validation and the best checkpoint)."""
    import copy

    twin = copy.deepcopy(model)
    twin.load_state_dict(ema)
    return twin


def _save_epoch(
    run_dir, cfg, model, eval_model, opt, ema, row, improved, train_meta, info, history, full=True
) -> None:
    """History always; best checkpoint on improvement; last checkpoint, state and curves when `full`.

    The history is written first: a state never runs ahead of it, so an interrupted save cannot leave a hole
    (a resume from an older state drops the rows after that state's epoch and trains them again).
    """
    dtype = torch.float16 if cfg.train.checkpoint_dtype == "float16" else None
    meta = {
        **train_meta,
        "epoch": row["epoch"],
        "metrics": {k: row[k] for k in ("val_loss", "val_acc", "val_macro_f1")},
    }
    try:
        write_history(run_dir / "history.csv", history)
        if improved:
            save_checkpoint(run_dir / "best.safetensors", eval_model, meta, dtype=dtype)
        if full:
            save_checkpoint(run_dir / "last.safetensors", eval_model, meta, dtype=dtype)
            save_state(run_dir / "last_state.safetensors", model, opt, ema, info)
            plot_curves(run_dir / "curves.png", history, f"{cfg.name}: {cfg.model.name}")
    except OSError as exc:  # a full disk: every write is atomic, so the files of earlier epochs are whole
        raise TrainingError(
            f"epoch {row['epoch']}: cannot save {exc.filename or run_dir} ({exc.strerror or exc}); training "
            f"stopped, the files of earlier epochs are kept: free some space and continue with --resume"
        ) from None


def _finish(run_dir: Path, model, history, best_epoch, cfg, world, main, log) -> dict:
    best = next((r for r in history if r["epoch"] == best_epoch), {})
    summary = {
        "name": cfg.name,
        "model": cfg.model.name,
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "best": best,
        "seconds": sum(r["seconds"] for r in history),
        "world_size": world,
    }
    if world > 1:
        import torch.distributed as dist

        flat = torch.cat([p.detach().float().flatten() for p in model.parameters()])
        gathered = [torch.zeros_like(flat) for _ in range(world)]
        dist.all_gather(gathered, flat)
        summary["ddp_max_weight_diff"] = max(float((g - gathered[0]).abs().max()) for g in gathered)
    if main:
        write_json(run_dir / "summary.json", summary)
        if best:
            log(
                f"best epoch {best_epoch}: val acc {best['val_acc']:.4f}, macro-F1 {best['val_macro_f1']:.4f} "
                f"({cfg.train.select_metric}); checkpoints in {run_dir}"
            )
    return summary
