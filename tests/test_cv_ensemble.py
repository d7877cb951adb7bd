"""Rescoring and ensembling finished cross-validations (`ensemble_cv`, `ferkit cv-ensemble`), and `cv --tta`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from tests.test_cv import FAST, _grouped

from ferkit.config import load_config
from ferkit.data.packed import pack_dataset
from ferkit.errors import DataError, FerkitError
from ferkit.evaluate import cross_validate, ensemble_cv, evaluate, make_folds


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two tiny 3-fold CVs of different models on the same grouped data and folds, plus one with other folds."""
    root = tmp_path_factory.mktemp("cvens")
    ds = _grouped()
    a = cross_validate(load_config(None, FAST), ds, folds=3, run_dir=root / "a", seed=0)
    b = cross_validate(
        load_config(None, [*FAST, "model.name=seed_cnn4c3f_28"]), ds, folds=3, run_dir=root / "b"
    )
    c = cross_validate(load_config(None, FAST), ds, folds=3, run_dir=root / "c", seed=1)
    return ds, root, a, b, c


def test_one_run_rescored_reproduces_its_cv(two_runs):
    ds, root, a, _, _ = two_runs
    again = ensemble_cv([root / "a"], ds)
    assert [f.accuracy for f in again.folds] == pytest.approx([f.accuracy for f in a.folds])
    assert [f.best_epoch for f in again.folds] == [f.best_epoch for f in a.folds]
    assert again.members == () and again.mean_accuracy == pytest.approx(a.mean_accuracy)


def test_ensemble_is_the_mean_of_the_members_probabilities(two_runs):
    ds, root, a, b, _ = two_runs
    ens = ensemble_cv([root / "a", root / "b"], ds, tta="flip")
    assert ens.members == (str(root / "a"), str(root / "b")) and ens.tta == "flip"
    assert ens.model == f"{a.model}+{b.model}"
    folds = make_folds(ds.labels, ds.groups, 3, 0)
    for i, (_, te) in enumerate(folds, 1):
        test = ds.subset(te)
        p = [evaluate(root / r / f"fold_{i:02d}" / "best.safetensors", test, tta="flip").probs for r in "ab"]
        want = float((np.mean(p, axis=0).argmax(1) == test.labels).mean())
        assert ens.folds[i - 1].accuracy == pytest.approx(want)
        assert ens.folds[i - 1].best_epoch == 0 and ens.folds[i - 1].tta == "flip"
    assert int(ens.confusion_matrix.sum()) == len(ds)
    d = ens.to_dict()
    assert d["tta"] == "flip" and d["members"] == [str(root / "a"), str(root / "b")]


def test_runs_with_other_folds_or_no_cv_are_refused(two_runs, tmp_path):
    ds, root, *_ = two_runs
    with pytest.raises(DataError, match="do not share their folds: seed"):
        ensemble_cv([root / "a", root / "c"], ds)
    with pytest.raises(DataError, match="no cv.json"):
        ensemble_cv([tmp_path], ds)
    (tmp_path / "cv.json").write_text("{not json")
    with pytest.raises(DataError, match="cannot read"):
        ensemble_cv([tmp_path], ds)
    with pytest.raises(DataError, match="not its data"):
        ensemble_cv([root / "a"], ds.subset(np.arange(len(ds) - 7)))


def test_cv_tta_rescores_finished_folds_without_training(two_runs, monkeypatch):
    ds, root, a, _, _ = two_runs
    with pytest.raises(FerkitError, match="test-time augmentation"):
        cross_validate(load_config(None, FAST), ds, folds=3, run_dir=root / "a", tta="mirror", resume=True)
    import ferkit.train

    monkeypatch.setattr(ferkit.train, "fit", lambda *a, **k: pytest.fail("a finished fold was trained again"))
    flip = cross_validate(load_config(None, FAST), ds, folds=3, run_dir=root / "a", tta="flip", resume=True)
    assert all(f.tta == "flip" for f in flip.folds) and flip.tta == "flip"
    assert [f.best_epoch for f in flip.folds] == [f.best_epoch for f in a.folds]
    assert json.loads((root / "a" / "cv.json").read_text())["tta"] == "flip"
    assert json.loads((root / "a" / "fold_01" / "fold.json").read_text())["tta"] == "flip"
    want = ensemble_cv([root / "a"], ds, tta="flip")
    assert [f.accuracy for f in flip.folds] == pytest.approx([f.accuracy for f in want.folds])


def test_cli_cv_ensemble(two_runs, tmp_path):
    ds, root, *_ = two_runs
    data = tmp_path / "grouped.npz"
    pack_dataset(ds, data)
    out = tmp_path / "ens.json"
    runs = [str(root / "a"), str(root / "b")]
    cmd = [sys.executable, "-m", "ferkit", "cv-ensemble", *runs, "--data", str(data)]
    res = subprocess.run([*cmd, "--json", str(out), "--quiet"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "ensemble (mean probabilities)" in res.stdout and "mean ± std" in res.stdout
    d = json.loads(out.read_text())
    assert {"folds", "mean_accuracy", "std_accuracy", "mean_macro_f1", "members"} <= set(d) and d["k"] == 3
    bad = subprocess.run([*cmd[:4], str(tmp_path), "--data", str(data)], capture_output=True, text=True)
    assert bad.returncode == 2 and "no cv.json" in bad.stderr and "Traceback" not in bad.stderr
