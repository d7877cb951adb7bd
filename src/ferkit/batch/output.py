"""The output folder of a batch job: its marker, its lock, what earlier runs finished there (`--resume`) and
`--overwrite`.

Layout (dataset readers skip names starting with `_` or `.`, so `pandas.read_parquet(out)` reads the rows only):

    part-<digest>.parquet | .jsonl   the rows of one actor call, written to a temporary name and renamed
    _ferkit-batch.json               the marker: format, labels, stages and the options that change rows
    _ferkit-done/<digest>.json       the ledger: which tasks (source identity, frame range) a data file holds
    _ferkit-set-aside/               data files without a ledger entry or that do not read back (run again)
    .ferkit-batch.lock               held by the run writing here; a second writer is refused

A data file is complete when its ledger entry exists and its row count matches it; `--resume` runs exactly the
tasks (or the parts of video frame ranges) that complete files do not hold.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from ferkit._atomic import atomic_path
from ferkit.batch.plan import Task, source_identity, uncovered
from ferkit.errors import FerkitError

MARKER = "_ferkit-batch.json"
LEGACY_MARKER = "ferkit-batch.json"  # written by earlier versions, beside Ray-named data files
LEDGER = "_ferkit-done"
SET_ASIDE = "_ferkit-set-aside"
LOCK = ".ferkit-batch.lock"
SUFFIX = {"parquet": ".parquet", "jsonl": ".jsonl"}


def prepare_output(out: Path, tasks: list[Task], job: dict, resume: bool, overwrite: bool) -> list[Task]:
    """The tasks to run: all of them in a new or emptied folder, those not yet in it under `resume`. `job` is
    the marker's content (format, labels, stages, options); a resume must match it. Call it holding `lock`."""
    fmt = job["format"]
    if fmt not in SUFFIX:
        raise FerkitError(f"--format {fmt!r}: choose one of {', '.join(SUFFIX)}")
    _refuse_foreign(out)
    earlier = data_files(out) + legacy_files(out)
    if earlier and not (resume or overwrite):
        raise FerkitError(
            f"--out {out} already holds {len(earlier)} output file(s) of an earlier run: pass --resume to add only "
            "what is missing, or --overwrite to start over"
        )
    if overwrite:
        _clear(out, earlier)
    elif earlier:
        _same_job(out, job)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / MARKER) as tmp:
        tmp.write_text(json.dumps(job) + "\n")
    return uncovered(tasks, finished(out, fmt)) if earlier and not overwrite else tasks


