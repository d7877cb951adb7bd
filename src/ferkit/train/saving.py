"""What a training run writes as it goes and when it ends: the history, best and last checkpoints, resumable
state and curves after each epoch, the earlier recipe on a changed resume, and summary.json; and the stop of a
diverged run before anything of its epoch is saved."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ferkit.config import Config, config_to_dict
from ferkit.errors import TrainingError
from ferkit.models import save_checkpoint
from ferkit.train.run_files import plot_curves, write_history, write_json
from ferkit.train.state import RunState, save_state

if TYPE_CHECKING:
    from ferkit.train.trainer import _Run as Run


def stop_if_diverged(epoch: int, tr: dict, va: dict, run_dir: Path) -> None:
    """A NaN or infinite loss ends the run as a failure, before that epoch's weights are saved."""
    losses = {"training": tr["train_loss"], "validation": va["val_loss"]}
    bad = [name for name, value in losses.items() if not math.isfinite(value)]
    if bad:
        raise TrainingError(
            f"epoch {epoch}: the {bad[0]} loss is {losses[bad[0]]}: the run diverged (a learning rate or "
            f"train.ema too high?); nothing of this epoch was saved, earlier checkpoints in {run_dir} are kept"
        )


def keep_earlier_config(run_dir: Path, cfg: Config, start: int, log) -> None:
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


def with_weights(model, ema: dict):
    """A copy of the model carrying the EMA weights (for validation and the best checkpoint)."""
    import copy

    twin = copy.deepcopy(model)
    twin.load_state_dict(ema)
    return twin


def save_epoch(run: Run, state: RunState, row: dict, eval_model, improved: bool, history: list[dict]) -> None:
    """History always; best checkpoint on improvement; last checkpoint, state and curves on a full save (every
    train.save_every epochs, the last epoch and an early stop).

    The history is written first: a state never runs ahead of it, so an interrupted save cannot leave a hole
    (a resume from an older state drops the rows after that state's epoch and trains them again).
    """
    cfg, rd = run.cfg, run.run_dir
    epoch = row["epoch"]
    full = (
        state.stopped(cfg.train.early_stopping)
        or epoch % cfg.train.save_every == 0
        or epoch == cfg.train.epochs
    )
    dtype = torch.float16 if cfg.train.checkpoint_dtype == "float16" else None
    meta = {
        **run.meta,
        "epoch": epoch,
        "metrics": {k: row[k] for k in ("val_loss", "val_acc", "val_macro_f1")},
    }
    try:
        write_history(rd / "history.csv", history)
        if improved:
            save_checkpoint(rd / "best.safetensors", eval_model, meta, dtype=dtype)
        if full:
            save_checkpoint(rd / "last.safetensors", eval_model, meta, dtype=dtype)
            save_state(
                rd / "last_state.safetensors",
                run.model,
                run.epochs.opt,
                run.epochs.ema,
                state.to_info(cfg.model.name),
            )
            plot_curves(rd / "curves.png", history, f"{cfg.name}: {cfg.model.name}")
    except OSError as exc:  # a full disk: every write is atomic, so the files of earlier epochs are whole
        raise TrainingError(
            f"epoch {epoch}: cannot save {exc.filename or rd} ({exc.strerror or exc}); training "
            f"stopped, the files of earlier epochs are kept: free some space and continue with --resume"
        ) from None


def finish(run: Run, history: list[dict], best_epoch: int) -> dict:
    """summary.json (and, under DDP, a check that every rank ended with the same weights)."""
    best = next((r for r in history if r["epoch"] == best_epoch), {})
    cfg = run.cfg
    summary = {
        "name": cfg.name,
        "model": cfg.model.name,
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "best": best,
        "seconds": sum(r["seconds"] for r in history),
        "world_size": run.world,
    }
    if run.world > 1:
        import torch.distributed as dist

        flat = torch.cat([p.detach().float().flatten() for p in run.model.parameters()])
        gathered = [torch.zeros_like(flat) for _ in range(run.world)]
        dist.all_gather(gathered, flat)
        summary["ddp_max_weight_diff"] = max(float((g - gathered[0]).abs().max()) for g in gathered)
    if run.main:
        write_json(run.run_dir / "summary.json", summary)
        if best:
            run.log(
                f"best epoch {best_epoch}: val acc {best['val_acc']:.4f}, macro-F1 {best['val_macro_f1']:.4f} "
                f"({cfg.train.select_metric}); checkpoints in {run.run_dir}"
            )
    return summary
