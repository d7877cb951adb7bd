import pytest

from ferkit.config import config_to_dict, load_config
from ferkit.errors import ConfigError


def test_defaults_and_overrides():
    cfg = load_config(
        None, ["optim.lr=0.05", "train.epochs=3", "augment.scale=[0.8,1.2]", "data.val_split=null"]
    )
    assert cfg.optim.lr == 0.05 and cfg.train.epochs == 3
    assert cfg.augment.scale == (0.8, 1.2)
    assert cfg.data.val_split is None
    assert config_to_dict(cfg)["augment"]["scale"] == [0.8, 1.2]


def test_yaml_on_off_reach_string_modes_as_written(tmp_path):
    # YAML 1.1 reads an unquoted on/off as a boolean; a string setting gets the word back
    cfg = load_config(None, ["train.channels_last=on"])
    assert cfg.train.channels_last == "on"
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  channels_last: off\n")
    assert load_config(p).train.channels_last == "off"


def test_yaml_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: x\nmodel:\n  name: mobilefer\ntrain:\n  epochs: 2\n")
    cfg = load_config(p, ["train.epochs=5"])
    assert (cfg.name, cfg.model.name, cfg.train.epochs) == ("x", "mobilefer", 5)


def test_unknown_key_suggests_closest(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("optim:\n  lrr: 0.1\n")
    with pytest.raises(ConfigError, match=r"unknown key 'optim.lrr'.*did you mean 'optim.lr'"):
        load_config(p)


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.epochs=abc", "must be an integer"),
        ("optim.lr=fast", "must be a number"),
        ("train.compile=maybe", "true or false"),
        ("augment.scale=0.5", "list of 2"),
        ("nokey", "section.key=value"),
        ("train=3", "must be a section"),
    ],
)
def test_wrong_types(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.select_metric=val_f1", r"train.select_metric='val_f1'.*did you mean 'val_macro_f1'"),
        ("train.device=gpu", r"train.device='gpu' is not a device"),
        ("train.checkpoint_dtype=fp16", r"train.checkpoint_dtype='fp16'.*float16"),
        ("train.amp=fp16", r"train.amp='fp16'.*auto, bf16, none"),
        ("train.sampler=weighted", r"train.sampler"),
    ],
)
def test_values_outside_a_keys_choices_are_named_when_the_config_is_read(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_fit_checks_choices_of_a_config_built_in_python_before_creating_the_run(tmp_path):
    from ferkit.train import fit

    cfg = load_config(None)
    cfg.train.select_metric = "val_f1"
    with pytest.raises(ConfigError, match="select_metric"):
        fit(cfg, tmp_path / "run", data_path=tmp_path / "no-data")
    assert not (tmp_path / "run").exists()


def test_device_choices_accept_indexed_cuda():
    assert load_config(None, ["train.device=cuda:1"]).train.device == "cuda:1"


def test_missing_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_every_shipped_recipe_loads_and_names_a_registered_model():
    from pathlib import Path

    from ferkit.models import list_models

    recipes = sorted(Path(__file__).resolve().parents[1].joinpath("configs").glob("*.yaml"))
    assert len(recipes) >= 6
    for p in recipes:
        cfg = load_config(p)
        assert cfg.model.name in list_models(), p


@pytest.mark.parametrize("key", ["train.batch_size", "train.eval_batch_size", "train.epochs"])
def test_counts_below_one_are_refused(key):
    with pytest.raises(ConfigError, match=f"{key} must be at least 1, got 0"):
        load_config(None, [f"{key}=0"])
