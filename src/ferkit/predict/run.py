"""`run_predict`: what `ferkit predict` does — run a recognizer over a source and send every result, as it comes,
to a list of sinks (`ferkit.predict.sinks`): terminal lines, JSON, CSV, annotated files, per-person outputs, a
live window, or one of your own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from ferkit.predict.results import FrameResult
from ferkit.predict.sinks.base import RunInfo, Sink


@dataclass
class RunSummary:
    """What `run_predict` did: frames seen, faces found, items that failed, files written."""

    frames: int = 0
    faces: int = 0
    errors: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def add(self, result: FrameResult) -> None:
        """Count one result; an item that failed is also reported on stderr."""
        self.frames += 1
        self.faces += len(result.faces)
        if result.error:
            self.errors.append(result.error)
            print(f"ferkit: {result.error}", file=sys.stderr)


def run_predict(
    source, recognizer, sinks: Iterable[Sink] = (), stride: int = 1, max_frames: int | None = None
) -> RunSummary:
    """Run a recognizer over a source and hand every result to every sink as it comes.

    Args:
        source: Anything `Recognizer.stream` accepts.
        recognizer: A `Recognizer` (see `ferkit.load`).
        sinks: Where results go, opened in this order before the first result and closed in this order at the
            end (see `ferkit.predict.sinks`). Items that fail are reported on stderr whatever the sinks.
        stride: Keep every `stride`-th video frame.
        max_frames: Stop each video / webcam after this many frames.

    Raises:
        SourceError: The source cannot be opened.
        FerkitError: A sink cannot be opened (e.g. `LiveWindow` without a display); the sinks opened before it
            are discarded.
    """
    sinks = list(sinks)
    _open(sinks, RunInfo(source, tuple(recognizer.labels), stride))
    summary = RunSummary()
    keep = any(sink.keeps_images for sink in sinks)
    failed = True
    try:
        for result in recognizer.stream(source, keep_images=keep, stride=stride, max_frames=max_frames):
            summary.add(result)
            for sink in sinks:
                sink.write(result)
            if any(sink.finished for sink in sinks):
                break
        failed = False
    finally:  # a run that fails before its first result leaves earlier files as they were
        _close(sinks, summary, commit=summary.frames > 0 or not failed)
    return summary


def _open(sinks: list[Sink], run: RunInfo) -> None:
    """Open every sink in order; if one cannot be opened, those already open are discarded."""
    for i, sink in enumerate(sinks):
        try:
            sink.open(run)
        except BaseException:
            for opened in sinks[:i]:
                opened.close(commit=False)
            raise


def _close(sinks: list[Sink], summary: RunSummary, commit: bool) -> None:
    """Close every sink in order, each even when another fails (the first error is raised afterwards), and
    count the files they wrote."""

    def close(sink: Sink) -> None:
        summary.written += sink.close(commit=commit)

    with ExitStack() as stack:  # callbacks run last-in first-out: registered in reverse, they run in order
        for sink in reversed(sinks):
            stack.callback(close, sink)
