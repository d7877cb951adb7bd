"""`--show`: a live window with the annotated frames and the frame rate; q or Esc ends the run."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ferkit.errors import FerkitError
from ferkit.predict.results import FrameResult
from ferkit.predict.sinks.base import RunInfo, Sink

WINDOW = "ferkit"


class LiveWindow(Sink):
    """Shows each annotated frame in an OpenCV window as it comes, with a smoothed FPS."""

    keeps_images = True

    def __init__(self) -> None:
        self._fps = _Fps()

    def open(self, run: RunInfo) -> None:
        open_window()

    def write(self, result: FrameResult) -> None:
        if result.image is not None and not _show(result, self._fps.tick()):
            self.finished = True

    def close(self, commit: bool = True) -> list[Path]:
        from ferkit._deps import cv2

        try:
            cv2().destroyWindow(WINDOW)
        except Exception:  # the window may never have opened
            pass
        return []


class _Fps:
    def __init__(self) -> None:
        self.last: float | None = None
        self.fps: float | None = None

    def tick(self) -> float | None:
        now = time.perf_counter()
        if self.last is not None and now > self.last:
            inst = 1.0 / (now - self.last)
            self.fps = inst if self.fps is None else 0.9 * self.fps + 0.1 * inst
        self.last = now
        return self.fps


def open_window() -> None:
    """Open the live window, or raise FerkitError saying why it cannot be shown."""
    from ferkit._deps import cv2

    cv = cv2()
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        raise FerkitError(
            "--show needs a display, and none is available (DISPLAY is not set); use --save DIR"
        )
    try:
        cv.namedWindow(WINDOW, cv.WINDOW_NORMAL)
    except cv.error:
        raise FerkitError(
            "--show needs OpenCV with GUI support; opencv-python-headless has none "
            "(pip install opencv-python, or use --save DIR)"
        ) from None


def _show(result: FrameResult, fps: float | None) -> bool:
    """Draw one frame; False when q or Esc was pressed."""
    from ferkit._deps import cv2

    cv = cv2()
    cv.imshow(WINDOW, cv.cvtColor(result.plot(fps=fps), cv.COLOR_RGB2BGR))
    key = cv.waitKey(1) & 0xFF
    return key not in (ord("q"), 27)
