"""int8 export (ONNX Runtime static quantization) and the shipped-int8 preference of `ferkit.load`."""

from __future__ import annotations

import numpy as np
import pytest
from tests._faces_fixtures import tiny_checkpoint
from tests._synthetic import write_bar_csv

import ferkit
from conftest import run_ferkit
from ferkit.errors import FerkitError, ModelError

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("m") / "tiny.safetensors")


def _faces(n: int, seed: int = 0) -> np.ndarray:
    """Smooth random 48×48 'faces' (blurred noise): activations with realistic, bounded ranges."""
    rng = np.random.default_rng(seed)
    x = rng.normal(128, 40, (n, 12, 12)).clip(0, 255)
    return np.kron(x, np.ones((4, 4))).astype(np.uint8)


def test_int8_model_loads_with_the_same_labels_and_stays_close(ckpt, tmp_path):
    from ferkit.backends import load_backend
    from ferkit.backends.onnx_backend import OnnxBackend
    from ferkit.probs import softmax
    from ferkit.quantize import quantize_int8

    r = quantize_int8(ckpt, tmp_path / "tiny.int8.onnx", _faces(256), n_calib=128, n_check=128)
    assert r.path.is_file() and r.calibration_faces == 128 and r.check_faces == 128
    assert r.label_changes <= 0.05
    int8 = load_backend(r.path)
    ref = load_backend(ckpt)
    assert isinstance(int8, OnnxBackend) and int8.meta["precision"] == "int8"
    assert int8.data_config.labels.names == ref.data_config.labels.names
    faces = _faces(64, seed=1)
    a, b = softmax(ref.logits(faces)), softmax(int8.logits(faces))
    assert np.mean(a.argmax(1) == b.argmax(1)) >= 0.9  # the stated tolerance: labels mostly unchanged
    assert np.abs(a - b).max() < 0.15
    # the int8 graph really is quantized: integer weights inside
    import onnx

    types = {init.data_type for init in onnx.load(str(r.path)).graph.initializer}
    assert onnx.TensorProto.INT8 in types


def test_cli_int8_needs_calibration_data_and_writes_the_file(ckpt, tmp_path):
    out = run_ferkit("export", "--model", ckpt, "--int8", "--out", tmp_path / "x.int8.onnx")
    assert out.returncode == 2 and "--calib-data" in out.stderr
    csv = write_bar_csv(tmp_path / "bars.csv", 40, 4)
    out = run_ferkit(
        "export",
        "--model",
        ckpt,
        "--int8",
        "--calib-data",
        csv,
        "--calib-n",
        "64",
        "--out",
        tmp_path / "x.int8.onnx",
    )
    assert out.returncode == 0, out.stderr
    assert "int8" in out.stdout and (tmp_path / "x.int8.onnx").is_file()
    assert ferkit.load(tmp_path / "x.int8.onnx", "none").predict(np.zeros((48, 48), np.uint8))[0].faces


def test_a_bad_calibration_is_refused(ckpt, tmp_path):
    from ferkit.quantize import quantize_int8

    with pytest.raises(ModelError, match="uint8"):
        quantize_int8(ckpt, tmp_path / "a.onnx", np.zeros((0, 48, 48), np.uint8))
    with pytest.raises(FerkitError):
        quantize_int8(ckpt, tmp_path / "a.onnx", tmp_path / "missing")
    assert not (tmp_path / "a.onnx").exists()


def test_a_shipped_int8_model_is_what_load_uses_on_the_cpu(ckpt, tmp_path, monkeypatch):
    import ferkit.backends.resolve as resolve
    from ferkit.quantize import quantize_int8

    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "fast.safetensors").write_bytes(ckpt.read_bytes())
    monkeypatch.setattr(resolve, "weights_dir", lambda: weights)
    monkeypatch.setattr(resolve, "cpu_has_vnni", lambda: True)
    assert ferkit.load("fast").backend.name == "fast"  # no int8 file: the PyTorch weights
    quantize_int8(ckpt, weights / "fast.int8.onnx", _faces(128), n_calib=64, n_check=64)
    assert ferkit.load("fast").backend.name == "fast.int8"
    monkeypatch.setattr(resolve, "cpu_has_vnni", lambda: False)
    assert ferkit.load("fast").backend.name == "fast"  # a CPU without VNNI: the PyTorch weights
    monkeypatch.setattr(resolve, "cpu_has_vnni", lambda: True)
    monkeypatch.setattr(resolve, "_onnxruntime_installed", lambda: False)
    assert ferkit.load("fast").backend.name == "fast"  # without ONNX Runtime: the PyTorch weights


def test_a_shipped_name_exports_from_its_float_weights(tmp_path):
    from ferkit.backends import resolve_model_path
    from ferkit.weights import WEIGHTS_DIR

    if not (WEIGHTS_DIR / "fast.safetensors").is_file():
        pytest.skip("no fast model shipped")
    assert resolve_model_path("fast").suffix == ".safetensors"
    out = run_ferkit("export", "--model", "fast", "--out", tmp_path / "fast.onnx")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "fast.onnx").is_file()
