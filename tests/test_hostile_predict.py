"""Hostile inputs to recognition: outputs never replace inputs, broken models are refused, odd sources
give one clear message per item."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image
from tests._faces_fixtures import astronaut, tiny_checkpoint, write_video

from conftest import run_ferkit
from ferkit.errors import ModelError, SourceError
from ferkit.predict import load, parse_source
from ferkit.predict.run import run_predict
from ferkit.predict.sinks import AnnotatedSaver, CsvWriter, JsonWriter


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.safetensors")


@pytest.fixture(scope="module")
def rec(ckpt):
    return load(ckpt)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------------- --save


def test_save_into_the_photos_own_folder_never_replaces_a_photo(rec, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(astronaut()).save(photos / "x.jpg", quality=92)
    Image.fromarray(astronaut()[:, ::-1]).save(photos / "x.png")  # its annotated copy would be x.jpg
    before = {p.name: _digest(p) for p in photos.iterdir()}
    summary = run_predict(photos, rec, [AnnotatedSaver(photos)])
    assert {p.name: _digest(p) for p in photos.iterdir() if p.name in before} == before
    assert sorted(p.name for p in summary.written) == ["x.annotated.jpg", "x.annotated_2.jpg"]
    assert all(Image.open(p).size == (512, 512) for p in summary.written)
    # a second run over the same folder still leaves the sources alone (its earlier outputs are inputs now)
    run_predict(photos, rec, [AnnotatedSaver(photos)])
    assert {p.name: _digest(p) for p in photos.iterdir() if p.name in before} == before


def test_save_into_the_videos_own_folder_keeps_the_video_whole(rec, tmp_path):
    import cv2

    clip = write_video(tmp_path / "clip.avi", frames=12, fps=12.0)
    before = _digest(clip)
    summary = run_predict(clip, rec, [AnnotatedSaver(tmp_path)])
    assert summary.frames == 12 and _digest(clip) == before
    (written,) = summary.written
    assert written.name.startswith("clip.annotated.")
    cap = cv2.VideoCapture(str(written))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    cap.release()


def test_save_elsewhere_keeps_the_plain_name(rec, tmp_path):
    Image.fromarray(astronaut()).save(tmp_path / "x.jpg", quality=92)
    summary = run_predict(tmp_path / "x.jpg", rec, [AnnotatedSaver(tmp_path / "out")])
    assert [p.name for p in summary.written] == ["x.jpg"]


def test_cli_help_says_what_save_does():
    out = run_ferkit("predict", "--help").stdout
    assert "annotated" in out and "inputs" in out


# ---------------------------------------------------------------------------------------------------- NaN models


@pytest.fixture(scope="module")
def nan_ckpt(tmp_path_factory):
    from ferkit.models import create_model, save_checkpoint

    model = create_model("mobilefer")
    with torch.no_grad():
        model.head.bias.fill_(float("nan"))
    return save_checkpoint(tmp_path_factory.mktemp("nan") / "nan.safetensors", model)


def test_a_model_that_outputs_nan_is_refused(nan_ckpt, tmp_path):
    rec = load(nan_ckpt)
    with pytest.raises(ModelError, match="non-finite"):
        rec.classify(np.zeros((2, 48, 48), np.uint8))
    Image.fromarray(astronaut()).save(tmp_path / "a.jpg")
    out = run_ferkit("predict", tmp_path / "a.jpg", "--model", nan_ckpt, "--json", tmp_path / "a.json")
    assert out.returncode != 0
    assert "non-finite" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "a.json").exists()  # nothing half-written


def test_json_output_is_always_valid_json(rec, tmp_path):
    Image.fromarray(astronaut()).save(tmp_path / "a.jpg")
    run_predict(tmp_path / "a.jpg", rec, [JsonWriter(tmp_path / "a.json")])
    text = (tmp_path / "a.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"invalid JSON token {c}"))


def test_export_refuses_a_model_that_outputs_nan(nan_ckpt, tmp_path):
    pytest.importorskip("onnxruntime")
    from ferkit.export import export_onnx

    with pytest.raises(ModelError, match="non-finite"):
        export_onnx(nan_ckpt, tmp_path / "nan.onnx")
    assert not (tmp_path / "nan.onnx").exists()


# ---------------------------------------------------------------------------------------------------- sources


def test_absurd_webcam_indices_are_a_source_error(ckpt, tmp_path):
    with pytest.raises(SourceError, match="webcam index"):
        parse_source("99999999999999999999")
    with pytest.raises(SourceError, match="webcam index"):
        parse_source(10**30)
    Image.fromarray(astronaut()).save(tmp_path / "a.jpg")
    out = run_ferkit(
        "predict", tmp_path / "a.jpg", "99999999999999999999", "--model", ckpt, "--csv", tmp_path / "o.csv"
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "webcam index" in out.stderr
    assert str(tmp_path / "a.jpg") in (tmp_path / "o.csv").read_text()  # the good item's rows are kept


def test_a_truncated_lazy_pil_image_in_a_list_is_one_error_item(rec, tmp_path):
    path = tmp_path / "t.jpg"
    Image.fromarray(astronaut()).save(path, quality=92)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    lazy = Image.open(path)  # opens fine; decoding fails later
    good = astronaut()
    results = rec.predict([lazy, good])
    assert len(results) == 2
    assert results[0].error and "t.jpg" in results[0].error
    assert results[1].error is None and results[1].faces


def test_json_or_csv_onto_an_input_is_refused(rec, tmp_path):
    from ferkit.errors import FerkitError

    Image.fromarray(astronaut()).save(tmp_path / "a.jpg")
    before = _digest(tmp_path / "a.jpg")
    for sink in (JsonWriter(tmp_path / "a.jpg"), CsvWriter(tmp_path / "a.jpg")):
        with pytest.raises(FerkitError, match="one of the inputs"):
            run_predict(tmp_path, rec, [sink])
    assert _digest(tmp_path / "a.jpg") == before


def test_yunet_raw_detection_checks_its_input():
    pytest.importorskip("yuface")
    from ferkit.faces.yunet import detect_raw

    with pytest.raises(ValueError, match="BGR uint8"):
        detect_raw(np.zeros((32, 32), np.uint8))
    view = astronaut()[:, ::-1, ::-1]  # a non-contiguous view is copied, not misread
    assert len(detect_raw(view)) == len(detect_raw(np.ascontiguousarray(view)))
