"""Hostile settings, checkpoints and model files: ranges named when a config is read, a diverged run
fails, damaged run files are named on resume, crafted headers allocate nothing, ONNX outputs match their labels."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
from tests._synthetic import bar_dataset, write_bar_csv

from ferkit.config import load_config
from ferkit.errors import ConfigError, ModelError, TrainingError
from ferkit.models import create_model, load_model, read_checkpoint_meta, save_checkpoint
from ferkit.train import fit

FAST = ["model.name=seed_keras_cnn", "train.batch_size=32", "train.threads=1", "augment.erase=0"]


@pytest.mark.parametrize(
    "override, words",
    [
        ("train.ema=2", "train.ema=2.0 is out of range"),
        ("optim.lr=-1", "optim.lr=-1.0 is out of range"),
        ("optim.lr=.nan", "optim.lr=nan is out of range"),
        ("train.seed=-1", "train.seed=-1 is out of range"),
        ("train.threads=-2", "train.threads=-2 is out of range"),
        ("train.label_smoothing=1.5", "train.label_smoothing"),
        ("augment.hflip=2", "augment.hflip"),
        ("augment.erase=-0.1", "augment.erase"),
        ("augment.scale=[1.2,0.8]", "augment.scale"),
        ("augment.scale=[0,1]", "augment.scale"),
        ("data.val_fraction=1", "data.val_fraction"),
        ("train.save_every=0", "train.save_every must be at least 1"),
        ("schedule.name=cosin", "did you mean 'cosine'"),
        ("optim.name=adamm", "did you mean 'adam'"),
        ("data.label_mode=majorty", "did you mean 'majority'"),
    ],
)
def test_bad_values_are_named_when_the_config_is_read(override, words):
    with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("(", r"\(")):
        load_config(None, [override])


def test_the_shipped_recipes_pass_the_checks():
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml")):
        load_config(path)


def test_cli_names_a_negative_learning_rate(tmp_path, ferkit_cli):
    csv = write_bar_csv(tmp_path / "bars.csv", 4, 2)
    out = ferkit_cli("train", "--data", csv, "--run-dir", tmp_path / "r", "--set", "optim.lr=-1")
    assert out.returncode == 2 and "optim.lr=-1.0 is out of range" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "r").exists()


def test_a_nan_validation_loss_fails_the_run_and_keeps_the_last_good_epoch(tmp_path, monkeypatch):
    import ferkit.train.trainer as trainer

    ds = bar_dataset(8, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    real, calls = trainer.validate, {"n": 0}

    def nan_from_epoch_two(*a, **k):
        calls["n"] += 1
        out = real(*a, **k)
        return {**out, "val_loss": float("nan")} if calls["n"] > 1 else out

    monkeypatch.setattr(trainer, "validate", nan_from_epoch_two)
    with pytest.raises(TrainingError, match="epoch 2: the validation loss is nan"):
        fit(load_config(None, FAST + ["train.epochs=3"]), tmp_path / "r", train=train, val=val, quiet=True)
    assert read_checkpoint_meta(tmp_path / "r" / "best.safetensors")["epoch"] == 1
    assert read_checkpoint_meta(tmp_path / "r" / "last.safetensors")["epoch"] == 1


def _two_epochs(tmp_path):
    ds = bar_dataset(8, 2)
    train, val = ds.take_split("train"), ds.take_split("public_test")
    cfg = load_config(None, FAST + ["train.epochs=2"])
    fit(load_config(None, FAST + ["train.epochs=1"]), tmp_path / "r", train=train, val=val, quiet=True)
    return cfg, train, val


def test_resume_refuses_an_unreadable_best_checkpoint(tmp_path):
    cfg, train, val = _two_epochs(tmp_path)
    (tmp_path / "r" / "best.safetensors").write_bytes(b"\0" * 100)
    with pytest.raises(TrainingError, match="best.safetensors is damaged"):
        fit(cfg, tmp_path / "r", train=train, val=val, resume=True, quiet=True)


@pytest.mark.parametrize("damage", ["", "epoch,lr\nx,y\n", "garbage\n"])
def test_resume_refuses_a_damaged_history(tmp_path, damage):
    cfg, train, val = _two_epochs(tmp_path)
    (tmp_path / "r" / "history.csv").write_text(damage)
    with pytest.raises(TrainingError, match="history.csv"):
        fit(cfg, tmp_path / "r", train=train, val=val, resume=True, quiet=True)


def test_a_full_disk_during_training_is_one_line(tmp_path, monkeypatch, capsys):
    import safetensors
    import safetensors.torch

    from ferkit.cli import main

    csv = write_bar_csv(tmp_path / "bars.csv", 4, 2)
    real = safetensors.torch.save_file

    def full(tensors, filename, metadata=None):  # what safetensors raises when the disk is full
        if "best" in str(filename):
            raise safetensors.SafetensorError("I/O error: No space left on device (os error 28)")
        return real(tensors, filename, metadata=metadata)

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    args = ["train", "--data", str(csv), "--run-dir", str(tmp_path / "r"), "--quiet"]
    code = main(args + [a for kv in FAST + ["train.epochs=1"] for a in ("--set", kv)])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "--resume" in err and "best" in err
    assert err.count("\n") == 1 and not list((tmp_path / "r").glob(".*.tmp"))


def test_a_full_disk_while_writing_json_is_one_line(tmp_path, monkeypatch, capsys):
    from tests._faces_fixtures import tiny_checkpoint

    from ferkit.cli import main
    from ferkit.predict.sinks import JsonWriter

    ckpt = tiny_checkpoint(tmp_path / "m.safetensors")
    np_img = np.full((64, 64, 3), 128, np.uint8)
    from PIL import Image

    Image.fromarray(np_img).save(tmp_path / "a.png")
    (tmp_path / "out.json").write_text("[]\n")

    def full(self, result):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.path))

    monkeypatch.setattr(JsonWriter, "write", full)
    code = main(
        ["predict", str(tmp_path / "a.png"), "--model", str(ckpt), "--json", str(tmp_path / "out.json")]
    )
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and "Traceback" not in err
    assert not list(tmp_path.glob(".out.json.*"))  # no temporary file left behind


# ---------------------------------------------------------------------------------------------------- model files


def _crafted(tmp_path, **changes):
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = save_checkpoint(tmp_path / "good.safetensors", create_model("mobilefer"))
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["ferkit"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta.update(changes)
    save_file(tensors, str(tmp_path / "crafted.safetensors"), metadata={"ferkit": json.dumps(meta)})
    return tmp_path / "crafted.safetensors"


def test_a_crafted_header_is_refused_before_it_allocates(tmp_path, monkeypatch):
    import resource

    path = _crafted(tmp_path, model_kwargs={"width_mult": 1000})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ModelError, match="weights do not fit"):
        load_model(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB: nothing near 5 GB


@pytest.mark.parametrize(
    "changes",
    [
        {"model_kwargs": "abc"},
        {"model_kwargs": {"width_mult": "wide"}},
        {"data_config": 7},
        {"labels": "x", "data_config": {"labels": 3}},
        {"format_version": "1"},
    ],
)
def test_odd_header_types_are_a_model_error(tmp_path, changes):
    with pytest.raises(ModelError, match="crafted.safetensors"):
        load_model(_crafted(tmp_path, **changes))


def test_an_onnx_file_whose_labels_do_not_match_its_outputs_fails_at_load(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from ferkit.backends.onnx_backend import OnnxBackend
    from ferkit.export import export_onnx

    good = export_onnx(create_model("mobilefer"), tmp_path / "m.onnx")
    proto = onnx.load(str(good))
    for prop in proto.metadata_props:
        if prop.key == "ferkit":
            meta = json.loads(prop.value)
            meta["data_config"]["labels"]["names"] = meta["data_config"]["labels"]["names"][:5]
            meta.pop("labels", None)
            prop.value = json.dumps(meta)
    onnx.save(proto, str(tmp_path / "bad.onnx"))
    with pytest.raises(ModelError, match="outputs 7 values per face but its metadata names 5 labels"):
        OnnxBackend.load(tmp_path / "bad.onnx")


def test_yunet_calls_the_c_api_and_matches_the_wrapper():
    yuface = pytest.importorskip("yuface")
    from tests._faces_fixtures import astronaut

    from ferkit.faces.yunet import _facedetect_cnn, detect_raw

    assert _facedetect_cnn() is not None  # the leaking wrapper is not used
    bgr = np.ascontiguousarray(astronaut()[:, :, ::-1])
    rows = detect_raw(bgr)
    confs, boxes, marks = yuface.detect(bgr, conf=0.0)
    assert len(rows) == len(confs) >= 1
    assert np.array_equal(rows[:, 0], confs) and np.array_equal(rows[:, 1:5], boxes)
    assert np.array_equal(rows[:, 5:15], marks)
