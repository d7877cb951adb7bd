"""What `ferkit models` says about the shipped models here: the file `ferkit.load(name)` opens on the CPU and the
runtime that runs it, read from the choice cache (nothing is measured: that happens at the first load)."""

from __future__ import annotations

from pathlib import Path


def runtime_line(path: Path, threads: int = 0) -> str:
    """The runtime a model file runs on here, e.g. "openvino (... measured)" or "torch"."""
    if path.suffix != ".onnx":
        return "torch"
    from ferkit.backends.choose import cached_choice, installed_runtimes

    runtimes = installed_runtimes()
    if len(runtimes) <= 1:
        return f"{runtimes[0] if runtimes else 'onnxruntime (not installed)'}"
    choice = cached_choice(path, threads)
    if choice is None:
        return f"{' or '.join(runtimes)}: the faster that agrees, measured at the first load"
    return choice.describe()


def shipped_backends_table(threads: int = 0) -> str:
    """One line per shipped model: name, the file `ferkit.load(name)` opens on the CPU, and its runtime."""
    from ferkit.backends.resolve import load_backend_path
    from ferkit.weights import shipped_models

    rows = ["shipped models on this machine (ferkit.load(name) on the CPU, default threads):"]
    for name in shipped_models():
        path = load_backend_path(name)
        rows.append(f"  {name:<10} {path.name:<22} {runtime_line(path, threads)}")
    return "\n".join(rows)
