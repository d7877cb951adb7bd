"""Streaming outputs of recognition: a JSON list, a CSV with one row per face, annotated images and videos.

Each writer takes results one at a time, so a long video never has to be held in memory.
"""

from __future__ import annotations

import csv
import json
import re
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ferkit._atomic import atomic_path
from ferkit.errors import FerkitError
from ferkit.predict.results import FrameResult


def file_stem(source: str, empty: str = "source") -> str:
    """A file-name-safe stem for a source's outputs ("clips/a b.mp4" -> "a_b", "webcam:0" -> "webcam_0")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(source).stem or source).strip("_") or empty


def output_folder(path: str | Path, what: str) -> Path:
    """Create (if needed) the folder `path` for `what`, or raise FerkitError naming it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FerkitError(f"{what} {path}: that is an existing file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FerkitError(f"{what} {path}: cannot create the folder ({exc.strerror or exc})") from None
    return path


class _StagedFile:
    """A text file written through `ferkit._atomic.atomic_path` and moved onto `path` by close(commit=True): a run
    that fails before its first result, or is discarded, leaves an existing file at `path` as it was."""

    def __init__(self, path: str | Path, what: str, newline: str | None = None) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise FerkitError(f"{what} {self.path}: that is a folder; give a file name")
        output_folder(self.path.parent, what)
        self._stage = ExitStack()
        try:
            tmp = self._stage.enter_context(atomic_path(self.path))
            self._f = self._stage.enter_context(tmp.open("w", encoding="utf-8", newline=newline))
        except OSError as exc:
            self._stage.close()
            raise FerkitError(f"{what} {self.path}: cannot write here ({exc.strerror or exc})") from None

    @property
    def written(self) -> list[Path]:
        """The files this writer produces (every sink has `written`; the per-person writer has several)."""
        return [self.path]

    def close(self, commit: bool = True) -> None:
        if commit:
            self._stage.close()  # closes the file, then atomic_path moves it onto `path`
        else:  # atomic_path removes its temporary file when the block ends with an exception
            self._stage.__exit__(_Discarded, _Discarded(), None)


class _Discarded(Exception):
    """Ends a staged file's block so that nothing replaces the target."""


class JsonWriter(_StagedFile):
    """Writes `[FrameResult.to_dict(), ...]` to a file, one result at a time; close() ends the list."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, "--json")
        self._f.write("[")
        self._n = 0

    def write(self, result: FrameResult) -> None:
        self._f.write(("," if self._n else "") + "\n " + json.dumps(result.to_dict(), allow_nan=False))
        self._n += 1

    def close(self, commit: bool = True) -> None:
        if not self._f.closed:
            self._f.write("\n]\n" if self._n else "]\n")
        super().close(commit)


class CsvWriter(_StagedFile):
    """One row per face (`ferkit.predict.table`): source, frame, timestamp, face, track, x, y, w, h, score, label,
    confidence, p_<class>..., error. A frame without a face (or that failed) still gets one row, with the face
    columns empty, so a video has a row for every frame; `track` is empty for still images.
    """

    def __init__(self, path: str | Path, labels: tuple[str, ...] | list[str]) -> None:
        from ferkit.predict.table import columns

        super().__init__(path, "--csv", newline="")
        self.labels = list(labels)
        self._w = csv.writer(self._f)
        self._columns = columns(self.labels)
        self._w.writerow(self._columns)

    def write(self, result: FrameResult) -> None:
        from ferkit.predict.table import face_rows

        for row in face_rows(result, self.labels):
            self._w.writerow([_cell(k, row[k]) for k in self._columns])


def _cell(key: str, value) -> str:
    """How the CSV writes a value: empty for None, fixed decimals for the measured numbers."""
    if value is None:
        return ""
    if key == "timestamp" or key == "score":
        return f"{value:.4f}"
    if key == "confidence" or key.startswith("p_"):
        return f"{value:.6f}"
    return str(value)


class VideoWriter:
    """Annotated frames of one source to a video at `fps` (opened on the first frame).

    `.mp4` is written with the `mp4v` codec, `.avi` with `MJPG`; if OpenCV cannot open an `.mp4` writer, an
    `.avi` next to it is used instead (`path` then names the file actually written).
    """

    def __init__(self, path: str | Path, fps: float | None) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self._writer = None

    def write(self, frame_rgb: np.ndarray, t: float | None = None) -> None:
        """Append a frame (`t`, its timestamp, is not used: OpenCV writes at a constant rate)."""
        from ferkit._deps import cv2

        cv = cv2()
        if self._writer is None:
            self._writer = self._open(frame_rgb.shape[1], frame_rgb.shape[0])
        self._writer.write(cv.cvtColor(frame_rgb, cv.COLOR_RGB2BGR))

    def _open(self, width: int, height: int):
        from ferkit._deps import cv2

        cv = cv2()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tries = [(self.path, "mp4v" if self.path.suffix.lower() == ".mp4" else "MJPG")]
        if self.path.suffix.lower() == ".mp4":
            tries.append((self.path.with_suffix(".avi"), "MJPG"))
        for path, codec in tries:
            writer = cv.VideoWriter(str(path), cv.VideoWriter_fourcc(*codec), self.fps, (width, height))
            if writer.isOpened():
                self.path = path
                return writer
            writer.release()
        raise FerkitError(f"{self.path}: OpenCV cannot write a video here (codecs tried: mp4v, MJPG)")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


def open_video_writer(path: Path, fps: float | None, source: str | None = None):
    """H.264 MP4 with the source's audio through PyAV when `ferkit[video]` is installed, else OpenCV's writer."""
    from ferkit.predict import av_writer

    if av_writer.available():
        return av_writer.AvVideoWriter(path, fps, source)
    return VideoWriter(path, fps)


class StagedVideo:
    """A video written under a temporary name beside `path` and renamed onto it by close(): a run killed
    mid-video leaves an earlier file at `path` as it was (`path` then names the file actually written, an
    `.avi` where the MP4 writer could not open)."""

    def __init__(self, path: Path, fps: float | None, source: str | None = None) -> None:
        self.path = path
        self._stage = ExitStack()
        self._tmp = self._stage.enter_context(atomic_path(path, keep_suffix=True))
        self._writer = open_video_writer(self._tmp, fps, source)

    def write(self, frame_rgb: np.ndarray, t: float | None = None) -> None:
        self._writer.write(frame_rgb, t)

    def close(self) -> None:
        import os

        try:
            self._writer.close()
        except BaseException:
            self._stage.__exit__(_Discarded, _Discarded(), None)
            raise
        written = Path(self._writer.path)
        if written == self._tmp:
            self._stage.close()  # moves the file onto `path`
            return
        self.path = self.path.with_suffix(written.suffix)  # the writer fell back to another container
        os.replace(written, self.path)
        self._stage.__exit__(_Discarded, _Discarded(), None)


class AnnotatedSaver:
    """`--save DIR`: annotated still images as DIR/<name>.jpg, and each video / webcam as DIR/<name>.mp4.

    An output never replaces an input: where DIR/<name>.jpg (or .mp4) is one of the run's source files (e.g.
    `--save` names the photos' own folder), the output is DIR/<name>.annotated.jpg instead. Other existing files
    in DIR (an earlier run's outputs) are replaced.

    A video read with `stride` > 1 keeps every stride-th frame, so it is written at fps / stride: it plays for
    as long as its source.

    Args:
        folder: Where the annotated files go (created if needed).
        stride: The stride the video frames were read with.
        inputs: (device, inode) of the run's source files (`input_file_ids(source)`): never written over.
    """

    def __init__(self, folder: str | Path, stride: int = 1, inputs: set | None = None) -> None:
        self.folder = output_folder(folder, "--save")
        self.stride = max(1, int(stride))
        self.written: list[Path] = []
        self._videos: dict[str, StagedVideo] = {}
        self._names: set[str] = set()
        self._inputs = inputs or set()

    def write(self, result: FrameResult) -> None:
        if result.image is None:
            return
        if result.fps is not None:  # a video or webcam frame
            video = self._videos.get(result.source)
            if video is None:
                video = self._videos[result.source] = StagedVideo(
                    self._unique(result.source, ".mp4"), result.fps / self.stride, result.source
                )
            video.write(result.plot(), result.timestamp)
        else:
            self.written.append(result.save(self._unique(result.source, ".jpg")))

    def _unique(self, source: str, suffix: str) -> Path:
        stem = file_stem(source, "frame")
        if self._is_input(self.folder / f"{stem}{suffix}") or self._is_input(Path(source)):
            stem += ".annotated"  # beside its source (or another input of the same name): never over it
        name, i = stem, 1
        while name in self._names or self._is_input(self.folder / f"{name}{suffix}"):
            i += 1
            name = f"{stem}_{i}"
        self._names.add(name)
        return self.folder / f"{name}{suffix}"

    def _is_input(self, path: Path) -> bool:
        """Whether `path` is one of the run's source files in the save folder (by device and inode, so links
        and other spellings of the same file count)."""
        if path.parent.resolve() != self.folder.resolve():
            return False
        ident = file_id(path)
        return ident is not None and ident in self._inputs

    def close(self) -> None:
        from contextlib import ExitStack

        def close_one(video) -> None:
            video.close()
            self.written.append(video.path)

        videos, self._videos = list(self._videos.values()), {}
        with ExitStack() as stack:  # every video is finished even when one of them fails
            for video in reversed(videos):
                stack.callback(close_one, video)


def file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def input_file_ids(sources: object) -> set[tuple[int, int]]:
    """(device, inode) of every file a source names (folders and globs expanded); empty when it names none."""
    from ferkit.errors import SourceError
    from ferkit.predict.sources import parse_source

    if sources is None:
        return set()
    try:
        items = parse_source(sources)
    except SourceError:
        return set()
    ids = (file_id(Path(item.value)) for item in items if item.kind in ("image", "video"))
    return {i for i in ids if i is not None}
