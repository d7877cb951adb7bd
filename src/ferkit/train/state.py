"""Training state for exact resumption, without pickle: model, optimizer and EMA tensors in one safetensors
file, everything else (epoch, step, best metric, plateau state, param groups) as JSON in its header."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from ferkit._atomic import atomic_path
from ferkit.errors import TrainingError, first_line
from ferkit.models.checkpoint import save_safetensors


@dataclass
class RunState:
    """Where a run stands after `epoch` finished epochs: what a resume needs besides the tensors.

    `best` is the selection metric's best value (None before the first epoch), `bad` the epochs since it last
    improved (early stopping), `plateau` the reduce-on-plateau schedule's state.
    """

    epoch: int = 0
    step: int = 0
    best: float | None = None
    best_epoch: int = 0
    bad: int = 0
    plateau: dict | None = None

    def record(self, epoch: int, metric: float, mode: str) -> bool:
        """Count finished epoch `epoch` with its selection metric; True when it is the new best."""
        improved = self.best is None or (metric > self.best if mode == "max" else metric < self.best)
        self.epoch = epoch
        if improved:
            self.best, self.best_epoch, self.bad = metric, epoch, 0
        else:
            self.bad += 1
        return improved

    def stopped(self, patience: int) -> bool:
        """True once early stopping (patience epochs without improvement; 0 = off) has ended the run."""
        return bool(patience and self.bad >= patience)

    def to_info(self, model_name: str) -> dict:
        """The JSON part of last_state.safetensors."""
        return {**dataclasses.asdict(self), "model_name": model_name}

    @classmethod
    def from_info(cls, info: dict) -> RunState:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in info.items() if k in names})


def save_state(
    path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, ema: dict | None, info: dict
) -> None:
    """Write the state atomically: a failed write (disk full) leaves the previous file intact."""
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    sd = opt.state_dict()
    for idx, st in sd["state"].items():
        for name, value in st.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{name}"] = value.detach().contiguous()
    if ema is not None:
        tensors.update({f"ema.{k}": v.contiguous() for k, v in ema.items()})
    groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    header = {"ferkit_state": json.dumps({**info, "param_groups": groups})}
    tensors = {k: (v.clone() if _shares(v, tensors) else v) for k, v in tensors.items()}
    try:
        with atomic_path(path) as tmp:
            save_safetensors({k: v.cpu() for k, v in tensors.items()}, tmp, header)
    except OSError as exc:
        raise TrainingError(
            f"{path}: could not write the training state ({exc.strerror or exc}); "
            f"the previous checkpoint is kept"
        ) from None


def _shares(v: torch.Tensor, tensors: dict) -> bool:
    return sum(1 for t in tensors.values() if t.data_ptr() == v.data_ptr() and t.numel()) > 1


def load_state(
    path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, device, model_name: str | None = None
) -> tuple[dict, dict | None]:
    """Restore model and optimizer from a state file; returns (info, ema tensors or None).

    Raises:
        TrainingError: a damaged file, or a run that does not fit this model, optimizer or frozen layers (the
            message says to resume with the run's own config and flags).
    """
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            info = json.loads(f.metadata()["ferkit_state"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises several types for a damaged file
        raise TrainingError(f"{path}: cannot read the training state ({exc})") from None
    own = (
        f"resume with the run's own config (-c {path.parent / 'config.yaml'}) and the same --freeze-features"
    )
    if model_name is not None and info.get("model_name") != model_name:
        raise TrainingError(
            f"{path.parent}: the run trained {info.get('model_name')!r}, the config says {model_name!r}; {own}"
        )
    state: dict = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, idx, name = k.split(".", 2)
            state.setdefault(int(idx), {})[name] = v.to(device) if name != "step" else v
    groups = info.pop("param_groups")
    try:
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        saved_keys = {k for g in groups for k in g if k != "params"}
        own_keys = {k for g in opt.param_groups for k in g if k != "params"}
        if saved_keys != own_keys:  # another optimizer: loading would only fail at its first step
            raise ValueError(
                f"the run used another optimizer (settings {', '.join(sorted(saved_keys - own_keys))})"
            )
        opt.load_state_dict({"state": state, "param_groups": groups})
    except (RuntimeError, ValueError, KeyError) as exc:
        raise TrainingError(
            f"{path}: the saved run does not fit this model or optimizer ({first_line(exc)}); {own}"
        ) from None
    ema = {k[4:]: v.to(device) for k, v in tensors.items() if k.startswith("ema.")} or None
    return info, ema


def check_best(run_dir: Path, best_epoch: int) -> None:
    """Before a resume: the run's best checkpoint must be readable, or its best weights would be silently lost.

    Raises:
        TrainingError: best.safetensors is missing or damaged (naming it).
    """
    from ferkit.errors import ModelError
    from ferkit.models.checkpoint import read_checkpoint_meta, read_tensors

    path = run_dir / "best.safetensors"
    if best_epoch < 1:
        return
    if not path.is_file():
        raise TrainingError(
            f"{path} is missing: the best weights (epoch {best_epoch}) are lost; restore the file, or start the "
            "run again with --exist-ok"
        )
    try:
        read_checkpoint_meta(path)
        read_tensors(path)
    except ModelError as exc:
        raise TrainingError(
            f"{path} is damaged ({first_line(exc)}): the best weights (epoch {best_epoch}) are lost; restore the "
            "file, or start the run again with --exist-ok"
        ) from None
