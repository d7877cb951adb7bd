"""Annotated videos: OpenCV's writer, PyAV's H.264 writer when `ferkit[video]` is installed, and a video written
under a temporary name and renamed onto its path when it is complete."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ferkit._atomic import atomic_path
from ferkit.errors import FerkitError
from ferkit.predict.sinks.files import Discarded


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
    from ferkit.predict.sinks import av_writer

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
            self._stage.__exit__(Discarded, Discarded(), None)
            raise
        written = Path(self._writer.path)
        if written == self._tmp:
            self._stage.close()  # moves the file onto `path`
            return
        self.path = self.path.with_suffix(written.suffix)  # the writer fell back to another container
        os.replace(written, self.path)
        self._stage.__exit__(Discarded, Discarded(), None)
