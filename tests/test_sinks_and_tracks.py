"""The seams of recognition: a sink of one's own receives every result; the tracker numbers faces from boxes alone;
smoothing runs apart from detection, on track ids, and gives what the recognizer gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests._faces_fixtures import astronaut, tiny_checkpoint, write_video

from ferkit.errors import FerkitError
from ferkit.predict import load
from ferkit.predict.detected import DetectedFrame, face_results
from ferkit.predict.frames import iter_frames
from ferkit.predict.run import run_predict
from ferkit.predict.sinks import JsonWriter, RunInfo, Sink
from ferkit.predict.track import Tracker, VideoTracks


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    return load(tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.safetensors"))


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "clip.avi", frames=10, fps=12.0)


class Collect(Sink):
    """Keeps what the run hands it."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.run: RunInfo | None = None
        self.results: list = []
        self.closed: list[bool] = []
        self.stop_after = stop_after

    def open(self, run: RunInfo) -> None:
        self.run = run

    def write(self, result) -> None:
        self.results.append(result)
        self.finished = self.stop_after is not None and len(self.results) >= self.stop_after

    def close(self, commit: bool = True) -> list[Path]:
        self.closed.append(commit)
        return [Path("collected")]


def test_a_sink_of_ones_own_receives_every_result(rec, video, tmp_path):
    Image.fromarray(astronaut()).save(tmp_path / "a.jpg")
    mine = Collect()
    summary = run_predict([tmp_path / "a.jpg", video], rec, [mine, JsonWriter(tmp_path / "r.json")], stride=2)
    assert mine.run.labels == rec.labels and mine.run.stride == 2
    assert [(r.source, r.frame) for r in mine.results] == [(str(tmp_path / "a.jpg"), 0)] + [
        (str(video), i) for i in range(0, 10, 2)
    ]
    assert mine.results[0].image is None  # no sink draws, so no frame is kept
    assert mine.closed == [True] and summary.frames == 6
    assert summary.written == [Path("collected"), tmp_path / "r.json"]  # closed in the order given


def test_a_sink_can_end_the_run_and_one_that_cannot_open_discards_the_others(rec, video, tmp_path):
    mine = Collect(stop_after=3)
    assert run_predict(video, rec, [mine]).frames == 3

    class Broken(Sink):
        def open(self, run):
            raise FerkitError("cannot open")

    first = Collect()
    with pytest.raises(FerkitError, match="cannot open"):
        run_predict(video, rec, [first, JsonWriter(tmp_path / "r.json"), Broken()])
    assert first.closed == [False] and not list(tmp_path.iterdir())  # no file, no temporary file


def test_the_tracker_numbers_faces_from_boxes_alone():
    t = Tracker(max_gap=5)
    assert t.update(0, [(10, 10, 40, 40), (200, 10, 40, 40)]) == [1, 2]
    assert t.update(1, [(203, 12, 40, 40), (12, 11, 40, 40)]) == [2, 1]  # matched by place, not by order
    assert t.update(2, []) == []


def test_detection_gives_typed_frames_and_smoothing_runs_apart_from_it(rec, video):
    """The two halves as `ferkit.batch` runs them: detect, crop and track from boxes; classify; then smooth by
    track id. The results are the recognizer's own, smoothing included."""
    smooth = load(rec.backend, smooth=0.6)
    detected = smooth.detect_and_crop(list(iter_frames(video)))
    assert all(isinstance(d, DetectedFrame) and d.tracked for d in detected)
    size = rec.backend.data_config.image_size
    assert [d.crops.shape for d in detected] == [(len(d.faces), size, size) for d in detected]
    tracks = VideoTracks(smooth=0.6, gap_s=smooth.track_gap)
    ids = [tracks.ids(d) for d in detected]  # stage 1: no probabilities needed
    probs = smooth.classify(np.concatenate([d.crops for d in detected]))  # stage 2
    got, start = [], 0
    for d, i in zip(detected, ids, strict=True):
        mine = tracks.smoothed(d.frame.source, i, probs[start : start + len(d.faces)])
        got.append(face_results(d.faces, mine, i, smooth.labels))
        start += len(d.faces)
    assert got == [r.faces for r in smooth.predict(video)]
    assert got != [r.faces for r in rec.predict(video)]  # smoothing changed the probabilities
