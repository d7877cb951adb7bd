"""The output folder of a batch job: what an earlier run left there, `--resume` / `--overwrite`, and counting what a
run wrote.

A folder a job writes carries a marker, `ferkit-batch.json` (format and labels). Only folders with that marker
are treated as earlier output; `--overwrite` deletes only the data files Ray wrote there, and a `--resume` must
use the same format and labels. A data file that cannot be read (a run killed while writing it) is renamed
`*.broken` with a warning, and its tasks run again.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from ferkit.batch.plan import Task, pending
from ferkit.errors import FerkitError

MARKER = "ferkit-batch.json"
SUFFIX = {"parquet": ".parquet", "jsonl": ".json"}


def prepare_output(
    out: Path, tasks: list[Task], fmt: str, labels, resume: bool, overwrite: bool
) -> list[Task]:
    """The tasks to run: all of them in a new or emptied folder, those not yet in it under `resume`."""
    if fmt not in SUFFIX:
        raise FerkitError(f"--format {fmt!r}: choose one of {', '.join(SUFFIX)}")
    if out.exists() and not out.is_dir():
        raise FerkitError(f"--out {out}: that is a file; give a folder")
    marker = out / MARKER
    others = [p for p in out.iterdir() if p.name != MARKER] if out.is_dir() else []
    if others and not marker.is_file():
        raise FerkitError(
            f"--out {out} holds files that are not a ferkit batch output; give an empty or new folder"
        )
    earlier = data_files(out, fmt) + data_files(out, "jsonl" if fmt == "parquet" else "parquet")
    if earlier and not (resume or overwrite):
        raise FerkitError(
            f"--out {out} already holds {len(earlier)} output file(s) of an earlier run: pass --resume to add only "
            "what is missing, or --overwrite to start over"
        )
    if overwrite:
        for path in earlier:
            path.unlink()
        earlier = []
    elif earlier:
        _same_job(marker, fmt, labels)
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"format": fmt, "labels": list(labels)}) + "\n")
    return pending(tasks, _done_rows(data_files(out, fmt), fmt)) if earlier else tasks


def _same_job(marker: Path, fmt: str, labels) -> None:
    try:
        before = json.loads(marker.read_text())
    except (OSError, ValueError):
        before = {}
    if before.get("format") != fmt or before.get("labels") != list(labels):
        raise FerkitError(
            f"--resume into {marker.parent}: the earlier run wrote {before.get('format')} with labels "
            f"{before.get('labels')}, this one {fmt} with {list(labels)}; use the same model and --format, or "
            "--overwrite"
        )


def data_files(out: Path, fmt: str) -> list[Path]:
    """The data files of a format in `out` (Ray names them <dataset id>_<block>.<suffix>)."""
    if not out.is_dir():
        return []
    return sorted(p for p in out.glob(f"*{SUFFIX[fmt]}") if p.is_file() and p.name != MARKER)


def read_columns(files: list[Path], fmt: str, cols: list[str]) -> list[dict]:
    """`cols` of every row of `files`; an unreadable file is renamed *.broken with a warning and skipped."""
    rows = []
    for f in files:
        try:
            rows += _read_one(f, fmt, cols)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid and json's errors are ValueErrors
            f.rename(f.with_name(f.name + ".broken"))
            warnings.warn(f"{f}: unreadable ({exc}); renamed *.broken, its items run again", stacklevel=2)
    return rows


def _read_one(f: Path, fmt: str, cols: list[str]) -> list[dict]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(f, columns=cols).to_pylist()
    with open(f, encoding="utf-8") as fh:
        return [{c: d.get(c) for c in cols} for d in map(json.loads, filter(str.strip, fh))]


def _done_rows(files: list[Path], fmt: str) -> list[tuple[str, int]]:
    return [(r["source"], int(r["frame"])) for r in read_columns(files, fmt, ["source", "frame"])]


def count(files: list[Path], fmt: str) -> tuple[int, list[str]]:
    """Rows in `files` (those this run wrote) and their errors."""
    rows = read_columns(files, fmt, ["error"])
    return len(rows), [r["error"] for r in rows if r["error"]]
