"""The original FER2013 challenge CSV `emotion,pixels,Usage` and its CK+ variant with the same columns.

Rows are streamed: each pixel string becomes a uint8 row at once, so a 290 MB file never sits in memory as
Python strings. `Usage` Training/PublicTest/PrivateTest → splits train/public_test/private_test (no Usage column:
everything is `train`). The number of classes is discovered from the data: ≤ 7 classes read as FER2013's order
(angry, disgust, fear, happy, sad, surprise, neutral); more become class_0..class_K-1 unless `labels=` names them.
"""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np

from ferkit.data.dataset import FerDataset, build_dataset
from ferkit.data.files import FileEntry
from ferkit.data.formats import DatasetFormat, register_format
from ferkit.errors import DataError
from ferkit.labels import FER7, LabelSpace, get_space

USAGE = {"training": "train", "publictest": "public_test", "privatetest": "private_test"}
SPLIT_ORDER = ("train", "public_test", "private_test")
REQUIRED = ("emotion", "pixels")
MAX_CLASS_ID = 999  # a label space of a thousand classes is already far beyond any FER dataset
MAX_LINE_CHARS = 16 * 1024 * 1024  # a 1024×1024 image's pixel string is ~3.7 M characters


def detect(root: Path) -> bool:
    # The only file layout: any .csv is read as one, so a missing column is reported by name.
    return root.is_file() and root.suffix.lower() == ".csv"


def inputs(root: Path, options: dict) -> list[FileEntry]:
    st = root.stat()
    return [FileEntry(root.name, st.st_size, st.st_mtime_ns)]


def _parse_pixels(text: str, where: str, expected: int | None) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(text, dtype=np.int32, sep=" ")  # fast C parser, no per-value strings
        except (ValueError, DeprecationWarning):
            bad = next((t for t in text.split() if not t.lstrip("-").isdigit()), text[:20])
            raise DataError(f"{where}: pixels contain a non-number ({bad!r})") from None
    if expected is not None and values.size != expected:
        side = int(math.isqrt(expected))
        raise DataError(
            f"{where}: pixel string has {values.size} values, expected {expected} ({side}x{side})"
        )
    if values.size == 0 or math.isqrt(values.size) ** 2 != values.size:
        raise DataError(f"{where}: pixel string has {values.size} values, which is not a square image")
    if values.min() < 0 or values.max() > 255:
        raise DataError(f"{where}: pixel values must be 0..255 (found {values.min()}..{values.max()})")
    return values.astype(np.uint8)


def _label_space(options: dict, n_classes: int) -> LabelSpace:
    labels = options.get("labels")
    if isinstance(labels, str):
        return get_space(labels)
    if labels:
        return LabelSpace.from_names(list(labels))
    if n_classes <= len(FER7):
        return FER7
    return LabelSpace(f"csv{n_classes}", tuple(f"class_{i}" for i in range(n_classes)))


def _warn_sparse_ids(root: Path, labels: list[int], sources: list[str]) -> None:
    """Warn when class ids past FER2013's 0..6 leave gaps: most likely a few bad rows, not new classes."""
    counts = np.bincount(np.asarray(labels))
    empty = [i for i in range(len(counts)) if counts[i] == 0]
    if not empty:
        return
    high = int(np.argmax(np.asarray(labels)))
    line = sources[high].rsplit(":", 1)[1]
    warnings.warn(
        f"{root.name}: emotion ids run to {labels[high]} (line {line}) but ids {', '.join(map(str, empty))} have "
        f"no rows, so the data is read as {len(counts)} generic classes class_0..class_{len(counts) - 1}; if this "
        "is FER2013 those rows are wrong (load with labels='fer7' to make them an error naming the line)",
        stacklevel=2,
    )


def _bounded_lines(fh, root: Path):
    """The file's lines, refusing (DataError naming the line) one longer than MAX_LINE_CHARS: a file without line
    breaks (or /dev/zero) never grows in memory past that."""
    for line_no, line in enumerate(iter(lambda: fh.readline(MAX_LINE_CHARS + 1), ""), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise DataError(
                f"{root.name} line {line_no}: over {MAX_LINE_CHARS:,} characters without a line break; "
                "this is not a FER2013-style CSV"
            )
        yield line


def _read_rows(root: Path) -> tuple[list[np.ndarray], list[int], list[str], list[str]]:
    """(pixel rows, class ids, splits, sources "file:line") of every non-empty row; DataError names the line."""
    rows: list[np.ndarray] = []
    labels: list[int] = []
    splits: list[str] = []
    sources: list[str] = []
    expected = None
    with open(root, newline="", encoding="utf-8-sig", errors="replace") as fh:
        csv.field_size_limit(MAX_LINE_CHARS)  # a pixel field of a 200×200 image is over csv's default 128 kB
        reader = csv.reader(_bounded_lines(fh, root))
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise DataError(
                f"{root}: missing column {', '.join(map(repr, missing))} (header: {','.join(header)})"
            )
        i_emo, i_pix = header.index("emotion"), header.index("pixels")
        i_use = header.index("usage") if "usage" in header else None
        for line_no, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            where = f"{root.name} line {line_no}"
            if len(row) < len(header):
                raise DataError(f"{where}: {len(row)} columns, expected {len(header)} ({','.join(header)})")
            labels.append(_class_id(row[i_emo], where))
            pixels = _parse_pixels(row[i_pix], where, expected)
            expected = pixels.size
            usage = row[i_use].strip() if i_use is not None else "Training"
            rows.append(pixels)
            splits.append(USAGE.get(usage.lower().replace(" ", ""), usage.lower() or "train"))
            sources.append(f"{root.name}:{line_no}")
    return rows, labels, splits, sources


def _class_id(text: str, where: str) -> int:
    try:
        label = int(text)
    except ValueError:
        raise DataError(f"{where}: emotion {text!r} is not an integer class id") from None
    if label < 0:
        raise DataError(f"{where}: emotion {label} is negative")
    if label > MAX_CLASS_ID:
        raise DataError(
            f"{where}: emotion {label} is not a class id (ids run from 0 to at most {MAX_CLASS_ID})"
        )
    return label


def load(root: Path, files: list[FileEntry], options: dict, strict: bool, quiet: bool) -> FerDataset:
    try:
        rows, labels, splits, sources = _read_rows(root)
    except csv.Error as exc:  # e.g. a quoted field that never ends
        raise DataError(f"{root.name}: not a readable CSV ({exc})") from None
    if not rows:
        raise DataError(f"{root}: the CSV has a header but no rows")
    space = _label_space(options, max(labels) + 1)
    if max(labels) >= len(space):
        line = sources[labels.index(max(labels))].rsplit(":", 1)[1]
        raise DataError(
            f"{root.name} line {line}: emotion {max(labels)} is outside label space {space.name} (0..{len(space) - 1})"
        )
    if not options.get("labels") and len(space) > len(FER7):
        _warn_sparse_ids(root, labels, sources)
    side = math.isqrt(rows[0].size)
    return build_dataset(
        images=np.stack(rows).reshape(-1, side, side),
        labels=labels,
        label_space=space,
        splits=splits,
        split_order=SPLIT_ORDER,
        sources=sources,
        format="fer2013_csv",
        root=root,
        sizes={f"{side}x{side}": len(rows)},
        modes={"L": len(rows)},
    )


FORMAT = register_format(
    DatasetFormat(
        name="fer2013_csv",
        layout="FER2013 CSV: columns emotion,pixels[,Usage] with space-separated pixel values",
        detect=detect,
        inputs=inputs,
        load=load,
        options={"labels": None},
    )
)
