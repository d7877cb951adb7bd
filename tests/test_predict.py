"""Recognition end to end: sources, results, video, smoothing, output formats, the CLI and every bad input."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest
from PIL import Image
from tests._faces_fixtures import ASTRONAUT_FACE, astronaut, tiny_checkpoint, write_video

import ferkit
from conftest import png_bomb_bytes, run_ferkit
from ferkit.errors import FerkitError, ModelError, SourceError
from ferkit.faces import iou
from ferkit.labels import FER7
from ferkit.predict import FrameResult, NoFaceError, Recognizer, iter_frames, load, parse_source
from ferkit.predict.run import run_predict
from ferkit.predict.sinks import AnnotatedSaver, CsvWriter, JsonWriter, LiveWindow, PrintLines, format_result
from ferkit.predict.smooth import Smoother
from ferkit.predict.track import Tracker


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.safetensors")


@pytest.fixture(scope="module")
def rec(ckpt) -> Recognizer:
    return load(ckpt)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "clip.avi", frames=10, fps=12.0)


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "astronaut.jpg"
    Image.fromarray(astronaut()).save(path, quality=92)
    return path


# ---------------------------------------------------------------------------------------------------- sources


def test_source_parsing_rules(tmp_path, photo, video):
    assert parse_source("0")[0].kind == "webcam" and parse_source("0")[0].value == 0
    assert parse_source(1)[0].name == "webcam:1"
    assert parse_source(str(photo))[0].kind == "image"
    assert parse_source(video)[0].kind == "video"
    assert parse_source(np.zeros((4, 4, 3), np.uint8))[0].kind == "array"
    assert parse_source(Image.new("RGB", (4, 4)))[0].kind == "array"
    (tmp_path / "b.png").write_bytes(photo.read_bytes())
    (tmp_path / ".hidden.jpg").write_bytes(photo.read_bytes())
    assert [i.name for i in parse_source(tmp_path)] == [str(photo), str(tmp_path / "b.png")]
    assert len(parse_source(str(tmp_path / "*.jpg"))) == 1
    items = parse_source([str(photo), str(tmp_path / "missing.jpg"), np.zeros((2, 2), np.uint8)])
    assert [i.kind for i in items] == ["image", "error", "array"]
    for bad, message in [
        (tmp_path / "missing.jpg", "no such file"),
        (str(tmp_path / "*.gif"), "no files match"),
        (-1, "negative"),
        (True, "not an image"),
        ({"a": 1}, "not supported"),
        ([], "empty"),
        ("", "empty path"),
    ]:
        with pytest.raises(SourceError, match=message):
            parse_source(bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no files"):
        parse_source(tmp_path / "empty")
    (tmp_path / "classes" / "happy").mkdir(parents=True)
    (tmp_path / "classes" / "happy" / "c.jpg").write_bytes(photo.read_bytes())
    with pytest.raises(SourceError, match=r"only 1 subfolder\(s\), which are not searched.*\*\*") as err:
        parse_source(tmp_path / "classes")
    suggested = str(err.value).split("glob '")[1].rstrip("'")
    assert [i.name for i in parse_source(suggested)] == [str(tmp_path / "classes" / "happy" / "c.jpg")]


def test_iter_frames_yields_error_frames_for_bad_items(tmp_path, photo, video):
    frames = list(iter_frames([photo, tmp_path / "gone.png", video], max_frames=3))
    assert [(f.kind, f.index, f.ok) for f in frames] == [
        ("image", 0, True),
        ("image", 0, False),
        ("video", 0, True),
        ("video", 1, True),
        ("video", 2, True),
    ]
    assert "no such file" in frames[1].error and frames[0].image.shape == (512, 512, 3)


def test_nonexistent_webcam_is_a_clear_error(rec):
    with pytest.raises(SourceError, match="webcam 99 cannot be opened"):
        rec.predict(99)
    with pytest.raises(SourceError, match="webcam 98"):
        next(rec.stream("98"))


def test_unopenable_video_single_raises_and_in_a_batch_reports(tmp_path, rec, photo):
    bad = tmp_path / "broken.mp4"
    bad.write_text("this is not a video")
    with pytest.raises(SourceError, match="broken.mp4: video cannot be opened"):
        rec.predict(bad)
    results = rec.predict([bad, photo])
    assert results[0].error and "cannot be opened" in results[0].error and results[0].faces == []
    assert results[1].ok and len(results[1].faces) == 1


# ---------------------------------------------------------------------------------------------------- results


def test_predict_photo_gives_typed_results(rec, photo, tmp_path):
    (result,) = rec.predict(photo)
    assert isinstance(result, FrameResult) and result.ok and result.frame == 0
    assert result.size == (512, 512) and result.image.shape == (512, 512, 3)
    (face,) = result.faces
    assert iou(face.box, ASTRONAUT_FACE) > 0.8
    assert face.label in rec.labels and face.label == max(face.probs, key=face.probs.get)
    assert list(face.probs) == list(rec.labels) and abs(sum(face.probs.values()) - 1) < 1e-5
    d = result.to_dict()
    assert {"source", "frame", "faces"} <= set(d) and d["error"] is None
    assert set(d["faces"][0]) >= {"box", "score", "label", "probs"} and len(d["faces"][0]["box"]) == 4
    json.dumps(d)
    plot = result.plot()
    assert plot.shape == (512, 512, 3) and plot.dtype == np.uint8 and not np.array_equal(plot, result.image)
    assert Image.open(result.save(tmp_path / "out" / "a.png")).size == (512, 512)
    assert "box 178" in format_result(result)[0] or "box 17" in format_result(result)[0]


def test_detect_and_classify_are_public_steps(rec):
    img = astronaut()
    faces = rec.detect(img)
    crops = rec.crop(img, faces)
    assert crops.shape == (1, 48, 48) and crops.dtype == np.uint8
    probs = rec.classify(crops)
    assert probs.shape == (1, 7) and probs.dtype == np.float32
    assert np.allclose(probs, rec.classify([crops[0], np.stack([crops[0]] * 3, axis=2)])[:1], atol=1e-6)
    assert rec.classify(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)
    one = rec.classify(crops[0])  # a single H×W crop is a batch of one, not 48 rows
    assert one.shape == (1, 7) and np.allclose(one, probs, atol=1e-6)
    assert rec.classify(np.stack([crops[0]] * 3, axis=2)).shape == (1, 7)
    assert np.allclose(rec.predict(img)[0].faces[0].probs["happy"], probs[0][3], atol=1e-6)


def test_arrays_pil_and_every_image_mode(rec, tmp_path):
    img = astronaut()
    gray = np.asarray(Image.fromarray(img).convert("L"))
    inputs = {
        "rgb array": img,
        "gray array": gray,
        "rgba array": np.dstack([img, np.full(img.shape[:2], 255, np.uint8)]),
        "uint16 array": gray.astype(np.uint16) * 257,
        "float array": img / 255.0,
        "pil": Image.fromarray(img),
    }
    for path, im in {
        "gray.png": Image.fromarray(gray),
        "rgba.png": Image.fromarray(img).convert("RGBA"),
        "g16.png": Image.fromarray(gray.astype(np.uint16) * 257),
        "cmyk.jpg": Image.fromarray(img).convert("CMYK"),
    }.items():
        im.save(tmp_path / path)
        inputs[path] = tmp_path / path
    results = rec.predict(list(inputs.values()))
    for name, result in zip(inputs, results, strict=True):
        assert result.ok, (name, result.error)
        assert len(result.faces) == 1 and iou(result.faces[0].box, ASTRONAUT_FACE) > 0.6, name


def test_exif_orientation_is_honoured(rec, tmp_path):
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90° clockwise turn
    Image.fromarray(np.rot90(astronaut(), k=1).copy()).save(path, exif=exif)
    (result,) = rec.predict(path)
    assert len(result.faces) == 1 and iou(result.faces[0].box, ASTRONAUT_FACE) > 0.6


def test_no_face_is_an_empty_list_and_require_face_raises(rec, ckpt):
    blank = np.full((120, 160, 3), 128, np.uint8)
    (result,) = rec.predict(blank)
    assert result.faces == [] and result.ok
    assert result.plot().shape == blank.shape
    with pytest.raises(NoFaceError, match="no face"):
        load(ckpt, require_face=True).predict(blank)


# ---------------------------------------------------------------------------------------------------- bad input


def test_bad_items_in_a_folder_report_errors_and_the_batch_goes_on(rec, tmp_path, photo):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a_good.jpg").write_bytes(photo.read_bytes())
    (folder / "b_notes.txt").write_text("not an image")
    (folder / "c_empty.jpg").write_bytes(b"")
    (folder / "d_truncated.jpg").write_bytes(photo.read_bytes()[:300])
    (folder / "e_good.png").write_bytes(photo.read_bytes())
    results = rec.predict(folder)
    assert [r.source.rsplit("/", 1)[-1] for r in results] == sorted(p.name for p in folder.iterdir())
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert "not an image" in results[1].error and "empty" in results[2].error
    assert all(r.faces == [] for r in results if not r.ok)
    assert len(results[0].faces) == len(results[4].faces) == 1


def test_missing_file_and_zero_size_image(rec, tmp_path):
    with pytest.raises(SourceError, match="missing.jpg: no such file"):
        rec.predict(tmp_path / "missing.jpg")
    (result,) = rec.predict(np.zeros((0, 10, 3), np.uint8))
    assert not result.ok and "zero-size" in result.error and result.faces == []
    with pytest.raises(FerkitError, match="nothing to plot"):
        result.plot()


def test_huge_images_are_downscaled_or_refused_never_decoded_whole(rec, tmp_path):
    import cv2

    big = Image.new("L", (10000, 10000), 120)  # 100 megapixels
    face = cv2.resize(np.asarray(Image.fromarray(astronaut()).convert("L")), (2048, 2048))
    big.paste(Image.fromarray(face), (3000, 2000))
    big.save(tmp_path / "huge.jpg", quality=60)
    (result,) = rec.predict(tmp_path / "huge.jpg")
    assert result.ok and result.size == (10000, 10000) and result.image.shape[0] <= 5000
    expected = (3000 + 4 * ASTRONAUT_FACE[0], 2000 + 4 * ASTRONAUT_FACE[1], 4 * 89, 4 * 112)
    assert len(result.faces) == 1 and iou(result.faces[0].box, expected) > 0.6  # in the file's own pixels
    (found,) = rec.detect(tmp_path / "huge.jpg")  # the public steps agree with predict()
    assert iou(found.box, result.faces[0].box) > 0.95
    probs = rec.classify(rec.crop(tmp_path / "huge.jpg", [found]))
    assert np.allclose(probs[0], list(result.faces[0].probs.values()), atol=1e-4)
    (tmp_path / "bomb.png").write_bytes(png_bomb_bytes(10000, 10000))
    (refused,) = rec.predict(tmp_path / "bomb.png")
    assert not refused.ok and ("too large" in refused.error or "over the limit" in refused.error)


# ---------------------------------------------------------------------------------------------------- video


def test_video_predict_and_stream(rec, video):
    results = rec.predict(video)
    assert [r.frame for r in results] == list(range(10))
    assert all(
        r.fps == pytest.approx(12.0) and r.image is None for r in results
    )  # predict keeps no video frames
    assert all(len(r.faces) == 1 for r in results)
    assert results[3].timestamp == pytest.approx(3 / 12.0)
    stream = rec.stream(video)
    assert not isinstance(stream, list)
    first = next(stream)
    assert first.image is not None and first.plot().shape == (240, 320, 3)
    assert len(list(stream)) == 9
    assert len(rec.predict(video, stride=3)) == 4 and len(rec.predict(video, max_frames=2)) == 2


def test_faces_of_many_frames_share_one_forward_pass(ckpt, video):
    calls = []
    backend = load(ckpt).backend
    real = backend.logits

    def counting(images, **kw):
        calls.append(len(images))
        return real(images, **kw)

    backend.logits = counting
    results = Recognizer(backend, frames_per_batch=8).predict(video)
    assert len(results) == 10 and calls == [8, 2]


def test_smoothing_tracks_faces_across_frames(ckpt, video):
    results = load(ckpt, smooth=0.6).predict(video)
    assert {r.faces[0].track for r in results} == {1}
    assert {r.faces[0].track for r in load(ckpt).predict(video)} == {1}  # tracked without smoothing too
    tracker, smoother = Tracker(), Smoother(0.5)
    ids = tracker.update(0, [(0, 0, 10, 10)])
    p = smoother.update(ids, np.array([[1.0, 0.0]]))
    assert np.allclose(p, [[1.0, 0.0]])  # a track's first frame is taken as it is
    ids2 = tracker.update(1, [(1, 0, 10, 10), (50, 50, 10, 10)])
    p2 = smoother.update(ids2, np.array([[0.0, 1.0], [0.2, 0.8]]))
    assert ids == [1] and ids2 == [1, 2]
    assert np.allclose(p2, [[0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(FerkitError, match="alpha"):
        Smoother(1.5)


def test_annotated_video_is_written_at_the_source_fps(rec, video, tmp_path):
    import cv2

    summary = run_predict(video, rec, [CsvWriter(tmp_path / "frames.csv"), AnnotatedSaver(tmp_path / "out")])
    assert summary.frames == 10 and summary.faces == 10 and not summary.errors
    (written,) = [p for p in summary.written if p.suffix in (".mp4", ".avi")]
    cap = cv2.VideoCapture(str(written))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(12.0)
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    cap.release()
    rows = list(csv.DictReader(open(tmp_path / "frames.csv")))
    assert [int(r["frame"]) for r in rows] == list(range(10))


def test_strided_video_is_saved_at_fps_over_stride_so_it_keeps_its_length(rec, video, tmp_path):
    import cv2

    summary = run_predict(video, rec, [AnnotatedSaver(tmp_path / "out")], stride=2)
    (written,) = [p for p in summary.written if p.suffix in (".mp4", ".avi")]
    cap = cv2.VideoCapture(str(written))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(6.0)
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    cap.release()
    with pytest.raises(ValueError, match="stride"):
        rec.predict(video, stride=0)
    with pytest.raises(ValueError, match="max_frames"):
        rec.predict(video, max_frames=0)


def test_a_run_that_fails_before_any_result_keeps_existing_outputs(rec, tmp_path):
    from ferkit.errors import SourceError

    keep_json, keep_csv = tmp_path / "keep.json", tmp_path / "keep.csv"
    keep_json.write_text("[1]")
    keep_csv.write_text("a,b")
    with pytest.raises(SourceError):
        run_predict(tmp_path / "nope.jpg", rec, [JsonWriter(keep_json), CsvWriter(keep_csv)])
    assert keep_json.read_text() == "[1]" and keep_csv.read_text() == "a,b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv", "keep.json"]  # no temporary files


def test_bad_output_paths_are_named(rec, photo, tmp_path):
    (tmp_path / "file").write_text("x")
    for sink, words in [
        (JsonWriter(tmp_path), "--json"),
        (CsvWriter(tmp_path), "--csv"),
        (AnnotatedSaver(tmp_path / "file"), "existing file"),
        (CsvWriter(tmp_path / "file" / "x.csv"), "existing file"),
    ]:
        with pytest.raises(FerkitError, match=words):
            run_predict(photo, rec, [sink])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["astronaut.jpg", "file"]  # no temporary files


def test_max_side_finds_small_faces_in_big_photos(ckpt):
    import cv2

    canvas = np.full((3000, 4000, 3), 128, np.uint8)  # a ~40 px face in a 12 MP photo
    canvas[1400:1605, 1800:2005] = cv2.resize(astronaut(), (205, 205), interpolation=cv2.INTER_AREA)
    assert ferkit.load(ckpt).detect(canvas) == []  # shrunk to 960 px, the face is ~10 px
    (face,) = ferkit.load(ckpt, max_side=4000).detect(canvas)
    assert 1850 < face.box[0] < 1900 and 1400 < face.box[1] < 1450
    with pytest.raises(FerkitError, match="max_side"):
        ferkit.load(ckpt, max_side=8)


def test_recognizer_options_are_checked_when_it_is_built(ckpt):
    with pytest.raises(FerkitError, match="flipp"):
        ferkit.load(ckpt, "none", tta="flipp")
    with pytest.raises(FerkitError, match="batch size must be at least 1"):
        ferkit.load(ckpt, "none", batch_size=0)


def test_show_without_a_display_is_a_clear_error(rec, photo, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(FerkitError, match="--show needs"):
        run_predict(photo, rec, [LiveWindow()])


# ---------------------------------------------------------------------------------------------------- loading


def test_load_without_default_weights_is_a_clear_error(tmp_path, monkeypatch, ckpt):
    import ferkit.backends.resolve as resolve

    monkeypatch.setattr(resolve, "weights_dir", lambda: tmp_path / "weights")
    for name in (None, "default", "fast"):
        with pytest.raises(ModelError, match=r"no shipped model .*default.safetensors|fast.safetensors"):
            ferkit.load(name)
    with pytest.raises(ModelError, match="does not exist"):
        ferkit.load(tmp_path / "nothing.safetensors")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "fast.safetensors").write_bytes(ckpt.read_bytes())
    assert ferkit.load("fast").backend.name == "fast"


def test_load_accepts_a_module_and_a_detector_name():
    from ferkit.models import create_model

    rec = ferkit.load(create_model("seed_cnn4c3f_28"), "none", margin=0.1, min_face=5)
    assert rec.detector.name == "none" and rec.detector.min_face == 5 and rec.margin == 0.1
    assert rec.crop(np.zeros((30, 30), np.uint8), rec.detect(np.zeros((30, 30), np.uint8))).shape == (
        1,
        28,
        28,
    )


# ---------------------------------------------------------------------------------------------------- CLI


def test_cli_json_and_csv_formats_and_bad_items(ckpt, tmp_path, photo):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "face.jpg").write_bytes(photo.read_bytes())
    Image.new("RGB", (64, 48), (30, 30, 30)).save(folder / "plain.png")
    (folder / "readme.txt").write_text("hello")
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    res = run_ferkit(
        "predict", folder, "--model", ckpt, "--json", out_json, "--csv", out_csv, "--save", tmp_path / "ann"
    )
    assert res.returncode == 1, res.stderr  # one unreadable item
    assert "readme.txt" in res.stderr and "Traceback" not in res.stderr
    lines = [line for line in res.stdout.splitlines() if line]
    assert len(lines) == 2 and "face.jpg\tframe 0\tface 0\tbox " in lines[0] and "plain.png" in lines[1]
    data = json.loads(out_json.read_text())
    assert [Path_(d["source"]) for d in data] == ["face.jpg", "plain.png", "readme.txt"]
    face = data[0]["faces"][0]
    assert set(face) >= {"box", "score", "label", "probs"} and list(face["probs"]) == list(FER7.names)
    assert len(face["box"]) == 4 and abs(sum(face["probs"].values()) - 1) < 1e-4
    assert data[1]["faces"] == [] and data[2]["faces"] == [] and data[2]["error"]
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert rows[0]["label"] == face["label"] and rows[0]["x"] == str(face["box"][0])
    assert rows[1]["face"] == "" and rows[2]["error"]
    assert {p.name for p in (tmp_path / "ann").iterdir()} == {"face.jpg", "plain.jpg"}


def test_cli_bad_sources_exit_cleanly(ckpt, tmp_path, capsys):
    from ferkit.cli import main as cli_main

    for args, message in [
        ((tmp_path / "missing.jpg",), "no such file"),
        (("97",), "webcam 97 cannot be opened"),
        ((tmp_path / "x.jpg", "--detector", "nope"), "unknown detector"),
        ((tmp_path / "x.jpg", "--smooth", "1.5"), "--smooth 1.5: must be at least 0 and less than 1"),
        ((tmp_path / "x.jpg", "--json", tmp_path), "is a folder"),
    ]:
        assert cli_main(["predict", *map(str, args), "--model", str(ckpt)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("ferkit: error:") and message in err and "Traceback" not in err, err


def test_cli_frame_counts_below_one_are_usage_errors(ckpt, video):
    for flag in ("--stride", "--max-frames"):
        res = run_ferkit("predict", video, "--model", ckpt, flag, "0")
        assert res.returncode == 2 and "must be at least 1" in res.stderr and "Traceback" not in res.stderr


def Path_(source: str) -> str:  # noqa: N802 - file name of a source
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def test_file_names_that_are_not_utf8_reach_every_output(rec, tmp_path):
    """A Latin-1 file name (bytes that are not UTF-8) is a row like any other, spelled losslessly."""
    import os

    from ferkit._names import name_bytes

    folder = tmp_path / "in"
    folder.mkdir()
    raw = os.fsencode(str(folder)) + b"/latin\xe9\xff.jpg"
    Image.fromarray(astronaut()).save(os.fsdecode(raw), format="JPEG")
    Image.fromarray(astronaut()).save(folder / "ok.jpg")
    lines: list[str] = []
    sinks = [PrintLines(lines.append), CsvWriter(tmp_path / "r.csv"), JsonWriter(tmp_path / "r.json")]
    s = run_predict(folder, rec, sinks)
    assert s.frames == 2 and not s.errors
    sources = [r["source"] for r in csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text("utf-8")))]
    odd = next(x for x in sources if "latin" in x)
    assert name_bytes(odd) == raw
    assert odd in {d["source"] for d in json.loads((tmp_path / "r.json").read_text())}
    "\n".join(lines).encode("utf-8")  # the terminal lines are printable too


def test_an_annotated_video_replaces_the_earlier_one_only_when_complete(tmp_path):
    """--save writes a video under a temporary name: until it is closed, an earlier file stays whole."""
    from ferkit.predict.sinks.video import StagedVideo

    target = tmp_path / "clip.mp4"
    target.write_bytes(b"an earlier, good video")
    video = StagedVideo(target, 25.0)
    for _ in range(5):
        video.write(np.zeros((64, 64, 3), np.uint8))
    assert target.read_bytes() == b"an earlier, good video"  # a kill -9 here loses nothing
    video.close()
    assert video.path.stat().st_size > 100 and not list(tmp_path.glob(".*.tmp*"))


def test_temporary_files_of_a_killed_run_are_removed_by_the_next_one(tmp_path):
    import subprocess

    from ferkit._atomic import _owner, atomic_path

    gone = subprocess.Popen(["true"])
    gone.wait()
    host = _owner().rsplit("-", 1)[0]
    stale = tmp_path / f".r.csv.{host}-{gone.pid}.x1.tmp"
    live = tmp_path / f".r.csv.{host}-{os.getpid()}.x2.tmp"  # a writer that still runs
    for p in (stale, live):
        p.write_text("half")
    with atomic_path(tmp_path / "r.csv") as tmp:
        tmp.write_text("done")
    assert not stale.exists() and live.exists() and (tmp_path / "r.csv").read_text() == "done"
