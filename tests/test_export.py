"""ONNX export: parity with PyTorch for every registered model, metadata round-trip, the ONNX backend, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tests._faces_fixtures import astronaut, tiny_checkpoint

import ferkit
from ferkit.backends import TorchBackend, load_backend
from ferkit.backends.onnx_backend import OnnxBackend
from ferkit.cli import main as cli_main
from ferkit.errors import ModelError
from ferkit.export import export_onnx, parity
from ferkit.labels import FERPLUS8
from ferkit.models import create_model, list_models
from ferkit.predict import softmax


def _crops(cfg, n=4, seed=1):
    return np.random.default_rng(seed).integers(0, 256, (n, cfg.image_size, cfg.image_size), dtype=np.uint8)


@pytest.mark.parametrize("name", list_models())
def test_onnx_matches_torch_for_every_model(name, tmp_path):
    torch.manual_seed(0)
    model = create_model(name).eval()
    path = export_onnx(model, tmp_path / f"{name}.onnx", batch=4)  # raises if probabilities differ > 1e-4
    onnx_backend = OnnxBackend.load(path, threads=1)
    crops = _crops(model.data_config, n=3)  # another batch size than the export's dummy: dynamic batch axis
    ref = TorchBackend(model).logits(crops, tta="flip")
    got = onnx_backend.logits(crops, tta="flip")
    assert np.abs(softmax(ref) - softmax(got)).max() <= 1e-4
    assert np.abs(ref - got).max() <= 1e-3 * max(1.0, float(np.abs(ref).max()))  # logits agree too
    assert onnx_backend.data_config == model.data_config


def test_metadata_round_trip(tmp_path):
    import onnx

    model = create_model("vgg_fer_gap", labels=FERPLUS8, input_size=44, image_size=48)
    path = export_onnx(model, tmp_path / "m.onnx", check=False)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["labels"]) == list(FERPLUS8.names)
    assert json.loads(props["data_config"])["input_size"] == 44
    backend = OnnxBackend.load(path)
    assert backend.data_config == model.data_config and backend.data_config.labels == FERPLUS8
    assert backend.meta["model_name"] == "vgg_fer_gap" and backend.name == "m"
    assert backend.logits(_crops(model.data_config, n=2)).shape == (2, 8)


def test_load_onnx_gives_the_same_results_as_the_checkpoint(tmp_path):
    ckpt = tiny_checkpoint(tmp_path / "tiny.safetensors", name="seed_keras_cnn")
    onnx_path = export_onnx(ckpt, tmp_path / "tiny.onnx")
    assert isinstance(load_backend(onnx_path, backend="onnxruntime"), OnnxBackend)
    a = ferkit.load(ckpt).predict(astronaut())[0].faces[0]
    b = ferkit.load(load_backend(onnx_path, backend="onnxruntime")).predict(astronaut())[0].faces[0]
    assert a.box == b.box and a.label == b.label
    assert max(abs(a.probs[k] - b.probs[k]) for k in a.probs) <= 1e-4
    # auto: ONNX Runtime, or a faster runtime whose probabilities agree (OpenVINO may compute in bf16)
    c = ferkit.load(onnx_path).predict(astronaut())[0].faces[0]
    assert a.box == c.box and max(abs(a.probs[k] - c.probs[k]) for k in a.probs) <= 0.03
    assert OnnxBackend.load(onnx_path).meta["model_name"] == "seed_keras_cnn"


def test_parity_failure_raises(tmp_path, monkeypatch):
    import ferkit.export as export

    monkeypatch.setattr(export, "parity", lambda *a, **k: 0.5)
    (tmp_path / "bad.onnx").write_bytes(b"an earlier export")
    with pytest.raises(ModelError, match="disagree.*nothing was written"):
        export_onnx(create_model("seed_cnn4c3f_28"), tmp_path / "bad.onnx")
    assert (tmp_path / "bad.onnx").read_bytes() == b"an earlier export"  # a failed check replaces nothing
    assert [p.name for p in tmp_path.iterdir()] == ["bad.onnx"]  # and leaves no temporary file
    export_onnx(create_model("seed_cnn4c3f_28"), tmp_path / "bad.onnx", check=False)
    assert parity(create_model("seed_cnn4c3f_28"), tmp_path / "bad.onnx") < 1e-4  # the file itself is fine


def test_export_refuses_bad_destinations_and_opsets_before_any_work(tmp_path):
    model = create_model("seed_cnn4c3f_28")
    with pytest.raises(ModelError, match="is a folder"):
        export_onnx(model, tmp_path)
    with pytest.raises(ModelError, match=r"named \*\.onnx"):
        export_onnx(model, tmp_path / "model.txt")
    with pytest.raises(ModelError, match="opset 99"):
        export_onnx(model, tmp_path / "m.onnx", opset=99)
    assert list(tmp_path.iterdir()) == []


def test_onnx_errors_are_clear(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        OnnxBackend.load(tmp_path / "none.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="junk.onnx"):
        OnnxBackend.load(tmp_path / "junk.onnx")
    with pytest.raises(ModelError, match="no ferkit metadata"):
        from ferkit.backends.onnx_backend import read_onnx_meta

        read_onnx_meta({}, "plain.onnx")


def test_cli_export(tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path / "tiny.safetensors", name="seed_cnn4c3f_28")
    out = tmp_path / "out" / "tiny.onnx"
    assert cli_main(["export", "--model", str(ckpt), "--format", "onnx", "--out", str(out)]) == 0
    assert "parity" in capsys.readouterr().out and out.is_file()
    assert cli_main(["export", "--model", str(tmp_path / "missing.safetensors")]) == 2
    assert "does not exist" in capsys.readouterr().err
