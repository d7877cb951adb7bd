"""The packed dataset format: `ferkit data pack` writes one .npz / .npz.xz that loads back identically."""

import subprocess
import sys

import numpy as np
import pytest
from tests._synthetic import bar_dataset, write_bar_csv

from ferkit.data import load_dataset
from ferkit.data.packed import pack_dataset
from ferkit.errors import DataError


@pytest.mark.parametrize("name", ["bars.npz", "bars.npz.xz"])
def test_round_trip_is_lossless_and_detected(tmp_path, name):
    ds = bar_dataset(5, 2)
    path = pack_dataset(ds, tmp_path / name)
    back = load_dataset(path)
    assert back.format == ds.format and back.split_names == ds.split_names
    assert back.label_space.names == ds.label_space.names
    np.testing.assert_array_equal(back.images, ds.images)
    np.testing.assert_array_equal(back.labels, ds.labels)
    np.testing.assert_array_equal(back.split_ids, ds.split_ids)
    assert list(back.sources) == list(ds.sources)


def test_xz_is_smaller_and_packed_files_are_not_cached_again(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FERKIT_CACHE_DIR", str(cache))
    ds = bar_dataset(5, 2)
    plain = pack_dataset(ds, tmp_path / "a.npz")
    small = pack_dataset(ds, tmp_path / "a.npz.xz")
    assert small.stat().st_size < plain.stat().st_size
    load_dataset(small)
    assert not cache.exists() or not any(cache.iterdir())


def test_splits_subset(tmp_path):
    back = load_dataset(pack_dataset(bar_dataset(5, 2), tmp_path / "t.npz", splits=["public_test"]))
    assert back.splits == ["public_test"] and len(back) == 14


def test_bad_inputs_name_the_file(tmp_path):
    ds = bar_dataset(2, 1)
    with pytest.raises(DataError, match="no split 'valid'"):
        pack_dataset(ds, tmp_path / "x.npz", splits=["valid"])
    with pytest.raises(DataError, match=r"\*\.npz"):
        pack_dataset(ds, tmp_path / "x.zip")
    bad = tmp_path / "broken.npz.xz"
    bad.write_bytes(b"not xz at all")
    with pytest.raises(DataError, match="broken.npz.xz"):
        load_dataset(bad)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(DataError, match="not a ferkit packed dataset"):
        load_dataset(other)


def test_cli_pack(tmp_path):
    csv = write_bar_csv(tmp_path / "bars.csv", 4, 2)
    out = tmp_path / "bars.npz.xz"
    res = subprocess.run(
        [sys.executable, "-m", "ferkit", "data", "pack", str(csv), str(out), "--splits", "train", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "train 28" in res.stdout and "public_test" not in res.stdout
    assert load_dataset(out).splits == ["train"]


def test_packed_file_has_ordinary_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = pack_dataset(bar_dataset(2, 1), tmp_path / "p.npz.xz")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["p.npz.xz"]  # no temporary file left behind


def test_training_on_a_packed_ferplus_keeps_its_label_mode(ferplus_dir, tmp_path):
    from ferkit.config import load_config
    from ferkit.errors import TrainingError
    from ferkit.train.data_setup import load_train_val, with_data_label_mode

    packed = pack_dataset(load_dataset(ferplus_dir, label_mode="probability"), tmp_path / "fp.npz")
    cfg = load_config(None, ["data.train_split=train", "data.val_split=valid"])
    train, _ = load_train_val(cfg, str(packed))
    assert (
        with_data_label_mode(cfg, train).data.label_mode == "probability" and train.soft_targets is not None
    )
    assert cfg.data.label_mode is None  # the caller's config is not changed
    same = load_config(None, ["data.val_split=valid", "data.label_mode=probability"])
    load_train_val(same, str(packed))  # naming the mode it was packed with is fine
    other = load_config(None, ["data.val_split=valid", "data.label_mode=multi_target"])
    with pytest.raises(TrainingError, match="packed with label_mode=probability.*--label-mode multi_target"):
        load_train_val(other, str(packed))


def test_cli_names_the_classes_of_a_ck_csv_so_a_fer_model_can_score_it(ck_csv, tmp_path):
    out = tmp_path / "ck.npz"
    names = "angry,disgust,fear,happy,sad,surprise,neutral,contempt"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "ferkit",
            "data",
            "pack",
            str(ck_csv.path),
            str(out),
            "--labels",
            names,
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    ds = load_dataset(out)
    assert ds.label_space.names == tuple(names.split(",")) and ds.class_counts()["contempt"] == 2
    bad = subprocess.run(
        [sys.executable, "-m", "ferkit", "data", "stats", str(out), "--labels", names, "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "unknown option 'labels'" in bad.stderr and "Traceback" not in bad.stderr


def test_a_missing_validation_split_says_which_one_to_use(ferplus_dir):
    from ferkit.config import load_config
    from ferkit.errors import TrainingError
    from ferkit.train.data_setup import load_train_val

    with pytest.raises(TrainingError, match=r"no validation split 'public_test'.*--set data.val_split=valid"):
        load_train_val(load_config(None), str(ferplus_dir))
