"""`run_predict`: what `ferkit predict` does — stream results to the terminal, JSON, CSV, annotated files and a
live window — as one public function.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ferkit._names import text_name
from ferkit.errors import FerkitError
from ferkit.predict.results import FrameResult

WINDOW = "ferkit"


@dataclass
class RunSummary:
    """What `run_predict` did: frames seen, faces found, items that failed, files written."""

    frames: int = 0
    faces: int = 0
    errors: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def format_result(result: FrameResult) -> list[str]:
    """Terminal lines for one result: one per face (source, frame, box, label, confidence), or "no face"."""
    head = f"{text_name(result.source)}\tframe {result.frame}"
    if result.error:
        return [f"{head}\terror: {text_name(result.error)}"]
    if not result.faces:
        return [f"{head}\tno face{_crop_hint(result)}"]
    return [
        f"{head}\tface {i}\tbox {','.join(str(v) for v in f.box)}\t{f.label}\t{f.confidence:.3f}"
        for i, f in enumerate(result.faces)
    ]


CROP_SIDE = 320  # pixels: a still image no larger than this on both sides may itself be a face crop


def _crop_hint(result: FrameResult) -> str:
    """For a small still image without a face: how to classify it whole, in case it is an already-cropped face."""
    if result.fps is not None or result.size is None or max(result.size) > CROP_SIDE:
        return ""
    w, h = result.size
    return f" ({w}×{h} px: if the image is itself a cropped face, classify it whole with --detector none)"


def run_predict(
    source,
    recognizer,
    save: str | Path | None = None,
    json_path: str | Path | None = None,
    csv_path: str | Path | None = None,
    show: bool = False,
    print_fn: Callable[[str], None] | None = print,
    stride: int = 1,
    max_frames: int | None = None,
    summary_path: str | Path | None = None,
    timeline_dir: str | Path | None = None,
    report_dir: str | Path | None = None,
) -> RunSummary:
    """Run a recognizer over a source and send every result to the requested outputs as it comes.

    Args:
        source: Anything `Recognizer.stream` accepts.
        recognizer: A `Recognizer` (see `ferkit.load`).
        save: Folder for annotated images (one per still image) and annotated videos (one per video / webcam,
            at the source's frame rate). An output never replaces a source file: one that would is named
            `<name>.annotated.jpg` / `.mp4`.
        json_path: Write a JSON list of `FrameResult.to_dict()`.
        csv_path: Write a CSV with one row per face (and one per frame without a face).
        show: Show a live window with the annotated frames and FPS (q or Esc stops).
        print_fn: Called with one line per face; None prints nothing. Errors go to stderr either way.
        stride: Keep every `stride`-th video frame.
        max_frames: Stop each video / webcam after this many frames.
        summary_path, timeline_dir, report_dir: Per-person outputs for videos (`ferkit.predict.people`): a
            JSON/CSV summary per track, a timeline PNG per video, an HTML report.

    Raises:
        SourceError: The source cannot be opened.
        FerkitError: `show` without a display or without an OpenCV GUI build.
    """
    from ferkit.predict.writers import AnnotatedSaver, input_file_ids

    files = {"--json": json_path, "--csv": csv_path, "--summary": summary_path}
    inputs = input_file_ids(source) if (save or any(files.values())) else set()
    _refuse_inputs_as_outputs(inputs, files)
    if show:
        open_window()
    saver = AnnotatedSaver(save, stride=stride, inputs=inputs) if save else None
    sinks = _open_sinks(json_path, csv_path, recognizer.labels, (summary_path, timeline_dir, report_dir))
    summary, clock = RunSummary(), _Fps()
    keep = bool(save or show or report_dir)
    failed = True
    try:
        for result in recognizer.stream(source, keep_images=keep, stride=stride, max_frames=max_frames):
            _emit(result, summary, print_fn, [*sinks, *([saver] if saver else [])])
            if show and result.image is not None and not _show(result, clock.tick()):
                break
        failed = False
    finally:
        _close_outputs(sinks, saver, summary, commit=summary.frames > 0 or not failed)
        if show:
            _close_window()
    return summary


def _close_outputs(sinks: list, saver, summary: RunSummary, commit: bool) -> None:
    """Close the JSON/CSV sinks, the per-person writer and the saver, each even when another fails (the first
    error is raised afterwards). A run that fails before its first result (a source that cannot be opened)
    leaves existing files as they were (`commit` False); one interrupted later keeps what it wrote."""
    from contextlib import ExitStack

    def close_sink(sink) -> None:
        sink.close(commit=commit)
        if commit:
            summary.written += sink.written

    def close_saver() -> None:
        saver.close()
        summary.written += saver.written

    with ExitStack() as stack:  # callbacks run last-in first-out, every one of them
        if saver is not None:
            stack.callback(close_saver)
        for sink in reversed(sinks):
            stack.callback(close_sink, sink)


def _emit(result: FrameResult, summary: RunSummary, print_fn, writers: list) -> None:
    """Count one result, print it (errors to stderr) and hand it to every writer."""
    summary.frames += 1
    summary.faces += len(result.faces)
    if result.error:
        summary.errors.append(result.error)
        print(f"ferkit: {result.error}", file=sys.stderr)
    elif print_fn is not None:
        for line in format_result(result):
            print_fn(line)
    for writer in writers:
        writer.write(result)


def _refuse_inputs_as_outputs(inputs: set, outputs: dict) -> None:
    """FerkitError when a --json / --csv file is one of the run's source files (`inputs`: their device and inode):
    an output never replaces an input."""
    from ferkit.predict.writers import file_id

    for flag, path in outputs.items():
        if path and file_id(Path(path)) in inputs:
            raise FerkitError(f"{flag} {path}: that is one of the inputs; write the results to another file")


def _open_sinks(json_path, csv_path, labels, people: tuple) -> list:
    """The staged --json / --csv writers and the per-person writer (`people`: summary, timeline and report
    paths); if one cannot be opened, the others are discarded."""
    from ferkit.predict.people import PeopleWriter
    from ferkit.predict.writers import CsvWriter, JsonWriter

    sinks: list = []
    try:
        if json_path:
            sinks.append(JsonWriter(json_path))
        if csv_path:
            sinks.append(CsvWriter(csv_path, labels))
        if any(people):
            sinks.append(PeopleWriter(*people))
    except BaseException:
        for sink in sinks:
            sink.close(commit=False)
        raise
    return sinks


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
    from ferkit._deps import cv2

    cv = cv2()
    cv.imshow(WINDOW, cv.cvtColor(result.plot(fps=fps), cv.COLOR_RGB2BGR))
    key = cv.waitKey(1) & 0xFF
    return key not in (ord("q"), 27)


def _close_window() -> None:
    from ferkit._deps import cv2

    try:
        cv2().destroyWindow(WINDOW)
    except Exception:  # the window may never have opened
        pass
