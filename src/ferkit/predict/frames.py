"""A source as a stream of frames: still images decoded one by one, videos and webcams read through
`ferkit.predict.video`. One bad item of a batch (folder, glob, list) is a frame carrying its error."""

from __future__ import annotations

from collections.abc import Iterator

from ferkit.errors import FerkitError, SourceError
from ferkit.imageio import array_to_rgb, read_rgb
from ferkit.predict.sources import Frame, SourceItem, is_batch, parse_source
from ferkit.predict.video import capture_frames, open_capture


def iter_frames(source: object, stride: int = 1, max_frames: int | None = None) -> Iterator[Frame]:
    """Frames of a source, in order.

    Args:
        source: Anything `parse_source` accepts.
        stride: Keep every `stride`-th frame of videos and webcams (frame indices stay the source's own).
        max_frames: Stop each video / webcam after this many kept frames (None: until it ends).

    Raises:
        SourceError: A single source that cannot be used, raised before the first frame.
        ValueError: `stride` or `max_frames` below 1.
    """
    if int(stride) < 1:
        raise ValueError(f"stride must be at least 1, not {stride}")
    if max_frames is not None and int(max_frames) < 1:
        raise ValueError(f"max_frames must be at least 1 (or None for all frames), not {max_frames}")
    items = parse_source(source)
    strict = len(items) == 1 and not isinstance(source, list | tuple) and not is_batch(source)
    if strict and items[0].kind in ("video", "webcam"):
        opened = open_capture(items[0])  # raises SourceError now, not at the first next()
        return capture_frames(items[0], opened, stride, max_frames)
    return _frames_of(items, stride, max_frames)


def _frames_of(items: list[SourceItem], stride: int, max_frames: int | None) -> Iterator[Frame]:
    for item in items:
        if item.kind == "error":
            yield Frame(item.name, error=str(item.value), kind="image")
        elif item.kind in ("video", "webcam"):
            try:
                cap = open_capture(item)
            except SourceError as exc:
                yield Frame(item.name, error=str(exc), kind=item.kind)
                continue
            yield from capture_frames(item, cap, stride, max_frames)
        else:
            yield _still_frame(item)


def _still_frame(item: SourceItem) -> Frame:
    try:
        if item.kind == "array":
            rgb = array_to_rgb(item.value)
            size = (rgb.shape[1], rgb.shape[0])
        else:
            rgb, size = read_rgb(item.value)
            if rgb.size == 0:
                raise FerkitError(f"{item.name}: zero-size image")
    except FerkitError as exc:
        kind = "array" if item.kind == "array" else "image"
        return Frame(item.name, error=str(exc), kind=kind)
    return Frame(item.name, 0, rgb, "array" if item.kind == "array" else "image", size)
