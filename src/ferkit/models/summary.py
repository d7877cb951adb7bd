"""Human-readable views of a model: a layer table, an architecture diagram, and the zoo table."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ferkit.errors import FerkitError
from ferkit.models._registry import count_flops, count_params, create_model
from ferkit.models.data_config import DataConfig


def _as_model(name_or_model: str | nn.Module) -> nn.Module:
    return create_model(name_or_model) if isinstance(name_or_model, str) else name_or_model


def _shape(out: object) -> str:
    if isinstance(out, tuple | list) and out:
        out = out[0]
    return "×".join(str(d) for d in out.shape[1:]) if isinstance(out, torch.Tensor) else "-"


def _trace(model: nn.Module, modules: list[tuple[str, nn.Module]]) -> list[tuple[str, nn.Module, str]]:
    """Run one dummy image through `model`; return (name, module, output shape) in first-call order."""
    cfg: DataConfig = getattr(model, "data_config", DataConfig())
    seen: dict[str, tuple[str, nn.Module, str]] = {}

    def hook(name: str):
        def record(module: nn.Module, args: object, out: object) -> None:
            seen.setdefault(name, (name, module, _shape(out)))

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in modules]
    param = next(model.parameters(), None)
    x = torch.zeros(
        1, cfg.channels, cfg.input_size, cfg.input_size, device=param.device if param is not None else "cpu"
    )
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    rows = list(seen.values())
    rows += [(n, m, "-") for n, m in modules if n not in seen]  # modules the forward never called
    return rows


def _own_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters(recurse=False))


def _fmt(n: float) -> str:
    return f"{n:,}" if isinstance(n, int) else f"{n:,.1f}"


def summary_table(name_or_model: str | nn.Module) -> str:
    """A layer table: one row per leaf layer (name, type, output shape, parameters) and totals.

    Args:
        name_or_model: A registered model name (built with default arguments) or a model.

    Returns:
        The table as text, ending with total / trainable parameters and forward MFLOPs per image.
    """
    model = _as_model(name_or_model)
    cfg: DataConfig = getattr(model, "data_config", DataConfig())
    leaves = [(n, m) for n, m in model.named_modules() if n and (not list(m.children()) or _own_params(m))]
    rows = [(n, type(m).__name__, shape, _own_params(m)) for n, m, shape in _trace(model, leaves)]
    header = ("layer", "type", "output", "params")
    widths = [max(len(header[i]), *(len(str(r[i]) if i < 3 else _fmt(r[i])) for r in rows)) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths[:3]) + f"  {{:>{widths[3]}}}"
    title = getattr(model, "model_name", type(model).__name__)
    out = [f"{title}  input 1×{cfg.channels}×{cfg.input_size}×{cfg.input_size}", line.format(*header)]
    out.append("-" * len(out[-1]))
    out += [line.format(n, t, s, _fmt(p)) for n, t, s, p in rows]
    out.append("-" * len(out[2]))
    total = count_params(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    out.append(
        f"total params: {total:,}   trainable: {trainable:,}   forward: {count_flops(model) / 1e6:,.1f} MFLOPs"
    )
    return "\n".join(out)


def top_level_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's top-level blocks: each child, with `nn.Sequential` children expanded one level."""
    blocks: list[tuple[str, nn.Module]] = []
    for name, child in model.named_children():
        if isinstance(child, nn.Sequential) and name == "features":
            blocks += [(f"{name}.{n}", m) for n, m in child.named_children()]
        else:
            blocks.append((name, child))
    return blocks


def _label(name: str, module: nn.Module, shape: str) -> str:
    types = [type(m) for m in module.modules() if not isinstance(m, nn.Sequential | nn.Identity)]
    ferkit_first = sorted(dict.fromkeys(types), key=lambda t: not t.__module__.startswith("ferkit"))
    kinds = [t.__name__ for t in ferkit_first if t is not type(module)]
    detail = f" ({', '.join(kinds[:4])}{', ...' if len(kinds) > 4 else ''})" if kinds else ""
    params = count_params(module)
    return f"{name}: {type(module).__name__}{detail}\nout {shape}   params {params:,}"


def draw_diagram(name_or_model: str | nn.Module, path: str | os.PathLike) -> Path:
    """Draw the architecture as a vertical stack of boxes, one per top-level block, to a PNG (Agg, no pyplot).

    Each box names the block, its layer types, its output shape and its parameter count.

    Args:
        name_or_model: A registered model name or a model.
        path: Destination image (.png; any format matplotlib writes, such as .svg or .pdf, also works).

    Returns:
        The path written.

    Raises:
        FerkitError: A file type matplotlib cannot write, or a path that cannot be written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    path = Path(path)
    kinds = FigureCanvasAgg.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in kinds:
        raise FerkitError(
            f"{path}: a diagram is written as one of {', '.join('.' + k for k in sorted(kinds))}"
        )
    model = _as_model(name_or_model)
    cfg: DataConfig = getattr(model, "data_config", DataConfig())
    rows = _trace(model, top_level_blocks(model))
    labels = [f"input\n{cfg.channels}×{cfg.input_size}×{cfg.input_size}"]
    labels += [_label(n, m, s) for n, m, s in rows]
    step = 1.0
    fig = Figure(figsize=(7.5, 0.9 * len(labels) + 0.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, text in enumerate(labels):
        y = -i * step
        color = "#dde8f5" if i else "#eeeeee"
        ax.add_patch(
            FancyBboxPatch((0.05, y - 0.35), 0.9, 0.7, boxstyle="round,pad=0.02", fc=color, ec="#335")
        )
        ax.text(0.5, y, text, ha="center", va="center", fontsize=8)
        if i:
            ax.annotate(
                "", xy=(0.5, y + 0.37), xytext=(0.5, y + step - 0.37), arrowprops={"arrowstyle": "->"}
            )
    title = getattr(model, "model_name", type(model).__name__)
    ax.set_title(f"{title}: {count_params(model):,} params", fontsize=10)
    ax.set_xlim(0, 1)
    ax.set_ylim(-(len(labels) - 1) * step - 0.5, 0.5)
    ax.axis("off")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
    except OSError as exc:
        raise FerkitError(f"{path}: cannot write the diagram ({exc.strerror or exc})") from None
    return path


def format_model_table(infos: list[dict]) -> str:
    """The zoo table printed by `ferkit models`: name, parameters, forward MFLOPs per image, input size."""
    header = f"{'model':<20} {'params':>12} {'MFLOPs':>10} {'input':>7}"
    lines = [header, "-" * len(header)]
    for info in infos:
        size = f"{info['input_size']}×{info['input_size']}"
        lines.append(f"{info['name']:<20} {info['params']:>12,} {info['mflops']:>10,.1f} {size:>7}")
    return "\n".join(lines)
