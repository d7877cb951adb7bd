"""The terminal lines of `ferkit predict`: one per face (source, frame, box, label, confidence), or "no face"."""

from __future__ import annotations

from collections.abc import Callable

from ferkit._names import text_name
from ferkit.predict.results import FrameResult
from ferkit.predict.sinks.base import Sink

CROP_SIDE = 320  # pixels: a still image no larger than this on both sides may itself be a face crop


class PrintLines(Sink):
    """Hands `format_result`'s lines of every readable result to `print_fn` (failed items are reported by the
    run itself, on stderr)."""

    def __init__(self, print_fn: Callable[[str], None] = print) -> None:
        self.print_fn = print_fn

    def write(self, result: FrameResult) -> None:
        if not result.error:
            for line in format_result(result):
                self.print_fn(line)


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


def _crop_hint(result: FrameResult) -> str:
    """For a small still image without a face: how to classify it whole, in case it is an already-cropped face."""
    if result.fps is not None or result.size is None or max(result.size) > CROP_SIDE:
        return ""
    w, h = result.size
    return f" ({w}×{h} px: if the image is itself a cropped face, classify it whole with --detector none)"
