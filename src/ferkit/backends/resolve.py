"""The one place that turns a model argument into a backend: None, a shipped name, a `.safetensors` checkpoint, an
`.onnx` file, an `nn.Module` or a ready backend. predict, evaluate, export and serve all resolve through here, so
the same bad `--model` gets the same message everywhere. `resolve_model_path` is also the one name-to-file rule:
the checkpoint reader finds shipped weights through it.

A shipped name prefers the shipped int8 ONNX model (`<name>.int8.onnx`, written by `ferkit export --int8` and
shipped only when it is within 0.3 points of the float model's accuracy) when ONNX Runtime is installed, the
device is the CPU and the CPU has VNNI (the int8 accuracy was measured there; on x86 CPUs without it, ONNX
Runtime's uint8×int8 kernels can saturate, and other processors are not measured); otherwise it is the PyTorch
weights (`<name>.safetensors`).

An ONNX file on the CPU runs on the fastest installed runtime that agrees with ONNX Runtime (`choose.py`:
measured once per file and machine, then cached); `backend=` forces one: "torch", "onnxruntime" or "openvino".
"""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
from pathlib import Path

from ferkit.errors import ModelError, did_you_mean
from ferkit.weights import DEFAULT_MODEL, WEIGHTS_DIR, is_model_name, shipped_file, shipped_models

INT8_SUFFIX = ".int8.onnx"
BACKENDS = ("auto", "torch", "onnxruntime", "openvino")
"""What `backend=` (`--backend`) accepts: auto picks the fastest installed runtime that agrees with the reference."""


def weights_dir() -> Path:
    """The folder of shipped weights: `ferkit/weights/` (a function so tests can point it elsewhere)."""
    return WEIGHTS_DIR


def _onnxruntime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


