"""One `source` argument for everything: an image path, a directory, a glob, a video file, a webcam index,
a numpy array, a PIL image, or a list of those — turned into a stream of RGB frames.

Rules:
- `int` or a string of digits ("0") is a webcam index; use "./0" for a file called 0.
- A string with `*`, `?` or `[` that is not an existing path is a glob (sorted; `**` recurses).
- A directory yields its files (sorted, not recursive, hidden files skipped): videos by extension, every other
  file is tried as an image — a file that is not one yields an error frame and the batch goes on.
- numpy arrays are RGB (H×W gray, H×W×3 RGB or H×W×4 RGBA; uint8, uint16, bool or float in [0, 1]).

A single source that cannot be used (missing path, glob without matches, empty folder, a video or webcam that
does not open, an unsupported type) raises `SourceError`. Inside a batch (folder, glob, list), a bad item yields
a `Frame` with `error` set instead, so one bad file never stops a batch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferkit.errors import FerkitError, SourceError
from ferkit.predict.decode import read_rgb

VIDEO_EXTS = frozenset(
    {
        ".mp4",
        ".avi",
        ".mov",
        ".mkv",
        ".webm",
        ".m4v",
        ".mpg",
        ".mpeg",
        ".wmv",
        ".flv",
        ".3gp",
        ".ts",
        ".mjpeg",
    }
)


@dataclass(frozen=True)
class Frame:
    """One decoded frame (or one failed item) of a source.

    Attributes:
        source: Name of the item: its path, "webcam:0", "array" / "array[2]", "pil" / "pil[1]".
        index: Frame number within a video or webcam stream (0 for a still image).
        image: RGB uint8 H×W×3, or None when `error` is set.
        kind: "image", "video", "webcam" or "array".
        size: (width, height) of the full-size image (larger than `image` only for very large JPEGs).
        fps: Frame rate of a video or webcam source (30 when it does not say), None for still images.
        error: Why this item could not be read, else None.
        time: Seconds from the start of a video by the container's own timestamp (variable frame rates
            included), None when the reader gives none.
    """

    source: str
    index: int = 0
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    kind: str = "image"
    size: tuple[int, int] | None = None
    fps: float | None = None
    error: str | None = None
    time: float | None = None

    @property
    def ok(self) -> bool:
        """True when the frame has an image."""
        return self.error is None and self.image is not None


@dataclass(frozen=True)
class SourceItem:
    """One item a source expands to: kind ("image", "video", "webcam", "array", "error"), name and value."""

    kind: str
    name: str
    value: object = field(default=None, repr=False)


# ---------------------------------------------------------------------------------------------------- parsing


def parse_source(source: object) -> list[SourceItem]:
    """Expand a source into items (see the module docstring for the rules).

    Raises:
        SourceError: A single source that cannot be used (missing path, no glob matches, empty folder,
            unsupported type, negative webcam index).
    """
    if isinstance(source, list | tuple):
        if not source:
            raise SourceError("the source list is empty")
        items: list[SourceItem] = []
        for i, item in enumerate(source):
            try:
                items += _parse_one(item, index=i)
            except SourceError as exc:
                items.append(SourceItem("error", _display_name(item, i), str(exc)))
        return items
    return _parse_one(source)


def _parse_one(source: object, index: int | None = None) -> list[SourceItem]:
    suffix = "" if index is None else f"[{index}]"
    if isinstance(source, bool):
        raise SourceError(f"source {source!r} is not an image, video, folder, glob or webcam index")
    if isinstance(source, int | np.integer):
        return [_webcam_item(int(source))]
    if isinstance(source, np.ndarray):
        return [SourceItem("array", f"array{suffix}", source)]
    if _is_pil(source):
        name = getattr(source, "filename", "") or f"pil{suffix}"
        return [SourceItem("array", str(name), source)]
    if isinstance(source, str) and source.strip().isdigit():
        return [_webcam_item(int(source.strip()))]
    if isinstance(source, str | Path):
        return _parse_path(source)
    raise SourceError(
        f"source of type {type(source).__name__} is not supported; pass a path, folder, glob, video, webcam index, "
        "numpy array, PIL image or a list of those"
    )


MAX_WEBCAM_INDEX = 9999  # OpenCV camera indices are small; a huge one overflows OpenCV's int


def _webcam_item(index: int) -> SourceItem:
    if index < 0:
        raise SourceError(f"webcam index {index} is negative")
    if index > MAX_WEBCAM_INDEX:
        raise SourceError(f"webcam index {index} is out of range (0..{MAX_WEBCAM_INDEX})")
    return SourceItem("webcam", f"webcam:{index}", index)


def _parse_path(source: str | Path) -> list[SourceItem]:
    text = str(source)
    if not text.strip():
        raise SourceError("the source is an empty path; name an image, video, folder, glob or webcam index")
    if "://" in text:
        raise SourceError(f"{text}: URLs are not supported; download the file first")
    path = Path(text).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            subdirs = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
            if subdirs:
                raise SourceError(
                    f"{path}: folder has no files, only {len(subdirs)} subfolder(s), which are not searched; "
                    f"to include them use the glob '{path / '**' / '*'}'"
                )
            raise SourceError(f"{path}: folder has no files")
        return [_file_item(p) for p in files]
    if path.is_file():
        return [_file_item(path)]
    if isinstance(source, str) and any(c in text for c in "*?["):
        files = [m for m in _expand_glob(text) if m.is_file()]
        if not files:
            raise SourceError(f"{text}: no files match this pattern")
        return [_file_item(p) for p in files]
    raise SourceError(f"{path}: no such file or folder")


def _expand_glob(text: str) -> list[Path]:
    """The sorted matches of a glob; `**` recurses into real subfolders but not through symlinks, so a folder
    that links to itself cannot make the search endless. Hidden entries match only a pattern that names them."""
    parts = Path(text).expanduser().parts
    first = next(i for i, p in enumerate(parts) if any(c in p for c in "*?["))
    base = Path(*parts[:first]) if first else Path(".")
    pattern = parts[first:]
    if pattern[-1] == "**":  # glob.glob's "DIR/**" matches the files below DIR too
        pattern = (*pattern, "*")
    if not base.is_dir():
        return []
    hidden_ok = any(p.startswith(".") for p in pattern)
    matches = (m for m in base.glob(str(Path(*pattern))))
    return sorted(
        m for m in matches if hidden_ok or not any(p.startswith(".") for p in m.relative_to(base).parts)
    )


def _file_item(path: Path) -> SourceItem:
    kind = "video" if path.suffix.lower() in VIDEO_EXTS else "image"
    return SourceItem(kind, str(path), path)


def _display_name(item: object, index: int) -> str:
    if isinstance(item, str | Path | int):
        return str(item)
    return f"{type(item).__name__}[{index}]"


def _is_pil(obj: object) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return False
    return isinstance(obj, Image.Image)


# ---------------------------------------------------------------------------------------------------- frames


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
    strict = len(items) == 1 and not isinstance(source, list | tuple) and not _is_batch(source)
    if strict and items[0].kind in ("video", "webcam"):
        opened = open_capture(items[0])  # raises SourceError now, not at the first next()
        return _capture_frames(items[0], opened, stride, max_frames)
    return _frames_of(items, stride, max_frames)


def _is_batch(source: object) -> bool:
    if not isinstance(source, str | Path):
        return False
    path = Path(str(source)).expanduser()
    return path.is_dir() or (not path.exists() and any(c in str(source) for c in "*?["))


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
            yield from _capture_frames(item, cap, stride, max_frames)
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


def array_to_rgb(value: object) -> np.ndarray:
    """A numpy array (RGB convention) or PIL image as RGB uint8 H×W×3.

    Raises:
        SourceError: Zero-size, or a shape / dtype that is not an image.
    """
    if _is_pil(value):
        from ferkit.imageio import to_rgb

        try:
            return to_rgb(value)  # a lazily opened file is decoded here
        except (OSError, SyntaxError, ValueError) as exc:
            name = getattr(value, "filename", "") or "PIL image"
            raise SourceError(f"{name}: the image cannot be decoded ({exc})") from None
    arr = np.asarray(value)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise SourceError(f"array of shape {arr.shape} is not an image (expected H×W, H×W×3 or H×W×4)")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise SourceError(f"zero-size image ({arr.shape[1]}×{arr.shape[0]} pixels)")
    arr = _to_uint8(arr)
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        return (arr[:, :, :3] * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(arr)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if arr.dtype == np.uint16:
        return (arr.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise SourceError("array image has NaN or infinite values")
        top = 1.0 if arr.max() <= 1.0 else 255.0
        return np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        return np.clip(arr, 0, 255).astype(np.uint8)
    raise SourceError(f"array of dtype {arr.dtype} is not an image")


# ---------------------------------------------------------------------------------------------------- video


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


def _capture_frames(
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
    return _capture_frames(item, open_capture(item), stride, None, start, end)


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
