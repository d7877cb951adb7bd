"""Where outputs go: file stems for a source's outputs, output folders, and the run's own input files (an output
never replaces an input)."""

from __future__ import annotations

import re
from pathlib import Path

from ferkit.errors import FerkitError


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


def file_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a file, or None when it does not exist."""
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


def refuse_input(path: str | Path, what: str, inputs: set[tuple[int, int]]) -> None:
    """FerkitError when the output file `path` (`what` names it: "--json") is one of the run's `inputs`."""
    if inputs and file_id(Path(path)) in inputs:
        raise FerkitError(f"{what} {path}: that is one of the inputs; write the results to another file")