def lock(out: Path):
    """An exclusive lock on `out` (created if needed), held while a run writes there; FerkitError when another
    run holds it. Use as a context manager."""
    from filelock import FileLock, Timeout

    if out.exists() and not out.is_dir():
        raise FerkitError(f"--out {out}: that is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    held = FileLock(out / LOCK)
    try:
        held.acquire(timeout=0)
    except Timeout:
        raise FerkitError(
            f"--out {out}: another ferkit batch is writing there; wait for it or give another folder"
        ) from None
    return held


def _refuse_foreign(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FerkitError(f"--out {out}: that is a file; give a folder")
    if not out.is_dir():
        return
    names = [p.name for p in out.iterdir() if not p.name.startswith(("_", "."))]
    ours = (out / MARKER).is_file() or (out / LEGACY_MARKER).is_file()
    if names and not ours:
        raise FerkitError(
            f"--out {out} holds files that are not a ferkit batch output; give an empty or new folder"
        )


def _clear(out: Path, files: list[Path]) -> None:
    """`--overwrite`: remove the data files, the ledger and what was set aside (nothing else)."""
    import shutil

    for path in files:
        path.unlink()
    for folder in (LEDGER, SET_ASIDE):
        shutil.rmtree(out / folder, ignore_errors=True)
    (out / LEGACY_MARKER).unlink(missing_ok=True)


def _same_job(out: Path, job: dict) -> None:
    if legacy_files(out):
        raise FerkitError(
            f"--resume into {out}: written by an earlier ferkit version that kept no record of its tasks; "
            "use --overwrite"
        )
    try:
        before = json.loads((out / MARKER).read_text())
    except (OSError, ValueError):
        before = {}
    for key, what in (("format", "--format"), ("labels", "model"), ("stages", "--classify-actors")):
        if before.get(key) != job[key]:
            raise FerkitError(_differs(out, what, before.get(key), job[key]))
    changed = sorted(
        k
        for k in {*before.get("options", {}), *job["options"]}
        if before.get("options", {}).get(k) != job["options"].get(k)
    )
    if changed:
        old, new = before.get("options", {}), job["options"]
        detail = ", ".join(f"--{k.replace('_', '-')} {old.get(k)} then {new.get(k)}" for k in changed)
        raise FerkitError(
            f"--resume into {out}: options that change the rows differ ({detail}); use the same or --overwrite"
        )


def _differs(out: Path, what: str, before, now) -> str:
    return f"--resume into {out}: the earlier run used {what} {before}, this one {now}; use the same or --overwrite"


def data_files(out: Path, fmt: str | None = None) -> list[Path]:
    """The data files in `out` (of one format, or of both)."""
    if not out.is_dir():
        return []
    suffixes = [SUFFIX[fmt]] if fmt else list(SUFFIX.values())
    return sorted(
        p for p in out.iterdir() if p.suffix in suffixes and p.name.startswith("part-") and p.is_file()
    )


def legacy_files(out: Path) -> list[Path]:
    """Data files Ray named (<dataset id>_<block>.parquet / .json) beside an earlier version's marker."""
    if not (out / LEGACY_MARKER).is_file():
        return []
    found = [*out.glob("*.parquet"), *out.glob("*.json")]
    return sorted(p for p in found if p.name != LEGACY_MARKER and not p.name.startswith(("_", ".", "part-")))


def finished(out: Path, fmt: str) -> list[dict]:
    """The tasks (ledger records) of complete data files; a data file without one, or whose rows do not match it, is
    moved to `_ferkit-set-aside` with a warning (its tasks run again)."""
    entries: list[dict] = []
    for path in data_files(out):
        entry = _entry(out, path)
        if entry is not None and path.suffix == SUFFIX[fmt] and _rows_in(path) == entry["rows"]:
            entries += entry["tasks"]
        else:
            _set_aside(out, path)
    return entries


def _entry(out: Path, path: Path) -> dict | None:
    try:
        return json.loads((out / LEDGER / f"{path.stem}.json").read_text())
    except (OSError, ValueError):
        return None


def _rows_in(path: Path) -> int:
    """The rows of a data file; -1 when it does not read."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        with open(path, encoding="utf-8") as fh:
            return sum(1 for line in fh if json.loads(line) is not None)
    except (OSError, ValueError):  # pyarrow's ArrowInvalid and json's errors are ValueErrors
        return -1


def _set_aside(out: Path, path: Path) -> None:
    (out / SET_ASIDE).mkdir(exist_ok=True)
    os.replace(path, out / SET_ASIDE / path.name)
    (out / LEDGER / f"{path.stem}.json").unlink(missing_ok=True)
    warnings.warn(
        f"{path}: incomplete or unreadable; moved to {SET_ASIDE}/, its items run again", stacklevel=3
    )


def read_rows(out: Path, fmt: str) -> list[dict]:
    """Every row of the data files of `out` (tests and small jobs)."""
    rows: list[dict] = []
    for path in data_files(out, fmt):
        if fmt == "parquet":
            import pyarrow.parquet as pq

            rows += pq.read_table(path).to_pylist()
        else:
            rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return rows


def task_record(task: Task) -> dict:
    """What the ledger keeps of a task: its source's identity and its frame range."""
    return {**source_identity(task.path), "start": task.start, "end": task.end}
