"""OpenVINO backend: the same ONNX files as ONNX Runtime (`ferkit export`, the shipped `*.int8.onnx`), run by
OpenVINO's CPU runtime, which uses the CPU's bf16 and int8 units (AVX-512 BF16, VNNI, AMX) where it has them.

An int8 file runs as it is; a float file runs with the bf16 inference-precision hint where the CPU has bf16
units (else f32). Two compiled copies, made on first use: one with the LATENCY performance hint for a few faces
(a video frame), one with the THROUGHPUT hint for batches, whose batch is split over its parallel infer requests.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ferkit.backends.base import BatchedBackend
from ferkit.backends.onnx_backend import read_onnx_meta
from ferkit.errors import ModelError
from ferkit.models.data_config import DataConfig

SMALL_BATCH = 8
"""Batches up to this size run on the LATENCY-compiled model; larger ones on the THROUGHPUT one."""


@functools.cache
def core():
    """The process's one `openvino.Core` (it owns the CPU plugin and its thread pools)."""
    from ferkit._deps import require

    return require("openvino", "the OpenVINO backend").Core()


def cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin reports bf16 units (AVX-512 BF16 or AMX) on this machine."""
    import openvino.properties.device as device

    return "BF16" in core().get_property("CPU", device.capabilities())


def compile_model(model, threads: int = 0, mode: str = "LATENCY", precision: str | None = None):
    """An `openvino.CompiledModel` on the CPU.

    Args:
        model: An `openvino.Model` or a model file path.
        threads: INFERENCE_NUM_THREADS (0: OpenVINO's default, every core).
        mode: PERFORMANCE_HINT, "LATENCY" or "THROUGHPUT".
        precision: INFERENCE_PRECISION_HINT, "bf16" or "f32"; None leaves OpenVINO's choice.
    """
    import openvino as ov
    import openvino.properties as props
    import openvino.properties.hint as hint

    config = {hint.performance_mode(): getattr(hint.PerformanceMode, mode)}
    if threads:
        config[props.inference_num_threads()] = int(threads)
    if precision:
        config[hint.inference_precision()] = {"bf16": ov.Type.bf16, "f32": ov.Type.f32}[precision]
    return core().compile_model(model if not isinstance(model, Path) else str(model), "CPU", config)


def is_int8(model) -> bool:
    """Whether an `openvino.Model` read from ONNX holds quantized operations (QuantizeLinear → FakeQuantize)."""
    return any(op.get_type_name() in ("FakeQuantize", "QuantizeLinear") for op in model.get_ops())


class OpenVinoBackend(BatchedBackend):
    """Runs an ONNX model with OpenVINO on the CPU.

    Args:
        model: The `openvino.Model` read from the file.
        data_config: The model's data config.
        meta: The metadata stored in the file.
        name: Display name.
        threads: CPU threads (0: every core).
        precision: "int8" (the file's own), "bf16" or "f32".
    """

    runtime = "openvino"

    def __init__(
        self,
        model,
        data_config: DataConfig,
        meta: dict | None = None,
        name: str = "openvino",
        threads: int = 0,
        precision: str = "f32",
    ) -> None:
        self.ov_model = model
        self.data_config = data_config
        self.meta = dict(meta or {})
        self.name = name
        self.threads = int(threads)
        self.precision = precision
        self._compiled: dict[str, object] = {}

    @classmethod
    def load(cls, path: str | Path, threads: int = 0, precision: str | None = None) -> OpenVinoBackend:
        """Open an ONNX file written by `ferkit export` (float or int8).

        Args:
            path: The .onnx file.
            threads: CPU threads (INFERENCE_NUM_THREADS; 0: every core).
            precision: "bf16" or "f32" for a float file; None: bf16 where the CPU has bf16 units. An int8 file
                always runs as it is.

        Raises:
            ModelError: Missing or invalid file, or no ferkit metadata.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"ONNX model {path} does not exist")
        try:
            model = core().read_model(str(path))
        except RuntimeError as exc:  # OpenVINO reports unreadable models as RuntimeError
            raise ModelError(f"{path}: not a model OpenVINO can load ({exc})") from None
        cfg, meta = read_onnx_meta(_metadata(model), path)
        if is_int8(model):
            chosen = "int8"
        else:
            chosen = precision or ("bf16" if cpu_has_bf16() else "f32")
        backend = cls(model, cfg, meta, name=path.stem, threads=threads, precision=chosen)
        backend._check_outputs(path)
        return backend

    def __repr__(self) -> str:
        return (
            f"OpenVinoBackend({self.name!r}, runtime='openvino', precision={self.precision!r}, "
            f"threads={self.threads or 'all'})"
        )

    def _check_outputs(self, path: Path) -> None:
        """One logit per label of the metadata, checked at load (as ONNX Runtime's backend does)."""
        s = self.data_config.input_size
        try:
            width = self._forward_array(np.zeros((1, self.data_config.channels, s, s), np.float32)).shape[-1]
        except RuntimeError as exc:
            raise ModelError(f"{path}: the model does not run on a {s}×{s} input ({exc})") from None
        n = len(self.data_config.labels)
        if width != n:
            raise ModelError(
                f"{path}: the model outputs {width} values per face but its metadata names {n} labels"
            )

    def compiled(self, mode: str):
        """The model compiled with PERFORMANCE_HINT `mode` ("LATENCY" or "THROUGHPUT"), made on first use."""
        if mode not in self._compiled:
            precision = None if self.precision == "int8" else self.precision
            self._compiled[mode] = compile_model(self.ov_model, self.threads, mode, precision)
        return self._compiled[mode]

    def _forward(self, x) -> np.ndarray:
        return self._forward_array(x.numpy())

    def _forward_array(self, x: np.ndarray) -> np.ndarray:
        if len(x) <= SMALL_BATCH:
            return self.compiled("LATENCY").create_infer_request().infer({0: x})[0].copy()
        return _split_infer(self.compiled("THROUGHPUT"), x)


def _split_infer(compiled, x: np.ndarray) -> np.ndarray:
    """One batch over the compiled model's optimal number of parallel infer requests, outputs in order."""
    import openvino as ov
    import openvino.properties as props

    jobs = max(1, min(int(compiled.get_property(props.optimal_number_of_infer_requests())), len(x)))
    if jobs == 1:
        return compiled.create_infer_request().infer({0: x})[0].copy()
    parts = np.array_split(x, jobs)
    out: list[np.ndarray | None] = [None] * jobs
    queue = ov.AsyncInferQueue(compiled, jobs)
    queue.set_callback(lambda request, k: out.__setitem__(k, request.get_output_tensor(0).data.copy()))
    for k, part in enumerate(parts):
        queue.start_async({0: np.ascontiguousarray(part)}, userdata=k)
    queue.wait_all()
    return np.concatenate(out)


def _metadata(model) -> dict[str, str]:
    """The ONNX file's metadata_props, which OpenVINO's ONNX reader keeps in rt_info["framework"]."""
    info = model.get_rt_info()
    framework = info["framework"] if "framework" in info else {}
    items = framework.items() if isinstance(framework, dict) else []
    return {key: value.astype(str) if hasattr(value, "astype") else str(value) for key, value in items}
