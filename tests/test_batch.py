"""`ferkit batch` on Ray Data: the same rows as `Recognizer.predict`, a fixed schema, error rows, re-runs
without duplicates, --resume, video segments. Planning is tested without Ray; the Ray tests share one local cluster
(2 CPUs, small object store, no dashboard) and a hard timeout guards each against a deadlock."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from tests._faces_fixtures import tiny_checkpoint, write_people_video

from _deadline import time_limit
from ferkit.batch import BatchOptions, Task, plan_tasks, schema, segments
from ferkit.batch.plan import uncovered
from ferkit.errors import FerkitError
from ferkit.predict import load
from ferkit.predict.table import columns, face_rows

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "ferkit" / "samples" / "astronaut.jpg"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    imgs = d / "in"
    imgs.mkdir()
    shutil.copy(SAMPLE, imgs / "astronaut.jpg")
    rng = np.random.default_rng(0)
    from PIL import Image

    Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(imgs / "noise.png")  # no face
    (imgs / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    video, _ = write_people_video(d / "scene.avi", frames=30)
    return {"images": imgs, "video": video, "ckpt": tiny_checkpoint(d / "tiny.safetensors"), "root": d}


# ---------------------------------------------------------------------------------------------- without Ray


def test_segments_cover_the_video_once():
    assert segments("v.mp4", 0, 25.0, 2.0) == [Task("video", "v.mp4")]  # count unknown: one task
    tasks = segments("v.mp4", 130, 25.0, 2.0)
    assert [(t.start, t.end) for t in tasks] == [(0, 50), (50, 100), (100, -1)]  # the last one open-ended
    with pytest.raises(FerkitError, match="segment_seconds"):
        plan_tasks(".", segment_seconds=0)


def _claiming(path: Path, frames: int, claimed: int) -> Path:
    """An MJPG .avi of `frames` frames (25 fps) whose headers claim `claimed` (avih, strh and OpenML counts)."""
    import struct

    write_people_video(path, frames=frames)
    data = bytearray(path.read_bytes())
    for tag, offset in ((b"avih", 16), (b"strh", 32), (b"dmlh", 0)):
        at = data.find(tag)
        while at >= 0:
            struct.pack_into("<I", data, at + 8 + offset, claimed)
            at = data.find(tag, at + 1)
    path.write_bytes(bytes(data))
    return path


def test_segments_are_planned_from_the_frames_a_video_really_holds(tmp_path):
    """A header claiming 100,000 frames for 20 plans the segments of 20 frames (not 10,000 empty tasks); a
    count that is right is taken without counting."""
    from ferkit.batch import probe
    from ferkit.predict.video import video_info

    liar = _claiming(tmp_path / "liar.avi", 20, 100_000)
    assert video_info(liar)[0] == 100_000  # what the container says
    tasks = plan_tasks(str(liar), segment_seconds=0.4)  # 10 frames a segment
    assert [(t.start, t.end) for t in tasks] == [(0, 10), (10, -1)]
    assert probe.count_frames(str(liar)) == probe._grab_count(str(liar)) == 20  # PyAV or OpenCV alike
    honest, _ = write_people_video(tmp_path / "honest.avi", frames=30)
    assert probe.frames_and_fps(str(honest), 0.4) == (30, 25.0)


def test_plan_and_resume_bookkeeping(inputs):
    from ferkit.batch.output import task_record

    tasks = plan_tasks([inputs["images"], inputs["video"]], segment_seconds=0.5)
    kinds = [t.kind for t in tasks]
    assert kinds.count("image") == 3 and kinds.count("video") == 3  # 30 frames at 25 fps in 0.5 s pieces
    done = [task_record(Task("image", str(inputs["images"] / "astronaut.jpg"))), task_record(tasks[-2])]
    left = uncovered(tasks, done)
    assert len(left) == len(tasks) - 2  # the image and the segment [12, 24)
    assert all(not (t.kind == "video" and t.start == 12) for t in left)


def test_resume_with_other_segments_runs_exactly_the_missing_frames(inputs):
    """The ledger keeps frame ranges: a resume that cuts the video differently runs only frames not yet in."""
    from ferkit.batch.output import task_record

    video = str(inputs["video"])
    done = [task_record(Task("video", video, 0, 30))]  # the first run: one segment of 30 frames (of 60)
    left = uncovered([Task("video", video)], done)  # the resume: the whole video in one task
    assert left == [Task("video", video, 30, -1)]
    assert uncovered([Task("video", video, 0, 12), Task("video", video, 12, 40)], done) == [
        Task("video", video, 30, 40)
    ]


def test_resume_compares_resolved_paths(tmp_path, monkeypatch):
    from ferkit.batch.output import task_record
    from ferkit.batch.run import _absolute

    shutil.copy(SAMPLE, tmp_path / "astronaut.jpg")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert _absolute("../astronaut.jpg") == str(tmp_path / "astronaut.jpg")  # no ".." in rows
    done = [task_record(Task("image", str(tmp_path / "astronaut.jpg")))]
    assert uncovered([Task("image", str(tmp_path / "sub" / ".." / "astronaut.jpg"))], done) == []


def test_the_output_folder_is_never_an_input(tmp_path):
    from ferkit.batch.run import _outside

    out = tmp_path.resolve()
    tasks = [Task("image", str(out / "part-1.parquet")), Task("image", str(out.parent / "a.jpg"))]
    assert _outside(tasks, out) == tasks[1:]


def test_task_paths_that_are_not_utf8_travel_losslessly():
    import os

    from ferkit._names import name_bytes, text_name
    from ferkit.batch.plan import batch_tasks

    name = os.fsdecode(b"/d/latin\xe9\xff.jpg")
    row = Task("image", name).to_dict()
    assert isinstance(row["path"], bytes)
    assert next(batch_tasks({k: [v] for k, v in row.items()})).path == name
    text = text_name(name)
    text.encode("utf-8")  # fits Parquet and CSV
    assert name_bytes(text) == os.fsencode(name)


def test_schema_is_the_csv_columns():
    labels = ("angry", "happy")
    s = schema(labels)
    assert s.names == columns(labels) and str(s.field("track").type) == "int32"


# ---------------------------------------------------------------------------------------------- with Ray


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray", reason="Ray not installed (pip install 'ferkit[ray]')")
    ray.init(num_cpus=2, object_store_memory=100 * 2**20, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.fixture
def deadline():
    with time_limit(240, "ferkit batch"):
        yield


def _read(out):
    import pyarrow.parquet as pq

    return pq.read_table(out).to_pylist()  # the folder reads as a dataset: marker and ledger are skipped


def _key(row):
    return (row["source"], row["frame"], row["face"], row["label"], row["x"], row["y"], row["error"] is None)


def test_rows_match_predict_and_reruns_never_duplicate(cluster, deadline, inputs, tmp_path):
    from ferkit.batch import run_batch

    out, ckpt = tmp_path / "out", inputs["ckpt"]
    summary = run_batch(inputs["images"], out, BatchOptions(actors=1), model=ckpt)
    rows = _read(out)
    rec = load(ckpt)
    expected = [r for res in rec.predict(inputs["images"]) for r in face_rows(res, rec.labels)]
    assert sorted(map(_key, rows)) == sorted(map(_key, expected))
    for got in rows:  # the same probabilities, float32 in the file
        want = next(e for e in expected if _key(e) == _key(got))
        assert np.allclose(
            [got[f"p_{n}"] or 0 for n in rec.labels], [want[f"p_{n}"] or 0 for n in rec.labels], atol=1e-6
        )
    assert summary.rows == len(rows) and len(summary.errors) == 1 and "broken.jpg" in summary.errors[0]
    with pytest.raises(FerkitError, match="--resume.*--overwrite"):
        run_batch(inputs["images"], out, BatchOptions(actors=1), model=ckpt)
    assert run_batch(inputs["images"], out, BatchOptions(actors=1, resume=True), model=ckpt).tasks == 0
    run_batch(inputs["images"], out, BatchOptions(actors=1, overwrite=True), model=ckpt)
    assert sorted(map(_key, _read(out))) == sorted(map(_key, rows))  # replaced, not appended


def test_resume_adds_only_what_is_missing(cluster, deadline, inputs, tmp_path):
    from ferkit.batch import run_batch

    out, ckpt = tmp_path / "out", inputs["ckpt"]
    run_batch(inputs["images"] / "astronaut.jpg", out, BatchOptions(actors=1), model=ckpt)
    s = run_batch(inputs["images"], out, BatchOptions(actors=1, resume=True, fmt="parquet"), model=ckpt)
    assert (s.tasks, s.skipped) == (2, 1)
    sources = [r["source"] for r in _read(out)]
    assert sorted(set(sources)) == sorted(str(p) for p in inputs["images"].iterdir())
    assert sources.count(str(inputs["images"] / "astronaut.jpg")) == 1


def test_video_segments_give_the_rows_of_one_pass(cluster, deadline, inputs, tmp_path):
    from ferkit.batch import run_batch

    ckpt = inputs["ckpt"]
    run_batch(
        inputs["video"],
        tmp_path / "seg",
        BatchOptions(actors=1, segment_seconds=0.4, fmt="jsonl"),
        model=ckpt,
    )
    import json

    from ferkit.batch.output import data_files

    files = data_files(tmp_path / "seg", "jsonl")  # not the ferkit-batch.json marker
    rows = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    rec = load(ckpt)
    expected = [r for res in rec.predict(inputs["video"]) for r in face_rows(res, rec.labels)]
    assert sorted(map(_key, rows)) == sorted(
        map(_key, expected)
    )  # tracks restart per segment; all else equal


def test_too_many_actors_is_refused_not_a_hang(cluster, deadline, inputs, tmp_path):
    from ferkit.batch import run_batch

    with pytest.raises(FerkitError, match="leave at least one"):
        run_batch(inputs["images"], tmp_path / "o", BatchOptions(actors=2), model=inputs["ckpt"])


def test_cli_exit_status_is_1_when_an_item_failed(cluster, deadline, inputs, tmp_path):
    from ferkit.cli import main

    common = ["--model", str(inputs["ckpt"]), "--quiet"]
    assert main(["batch", str(inputs["images"]), "--out", str(tmp_path / "o"), *common]) == 1  # broken.jpg
    assert (
        main(["batch", str(inputs["images"] / "astronaut.jpg"), "--out", str(tmp_path / "o2"), *common]) == 0
    )


def test_two_stages_give_the_rows_of_one(cluster, deadline, inputs, tmp_path):
    """Detection in one actor, classification of the crops in another (a GPU one where there is a GPU): the same
    rows as `Recognizer.predict`, track ids included."""
    from ferkit.batch import run_batch

    ckpt = inputs["ckpt"]
    options = BatchOptions(actors=1, classify_actors=1, cpus_per_actor=0.5)
    s = run_batch([inputs["images"], inputs["video"]], tmp_path / "two", options, model=ckpt)
    rows = _read(tmp_path / "two")
    rec = load(ckpt)
    expected = [
        r for res in rec.predict([inputs["images"], inputs["video"]]) for r in face_rows(res, rec.labels)
    ]
    with_track = lambda r: (*_key(r), r["track"])  # noqa: E731
    assert sorted(map(with_track, rows)) == sorted(map(with_track, expected))
    for got in rows:
        want = next(e for e in expected if with_track(e) == with_track(got))
        assert np.allclose(
            [got[f"p_{n}"] or 0 for n in rec.labels], [want[f"p_{n}"] or 0 for n in rec.labels], atol=1e-6
        )
    assert len(s.errors) == 1


BAD_OPTIONS = [  # BatchOptions fields, ferkit.load arguments, the library's words, the command line's
    ({"cpus_per_actor": 0}, {}, "cpus_per_actor 0", "--cpus-per-actor 0"),
    ({"actors": 0}, {}, "actors 0", "--actors 0"),
    ({}, {"device": "cuda"}, "device cuda needs gpus_per_actor", "--device cuda needs --gpus-per-actor"),
    (
        {"classify_actors": 1, "resume": True},
        {},
        "resume works with one-stage",
        "--resume works with one-stage",
    ),
    ({"batch_size": 0}, {}, "batch_size 0", "--batch-size 0"),
    (
        {"resume": True, "overwrite": True},
        {},
        "resume and overwrite: choose one",
        "--resume and --overwrite: choose one",
    ),
    ({}, {"max_side": 0}, "max_side 0", "--max-side 0"),
    ({}, {"min_face": -1}, "min_face -1", "--min-face -1"),
    ({"segment_seconds": float("inf")}, {}, "segment_seconds must", "--segment-seconds must"),
    (
        {"classify_actors": 1},
        {"smooth": 0.5},
        "smooth needs the one-stage job",
        "--smooth needs the one-stage job",
    ),
]


@pytest.mark.parametrize("fields, load, words, flags", BAD_OPTIONS)
def test_bad_options_name_their_fields_before_anything_starts(fields, load, words, flags, tmp_path):
    """The library names what a Python caller typed (`cpus_per_actor`); the command line says its flags."""
    from ferkit.batch import run_batch
    from ferkit.commands.batch import flag
    from ferkit.errors import OptionError

    with pytest.raises(OptionError, match=words) as caught:
        run_batch(tmp_path, tmp_path / "o", BatchOptions(**fields), **load)
    assert "--" not in str(caught.value) and flags in caught.value.named(flag)
    assert not (tmp_path / "o").exists()


def test_the_batch_command_says_its_flags(tmp_path, capsys):
    from ferkit.cli import main

    args = ["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--resume", "--overwrite"]
    assert main(args) == 2
    assert "ferkit: error: --resume and --overwrite: choose one" in capsys.readouterr().err
    assert (
        main(["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--classify-actors", "1", "--resume"])
        == 2
    )
    assert "--resume works with one-stage jobs" in capsys.readouterr().err


def _job(fmt="parquet", labels=("a",), **options):
    return {"format": fmt, "labels": list(labels), "stages": 1, "options": options}


def test_output_folder_rules(tmp_path):
    from ferkit.batch.output import MARKER, prepare_output

    tasks = [Task("image", "/x/a.jpg")]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "package.json").write_text("{}")
    with pytest.raises(FerkitError, match="not a ferkit batch output"):  # never deletes a stranger's files
        prepare_output(tmp_path / "mine", tasks, _job("jsonl"), False, True)
    out = tmp_path / "out"
    assert prepare_output(out, tasks, _job(), False, False) == tasks
    assert (out / MARKER).is_file()
    (out / "part-x.parquet").write_bytes(b"")
    with pytest.raises(FerkitError, match="--format parquet"):  # another format or model cannot resume it
        prepare_output(out, tasks, _job("jsonl"), True, False)
    with pytest.raises(FerkitError, match="model"):
        prepare_output(out, tasks, _job(labels=("a", "b")), True, False)


def test_resume_with_another_model_or_detector_is_refused(tmp_path):
    from ferkit.batch.output import prepare_output

    out, tasks = tmp_path / "out", [Task("image", "/x/a.jpg")]
    prepare_output(out, tasks, _job(model="default"), False, False)
    (out / "part-x.parquet").write_bytes(b"")
    with pytest.raises(FerkitError, match="--detector None then haar.*--model default then fast"):
        prepare_output(out, tasks, _job(model="fast", detector="haar"), True, False)


def test_a_second_writer_is_kept_out(tmp_path):
    from ferkit.batch.output import lock

    with lock(tmp_path / "out"):
        with pytest.raises(FerkitError, match="another ferkit batch is writing there"):
            lock(tmp_path / "out")
    lock(tmp_path / "out").release()  # free again once the first run ends


def _write_run(out, tasks, fmt):
    """An output folder as a finished run leaves it: marker, one data file and its ledger entry per task."""
    import pyarrow as pa

    from ferkit.batch.files import write_part
    from ferkit.batch.output import prepare_output

    prepare_output(out, tasks, _job(fmt), False, False)
    for t in tasks:
        rows = [{"source": t.path, "frame": f, "error": None} for f in range(t.start, t.end)]
        write_part(out, fmt, pa.Table.from_pylist(rows, schema=schema(("a",))), [t])


def test_a_data_file_cut_at_a_line_boundary_is_not_taken_as_complete(tmp_path):
    from ferkit.batch.output import SET_ASIDE, data_files, prepare_output

    out, tasks = tmp_path / "out", [Task("video", "/x/v.mp4", 0, 60), Task("video", "/x/v.mp4", 60, 120)]
    _write_run(out, tasks, "jsonl")
    cut = data_files(out)[0]
    lines = cut.read_text().splitlines(keepends=True)
    cut.write_text("".join(lines[:10]))  # a writer that died between two lines
    with pytest.warns(UserWarning, match="incomplete or unreadable"):
        left = prepare_output(out, tasks, _job("jsonl"), True, False)
    assert len(left) == 1 and left[0].end - left[0].start == 60 and (out / SET_ASIDE / cut.name).is_file()


def test_the_output_folder_reads_as_a_dataset(tmp_path):
    pd = pytest.importorskip("pandas")
    out = tmp_path / "out"
    _write_run(out, [Task("video", "/x/v.mp4", 0, 5), Task("video", "/x/v.mp4", 5, 9)], "parquet")
    assert sorted(pd.read_parquet(out)["frame"]) == list(range(9))  # marker and ledger skipped
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


def test_a_file_cut_short_is_set_aside_and_its_items_run_again(cluster, deadline, inputs, tmp_path):
    from ferkit.batch import run_batch

    out, ckpt = tmp_path / "out", inputs["ckpt"]
    run_batch(inputs["images"], out, BatchOptions(actors=1, batch_size=1), model=ckpt)
    files = sorted(out.glob("*.parquet"))
    cut = files[0]
    cut.write_bytes(cut.read_bytes()[:20])  # as if the run had been killed while writing it
    with pytest.warns(UserWarning, match="incomplete or unreadable"):
        s = run_batch(inputs["images"], out, BatchOptions(actors=1, resume=True), model=ckpt)
    assert s.tasks >= 1 and (out / "_ferkit-set-aside" / cut.name).is_file()
    sources = sorted(r["source"] for r in _read(out) if r["face"] in (0, None))
    assert sorted(set(sources)) == sorted(str(p) for p in inputs["images"].iterdir()) and len(sources) == 3


def test_a_file_name_that_is_not_utf8_is_one_row_among_the_others(cluster, deadline, inputs, tmp_path):
    import os

    from ferkit._names import name_bytes
    from ferkit.batch import run_batch

    folder = tmp_path / "in"
    folder.mkdir()
    raw = os.fsencode(str(folder)) + b"/latin\xe9\xff.jpg"
    shutil.copy(SAMPLE, os.fsdecode(raw))
    shutil.copy(SAMPLE, folder / "ok.jpg")
    s = run_batch(folder, tmp_path / "out", BatchOptions(actors=1), model=inputs["ckpt"])
    sources = {r["source"] for r in _read(tmp_path / "out")}
    assert not s.errors and len(sources) == 2 and raw in {name_bytes(x) for x in sources}


def test_a_video_claiming_more_frames_runs_its_real_segments_once(cluster, deadline, inputs, tmp_path):
    from ferkit.batch import run_batch

    liar, ckpt = _claiming(tmp_path / "liar.avi", 20, 100_000), inputs["ckpt"]
    out, options = tmp_path / "out", BatchOptions(actors=1, segment_seconds=0.4)
    s = run_batch(liar, out, options, model=ckpt)
    rec = load(ckpt)
    expected = [r for res in rec.predict(liar) for r in face_rows(res, rec.labels)]
    assert s.tasks == 2 and sorted(map(_key, _read(out))) == sorted(map(_key, expected))
    again = BatchOptions(actors=1, segment_seconds=1.0, resume=True)
    assert run_batch(liar, out, again, model=ckpt).tasks == 0  # nothing is left to run, however it is cut
