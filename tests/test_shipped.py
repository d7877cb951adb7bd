"""The models shipped inside the package: they load offline without pickle, reproduce their recorded prediction,
and the model card's figures are exactly those of metrics.json."""

from __future__ import annotations

import importlib.util
import json
import socket
from pathlib import Path

import pytest

from ferkit.weights import WEIGHTS_DIR, shipped_models

SAMPLES = Path(__file__).resolve().parents[1] / "src" / "ferkit" / "samples"
SHIPPED = [n for n in shipped_models() if (WEIGHTS_DIR / f"{n}.metrics.json").is_file()]
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no model shipped in src/ferkit/weights yet")


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise OSError("network access attempted during load")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("name", SHIPPED)
def test_loads_offline_and_reproduces_recorded_prediction(name, no_network):
    import ferkit

    metrics = json.loads((WEIGHTS_DIR / f"{name}.metrics.json").read_text())
    ref = metrics["reference_prediction"]
    face = (
        ferkit.load(WEIGHTS_DIR / f"{name}.safetensors").predict(str(SAMPLES / "astronaut.jpg"))[0].faces[0]
    )
    assert face.label == ref["label"]
    assert list(face.box) == ref["box"]
    for label, p in ref["probs"].items():
        assert face.probs[label] == pytest.approx(p, abs=1e-4)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_int8_model_keeps_the_recorded_prediction(name, no_network):
    """Where an int8 file ships, `ferkit.load(name)` runs it: same label and box, probabilities within 0.05."""
    pytest.importorskip("onnxruntime")
    import ferkit

    metrics = json.loads((WEIGHTS_DIR / f"{name}.metrics.json").read_text())
    if not (WEIGHTS_DIR / f"{name}.int8.onnx").is_file():
        assert "int8" not in metrics  # no figures for a file that does not ship
        pytest.skip(f"no int8 model shipped for {name}")
    rec = ferkit.load(WEIGHTS_DIR / f"{name}.int8.onnx")
    assert rec.backend.meta["precision"] == "int8"
    q = metrics["int8"]
    fp32 = q.get("publictest_fp32_onnx_accuracy", q.get("eval_fp32_onnx_accuracy"))
    assert fp32 - q.get("publictest_accuracy", q.get("eval_accuracy")) <= 0.003  # the shipping rule
    ref = metrics["reference_prediction"]
    face = rec.predict(str(SAMPLES / "astronaut.jpg"))[0].faces[0]
    assert face.label == ref["label"] and list(face.box) == ref["box"]
    for label, p in ref["probs"].items():
        assert face.probs[label] == pytest.approx(p, abs=0.05)


@pytest.mark.parametrize("name", SHIPPED)
def test_weights_are_safetensors_with_metadata(name):
    from ferkit.models import read_checkpoint_meta

    path = WEIGHTS_DIR / f"{name}.safetensors"
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    assert json.loads(path.read_bytes()[8 : 8 + header_len])["__metadata__"]  # safetensors, not a pickle
    meta = read_checkpoint_meta(path)
    assert meta["val_split"] in ("public_test", "valid")  # FER2013 PublicTest, or FER+ valid (the same faces)
    assert "private" not in json.dumps(meta["config"]["data"]).lower()
    assert path.stat().st_size <= 25 * 1024 * 1024


def test_default_is_what_load_uses():
    import ferkit

    assert "default" in SHIPPED
    name = ferkit.load().backend.name
    from ferkit.backends.resolve import cpu_has_vnni

    int8 = (WEIGHTS_DIR / "default.int8.onnx").is_file() and importlib.util.find_spec("onnxruntime")
    int8 = int8 and cpu_has_vnni()
    assert name == ("default.int8" if int8 else "default")


def test_model_card_matches_metrics():
    from release.card import render_card

    metrics = [json.loads((WEIGHTS_DIR / f"{n}.metrics.json").read_text()) for n in SHIPPED]
    assert (WEIGHTS_DIR / "MODEL_CARD.md").read_text() == render_card(metrics)
    card = (WEIGHTS_DIR / "MODEL_CARD.md").read_text()
    for m in metrics:
        ev = m.get("publictest") or m["evaluation"]
        assert f"{100 * ev['accuracy']:.2f} %" in card
        assert f"{100 * ev['macro_f1']:.2f} %" in card


def test_the_fer_plus_model_speaks_fer_plus(no_network):
    """`ferkit.load("ferplus")`: the 8 FER+ classes in FER+ order, contempt included, scored on FER+ valid."""
    if "ferplus" not in SHIPPED:
        pytest.skip("no FER+ model shipped")
    import ferkit
    from ferkit.labels import FERPLUS8

    assert ferkit.load("ferplus").labels == FERPLUS8.names
    assert FERPLUS8.names == ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt")
    m = json.loads((WEIGHTS_DIR / "ferplus.metrics.json").read_text())
    assert m["selection"]["split"].startswith("FER+ valid") and m["evaluation"]["labels"] == list(
        FERPLUS8.names
    )


def test_fast_model_is_within_three_points_of_the_fer2013_model():
    """The "fast" model (FER2013 labels) ships only while it stays within 3 PublicTest points of `fer2013`, the
    ResNet-18 trained on the same labels."""
    if "fast" not in SHIPPED:
        pytest.skip("no fast model shipped")
    acc = {
        n: json.loads((WEIGHTS_DIR / f"{n}.metrics.json").read_text())["publictest"]["accuracy"]
        for n in ("fer2013", "fast")
    }
    assert acc["fer2013"] - acc["fast"] <= 0.03
    assert json.loads((WEIGHTS_DIR / "fast.metrics.json").read_text())["mflops"] < 100