@functools.cache
def cpu_has_vnni() -> bool:
    """Whether this is an x86-64 CPU with AVX-512 VNNI or AVX-VNNI (read from /proc/cpuinfo; False elsewhere)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((line.split(":", 1)[1].split() for line in fh if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


def resolve_model_path(
    model: str | os.PathLike | None,
    prefer_int8: bool = False,
    suffixes: tuple[str, ...] = (".safetensors", ".onnx"),
) -> Path:
    """The file a model argument names: an existing path, or a shipped model name such as "default" (the first of
    its `<name><suffix>` files that exists; its shipped `.int8.onnx` file first when `prefer_int8` and the CPU
    has VNNI).

    Raises:
        ModelError: No such file, or no shipped weights of that name (the message names the file looked for).
    """
    name = DEFAULT_MODEL if model is None else model
    path = Path(name).expanduser()
    if path.is_file():
        return path
    if not is_model_name(name):
        raise ModelError(f"model file {path} does not exist")
    if prefer_int8 and cpu_has_vnni():
        suffixes = (INT8_SUFFIX, *suffixes)
    shipped = shipped_file(name, suffixes, weights_dir())
    if shipped is None:
        raise ModelError(_no_shipped_model(str(name)))
    return shipped


def _no_shipped_model(text: str) -> str:
    have = shipped_models() if weights_dir() == WEIGHTS_DIR else []
    msg = (
        f"no shipped model {text!r}{did_you_mean(text, have)}: {weights_dir() / (text + '.safetensors')} is not "
        "installed "
        f"(shipped models here: {', '.join(have) if have else 'none'}). "
        "Pass a trained checkpoint or an ONNX file instead, e.g. ferkit.load('runs/x/best.safetensors') "
        "or `ferkit predict PHOTO --model runs/x/best.safetensors`."
    )
    from ferkit.models import list_models

    if text in list_models():
        msg += f" ({text!r} is an architecture without shipped weights: ferkit.load(create_model({text!r})) runs it untrained.)"
    return msg


def load_backend(
    model: object = None, device: str = "cpu", threads: int | None = None, backend: str = "auto"
):
    """A Backend for a model argument: None / shipped name / checkpoint / .onnx path / nn.Module / Backend.

    Args:
        model: What to load (see `ferkit.load`).
        device: "cpu", "cuda", "cuda:N" (PyTorch, or ONNX Runtime's CUDA provider) or "mps".
        threads: CPU threads inference may use (torch intra-op threads, ONNX Runtime intra-op threads, OpenVINO
            inference threads); None leaves the libraries' defaults (one per core).
        backend: "auto" (an ONNX file on the CPU: the fastest installed runtime that agrees with ONNX Runtime),
            or "torch", "onnxruntime", "openvino" to force one (a shipped name then picks the file that runtime
            reads).

    Raises:
        ModelError: The model cannot be found or loaded (the message names the file), the device is not
            available, or the forced backend cannot run this model or is not installed (naming the extra).
    """
    backend = check_backend(backend)
    device = check_device(device, torch_needed=False)  # the name now; PyTorch's CUDA only where torch runs it
    if threads is not None:
        set_torch_threads(threads)
    from ferkit.backends.torch_backend import TorchBackend

    if hasattr(model, "logits") and hasattr(model, "data_config"):
        return model  # already a backend
    if model is not None and not isinstance(model, str | os.PathLike):
        import torch

        if isinstance(model, torch.nn.Module):
            _torch_only(backend, "a PyTorch module")
            return TorchBackend(model, check_device(device))
        raise ModelError(f"model of type {type(model).__name__} is not a path, name, nn.Module or backend")
    path = load_backend_path(model, device, backend)
    if path.suffix.lower() == ".onnx":
        loaded = _load_onnx(path, device, threads or 0, backend)
    else:
        _torch_only(
            backend, f"{path} (a PyTorch checkpoint; `ferkit export --model {path}` writes an ONNX file)"
        )
        loaded = TorchBackend.load(path, check_device(device))
    if path.parent == weights_dir():
        loaded.name = path.name.rsplit(".", 1)[0]  # "default", or "default.int8" for the shipped int8 model
    return loaded


def load_backend_path(model: str | os.PathLike | None, device: str = "cpu", backend: str = "auto") -> Path:
    """The file `load_backend` opens for a path or name on `device` with `backend`."""
    return resolve_model_path(model, prefer_int8=_wants_int8(str(device), check_backend(backend)))


def check_backend(backend: str | None) -> str:
    """The backend name ("onnx" is read as "onnxruntime"), or ModelError naming the choices."""
    name = {"onnx": "onnxruntime", None: "auto"}.get(backend, backend)
    if name not in BACKENDS:
        raise ModelError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    return name


def _wants_int8(device: str, backend: str) -> bool:
    """Whether a shipped name should look for its int8 ONNX file first: on the CPU, for a forced ONNX runtime,
    or for auto where ONNX Runtime (the reference the int8 file was measured with) is installed."""
    if device != "cpu" or backend == "torch":
        return False
    return backend != "auto" or _onnxruntime_installed()


def _torch_only(backend: str, what: str) -> None:
    if backend not in ("auto", "torch"):
        raise ModelError(f"backend {backend!r} runs ONNX files; {what} runs on torch")


def _load_onnx(path: Path, device: str, threads: int, backend: str):
    """An ONNX file on the forced runtime; for auto, ONNX Runtime on a GPU, else the fastest runtime that agrees."""
    if backend == "torch":
        raise ModelError(
            f"backend 'torch' runs PyTorch checkpoints; {path} is an ONNX file (onnxruntime, openvino)"
        )
    if backend == "openvino":
        if device != "cpu":
            raise ModelError(f"backend 'openvino' runs on the cpu, not {device!r}")
        from ferkit.backends.openvino_backend import OpenVinoBackend  # optional dependency: openvino

        return OpenVinoBackend.load(path, threads=threads)
    if backend == "auto" and device == "cpu":
        from ferkit.backends.choose import choose_runtime

        return choose_runtime(path, threads)[1]
    from ferkit.backends.onnx_backend import OnnxBackend  # optional dependency: onnxruntime

    return OnnxBackend.load(path, threads=threads, device=device)


def check_device(device, torch_needed: bool = True) -> str:
    """The device name, or ModelError when it is not one or (`torch_needed`) PyTorch cannot use it here. An ONNX
    model on "cuda" needs ONNX Runtime's CUDA provider instead (checked when its session opens)."""
    import re

    name = str(device or "cpu")
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", name):
        raise ModelError(f"device {name!r} is not a device; use cpu, cuda, cuda:N or mps")
    if name.startswith("cuda") and torch_needed:
        import torch

        if not torch.cuda.is_available():
            raise ModelError(
                f"device {name!r}: CUDA is not available here (no GPU, or a CPU build of PyTorch)"
            )
    return name


def set_torch_threads(threads: int) -> None:
    """torch's intra-op thread count (process-wide): a worker that owns N cores uses N threads, never more."""
    if int(threads) < 1:
        raise ModelError(f"threads must be at least 1, got {threads}")
    import torch

    torch.set_num_threads(int(threads))
