"""The OpenVINO backend against ONNX Runtime on the same ONNX files (real faces), the choice of the fastest runtime
that agrees (measured once, cached), `backend=` forcing one, and MTCNN's networks on OpenVINO."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from tests._faces_fixtures import astronaut, tiny_checkpoint

from ferkit.backends import choose, load_backend
from ferkit.backends.onnx_backend import OnnxBackend
from ferkit.errors import FerkitError, ModelError
from ferkit.probs import softmax
from ferkit.weights import WEIGHTS_DIR

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None
HAS_ORT = importlib.util.find_spec("onnxruntime") is not None
needs_openvino = pytest.mark.skipif(not (HAS_OPENVINO and HAS_ORT), reason="needs openvino and onnxruntime")
FER2013 = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"
INT8 = WEIGHTS_DIR / "default.int8.onnx"


def _public_test_faces(n: int = 256) -> np.ndarray:
    from ferkit.data import load_dataset

    ds = load_dataset(FER2013)
    return ds.images[ds.split == "public_test"][:n]


def _agreement(path: Path, crops: np.ndarray, precision: str | None = None) -> tuple[float, float, float]:
    """(mean and largest per-face max |Δprob|, share of faces with the same top class), OpenVINO vs ORT."""
    from ferkit.backends.openvino_backend import OpenVinoBackend

    ref = softmax(OnnxBackend.load(path, threads=1).logits(crops, batch_size=64))
    got = softmax(OpenVinoBackend.load(path, threads=1, precision=precision).logits(crops, batch_size=64))
    diff = np.abs(ref - got).max(axis=1)
    return float(diff.mean()), float(diff.max()), float(np.mean(ref.argmax(1) == got.argmax(1)))


@needs_openvino
def test_the_shipped_int8_file_agrees_on_the_bundled_real_faces():
    if not INT8.is_file():
        pytest.skip("no default.int8.onnx shipped")
    mean, _, top1 = _agreement(INT8, choose.probe_crops())
    assert mean <= choose.MEAN_PROB_DIFF and top1 >= choose.MIN_TOP1


@needs_openvino
@pytest.mark.data
@pytest.mark.skipif(not FER2013.is_dir(), reason="needs ../shared/data/fer2013")
def test_the_shipped_int8_file_agrees_on_publictest_faces():
    if not INT8.is_file():
        pytest.skip("no default.int8.onnx shipped")
    mean, largest, top1 = _agreement(INT8, _public_test_faces())
    # two int8 runtimes round differently: about as far apart as either is from the float model
    assert mean <= 0.03 and largest <= 0.25 and top1 >= 0.95


@needs_openvino
@pytest.mark.parametrize("precision", ["f32", "bf16"])
def test_a_float_export_agrees_in_f32_and_bf16(tmp_path, precision):
    from ferkit.export import export_onnx

    path = export_onnx(
        tiny_checkpoint(tmp_path / "t.safetensors", name="seed_keras_cnn"), tmp_path / "t.onnx"
    )
    mean, largest, top1 = _agreement(path, choose.probe_crops(), precision)
    assert largest <= (1e-4 if precision == "f32" else 0.02) and top1 >= 0.9


@needs_openvino
def test_openvino_backend_reads_ferkit_metadata_and_batches_like_onnxruntime(tmp_path):
    from ferkit.backends.openvino_backend import OpenVinoBackend
    from ferkit.export import export_onnx

    path = export_onnx(
        tiny_checkpoint(tmp_path / "t.safetensors", name="seed_keras_cnn"), tmp_path / "t.onnx"
    )
    ov = OpenVinoBackend.load(path, threads=1, precision="f32")
    ort = OnnxBackend.load(path, threads=1)
    assert ov.data_config == ort.data_config and ov.meta == ort.meta and ov.name == "t"
    crops = np.concatenate([choose.probe_crops()] * 2)  # 32: the THROUGHPUT model; 3: the LATENCY one
    for batch, tta in ((32, "none"), (3, "flip"), (5, "tencrop")):
        a, b = (
            ort.logits(crops[:batch], tta=tta, batch_size=4),
            ov.logits(crops[:batch], tta=tta, batch_size=4),
        )
        assert np.abs(a - b).max() <= 1e-3
    assert "openvino" in repr(ov) and "f32" in repr(ov)


class _Fake:
    """A stand-in backend: fixed logits plus an offset, and a pretend cost."""

    def __init__(self, offset: float, delay: float) -> None:
        self.offset, self.delay, self.name = offset, delay, "fake"

    def logits(self, crops, tta="none", batch_size=256):
        import time

        time.sleep(self.delay * len(crops))
        base = np.stack([np.roll(np.linspace(0, 3, 7), k) for k in range(len(crops))]).astype(np.float32)
        base[:, 0] += self.offset
        return base


def _loaders(counts: dict, ov_offset: float, ov_delay: float) -> dict:
    def make(name, offset, delay):
        def load(path, threads):
            counts[name] = counts.get(name, 0) + 1
            return _Fake(offset, delay)

        return load

    return {"onnxruntime": make("onnxruntime", 0.0, 0.002), "openvino": make("openvino", ov_offset, ov_delay)}


@pytest.fixture
def both_installed(monkeypatch):
    monkeypatch.setattr(choose, "installed_runtimes", lambda: ["onnxruntime", "openvino"])
    monkeypatch.setattr(choose, "_seen", {})


def test_the_faster_runtime_that_agrees_is_chosen_once_and_cached(tmp_path, both_installed, cache_dir):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"model bytes")
    counts: dict = {}
    choice, _ = choose.choose_runtime(model, 1, _loaders(counts, 0.0, 0.0005))
    assert (
        choice.runtime == "openvino"
        and not choice.cached
        and set(choice.seconds) == {"onnxruntime", "openvino"}
    )
    entry = next(iter(json.loads((cache_dir / "backends.json").read_text()).values()))
    assert entry["runtime"] == "openvino" and entry["file"] == "m.onnx"
    choose._seen.clear()  # a new process: read back from the file, nothing measured, only the winner loaded
    again, backend = choose.choose_runtime(model, 1, _loaders(counts, 0.0, 0.0005))
    assert again.cached and again.runtime == "openvino" and backend.choice is again
    assert counts == {"onnxruntime": 1, "openvino": 2}
    choose._seen.clear()  # another thread count is another measurement
    assert not choose.choose_runtime(model, 2, _loaders(counts, 0.0, 0.0005))[0].cached


def test_a_runtime_that_disagrees_or_is_slower_is_not_chosen(tmp_path, both_installed):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"other bytes")
    choice, _ = choose.choose_runtime(model, 1, _loaders({}, 5.0, 0.0))  # fast but flips the top class
    assert choice.runtime == "onnxruntime" and "disagrees" in choice.rejected["openvino"]
    model.write_bytes(b"third bytes")
    slow = choose.choose_runtime(model, 1, _loaders({}, 0.0, 0.004))[0]
    assert slow.runtime == "onnxruntime" and not slow.rejected


def test_only_one_runtime_installed_means_no_measurement(tmp_path, monkeypatch):
    monkeypatch.setattr(choose, "installed_runtimes", lambda: ["onnxruntime"])
    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    counts: dict = {}
    choice, _ = choose.choose_runtime(model, 1, _loaders(counts, 0.0, 0.0))
    assert choice.runtime == "onnxruntime" and not choice.seconds and counts == {"onnxruntime": 1}


def test_a_forced_backend_that_cannot_run_the_model_is_one_clear_error(tmp_path):
    ckpt = tiny_checkpoint(tmp_path / "t.safetensors", name="seed_keras_cnn")
    with pytest.raises(ModelError, match="runs ONNX files.*ferkit export"):
        load_backend(ckpt, backend="openvino")
    with pytest.raises(ModelError, match="is not one of auto, torch, onnxruntime, openvino"):
        load_backend(ckpt, backend="tensorrt")
    assert load_backend(ckpt, backend="torch").runtime == "torch"
    if HAS_ORT:
        from ferkit.export import export_onnx

        path = export_onnx(ckpt, tmp_path / "t.onnx")
        with pytest.raises(ModelError, match="backend 'torch' runs PyTorch checkpoints"):
            load_backend(path, backend="torch")
        assert load_backend(path, backend="onnx").runtime == "onnxruntime"


def test_forcing_openvino_without_it_names_the_extra(tmp_path, monkeypatch):
    from ferkit.backends import openvino_backend

    if not HAS_ORT:
        pytest.skip("needs onnxruntime to export")
    from ferkit.export import export_onnx

    path = export_onnx(
        tiny_checkpoint(tmp_path / "t.safetensors", name="seed_keras_cnn"), tmp_path / "t.onnx"
    )
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino → ImportError
    openvino_backend.core.cache_clear()
    try:
        with pytest.raises(FerkitError, match=r"pip install 'ferkit\[openvino\]'"):
            load_backend(path, backend="openvino")
    finally:
        openvino_backend.core.cache_clear()


def test_a_shipped_name_forced_to_torch_opens_its_pytorch_weights():
    from ferkit.backends.resolve import load_backend_path

    if not (WEIGHTS_DIR / "default.safetensors").is_file():
        pytest.skip("no default model shipped")
    assert load_backend_path("default", backend="torch").name == "default.safetensors"


def test_ferkit_load_forces_a_backend_and_says_which():
    import ferkit

    if not (WEIGHTS_DIR / "default.safetensors").is_file():
        pytest.skip("no default model shipped")
    rec = ferkit.load(threads=1, backend="torch", detector="none")
    assert "runtime='torch'" in repr(rec) and rec.backend.runtime == "torch"
    with pytest.raises(FerkitError, match="not one of"):
        ferkit.load(backend="tensorflow", detector="none")


def test_the_checkpoint_reader_uses_the_resolver_rule(tmp_path, monkeypatch):
    """One name-to-file rule: a shipped name found by the resolver is what load_model opens."""
    import ferkit.backends.resolve as resolve
    from ferkit.models import load_model

    weights = tmp_path / "weights"
    weights.mkdir()
    tiny_checkpoint(weights / "mine.safetensors", name="seed_keras_cnn")
    monkeypatch.setattr(resolve, "weights_dir", lambda: weights)
    assert load_model("mine").model_name == "seed_keras_cnn"
    with pytest.raises(ModelError, match="no shipped model 'nothere'"):
        load_model("nothere")


@needs_openvino
def test_mtcnn_finds_the_same_faces_on_openvino():
    pytest.importorskip("cv2")
    from ferkit.faces.mtcnn import MtcnnDetector

    photo = astronaut()
    a = MtcnnDetector(threads=1, runtime="onnxruntime").detect(photo)
    ov = MtcnnDetector(threads=1, runtime="openvino")
    first, second = ov.detect(photo), ov.detect(photo)  # new shapes on ONNX Runtime first, then OpenVINO
    assert len(a) == len(first) == len(second) == 1
    assert max(abs(p - q) for p, q in zip(a[0].box, second[0].box, strict=True)) <= 2
