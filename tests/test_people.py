"""Who felt what, when: track ids through gaps and crossings, per-person summaries, timelines, the
DataFrame and the HTML report, on a generated video with two people at known positions."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from tests._faces_fixtures import tiny_checkpoint, write_people_video

import ferkit
from ferkit.predict import load
from ferkit.predict.run import run_predict
from ferkit.predict.sinks import CsvWriter, JsonWriter, PeopleWriter
from ferkit.predict.track import Tracker, gap_frames

FPS = 25.0


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("people")
    video, truth = write_people_video(folder / "scene.avi", fps=FPS)
    ckpt = tiny_checkpoint(folder / "tiny.safetensors")
    return video, truth, ckpt


@pytest.fixture(scope="module")
def results(scene):
    video, _, ckpt = scene
    return load(ckpt).predict(video)


def _who(face, where: dict) -> str | None:
    """The person whose pasted face holds the detection's centre (B is drawn over A)."""
    cx, cy = face.box[0] + face.box[2] / 2, face.box[1] + face.box[3] / 2
    return next((k for k in ("B", "A") if k in where and _inside(cx, cy, where[k])), None)


def _inside(cx, cy, box) -> bool:
    return box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]


def test_each_person_keeps_one_id_through_a_gap_and_a_crossing(scene, results):
    _, truth, _ = scene
    ids: dict[str, set] = {}
    for r, where in zip(results, truth, strict=True):
        for face in r.faces:
            who = _who(face, where)
            assert who is not None, f"frame {r.frame}: a box on nobody {face.box}"
            ids.setdefault(who, set()).add(face.track)
    assert (
        len(ids["A"]) == 1 and len(ids["B"]) == 1 and ids["A"] != ids["B"]
    )  # A away for 10 frames, then back


def test_summary_durations_are_exact_within_one_frame(scene, results):
    _, truth, _ = scene
    summaries = {s.track: s for s in ferkit.summarize(results)}
    assert len(summaries) == 2
    for person, first, last in (("A", 0, 74), ("B", 0, 74)):
        track = next(
            f.track for r, w in zip(results, truth, strict=True) for f in r.faces if _who(f, w) == person
        )
        s = summaries[track]
        frames = sum(person in w for w in truth)  # A: 65 (away for 10), B: 75
        assert abs(s.seconds - frames / FPS) <= 1 / FPS + 1e-9
        assert abs(s.first - first / FPS) <= 1 / FPS and abs(s.last - last / FPS) <= 1 / FPS
        assert s.frames <= frames and sum(s.share.values()) == pytest.approx(1.0)
        assert s.dominant == max(s.share, key=s.share.get)
        assert sum(s.mean_probs.values()) == pytest.approx(1.0, abs=1e-4)


def test_outputs_agree_and_the_report_shows_each_person(scene, tmp_path):
    video, _, ckpt = scene
    out = run_predict(
        video,
        load(ckpt),
        [
            JsonWriter(tmp_path / "r.json"),
            CsvWriter(tmp_path / "r.csv"),
            PeopleWriter(tmp_path / "people.csv", tmp_path / "timeline", tmp_path / "report"),
        ],
    )
    assert not out.errors
    from_json = [
        (fr["frame"], f["track"]) for fr in json.loads((tmp_path / "r.json").read_text()) for f in fr["faces"]
    ]
    with open(tmp_path / "r.csv", newline="") as fh:
        from_csv = [(int(row["frame"]), int(row["track"])) for row in csv.DictReader(fh) if row["track"]]
    assert from_csv == from_json and {t for _, t in from_json} == {1, 2}
    with open(tmp_path / "people.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["track"]) for r in rows] == [1, 2] and {"dominant", "seconds", "share_happy"} <= set(
        rows[0]
    )
    assert (tmp_path / "timeline" / "scene.timeline.png").stat().st_size > 1000
    page = (tmp_path / "report" / "report.html").read_text()
    assert "person #1" in page and "person #2" in page and "scene.timeline.png" in page
    shots = list((tmp_path / "report" / "people").glob("*.jpg"))
    assert {p.name.split("_")[1] for p in shots} == {"p1", "p2"}


