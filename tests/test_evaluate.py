"""Evaluation: metrics against scikit-learn, label matching, bad input, photos through a detector, dedup figure,
reports, and the `ferkit evaluate` CLI end to end on tiny synthetic data."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from tests._synthetic import bar_dataset, bar_images, write_bar_csv

from ferkit.config import load_config
from ferkit.data import load_dataset
from ferkit.data.dataset import build_dataset
from ferkit.errors import DataError, FerkitError
from ferkit.evaluate import compute_metrics, evaluate, expected_calibration_error, write_report
from ferkit.labels import CKPLUS7, FER7, LabelSpace
from ferkit.models import create_model

SCHEMA = {
    "model",
    "data",
    "split",
    "n",
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "top2_accuracy",
    "ece",
    "labels",
    "per_class",
    "confusion_matrix",
    "no_face",
}
FRACTIONS = ("accuracy", "balanced_accuracy", "macro_f1", "top2_accuracy", "ece")


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return create_model("seed_keras_cnn")


def _dataset(images, labels, space=FER7, split="test", fmt="synthetic"):
    return build_dataset(
        images=images,
        labels=labels,
        label_space=space,
        splits=[split] * len(labels),
        split_order=(split,),
        sources=[f"s{i}" for i in range(len(labels))],
        format=fmt,
        root="synthetic",
    )


def _random_predictions(seed: int, n: int = 300, c: int = 7, absent: int | None = None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    if absent is not None:
        y[y == absent] = (absent + 1) % c
    probs = rng.dirichlet(np.full(c, 0.6), n)
    hit = rng.random(n) < 0.5  # make about half the predictions right
    probs[hit, y[hit]] += 1.0
    return y, probs / probs.sum(1, keepdims=True)


# ---------------------------------------------------------------------------------------------------- metrics


@pytest.mark.parametrize("absent", [None, 6])
def test_metrics_match_sklearn(absent):
    y, probs = _random_predictions(1, absent=absent)
    pred = probs.argmax(1)
    m = compute_metrics(y, probs, FER7.names)
    present = sorted(set(y.tolist()))
    ids = list(range(7))
    assert m.n == len(y) and m.n_missing == 0
    assert m.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    assert m.balanced_accuracy == pytest.approx(skm.recall_score(y, pred, labels=present, average="macro"))
    if absent is None:
        assert m.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(y, pred))
        assert m.macro_f1 == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m.macro_f1 == pytest.approx(skm.f1_score(y, pred, labels=present, average="macro"))
    assert m.top2_accuracy == pytest.approx(skm.top_k_accuracy_score(y, probs, k=2, labels=ids))
    assert np.array_equal(np.array(m.confusion_matrix), skm.confusion_matrix(y, pred, labels=ids))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=ids, zero_division=0)
    for i, name in enumerate(FER7.names):
        c = m.per_class[name]
        assert (c.precision, c.recall, c.f1, c.support) == pytest.approx((p[i], r[i], f[i], s[i]))
    d = m.to_dict()
    assert all(0 <= d[k] <= 1 for k in FRACTIONS)
    assert d["ece_bins"] == 15 and sum(d["reliability"]["count"]) == len(y)


def test_ece_on_a_hand_computed_case():
    # bin 15 (14/15, 1]: confidences .95, .95, one right -> |0.5 - 0.95| = 0.45, weight 2/6
    # bin 10 (9/15, 10/15]: confidences .62 ×4, three right -> |0.75 - 0.62| = 0.13, weight 4/6
    ece, rel = expected_calibration_error(
        np.array([0.95, 0.95, 0.62, 0.62, 0.62, 0.62]), np.array([1, 0, 1, 1, 1, 0])
    )
    assert ece == pytest.approx((2 * 0.45 + 4 * 0.13) / 6)
    assert rel.count[14] == 2 and rel.count[9] == 4 and sum(rel.count) == 6
    assert rel.accuracy[9] == pytest.approx(0.75) and rel.confidence[14] == pytest.approx(0.95)
    # perfectly calibrated and the edges: 1.0 goes to the last bin, 0.0 to the first
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([1, 1]))[0] == 0.0
    assert expected_calibration_error(np.array([0.0]), np.array([0]))[1].count[0] == 1
    assert expected_calibration_error(np.zeros(0), np.zeros(0, bool))[0] == 0.0


def test_missing_predictions_count_as_errors():
    y, probs = _random_predictions(2, n=60)
    miss = np.zeros(60, bool)
    miss[:10] = True
    m = compute_metrics(y, probs, FER7.names, missing=miss)
    pred = np.where(miss, -1, probs.argmax(1))
    assert m.n == 60 and m.n_missing == 10
    assert m.accuracy == pytest.approx(np.mean(pred == y))
    assert np.array(m.confusion_matrix).sum() == 50
    assert sum(m.reliability.count) == 50
    assert m.top2_accuracy == pytest.approx(
        skm.top_k_accuracy_score(y[~miss], probs[~miss], k=2, labels=range(7), normalize=False) / 60
    )
    recall = skm.recall_score(
        y, pred, labels=range(7), average=None, zero_division=0
    )  # misses: false negatives
    assert [m.per_class[n].recall for n in FER7.names] == pytest.approx(recall)
    none = compute_metrics(y, probs, FER7.names, missing=np.ones(60, bool))
    assert (none.accuracy, none.top2_accuracy, none.ece, none.macro_f1) == (0.0, 0.0, 0.0, 0.0)


# ---------------------------------------------------------------------------------------------------- evaluate()


def test_default_split_and_json_schema(net):
    ds = bar_dataset(3, 4)
    res = evaluate(net, ds)
    assert res.split == "public_test" and "default" in res.split_rule
    d = res.to_dict()
    assert SCHEMA <= set(d)
    assert d["n"] == 28 and d["no_face"] == 0 and d["labels"] == list(FER7.names)
    assert all(0 <= d[k] <= 1 for k in FRACTIONS)
    assert set(d["per_class"]) == set(FER7.names)
    assert all(set(v) == {"precision", "recall", "f1", "support"} for v in d["per_class"].values())
    assert np.array(d["confusion_matrix"]).shape == (7, 7)
    assert json.loads(json.dumps(d)) == d
    only = evaluate(net, ds.take_split("train"))
    assert only.split == "train" and only.split_rule == "the dataset's only split"


def test_tta_modes_average_views(net):
    ds = bar_dataset(1, 2).take_split("public_test")
    for tta in ("none", "flip", "tencrop"):
        res = evaluate(net, ds, tta=tta)
        assert res.tta == tta and np.allclose(res.probs.sum(1), 1.0)
    with pytest.raises(FerkitError, match="tencrop"):
        evaluate(net, ds, tta="rotate")


def test_cross_dataset_leaves_out_unknown_classes(net):
    x, _ = bar_images(2)
    labels = np.arange(len(x)) % 7  # CK+ ids: contempt is id 1
    res = evaluate(net, _dataset(x, labels, CKPLUS7, split="train", fmt="ckplus"))
    n_contempt = int((labels == CKPLUS7.names.index("contempt")).sum())
    assert res.left_out == {"contempt": n_contempt}
    assert res.model_only_classes == ("neutral",)
    assert res.metrics.n == len(x) - n_contempt
    cm = np.array(res.metrics.confusion_matrix)
    assert cm.shape == (7, 7) and cm[FER7.names.index("neutral")].sum() == 0
    assert res.metrics.per_class["neutral"].support == 0
    assert res.to_dict()["n_left_out"] == n_contempt


def test_label_mismatch_lists_both_spaces(net):
    x, _ = bar_images(1)
    ds = _dataset(x[:4], np.array([0, 1, 0, 1]), LabelSpace("custom", ("cat", "dog")))
    with pytest.raises(DataError) as err:
        evaluate(net, ds)
    msg = str(err.value)
    assert "FER7" in msg and "angry" in msg and "neutral" in msg and "cat" in msg and "dog" in msg


def test_empty_or_missing_split_is_a_clear_error(net):
    ds = bar_dataset(2, 1)
    with pytest.raises(DataError, match=r"private_test.*train, public_test"):
        evaluate(net, ds, split="private_test")
    empty = _dataset(np.zeros((0, 48, 48), np.uint8), np.zeros(0, np.int64))
    with pytest.raises(DataError, match="no samples"):
        evaluate(net, empty)
    with pytest.raises(DataError, match="no data"):
        evaluate(net, "")


@pytest.mark.parametrize("size", [0, -5])
def test_batch_size_below_one_is_refused_not_scored_as_zeros(net, size):
    from ferkit.errors import FerkitError

    with pytest.raises(FerkitError, match="batch size must be at least 1"):
        evaluate(net, bar_dataset(2, 1), batch_size=size)


def test_dedup_aware_figure(net):
    test = bar_dataset(2, 3, seed=5).take_split("public_test")
    xt, yt = bar_images(2, seed=9)
    xt[:5] = test.images[:5]  # five test images also occur in training
    train = build_dataset(
        images=np.concatenate([xt, test.images[5:8]]),
        labels=np.concatenate([yt, test.labels[5:8]]),
        label_space=FER7,
        splits=["train"] * len(yt) + ["public_test"] * 3,  # copies in another split do not count
        split_order=("train", "public_test"),
        sources=[f"t{i}" for i in range(len(yt) + 3)],
        format="synthetic",
        root="train-set",
    )
    res = evaluate(net, test, train_data=train)
    d = res.dedup
    assert (d["n_seen"], d["n_unseen"], d["train_split"]) == (5, len(test) - 5, "train")
    ok = res.predictions == res.y_true
    assert d["accuracy_unseen"] == pytest.approx(ok[5:].mean())
    assert d["accuracy_seen"] == pytest.approx(ok[:5].mean())
    assert res.to_dict()["dedup"] == d
    assert "note" not in d
    other = build_dataset(
        images=xt[5:],
        labels=yt[5:],
        label_space=FER7,
        splits=["train"] * (len(yt) - 5),
        split_order=("train",),
        sources=[f"o{i}" for i in range(len(yt) - 5)],
        format="ferplus",
        root="ferplus-train",
    )
    none = evaluate(net, test, train_data=other).dedup
    assert none["n_seen"] == 0 and "pixel for pixel" in none["note"] and "ferplus" in none["note"]


def test_unwritable_report_dir(net, tmp_path):
    res = evaluate(net, bar_dataset(1, 1).take_split("public_test"))
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(FerkitError, match="cannot write the report"):
        write_report(res, blocker / "report")


# ---------------------------------------------------------------------------------------------------- photos


@dataclass
class FakeFace:
    box: tuple[int, int, int, int]
    score: float = 0.9
    landmarks: None = None


class FakeDetector:
    """Finds the bright rectangle drawn on the test photos; a uniform photo has no face."""

    name = "fake"

    def detect(self, rgb: np.ndarray) -> list[FakeFace]:
        ys, xs = np.nonzero(rgb.mean(2) > 200)
        if len(ys) == 0:
            return []
        small = FakeFace((0, 0, 4, 4), 0.5)  # a smaller decoy: the largest face must win
        return [small, FakeFace((int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1))]


def _photo_folder(root: Path, faces: bool = True) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("happiness", "sad"):  # folder names go through the aliases
        for i in range(3):
            img = np.full((90, 120, 3), 60, np.uint8)
            if faces and not (cls == "sad" and i == 0):  # sad/0.png: no face
                x, y = int(rng.integers(5, 70)), int(rng.integers(5, 40))
                img[y : y + 45, x : x + 45] = 230
            (root / cls).mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(root / cls / f"{i}.png")
    return root


def test_photo_folder_through_a_detector(net, tmp_path, monkeypatch):
    import ferkit.faces.align as align

    seen_shapes = []
    real = align.crop_face

    def crop(rgb, face, dc, *a, **kw):
        seen_shapes.append(rgb.shape)
        return real(rgb, face, dc, *a, **kw)

    monkeypatch.setattr(align, "crop_face", crop)
    folder = _photo_folder(tmp_path / "photos")
    res = evaluate(net, folder, detector=FakeDetector())
    assert res.detector == "fake" and res.split == "all"
    assert res.no_face == 1 and res.metrics.n == 6 and res.metrics.n_missing == 1
    assert res.to_dict()["no_face"] == 1
    assert seen_shapes == [(90, 120, 3)] * 5  # the original photos at full resolution, not the 48×48 copies
    assert res.metrics.accuracy <= 5 / 6
    assert res.images.shape == (6, 48, 48)
    assert -1 in res.predictions
    # a crop is the face: the bright rectangle fills it
    face_rows = ~res.no_face_mask
    assert res.images[face_rows].mean() > 200

    nothing = evaluate(net, _photo_folder(tmp_path / "blank", faces=False), detector=FakeDetector())
    assert nothing.no_face == nothing.metrics.n == 6 and nothing.metrics.accuracy == 0.0
    assert (tmp_path / "r" / "report.html") == write_report(nothing, tmp_path / "r")


def test_detector_name_without_opencv_names_the_extra(net, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 -> ImportError: the 'faces' extra is missing
    with pytest.raises(FerkitError, match=r"ferkit\[faces\]"):
        evaluate(net, _photo_folder(tmp_path / "photos"), detector="haar")


def test_detector_needs_image_files(net, tmp_path):
    csv = write_bar_csv(tmp_path / "bars.csv", 1, 1)
    with pytest.raises(DataError, match="not an image file"):
        evaluate(net, load_dataset(csv), detector=FakeDetector())


# ---------------------------------------------------------------------------------------------------- CLI


def _ferkit(*args, env=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ferkit", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_end_to_end_json_and_report(tmp_path):
    from ferkit.train import fit

    csv = write_bar_csv(tmp_path / "bars.csv", 6, 3)
    cfg = load_config(
        None, ["model.name=seed_keras_cnn", "train.epochs=1", "train.batch_size=32", "train.threads=1"]
    )
    ds = load_dataset(csv)
    run = fit(
        cfg, tmp_path / "run", train=ds.take_split("train"), val=ds.take_split("public_test"), quiet=True
    )
    out, report = tmp_path / "out.json", tmp_path / "report"
    res = _ferkit(
        "evaluate",
        "--model",
        run.best_path,
        "--data",
        csv,
        "--train-data",
        csv,
        "--json",
        out,
        "--report",
        report,
    )
    assert res.returncode == 0, res.stderr
    for words in (
        "accuracy",
        "balanced accuracy",
        "macro-F1",
        "top-2",
        "ECE",
        "per class",
        "confusion matrix",
    ):
        assert words in res.stdout
    d = json.loads(out.read_text())
    assert SCHEMA <= set(d)
    assert d["split"] == "public_test" and d["n"] == 21 and d["no_face"] == 0
    assert all(0 <= d[k] <= 1 for k in FRACTIONS)
    assert all(0 <= v[k] <= 1 for v in d["per_class"].values() for k in ("precision", "recall", "f1"))
    assert sum(map(sum, d["confusion_matrix"])) == 21
    assert d["dedup"]["n_unseen"] == 21 and d["model_card"]["selection_split"] == "public_test"
    assert d["model_card"]["params"] > 0 and d["command"].startswith("ferkit evaluate")
    _check_report(report)


def _check_report(report: Path) -> None:
    html = (report / "report.html").read_text()
    assert json.loads((report / "metrics.json").read_text())["n"] == 21
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(embedded) == 4
    for data in embedded:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    named = set(re.findall(r'(?:href|src)="([^"#:]+)"', html))
    assert named, "report names no files"
    for name in named:
        assert (report / name).is_file(), f"report.html names missing file {name}"
    assert "metrics.json" in named
    pngs = {p.name for p in report.glob("*.png")}
    assert pngs == {"confusion_matrix.png", "per_class.png", "reliability.png", "mistakes.png"}
    assert pngs <= named
    for word in ("Model card", "seed_keras_cnn", "public_test", "Confusion matrix"):
        assert word in html


def test_cli_errors_without_traceback(tmp_path):
    from ferkit.models import save_checkpoint

    ckpt = save_checkpoint(tmp_path / "m.safetensors", create_model("seed_keras_cnn"))
    csv = write_bar_csv(tmp_path / "bars.csv", 1, 1)
    res = _ferkit("evaluate", "--model", ckpt, "--data", csv, "--split", "private_test")
    assert res.returncode == 2 and "private_test" in res.stderr and "Traceback" not in res.stderr
    (tmp_path / "blocker").write_text("x")
    res = _ferkit("evaluate", "--model", ckpt, "--data", csv, "--report", tmp_path / "blocker" / "r")
    assert res.returncode == 2 and "cannot write the report" in res.stderr and "Traceback" not in res.stderr
