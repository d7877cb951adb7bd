"""Model zoo: registry, forward/backward of every model, checkpoints, summaries, preprocessing."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import ferkit
from ferkit.cli import main as cli_main
from ferkit.errors import ModelError
from ferkit.labels import CKPLUS7, FER7, FERPLUS8
from ferkit.models import (
    FACE_SIZE,
    DataConfig,
    create_model,
    list_models,
    load_model,
    load_state_into,
    model_info,
    preprocess,
    read_checkpoint_meta,
    save_checkpoint,
)
from ferkit.models.summary import draw_diagram, summary_table

MODELS = list_models()


@pytest.fixture(scope="module")
def cli_models_json() -> dict[str, dict]:
    """`python -m ferkit models --json`, run once in a fresh interpreter."""
    src = str(Path(ferkit.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run(
        [sys.executable, "-m", "ferkit", "models", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return {row["name"]: row for row in json.loads(proc.stdout)}


def _randomise_bn(model: nn.Module) -> None:
    """Non-trivial running statistics, so a checkpoint round trip is a real test of the buffers."""
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


def _input(model: nn.Module, n: int = 2, size: int | None = None) -> torch.Tensor:
    cfg = model.data_config
    s = size or cfg.input_size
    return torch.randn(n, cfg.channels, s, s, generator=torch.Generator().manual_seed(1))


# --- registry and every model -------------------------------------------------------------------------------


def test_registry_lists_the_zoo() -> None:
    assert MODELS == sorted(MODELS)
    expected = {"seed_dcnn_ck48", "seed_cnn4c2f", "seed_keras_cnn", "seed_cnn4c3f_28", "seed_cnn_wd"}
    expected |= {"vgg_fer", "vgg_fer_gap", "resnet18_fer", "mobilefer", "resnet18_se_fer", "vgg_fer_gap_cbam"}
    assert expected <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_forward_backward(name: str) -> None:
    model = create_model(name)
    assert model.model_name == name and isinstance(model.data_config, DataConfig)
    assert model.data_config.labels == FER7
    model.train()
    out = model(_input(model))
    assert out.shape == (2, 7) and out.dtype == torch.float32
    nn.functional.cross_entropy(out, torch.tensor([0, 3])).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    model.eval()  # other sizes must not crash either (adaptive pooling)
    with torch.no_grad():
        for size in {FACE_SIZE, model.data_config.input_size, 64}:
            assert model(_input(model, 1, size)).shape == (1, 7)


@pytest.mark.parametrize("name", MODELS)
def test_params_match_info_and_cli(name: str, cli_models_json: dict[str, dict]) -> None:
    model = create_model(name)
    params = sum(p.numel() for p in model.parameters())
    info = model_info(name)
    assert set(info) == {"name", "params", "mflops", "input_size"}
    assert info["params"] == params == cli_models_json[name]["params"]
    assert info["input_size"] == model.data_config.input_size == cli_models_json[name]["input_size"]
    assert info["mflops"] == pytest.approx(cli_models_json[name]["mflops"]) and info["mflops"] > 0


@pytest.mark.parametrize("name", MODELS)
def test_head_and_freeze(name: str) -> None:
    model = create_model(name)
    assert isinstance(model.head, nn.Linear) and model.head.out_features == 7
    assert model.classifier_keys() == ["head.weight", "head.bias"]
    model.freeze_features()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"head.weight", "head.bias"}
    model.freeze_features(False)
    assert all(p.requires_grad for p in model.parameters())


def test_mobilefer_is_cheap() -> None:
    info = model_info("mobilefer")
    assert info["mflops"] <= 100
    assert info["params"] < 2_000_000


def test_unknown_model_suggests_close_names() -> None:
    with pytest.raises(ModelError, match=r"did you mean 'resnet18_fer'.*known models: .*mobilefer"):
        create_model("resnet18_fre")
    with pytest.raises(ModelError, match="unknown model"):
        model_info("no_such_net")


def test_labels_and_config_overrides() -> None:
    model = create_model("mobilefer", labels=FERPLUS8)
    assert model(_input(model)).shape == (2, 8) and model.data_config.labels == FERPLUS8
    model = create_model("mobilefer", labels=["Happiness", "sadness"], input_size=64)
    assert model.data_config.input_size == 64 and model.data_config.labels.names == ("happy", "sad")
    assert model.model_kwargs == {"input_size": 64, "image_size": 64}
    model = create_model("vgg_fer_gap", attention="se")
    assert any(type(m).__name__ == "SE" for m in model.modules())
    with pytest.raises(ModelError, match="attention"):
        create_model("vgg_fer_gap", attention="transformer")
    with pytest.raises(ModelError, match="bad arguments"):
        create_model("mobilefer", no_such_argument=1)


def test_reset_head() -> None:
    model = create_model("vgg_fer_gap")
    model.reset_head(CKPLUS7)
    assert model.head.out_features == 7 and model.data_config.labels == CKPLUS7


# --- checkpoints --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs", "labels"),
    [("vgg_fer_gap", {"attention": "se", "drop_rate": 0.1}, CKPLUS7), ("seed_cnn4c3f_28", {}, FER7)],
)
def test_checkpoint_round_trip(tmp_path: Path, name: str, kwargs: dict, labels) -> None:
    model = create_model(name, labels=labels, **kwargs).eval()
    _randomise_bn(model)
    path = save_checkpoint(tmp_path / "best.safetensors", model, {"epoch": 3, "metrics": {"val_acc": 0.5}})
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]  # safetensors: u64 header length, then a JSON header; no pickle
    header = json.loads(raw[8 : 8 + n])
    assert "__metadata__" in header and not raw.startswith(b"PK")
    loaded = load_model(path)
    assert not loaded.training and loaded.model_name == name and loaded.model_kwargs == kwargs
    assert loaded.data_config == model.data_config
    x = _input(model)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    meta = read_checkpoint_meta(path)
    assert meta == loaded.checkpoint_meta
    assert meta["format_version"] == 1 and meta["model_name"] == name and meta["epoch"] == 3
    assert meta["metrics"] == {"val_acc": 0.5} and meta["labels"]["names"] == list(labels.names)
    assert meta["ferkit_version"] == ferkit.__version__ and meta["created"][:2] == "20"

    half = save_checkpoint(tmp_path / "half.safetensors", model, {}, dtype=torch.float16)
    assert half.stat().st_size < 0.6 * path.stat().st_size
    with torch.no_grad():
        torch.testing.assert_close(load_model(half)(x), model(x), atol=1e-2, rtol=1e-2)


def test_atomic_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import safetensors.torch

    model = create_model("mobilefer")
    path = save_checkpoint(tmp_path / "last.safetensors", model, {"epoch": 1})
    before = path.read_bytes()

    def disk_full(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(path, model, {"epoch": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.safetensors"]  # no temp file left behind


def test_bad_checkpoints_raise_model_error(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(ModelError, match="garbage.safetensors"):
        load_model(garbage)
    with pytest.raises(ModelError, match="missing.safetensors.*does not exist"):
        load_model(tmp_path / "missing.safetensors")
    with pytest.raises(ModelError, match="without shipped weights"):
        load_model("mobilefer")
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, plain)
    with pytest.raises(ModelError, match="plain.safetensors has no ferkit metadata"):
        load_model(plain)
    model = create_model("vgg_fer_gap")
    model.model_name = "no_such_model"
    save_checkpoint(tmp_path / "unknown.safetensors", model, {})
    with pytest.raises(ModelError, match=r"unknown.safetensors: unknown model 'no_such_model'"):
        load_model(tmp_path / "unknown.safetensors")
    model.model_name = "mobilefer"
    save_checkpoint(tmp_path / "misfit.safetensors", model, {})
    with pytest.raises(ModelError, match="misfit.safetensors: weights do not fit model 'mobilefer'"):
        load_model(tmp_path / "misfit.safetensors")


def test_load_state_into_remaps_classifier(tmp_path: Path) -> None:
    src = create_model("vgg_fer_gap")
    path = save_checkpoint(tmp_path / "fer7.safetensors", src, {})
    for labels in (FERPLUS8, CKPLUS7):  # other size, and same size but other order
        dst = create_model("vgg_fer_gap", labels=labels)
        with pytest.raises(ModelError, match=rf"FER7.*{labels.name}.*remap_classifier=True"):
            load_state_into(dst, path)
        assert load_state_into(dst, path, remap_classifier=True) == ["head.bias", "head.weight"]
        torch.testing.assert_close(dst.features[0][0][0].weight, src.features[0][0][0].weight)
        assert dst.head.out_features == len(labels)
        for name in ("happy", "sad", "angry"):  # shared classes keep their rows, wherever they now sit
            i, j = src.data_config.labels.names.index(name), labels.names.index(name)
            torch.testing.assert_close(dst.head.weight[j], src.head.weight[i])
            torch.testing.assert_close(dst.head.bias[j], src.head.bias[i])
        fresh = dst.head.weight[labels.index("contempt")]  # not in FER2013: a new row
        assert not any(torch.equal(fresh, row) for row in src.head.weight)
    same = create_model("vgg_fer_gap")
    assert load_state_into(same, path) == []
    torch.testing.assert_close(same.head.weight, src.head.weight)
    with pytest.raises(ModelError, match="do not fit"):
        load_state_into(create_model("mobilefer"), path, remap_classifier=True)


# --- summaries and CLI --------------------------------------------------------------------------------------


def test_summary_table_and_diagram(tmp_path: Path) -> None:
    model = create_model("vgg_fer_gap_cbam")
    table = summary_table(model)
    total = sum(p.numel() for p in model.parameters())
    assert "features.0.0.0" in table and "Conv2d" in table and "32×48×48" in table
    assert "head" in table and f"total params: {total:,}" in table
    png = draw_diagram("mobilefer", tmp_path / "arch.png")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_cli_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["summary", "seed_keras_cnn", "--diagram", str(tmp_path / "a.png")]) == 0
    out = capsys.readouterr().out
    assert "total params" in out and (tmp_path / "a.png").is_file()
    assert cli_main(["summary", "resnet18"]) == 2
    assert "did you mean" in capsys.readouterr().err
    assert cli_main(["summary", "seed_keras_cnn", "--diagram", str(tmp_path / "a.txt")]) == 2
    err = capsys.readouterr().err
    assert "a.txt: a diagram is written as one of" in err and ".svg" in err and "Traceback" not in err
    assert cli_main(["summary", "seed_keras_cnn", "--diagram", str(tmp_path / "a.svg")]) == 0
    assert (tmp_path / "a.svg").read_text().lstrip().startswith("<?xml")


# --- data config and preprocessing --------------------------------------------------------------------------


def test_data_config_round_trip_and_validation() -> None:
    cfg = create_model("vgg_fer").data_config
    assert (cfg.input_size, cfg.image_size) == (40, FACE_SIZE)
    assert DataConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ModelError, match="input_size"):
        DataConfig(input_size=FACE_SIZE + 1)
    with pytest.raises(ModelError, match="missing key 'std'"):
        DataConfig.from_dict({k: v for k, v in cfg.to_dict().items() if k != "std"})


def test_preprocess_shapes_and_normalisation() -> None:
    cfg = DataConfig()
    white = torch.full((3, FACE_SIZE, FACE_SIZE), 255, dtype=torch.uint8)
    x = preprocess(white, cfg)
    assert x.shape == (3, 1, FACE_SIZE, FACE_SIZE) and x.dtype == torch.float32
    torch.testing.assert_close(x, torch.full_like(x, (1 - cfg.mean[0]) / cfg.std[0]))
    big = torch.randint(0, 256, (2, 1, 64, 80), dtype=torch.uint8)
    assert preprocess(big, cfg).shape == (2, 1, FACE_SIZE, FACE_SIZE)
    crop = preprocess(big, create_model("vgg_fer").data_config)
    assert crop.shape == (2, 1, 40, 40)
    rgb = DataConfig(channels=3, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert preprocess(white, rgb).shape == (3, 3, FACE_SIZE, FACE_SIZE)
    assert preprocess(big, create_model("seed_cnn4c3f_28").data_config).shape == (2, 1, 28, 28)
    tiny = DataConfig(input_size=2, image_size=4, mean=(0.0,), std=(1.0,))
    img = torch.arange(16, dtype=torch.uint8).view(1, 4, 4)
    torch.testing.assert_close(preprocess(img, tiny)[0, 0] * 255, torch.tensor([[5.0, 6.0], [9.0, 10.0]]))


def test_checkpoints_get_ordinary_permissions(tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    try:  # safetensors writes its file itself: the permissions must still be 0666 less the umask
        path = save_checkpoint(tmp_path / "c.safetensors", create_model("seed_cnn4c3f_28"), {})
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
