"""The model registry: the single source of truth for which models exist.

`@register_model("name", input_size=..., ...)` on a factory makes a model exist: `create_model` builds it,
`list_models` lists it, `ferkit models` prints it, and the tests parametrise over it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from ferkit.errors import ModelError, did_you_mean
from ferkit.labels import FER7, LabelSpace
from ferkit.models.data_config import FACE_SIZE, FER_MEAN, FER_STD, DataConfig

Factory = Callable[..., nn.Module]

# Keyword arguments of create_model that change the data config rather than the network.
_CONFIG_KWARGS = ("input_size", "image_size")


@dataclass(frozen=True)
class _Entry:
    factory: Factory
    data_config: DataConfig


_REGISTRY: dict[str, _Entry] = {}


def register_model(
    name: str,
    *,
    input_size: int = FACE_SIZE,
    image_size: int = FACE_SIZE,
    channels: int = 1,
    mean: tuple[float, ...] = FER_MEAN,
    std: tuple[float, ...] = FER_STD,
) -> Callable[[Factory], Factory]:
    """Decorator registering a model factory under `name`, with its default data config.

    The factory is called as `fn(num_classes=7, labels=None, **kw)` and returns an `nn.Module` producing
    N×num_classes logits (a `FerNet` in this package).

    Args:
        name: Registry name, e.g. "resnet18_fer".
        input_size: Side of the network input.
        image_size: Side face crops are resized to before the (center or random) crop to `input_size`.
        channels: Input channels.
        mean: Normalisation mean on the [0, 1] scale.
        std: Normalisation standard deviation on the [0, 1] scale.
    """
    cfg = DataConfig(input_size=input_size, image_size=image_size, channels=channels, mean=mean, std=std)

    def decorator(fn: Factory) -> Factory:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = _Entry(fn, cfg)
        return fn

    return decorator


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    return sorted(_REGISTRY)


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        names = list_models()
        raise ModelError(
            f"unknown model {name!r}{did_you_mean(name, names)}; known models: {', '.join(names)}"
        )
    return _REGISTRY[name]


def default_data_config(name: str) -> DataConfig:
    """The data config a registered model is built with by default (labels FER7)."""
    return _entry(name).data_config


def create_model(name: str, labels: LabelSpace | Sequence[str] | None = None, **kw: object) -> nn.Module:
    """Build a registered model with fresh weights.

    Args:
        name: A name from `list_models()`.
        labels: Label space of the outputs (or a list of class names); FER7 when None. The number of outputs
            is `len(labels)`.
        **kw: Factory keyword arguments (e.g. `attention="se"`, `drop_rate=0.3`); `input_size` and `image_size`
            override the default data config instead.

    Returns:
        The model, with attributes `data_config` (DataConfig), `model_name` (str) and `model_kwargs` (the
        keyword arguments given here, enough to rebuild it with `create_model(name, labels, **model_kwargs)`).

    Raises:
        ModelError: Unknown name (with close matches and the full list) or bad keyword arguments.
    """
    entry = _entry(name)
    if labels is None:
        labels = FER7
    elif not isinstance(labels, LabelSpace):
        labels = LabelSpace.from_names(list(labels))
    cfg_over = {k: int(kw.pop(k)) for k in _CONFIG_KWARGS if k in kw}  # type: ignore[call-overload]
    if "input_size" in cfg_over and "image_size" not in cfg_over:
        cfg_over["image_size"] = max(cfg_over["input_size"], entry.data_config.image_size)
    cfg = replace(entry.data_config, labels=labels, **cfg_over)
    try:
        inspect.signature(entry.factory).bind(num_classes=len(labels), labels=labels, **kw)
    except TypeError as exc:
        raise ModelError(f"model {name!r}: bad arguments {sorted(kw)}: {exc}") from None
    model = entry.factory(num_classes=len(labels), labels=labels, **kw)
    model.data_config = cfg
    model.model_name = name
    model.model_kwargs = {**kw, **cfg_over}
    return model


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, input_size: int | None = None, channels: int | None = None) -> int:
    """Forward FLOPs of `model` for one image, counted by `torch.utils.flop_counter.FlopCounterMode`.

    FLOPs = 2 × multiply-accumulates of convolutions and matrix products; element-wise work (batch-norm,
    activations, pooling) is not counted. The model is run once in eval mode on a zero image.
    """
    from torch.utils.flop_counter import FlopCounterMode

    cfg: DataConfig = getattr(model, "data_config", DataConfig())
    size = input_size or cfg.input_size
    param = next(model.parameters(), None)
    x = torch.zeros(
        1, channels or cfg.channels, size, size, device=param.device if param is not None else "cpu"
    )
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


@functools.cache
def _info(name: str) -> tuple[int, float, int]:
    model = create_model(name)
    return count_params(model), round(count_flops(model) / 1e6, 2), model.data_config.input_size


def model_info(name: str) -> dict:
    """Size and cost of a registered model with its default arguments and FER7 labels.

    Returns:
        `{"name", "params", "mflops", "input_size"}`: parameter count; forward MFLOPs for ONE image at
        `input_size` (FLOPs = 2 × multiply-accumulates, convolutions and matrix products only, counted with
        `torch.utils.flop_counter.FlopCounterMode`); the network's input side.
    """
    _entry(name)  # raises ModelError for an unknown name
    params, mflops, input_size = _info(name)
    return {"name": name, "params": params, "mflops": mflops, "input_size": input_size}
