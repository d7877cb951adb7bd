"""Writing the rows of one actor call into the output folder: the data file under a temporary name, renamed when
complete, then its ledger entry (see `ferkit.batch.output`). A call Ray runs again (an actor lost with its node)
writes the same file name, so its rows replace the earlier copy instead of doubling it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ferkit._atomic import atomic_path
from ferkit.batch.output import LEDGER, SUFFIX, task_record
from ferkit.batch.plan import Task


def write_part(out: Path, fmt: str, table, tasks: list[Task] | None) -> dict:
    """Write `table` (a pyarrow Table) as one data file of `out`, and the ledger entry of `tasks` (None: the
    second stage of a two-stage job, whose files hold parts of tasks). Returns what the driver counts: the
    file name, its rows and its errors (JSON)."""
    name = f"part-{_digest(tasks, table)}"
    path = out / f"{name}{SUFFIX[fmt]}"
    with atomic_path(path) as tmp:
        _write_table(table, tmp, fmt)
    if tasks is not None:
        (out / LEDGER).mkdir(exist_ok=True)
        entry = {"file": path.name, "rows": table.num_rows, "tasks": [task_record(t) for t in tasks]}
        with atomic_path(out / LEDGER / f"{name}.json") as tmp:
            tmp.write_text(json.dumps(entry) + "\n")
    errors = [e for e in table.column("error").to_pylist() if e]
    return {"file": path.name, "rows": table.num_rows, "errors": json.dumps(errors)}


def _digest(tasks: list[Task] | None, table) -> str:
    """A name that depends only on what the file holds: its tasks, or (no tasks) its rows' sources and frames."""
    if tasks is not None:
        key = [[t.kind, t.path, t.start, t.end] for t in tasks]
    else:
        key = [table.column("source").to_pylist(), table.column("frame").to_pylist()]
    return hashlib.sha256(json.dumps(key).encode("utf-8", "surrogateescape")).hexdigest()[:24]


def _write_table(table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
        return
    with open(path, "w", encoding="utf-8") as fh:
        for row in table.to_pylist():
            fh.write(json.dumps(row) + "\n")