def test_model_card_shows_a_fine_tuned_models_pre_training_stage():
    """A model fine-tuned from an earlier shipped one names both stages: recipe and compute of each."""
    from release.card import render_card

    m = json.loads((WEIGHTS_DIR / "fer2013.metrics.json").read_text())
    parent = {
        "name": "default",
        "publictest_accuracy": 0.7001,
        "publictest_macro_f1": 0.69,
        "epochs": 190,
        "hours": 0.2,
        "best_epoch": 184,
        "device": "one NVIDIA H100",
        "config": m["training"]["config"],
    }
    cfg = {**m["training"]["config"]}
    cfg["train"] = {**cfg["train"], "distill_from": "teacher.safetensors", "distill_weight": 0.5}
    tuned = {
        **m,
        "training": {**m["training"], "epochs": 6, "device": "this CPU", "init_from": parent, "config": cfg},
    }
    card = render_card([tuned])
    assert "| pre-training | `default` as shipped before (70.01 % PublicTest)" in card
    assert "| pre-training compute | one NVIDIA H100, 12.0 min for 190 epochs (best epoch 184) |" in card
    assert "| fine-tuning compute | this CPU," in card and "for 6 epochs |" in card
    assert "distilled from `teacher.safetensors` (teacher share 0.5, temperature" in card
    cfg["train"]["distill_from"] = ["a.safetensors", "b.safetensors"]
    assert "distilled from `a.safetensors` + `b.safetensors` (an ensemble: probabilities averaged)" in (
        render_card([tuned])
    )
    assert "| recipe |" not in render_card([tuned]) and "| recipe |" in render_card([m])


def test_model_card_lists_every_earlier_stage_oldest_first():
    """A model fine-tuned in two stages (the second from an unshipped run) names pre-training, the intermediate
    run with the trainer's figure, and the final fine-tuning, in training order."""
    from release.card import render_card

    m = json.loads((WEIGHTS_DIR / "fer2013.metrics.json").read_text())
    cfg = m["training"]["config"]
    shipped = {"name": "default", "publictest_accuracy": 0.7116, "publictest_macro_f1": 0.70, "epochs": 190}
    shipped.update(hours=0.21, best_epoch=184, device="one NVIDIA H100", config=cfg)
    run = {"name": "ema_stage", "run": "ema_ft", "publictest_accuracy": 0.7194, "publictest_macro_f1": 0.70}
    run.update(epochs=5, hours=1.0, best_epoch=4, device="this CPU", config=cfg, init_from=shipped)
    card = render_card([{**m, "training": {**m["training"], "device": "this CPU", "init_from": run}}])
    pre = card.index("| pre-training | `default` as shipped before (71.16 % PublicTest)")
    mid = card.index(
        "| fine-tuning stage 1 | run `ema_stage` (71.94 % PublicTest by the trainer's evaluation"
    )
    assert (
        pre
        < mid
        < card.index("| fine-tuning stage 1 compute | this CPU, 1.00 h for 5 epochs (best epoch 4) |")
    )
    assert mid < card.index("| fine-tuning | ") < card.index("| fine-tuning compute | this CPU,")
    assert "fine-tuning stage 2" not in card


def test_renaming_a_shipped_model_moves_every_file_and_keeps_the_weights(tmp_path):
    """release.rename_model: weights byte-identical tensors, the new name inside the metadata and metrics."""
    import shutil

    import torch
    from release.rename_model import rename

    from ferkit.models import load_model, read_checkpoint_meta

    if "fast" not in SHIPPED:
        pytest.skip("no fast model shipped")
    for suffix in (".safetensors", ".metrics.json", "_confusion.png"):
        shutil.copy(WEIGHTS_DIR / f"fast{suffix}", tmp_path / f"fast{suffix}")
    rename("fast", "quick", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "MODEL_CARD.md", "quick.metrics.json", "quick.safetensors", "quick_confusion.png",
    ]  # fmt: skip
    before, after = load_model(WEIGHTS_DIR / "fast.safetensors"), load_model(tmp_path / "quick.safetensors")
    for (k, a), (_, b) in zip(before.state_dict().items(), after.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    assert read_checkpoint_meta(tmp_path / "quick.safetensors").get("shipped_name") in (None, "quick")
    m = json.loads((tmp_path / "quick.metrics.json").read_text())
    assert m["name"] == "quick" and m["weights_file"] == "quick.safetensors"
    assert "## `quick`" in (tmp_path / "MODEL_CARD.md").read_text()
    with pytest.raises(SystemExit, match="no such shipped model"):
        rename("fast", "other", tmp_path)


def test_the_default_speaks_its_label_space_in_predict_and_evaluate(tmp_path, no_network):
    """`default` answers in its own classes (FER+'s 8 when it learnt from FER+ votes): predict's CSV has a
    column per class, and evaluating it on FER2013-named class folders scores the shared classes."""
    import csv

    from PIL import Image

    import ferkit
    from ferkit.cli import main as cli_main
    from ferkit.evaluate import evaluate

    labels = ferkit.load().labels
    out = tmp_path / "faces.csv"
    assert cli_main(["predict", str(SAMPLES / "astronaut.jpg"), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and rows[0]["label"] in labels
    assert all(f"p_{name}" in rows[0] for name in labels)
    face = Image.open(SAMPLES / "astronaut.jpg").convert("L").crop((150, 20, 330, 200)).resize((48, 48))
    for name in ("happy", "sad", "neutral"):  # FER2013 folder names: `happy` for FER+'s happiness
        (tmp_path / "folders" / name).mkdir(parents=True)
        face.save(tmp_path / "folders" / name / "a.png")
    r = evaluate(None, tmp_path / "folders")
    assert r.metrics.n == 3 and list(r.metrics.labels) == list(labels) and not r.left_out
