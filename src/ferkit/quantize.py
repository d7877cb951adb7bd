"""int8 models: ONNX Runtime static quantization of an exported model, calibrated on real training faces.

    quantize_int8("default", "default.int8.onnx", calibration="~/data/fer2013")

The weights become int8 per output channel and the activations uint8 (the U8S8 form ONNX Runtime runs fastest on
x86 CPUs with VNNI), in QDQ form. The activation ranges are calibrated on a class-stratified sample of the
training split's faces. The result is checked against the float model on other training faces: the share of faces
whose label changes and the largest probability change are reported, and an int8 model that changes more than
`MAX_LABEL_CHANGES` of the labels is refused.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferkit.backends.resolve import INT8_SUFFIX  # noqa: F401  (re-exported: the shipped int8 file's suffix)
from ferkit.errors import ModelError

MAX_LABEL_CHANGES = 0.05
"""Largest share of check faces whose top label may differ between the int8 and the float model."""


@dataclass(frozen=True)
class QuantizeResult:
    """What `quantize_int8` wrote and how far the int8 model is from the float one on the check faces."""

    path: Path
    calibration_faces: int
    check_faces: int
    label_changes: float  # share of check faces whose top label differs from the float model's
    max_prob_change: float


def quantize_int8(
    model_or_path,
    out: str | os.PathLike,
    calibration,
    n_calib: int = 1024,
    n_check: int = 1024,
    seed: int = 0,
    max_label_changes: float = MAX_LABEL_CHANGES,
) -> QuantizeResult:
    """Write an int8 ONNX model calibrated on face crops, and check it against the float model.

    Args:
        model_or_path: What `export_onnx` takes (zoo model, checkpoint, shipped name), or a float `.onnx` file.
        out: The int8 model to write (`*.onnx`; atomically, nothing is written when the check fails).
        calibration: A dataset path (its `train` split is used) or uint8 N×H×W face crops.
        n_calib: Faces used to calibrate the activation ranges (a class-stratified random sample).
        n_check: Other faces on which the int8 model is compared with the float one.
        seed: Seed of both samples.
        max_label_changes: Largest share of check faces whose label may change (1.0 turns the check off, e.g.
            to time an untrained network).

    Raises:
        ModelError: onnxruntime's quantization tools are missing, or the int8 model changes more than
            MAX_LABEL_CHANGES of the labels.
        DataError: the calibration dataset cannot be read.
    """
    from ferkit._atomic import atomic_path
    from ferkit.export import _check_out

    out = _check_out(Path(out))
    calib, check = _samples(_calibration_crops(calibration, seed), n_calib, n_check)
    with tempfile.TemporaryDirectory(prefix="ferkit-int8-") as tmp:
        fp32 = _float_onnx(model_or_path, Path(tmp))
        int8 = Path(tmp) / "int8.onnx"
        _quantize(fp32, int8, calib)
        _copy_metadata(fp32, int8, {"precision": "int8", "calibration_faces": len(calib)})
        changes, max_diff = _compare(fp32, int8, check)
        if changes > max_label_changes:
            raise ModelError(
                f"{out}: the int8 model changes the label of {changes:.1%} of {len(check)} check faces (more "
                f"than {max_label_changes:.0%}); nothing was written — calibrate on more faces (n_calib)"
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as final:
            final.write_bytes(int8.read_bytes())
    return QuantizeResult(out, len(calib), len(check), changes, max_diff)


def _calibration_crops(calibration, seed: int) -> np.ndarray:
    """The candidate faces in the order they are taken: a dataset's training faces interleaved class by class
    (so any prefix is class-stratified), or given crops in a seeded random order."""
    if isinstance(calibration, np.ndarray):
        if calibration.ndim != 3 or calibration.dtype != np.uint8 or len(calibration) == 0:
            raise ModelError("calibration crops must be a non-empty uint8 N×H×W array")
        return calibration[np.random.default_rng(seed).permutation(len(calibration))]
    from ferkit.data import load_dataset

    ds = load_dataset(calibration)
    if "train" not in ds.split_names:
        raise ModelError(
            f"{calibration}: no train split to calibrate on (splits: {', '.join(ds.split_names)})"
        )
    return _stratified(ds.take_split("train"), seed)


def _stratified(train, seed: int) -> np.ndarray:
    """The training faces in an order that interleaves the classes (so any prefix is class-stratified)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(train.labels)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    order = [idx[i] for i in range(max(map(len, per_class))) for idx in per_class if i < len(idx)]
    return np.asarray(train.images)[np.asarray(order)]


def _samples(crops: np.ndarray, n_calib: int, n_check: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `n_calib` faces calibrate, the next `n_check` check (the calibration faces when none are left)."""
    if n_calib < 1 or n_check < 1:
        raise ModelError(f"n_calib and n_check must be at least 1 (got {n_calib}, {n_check})")
    calib = crops[:n_calib]
    check = crops[n_calib : n_calib + n_check]
    return calib, check if len(check) else calib


def _float_onnx(model_or_path, folder: Path) -> Path:
    if isinstance(model_or_path, str | os.PathLike) and str(model_or_path).lower().endswith(".onnx"):
        return Path(model_or_path)
    from ferkit.export import export_onnx

    return export_onnx(model_or_path, folder / "fp32.onnx")


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over normalised batches of face crops."""

    def __init__(self, session_input: str, crops: np.ndarray, dc, batch: int = 64) -> None:
        from ferkit.backends.base import tta_views

        self.batches = [
            {session_input: tta_views(crops[i : i + batch], dc, "none")[0].numpy()}
            for i in range(0, len(crops), batch)
        ]
        self._it = iter(self.batches)

    def get_next(self):
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self.batches)


def _quantize(fp32: Path, int8: Path, calib: np.ndarray) -> None:
    from ferkit._deps import require
    from ferkit.backends.onnx_backend import OnnxBackend

    require("onnxruntime", "int8 quantization")
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    backend = OnnxBackend.load(fp32, threads=1)
    reader = _Reader(backend.session.get_inputs()[0].name, calib, backend.data_config)
    prepared = int8.with_name("prepared.onnx")
    quant_pre_process(str(fp32), str(prepared))  # shape inference and graph optimisation, as ORT recommends
    quantize_static(
        str(prepared),
        str(int8),
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )


def _copy_metadata(fp32: Path, int8: Path, extra: dict) -> None:
    """The float model's ferkit metadata (data config, labels, training record) on the int8 model, plus `extra`."""
    import onnx

    src, dst = onnx.load(str(fp32)), onnx.load(str(int8))
    props = {p.key: p.value for p in src.metadata_props}
    meta = json.loads(props.get("ferkit", "{}"))
    meta.update(extra)
    props["ferkit"] = json.dumps(meta)
    del dst.metadata_props[:]
    for key, value in props.items():
        entry = dst.metadata_props.add()
        entry.key, entry.value = key, value
    dst.producer_name = "ferkit"
    onnx.save(dst, str(int8))


def _compare(fp32: Path, int8: Path, check: np.ndarray) -> tuple[float, float]:
    """(share of check faces whose top label differs, largest |Δprob|) between the two ONNX models."""
    from ferkit.backends.onnx_backend import OnnxBackend
    from ferkit.probs import softmax

    a = softmax(OnnxBackend.load(fp32).logits(check))
    b = softmax(OnnxBackend.load(int8).logits(check))
    return float(np.mean(a.argmax(1) != b.argmax(1))), float(np.abs(a - b).max())
