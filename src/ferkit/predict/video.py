"""Videos and webcams through OpenCV: opening a capture, its frames (a frame range, a stride), and what its
container says about it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from ferkit.errors import SourceError
from ferkit.predict.sources import Frame, SourceItem


def open_capture(item: SourceItem):
    """An opened `cv2.VideoCapture` for a video or webcam item.

    Raises:
        SourceError: The file or camera cannot be opened (OpenCV's own warnings are silenced).
    """
    from ferkit._deps import cv2

    cv = cv2()
    with _quiet_opencv(cv):
        if item.kind == "webcam":
            cap = cv.VideoCapture(int(item.value))
        else:
            cap = cv.VideoCapture(str(item.value))
        ok = cap.isOpened()
    if not ok:
        cap.release()
        if item.kind == "webcam":
            raise SourceError(f"webcam {item.value} cannot be opened (no such camera, or it is in use)")
        raise SourceError(f"{item.name}: video cannot be opened (not a video OpenCV can decode)")
    return cap


class _quiet_opencv:  # noqa: N801 - used as a context manager
    def __init__(self, cv) -> None:
        self.logging = getattr(getattr(cv, "utils", None), "logging", None)
        self.old = None

    def __enter__(self) -> None:
        if self.logging is not None:
            self.old = self.logging.getLogLevel()
            self.logging.setLogLevel(self.logging.LOG_LEVEL_SILENT)

    def __exit__(self, *exc: object) -> None:
        if self.logging is not None and self.old is not None:
            self.logging.setLogLevel(self.old)


def capture_frames(
    item: SourceItem, cap, stride: int, max_frames: int | None, start: int = 0, end: int | None = None
) -> Iterator[Frame]:
    """Frames `start` ≤ index < `end` of an opened capture, every `stride`-th by the video's own index."""
    from ferkit._deps import cv2

    cv = cv2()
    fps = float(cap.get(cv.CAP_PROP_FPS) or 0.0)
    fps = fps if 0.0 < fps < 1000.0 else 30.0  # containers / cameras that do not say: assume 30
    if start > 0:
        cap.set(cv.CAP_PROP_POS_FRAMES, start)  # OpenCV seeks to a keyframe and decodes up to `start`
        if int(round(cap.get(cv.CAP_PROP_POS_FRAMES))) != start:  # a backend that cannot seek exactly
            cap.set(cv.CAP_PROP_POS_FRAMES, 0)
            for _ in range(start):
                if not cap.grab():
                    break
    kept, index, clock = 0, start, time.monotonic()
    try:
        while (max_frames is None or kept < max_frames) and (end is None or index < end):
            ok, bgr = cap.read()
            if not ok or bgr is None:
                break
            if index % stride == 0:
                rgb = cv.cvtColor(bgr, cv.COLOR_BGR2RGB)
                t = _frame_time(cap, cv, item.kind, index, clock)
                yield Frame(item.name, index, rgb, item.kind, (rgb.shape[1], rgb.shape[0]), fps, time=t)
                kept += 1
            index += 1
    finally:
        cap.release()
    if index == start and start == 0:
        yield Frame(item.name, 0, None, item.kind, None, fps, error=f"{item.name}: no frame could be decoded")


def _frame_time(cap, cv, kind: str, index: int, clock: float) -> float | None:
    """A video frame's container timestamp; a webcam frame's capture time since the stream started (cameras
    deliver at their own pace, not at the rate they report)."""
    if kind == "webcam":
        return time.monotonic() - clock
    ms = cap.get(cv.CAP_PROP_POS_MSEC)
    return ms / 1000.0 if ms >= 0 and (index == 0 or ms > 0) else None


def video_frames(
    path: str | Path, start: int = 0, end: int | None = None, stride: int = 1
) -> Iterator[Frame]:
    """Frames `start` ≤ index < `end` of one video file (frame indices are the video's own, so consecutive
    ranges give exactly the frames of one pass, also with `stride`).

    Raises:
        SourceError: The video cannot be opened (raised here, before the first frame).
    """
    if start < 0 or (end is not None and end < start) or stride < 1:
        raise ValueError(f"bad frame range [{start}, {end}) or stride {stride}")
    item = SourceItem("video", str(path), Path(path))
    return capture_frames(item, open_capture(item), stride, None, start, end)


def video_info(path: str | Path) -> tuple[int, float]:
    """(frame count, frames per second) of a video as its container states them (the count may be an estimate;
    0 when it does not say).

    Raises:
        SourceError: The video cannot be opened.
    """
    from ferkit._deps import cv2

    cv = cv2()
    cap = open_capture(SourceItem("video", str(path), Path(path)))
    try:
        count, fps = int(cap.get(cv.CAP_PROP_FRAME_COUNT) or 0), float(cap.get(cv.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    return max(count, 0), fps if 0.0 < fps < 1000.0 else 30.0
