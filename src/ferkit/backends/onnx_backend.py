"""ONNX Runtime backend: an exported model (`ferkit export`) with the same `logits` and TTA as PyTorch.

The data config, labels and checkpoint metadata come from the ONNX file's metadata (written by
`ferkit.export.export_onnx`), so `load("model.onnx")` needs nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ferkit.backends.base import BatchedBackend
from ferkit.errors import ModelError
from ferkit.models.data_config import DataConfig

META_KEY = "ferkit"
"""metadata_props key holding the checkpoint-style metadata JSON (model name, data config, labels, ...)."""


def read_onnx_meta(props: dict[str, str], path: str | Path) -> tuple[DataConfig, dict]:
    """(data config, metadata dict) from an ONNX model's metadata_props.

    Raises:
        ModelError: No ferkit metadata, or malformed (the message names the file).
    """
    try:
        if META_KEY in props:
            meta = json.loads(props[META_KEY])
            cfg_dict = meta["data_config"]
        elif "data_config" in props:
            cfg_dict = json.loads(props["data_config"])
            meta = {"data_config": cfg_dict}
        else:
            raise ModelError(f"{path}: no ferkit metadata (export it with `ferkit export`)")
        return DataConfig.from_dict(cfg_dict), meta
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: ferkit metadata is malformed ({exc})") from None


class OnnxBackend(BatchedBackend):
    """Runs an exported model with ONNX Runtime on CPU.

    Args:
        session: An `onnxruntime.InferenceSession` with one N×C×H×W float input and N×classes logits output.
        data_config: The model's data config.
        meta: The metadata stored in the file.
        name: Display name.
    """

    runtime = "onnxruntime"

    def __init__(
        self, session, data_config: DataConfig, meta: dict | None = None, name: str = "onnx"
    ) -> None:
        self.session = session
        self.data_config = data_config
        self.meta = dict(meta or {})
        self.name = name
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name

    @classmethod
    def load(cls, path: str | Path, threads: int = 0, device: str = "cpu") -> OnnxBackend:
        """Open an ONNX file written by `ferkit export`.

        Args:
            path: The .onnx file.
            threads: Intra-op threads of ONNX Runtime (0: its default, one per core).
            device: "cpu", or "cuda" / "cuda:N" for ONNX Runtime's CUDA provider (onnxruntime-gpu).

        Raises:
            ModelError: Missing or invalid file, no ferkit metadata, or a CUDA device without the CUDA provider.
        """
        from ferkit._deps import require

        ort = require("onnxruntime", "the ONNX backend")
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"ONNX model {path} does not exist")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)
        opts.log_severity_level = 3
        providers = _providers(ort, str(device))  # a missing CUDA provider is its own message
        try:
            session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise ModelError(f"{path}: not a model ONNX Runtime can load ({exc})") from None
        if str(device).startswith("cuda") and session.get_providers()[0] != "CUDAExecutionProvider":
            raise ModelError(
                f"{path}: ONNX Runtime could not start its CUDA provider (it would run on the CPU)"
            )
        cfg, meta = read_onnx_meta(session.get_modelmeta().custom_metadata_map, path)
        backend = cls(session, cfg, meta, name=path.stem)
        backend._check_outputs(path)
        return backend

    def _check_outputs(self, path: Path) -> None:
        """The output must have one logit per label of the metadata: refuse a mismatch at load, not at first use."""
        shape = self.session.get_outputs()[0].shape
        width = shape[-1] if shape and isinstance(shape[-1], int) else None
        if width is None:  # a symbolic class dimension: ask the model itself
            s = self.data_config.input_size
            probe = np.zeros((1, self.data_config.channels, s, s), np.float32)
            try:
                width = self.session.run([self._output], {self._input: probe})[0].shape[-1]
            except Exception as exc:  # onnxruntime raises its own exception types
                raise ModelError(f"{path}: the model does not run on a {s}×{s} input ({exc})") from None
        n = len(self.data_config.labels)
        if width != n:
            raise ModelError(
                f"{path}: the model outputs {width} values per face but its metadata names {n} labels "
                f"({', '.join(self.data_config.labels.names)})"
            )

    def __repr__(self) -> str:
        return (
            f"OnnxBackend({self.name!r}, runtime='onnxruntime', providers={self.session.get_providers()[:1]})"
        )

    def _forward(self, x) -> np.ndarray:
        return self.session.run([self._output], {self._input: x.numpy()})[0]


def _providers(ort, device: str) -> list:
    """ONNX Runtime execution providers for a device name."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ModelError(
                f"device {device!r}: this ONNX Runtime has no CUDA provider (install onnxruntime-gpu), or pass a "
                ".safetensors checkpoint to run it with PyTorch on the GPU"
            )
        index = int(device.split(":")[1]) if ":" in device else 0
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    raise ModelError(f"device {device!r}: ONNX models run on cpu or cuda[:N]")
