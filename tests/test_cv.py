"""Cross-validation: grouped folds never share a subject (property test), CK+ is always grouped, tiny end-to-end
runs through the Python API and the `ferkit cv` CLI (with --init-from a FER7 checkpoint on CK+ labels)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from tests._synthetic import bar_images

from ferkit.config import load_config
from ferkit.data.dataset import build_dataset
from ferkit.errors import DataError, OptionError
from ferkit.evaluate import cross_validate, make_folds
from ferkit.evaluate.cv import use_groups
from ferkit.evaluate.tables import format_cv
from ferkit.labels import CKPLUS7, FER7
from ferkit.models import create_model, read_checkpoint_meta, save_checkpoint

FAST = [
    "model.name=seed_keras_cnn",
    "train.epochs=1",
    "train.batch_size=32",
    "train.threads=1",
    "data.val_fraction=0.34",
    "augment.erase=0",
    "train.amp=none",  # explicit: the speed probe of `auto` would cost more than each fold's training
    "train.channels_last=off",
]


def _grouped(subjects: int = 9, frames: int = 2, space=FER7, fmt: str = "synthetic"):
    """Every subject shows every class `frames` times; group id = subject."""
    x, y = bar_images(subjects * frames)
    groups = np.tile(np.repeat(np.arange(subjects) * 10 + 1, frames), 7)
    return build_dataset(
        images=x,
        labels=y,
        label_space=space,
        splits=["train"] * len(y),
        split_order=("train",),
        sources=[f"S{g:03d}_{i}" for i, g in enumerate(groups)],
        format=fmt,
        root="grouped",
        groups=groups.tolist(),
    )


@pytest.mark.parametrize("seed", range(0, 300, 30))
def test_grouped_folds_never_share_a_subject(seed):
    for s in range(seed, seed + 30):  # 300 random layouts in all
        rng = np.random.default_rng(s)
        n_groups = int(rng.integers(3, 40))
        k = int(rng.integers(2, min(10, n_groups) + 1))
        sizes = rng.integers(1, 8, n_groups)
        groups = np.repeat(rng.permutation(1000)[:n_groups], sizes)
        labels = rng.integers(0, int(rng.integers(2, 8)), len(groups))
        try:
            folds = make_folds(labels, groups, k, seed=s)
        except DataError as exc:  # only when a class cannot be spread over k folds
            assert "cannot make" in str(exc)
            continue
        assert len(folds) == k
        test_of = np.full(len(groups), -1)
        for f, (tr, te) in enumerate(folds):
            assert len(te) > 0
            assert not set(groups[tr]) & set(groups[te]), f"layout {s}: a subject is on both sides"
            assert len(tr) + len(te) == len(groups) and not set(tr) & set(te)
            assert (test_of[te] == -1).all()
            test_of[te] = f
        assert (test_of >= 0).all()  # every sample is tested exactly once
        for g in np.unique(groups):  # and all frames of a subject in the same fold
            assert len(set(test_of[groups == g])) == 1


def test_ungrouped_folds_are_stratified_and_bad_k_is_refused():
    labels = np.repeat(np.arange(4), 10)
    folds = make_folds(labels, None, 5, seed=1)
    for _, te in folds:
        assert np.bincount(labels[te], minlength=4).tolist() == [2, 2, 2, 2]
    with pytest.raises(DataError, match="folds"):
        make_folds(labels, np.repeat(np.arange(3), [10, 10, 20]), 4)
    with pytest.raises(DataError, match="folds"):
        make_folds(labels, None, 1)


def test_ckplus_is_always_grouped():
    ck = _grouped(3, 1, CKPLUS7, "ckplus")
    assert use_groups(ck, "auto") and use_groups(ck, "subject")
    with pytest.raises(DataError, match="by subject"):
        use_groups(ck, "none")
    plain = _grouped(3, 1)
    plain.groups = None
    assert not use_groups(plain, "auto")
    with pytest.raises(DataError, match="no subject groups"):
        use_groups(plain, "subject")
    with pytest.raises(DataError, match="unknown group 'person'"):
        use_groups(plain, "person")


def test_ckplus_random_split_only_on_request_and_marked_leaky(tmp_path):
    ck = _grouped(6, 2, CKPLUS7, "ckplus")
    with pytest.raises(DataError, match="set allow_subject_leak"):
        use_groups(ck, "none")
    assert not use_groups(ck, "none", allow_subject_leak=True)
    with pytest.raises(OptionError, match="allow_subject_leak only goes with group none") as err:
        use_groups(ck, "subject", allow_subject_leak=True)
    assert err.value.named(lambda f: "--" + f.replace("_", "-")) == (
        "--allow-subject-leak only goes with --group none"
    )
    cfg = load_config(None, FAST)
    with pytest.warns(UserWarning, match="both sides"):
        res = cross_validate(cfg, ck, folds=2, group="none", run_dir=tmp_path / "cv", allow_subject_leak=True)
    assert res.subject_leak and not res.grouped
    assert json.loads((tmp_path / "cv" / "cv.json").read_text())["subject_leak"] is True
    assert all(f.test_groups == 0 for f in res.folds)  # groups dropped: hold-out and folds split images
    assert "LEAKY" in format_cv(res)


def test_cross_validate_tiny_grouped(tmp_path, monkeypatch):
    ds = _grouped()
    cfg = load_config(None, FAST)  # default val_split public_test is ignored: hold-out of the training folds
    res = cross_validate(cfg, ds, folds=3, run_dir=tmp_path / "cv", seed=0)
    d = res.to_dict()
    assert {"folds", "mean_accuracy", "std_accuracy", "mean_macro_f1"} <= set(d)
    assert len(d["folds"]) == 3 and res.grouped
    assert sum(f.n_test for f in res.folds) == len(ds)
    assert all(f.n_train + f.n_val + f.n_test == len(ds) for f in res.folds)
    assert all(f.test_groups == 3 and f.n_val > 0 for f in res.folds)
    assert int(res.confusion_matrix.sum()) == len(ds)
    assert 0 <= res.mean_accuracy <= 1 and res.std_accuracy >= 0
    assert res.mean_accuracy == pytest.approx(np.mean([f.accuracy for f in res.folds]))
    assert json.loads((tmp_path / "cv" / "cv.json").read_text())["k"] == 3
    meta = read_checkpoint_meta(tmp_path / "cv" / "fold_02" / "best.safetensors")
    assert meta["val_split"].startswith("holdout") and meta["train_n"] == res.folds[1].n_train

    import ferkit.train

    def no_training(*a, **k):
        raise AssertionError("a finished fold was trained again")

    monkeypatch.setattr(ferkit.train, "fit", no_training)
    again = cross_validate(cfg, ds, folds=3, run_dir=tmp_path / "cv", seed=0, resume=True)
    assert again.to_dict()["folds"] == d["folds"]


def _ckplus_folder(root, subjects: int = 6):
    x, _ = bar_images(subjects)
    names = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
    for k, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for s in range(subjects):
            Image.fromarray(x[k * subjects + s]).save(root / name / f"S{s + 10:03d}_00{k}_00000001.png")
    return root


def test_cli_cv_with_init_from(tmp_path):
    data = _ckplus_folder(tmp_path / "CK+48")
    ckpt = save_checkpoint(tmp_path / "fer.safetensors", create_model("seed_keras_cnn"))  # a FER7 model
    out = tmp_path / "cv.json"
    args = [
        "cv",
        "--data",
        data,
        "--folds",
        "2",
        "--init-from",
        ckpt,
        "--run-dir",
        tmp_path / "cv",
        "--json",
        out,
    ]
    for kv in FAST:
        args += ["--set", kv]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(
        [sys.executable, "-m", "ferkit", *map(str, args), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "grouped by subject" in res.stdout and "mean ± std" in res.stdout and "contempt" in res.stdout
    d = json.loads(out.read_text())
    assert d["grouped"] and d["labels"] == list(CKPLUS7.names) and d["init_from"] == str(ckpt)
    assert sum(f["n_test"] for f in d["folds"]) == 42 and all(f["test_groups"] == 3 for f in d["folds"])
    meta = read_checkpoint_meta(tmp_path / "cv" / "fold_01" / "best.safetensors")
    assert meta["labels"]["names"] == list(CKPLUS7.names)  # the classifier was replaced for CK+
    bad = subprocess.run(
        [sys.executable, "-m", "ferkit", "cv", "--data", str(data), "--folds", "2", "--group", "none"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert bad.returncode == 2 and "by subject" in bad.stderr and "Traceback" not in bad.stderr
    assert (
        "set --group to subject" in bad.stderr and "--allow-subject-leak" in bad.stderr
    )  # flags, not fields


def test_resume_refuses_folds_made_under_another_plan(tmp_path, monkeypatch):
    ds = _grouped()
    cfg = load_config(None, FAST)
    cross_validate(cfg, ds, folds=3, run_dir=tmp_path / "cv", seed=0)
    import ferkit.train

    monkeypatch.setattr(ferkit.train, "fit", lambda *a, **k: pytest.fail("trained under a mismatched plan"))
    for kwargs, words in [
        ({"folds": 2}, "differs in folds, test_folds"),
        ({"folds": 3, "seed": 5}, "differs in seed, test_folds"),
        ({"folds": 3, "data": ds.subset(np.arange(len(ds) - 1))}, "differs in data"),
    ]:
        args = {"data": ds, **kwargs}
        with pytest.raises(DataError, match=words):
            cross_validate(cfg, args.pop("data"), run_dir=tmp_path / "cv", resume=True, **args)
    with pytest.raises(DataError, match="differs in recipe"):
        cross_validate(
            load_config(None, FAST + ["optim.lr=0.5"]), ds, folds=3, run_dir=tmp_path / "cv", resume=True
        )
    with pytest.raises(DataError, match="already holds a cross-validation"):
        cross_validate(cfg, ds, folds=3, run_dir=tmp_path / "cv")
    assert len(cross_validate(cfg, ds, folds=3, run_dir=tmp_path / "cv", resume=True).folds) == 3


def test_a_plan_survives_options_added_later_at_their_defaults(tmp_path):
    from ferkit.config import config_to_dict
    from ferkit.evaluate.cv_plan import _first_plan_digest, _non_default, check_plan, recipe_digest

    assert _non_default({"a": {"x": 1, "y": 2}, "b": 3}, {"a": {"x": 1, "y": 5}, "b": 3}) == {"a": {"y": 2}}
    assert _non_default({"a": {"x": 1}, "new": 0}, {"a": {"x": 1}}) == {
        "new": 0
    }  # a key ferkit lacks is kept
    cfg = load_config(None, FAST)
    assert recipe_digest(cfg) == recipe_digest(load_config(None, FAST + ["augment.photometric=0"]))
    assert recipe_digest(cfg) != recipe_digest(load_config(None, FAST + ["augment.photometric=0.5"]))
    # a plan written before the recipe digest: the whole config hashed, without the options added since
    d = config_to_dict(cfg)
    for key in ("photometric", "brightness", "contrast", "gamma", "downscale", "downscale_min"):
        d["augment"].pop(key)
    legacy = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
    assert _first_plan_digest(cfg) == legacy
    plan = {"folds": 3, "seed": 0, "recipe": recipe_digest(cfg)}
    (tmp_path / "cv_plan.json").write_text(json.dumps({"folds": 3, "seed": 0, "config": legacy}))
    check_plan(tmp_path, plan, resume=True, exist_ok=False, cfg=cfg)  # reused
    other = load_config(None, FAST + ["optim.lr=0.5"])
    with pytest.raises(DataError, match="differs in config"):
        check_plan(tmp_path, {**plan, "recipe": recipe_digest(other)}, resume=True, exist_ok=False, cfg=other)