def test_the_timeline_has_one_panel_per_person(results):
    from ferkit.people import Summarizer, timeline_figure

    acc = Summarizer()
    for r in results:
        acc.add(r)
    (source,) = acc.sources()
    fig = timeline_figure(acc.series(source), acc.labels)
    assert len(fig.axes) == 2 and [ax.get_ylabel() for ax in fig.axes] == ["person #1", "person #2"]
    times, _ = acc.series(source)[1]
    assert times[0] == 0.0 and np.all(np.diff(times) > 0)


def test_a_dataframe_with_one_row_per_face(results):
    pd = pytest.importorskip("pandas", reason="pandas not installed (pip install 'ferkit[pandas]')")
    df = ferkit.results_to_frame(results)
    assert len(df) == sum(max(1, len(r.faces)) for r in results)
    assert list(df.columns[:5]) == ["source", "frame", "timestamp", "face", "track"]
    assert set(df["track"].dropna()) == {1, 2} and df["track"].dtype == pd.Int64Dtype()
    one = results[0].to_pandas()
    assert len(one) == len(results[0].faces) and one["frame"].tolist() == [0] * len(one)


def test_a_dataframe_without_pandas_names_the_extra(results, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ferkit.FerkitError, match=r"ferkit\[pandas\]"):
        ferkit.results_to_frame(results)


def test_tracker_rules():
    t = Tracker(max_gap=gap_frames(25.0))  # 0.5 s at 25 fps: 12 frames
    assert t.max_gap == 12
    assert t.update(0, [(100, 100, 40, 40)]) == [1]
    for frame in range(
        1, 5
    ):  # 38 px a frame, 95 % of its width: IoU 0.03 at first, then its motion predicts it
        assert t.update(frame, [(100 + 38 * frame, 100, 40, 40)]) == [1]
    assert t.update(10, [(480, 100, 40, 40)]) == [1]  # 5 frames unseen, found where its motion took it
    assert t.update(30, [(600, 100, 40, 40)]) == [2]  # away longer than the gap: a new id
    assert t.update(31, [(600, 100, 120, 120)]) == [3]  # 9× the area: another face
    assert t.update(32, []) == []


def test_cli_writes_the_per_person_outputs(scene, tmp_path):
    video, _, ckpt = scene
    cmd = [sys.executable, "-m", "ferkit", "predict", str(video), "--model", str(ckpt), "--quiet"]
    cmd += ["--summary", str(tmp_path / "s.json"), "--timeline", str(tmp_path / "t"), "--track-gap", "0.2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    tracks = {s["track"] for s in json.loads((tmp_path / "s.json").read_text())}
    assert len(tracks) == 3  # a 0.2 s gap (5 frames) is shorter than A's 10-frame absence: A comes back as #3
    assert (tmp_path / "t" / "scene.timeline.png").is_file()


def test_a_stride_longer_than_the_gap_keeps_ids():
    """Frames skipped by a stride are time, not misses: one still face sampled every 20th frame is one track."""
    t = Tracker(max_gap=12)
    assert [t.update(f, [(50, 50, 40, 40)])[0] for f in (0, 20, 40, 60)] == [1, 1, 1, 1]
    assert t.update(100, [(50, 50, 40, 40)]) == [2]  # the sample at 80 missed: 20 frames unseen > 12
    long = Tracker(max_gap=25)
    assert [long.update(f, [(50, 50, 40, 40)])[0] for f in (0, 20, 60)] == [1, 1, 1]  # 20 unseen ≤ 25


def test_outputs_of_a_video_without_faces_and_of_two_videos_with_one_name(scene, tmp_path):
    import cv2

    video, _, ckpt = scene
    blank = tmp_path / "blank.avi"
    w = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    for _ in range(5):
        w.write(np.full((120, 160, 3), 90, np.uint8))
    w.release()
    out = run_predict(
        blank, load(ckpt), [PeopleWriter(summary=tmp_path / "x" / "s.csv", timeline=tmp_path / "t")]
    )
    assert out.frames == 5 and (tmp_path / "x" / "s.csv").read_text().startswith("source,track")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "scene.avi").write_bytes(video.read_bytes())
    out = run_predict(
        [tmp_path / "a" / "scene.avi", tmp_path / "b" / "scene.avi"],
        load(ckpt),
        [PeopleWriter(timeline=tmp_path / "t2")],
    )
    assert sorted(p.name for p in (tmp_path / "t2").iterdir()) == [
        "scene.timeline.png",
        "scene_2.timeline.png",
    ]
