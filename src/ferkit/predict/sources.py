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

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferkit.errors import SourceError
from ferkit.imageio import is_pil

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
    if is_pil(source):
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


def is_batch(source: object) -> bool:
    """Whether a single source names many items (a folder, or a glob that is not an existing path)."""
    if not isinstance(source, str | Path):
        return False
    path = Path(str(source)).expanduser()
    return path.is_dir() or (not path.exists() and any(c in str(source) for c in "*?["))
