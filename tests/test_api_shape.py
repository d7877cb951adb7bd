"""The defaults live in the Python API, once; the CLI is a shim over it."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

import ferkit
from _synthetic import bar_dataset
from ferkit.config import default_run_dir, load_config, load_run_config, save_config
from ferkit.serve.limits import Limits
from ferkit.serve.settings import SETTINGS_ENV, ServeSettings

FAST = ["model.name=seed_keras_cnn", "train.batch_size=32", "train.threads=1", "train.epochs=1"]


def test_the_package_exports_the_whole_workflow():
    for name in ("load_dataset", "load_config", "fit", "evaluate", "cross_validate", "export_onnx", "load"):
        assert callable(getattr(ferkit, name)), name
    package = importlib.import_module("ferkit.evaluate")  # once imported, the subpackage is `ferkit.evaluate`
    assert ferkit.evaluate is package and callable(package)  # and calling it runs evaluate()
    with pytest.raises(AttributeError, match="no attribute 'fitt'"):
        ferkit.fitt  # noqa: B018


def test_fit_without_a_run_dir_writes_runs_config_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ds = bar_dataset(4, 1)
    cfg = load_config(None, [*FAST, "name=tiny"])
    res = ferkit.fit(cfg, train=ds.take_split("train"), val=ds.take_split("public_test"), quiet=True)
    assert res.run_dir == default_run_dir(cfg) == Path("runs/tiny")
    assert (tmp_path / "runs" / "tiny" / "best.safetensors").is_file()


def test_a_resume_without_a_config_continues_the_runs_own_recipe(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    save_config(load_config(None, [*FAST, "optim.lr=0.0123"]), run / "config.yaml")
    assert load_run_config(None, None, run, resume=True).optim.lr == 0.0123
    assert load_run_config(None, None, run, resume=False).optim.lr == load_config(None).optim.lr
    assert load_run_config(None, ["optim.lr=0.5"], run, resume=True).optim.lr == 0.5  # overrides still apply
    assert load_run_config(None, None, tmp_path / "none", resume=True) == load_config(None)


def test_serve_settings_hold_the_one_copy_of_the_defaults():
    s = ServeSettings()
    assert s.limits() == Limits()  # the CLI's defaults are the library's
    custom = ServeSettings(model="fast", max_upload_mb=2.5, read_timeout_s=30, cors_origins=("http://a",))
    assert ServeSettings.from_json(custom.to_json()) == custom
    assert custom.limits().max_upload_bytes == int(2.5 * 2**20) and custom.limits().read_total_s == 180


@pytest.mark.parametrize(
    "bad, message, flag",
    [
        (
            {"read_timeout_s": 0},
            "read_timeout_s 0: must be a positive",
            "--read-timeout 0: must be a positive",
        ),
        ({"max_pending": 0}, "max_pending 0: must be at least 1", "--max-pending 0: must be at least 1"),
        ({"max_reading": 0}, "max_reading 0: must be at least 1", "--max-reading 0: must be at least 1"),
        (
            {"max_upload_mb": -1},
            "max_upload_mb -1: must be a positive",
            "--max-upload-mb -1: must be a positive",
        ),
        ({"max_side": 0}, "max_side 0: must be", "--max-side 0: must be"),
        (
            {"api_key_env": "FERKIT_SURELY_UNSET_VAR"},
            "api_key_env FERKIT_SURELY_UNSET_VAR: that environment variable is not set",
            "--api-key-env FERKIT_SURELY_UNSET_VAR: that environment variable is not set",
        ),
    ],
)
def test_serve_settings_name_a_bad_field_and_the_cli_its_flag(bad, message, flag):
    """The library names the dataclass field a Python caller wrote; the CLI turns the field into its flag."""
    from ferkit.commands.serve import flag_of
    from ferkit.serve.settings import SettingsError

    with pytest.raises(SettingsError, match=message) as err:
        ServeSettings(**bad).check()
    assert "--" not in str(err.value)
    assert f"{flag_of(err.value.field)} {err.value.value}: {err.value.reason}".startswith(flag)


def test_every_serve_settings_field_has_a_serve_flag():
    import argparse
    import dataclasses

    from ferkit.commands import serve

    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    flags = {
        o for a in parser._subparsers._group_actions[0].choices["serve"]._actions for o in a.option_strings
    }
    assert {serve.flag_of(f.name) for f in dataclasses.fields(ServeSettings)} <= flags


def test_the_worker_factory_refuses_to_start_without_settings(monkeypatch):
    pytest.importorskip("fastapi")
    from ferkit.serve.app import app_from_env

    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    with pytest.raises(RuntimeError, match=f"{SETTINGS_ENV} is not set"):
        app_from_env()
    assert SETTINGS_ENV not in os.environ


def test_devices_are_checked_with_one_message_each():
    from ferkit.errors import ModelError

    with pytest.raises(ModelError, match="'gpu' is not a device"):
        ferkit.load(device="gpu")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="CUDA is not available"):
            ferkit.load("fast", device="cuda")
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        from ferkit.weights import WEIGHTS_DIR

        with pytest.raises(ModelError, match="no CUDA provider.*onnxruntime-gpu"):
            ferkit.load(WEIGHTS_DIR / "default.int8.onnx", device="cuda")
