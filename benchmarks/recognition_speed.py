"""Emotion-step speed of `benchmarks.recognition`: faces/s of `backend.logits` on uint8 face crops, per backend
(PyTorch, and per ONNX runtime the float export and the shipped int8 file, and `ferkit.load`'s own pick)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def _rate(fn, items: int, seconds: float) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < min(1.0, seconds):  # warm-up: first-use compiles, caches, clock ramp
        fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n * items / (time.perf_counter() - t0)


def bench_speed(backends: dict, seconds: float) -> str:
    rows = ["| backend | batch 1 (faces/s) | batch 64 (faces/s) |", "|---|---|---|"]
    for name, backend in backends.items():
        s = backend.data_config.image_size
        rates = []
        for batch in (1, 64):
            crops = np.random.default_rng(0).integers(0, 256, (batch, s, s), dtype=np.uint8)
            rates.append(_rate(lambda c=crops, b=backend: b.logits(c), batch, seconds))
        rows.append(f"| {name} | {rates[0]:,.0f} | {rates[1]:,.0f} |")
    return "\n".join(rows)


def emotion_backends(model, spec: str, runtimes: list[str], tmp: Path, threads: int | None) -> dict:
    """{label: backend}: torch, then per ONNX runtime its float export and the shipped int8 file, then `auto`."""
    from ferkit.backends import TorchBackend, load_backend
    from ferkit.backends.choose import installed_runtimes
    from ferkit.backends.resolve import weights_dir
    from ferkit.export import export_onnx

    backends = {"torch": TorchBackend(model)} if "torch" in runtimes else {}
    files = {"float ONNX": export_onnx(model, tmp / "model.onnx")}
    if (weights_dir() / f"{spec}.int8.onnx").is_file():
        files["int8 (shipped)"] = weights_dir() / f"{spec}.int8.onnx"
    for runtime in (r for r in ("onnxruntime", "openvino") if r in runtimes and r in installed_runtimes()):
        for what, path in files.items():
            backends[f"{runtime}, {what}"] = load_backend(path, "cpu", threads, backend=runtime)
    if "auto" in runtimes:
        auto = load_backend(spec, "cpu", threads)
        backends[f"auto: {auto.name} on {auto.runtime}"] = auto
    return backends
