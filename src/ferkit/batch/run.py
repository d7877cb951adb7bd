"""`run_batch`: recognition over many images and videos on Ray Data (`pip install 'ferkit[ray]'`), on this machine
as a local cluster or unchanged on a multi-node one.

Each actor loads the model once (`ferkit.load`) and turns tasks (an image; a video or a range of its frames) into
rows; only file paths go into the object store and rows come out, never whole frames. Output is a folder of
Parquet (or JSON-lines) files with the fixed schema of `ferkit.batch.plan.schema`. Video segments
(`segment_seconds`) are processed independently: their track ids and smoothing start afresh at each segment
border (a person on both sides of a border gets one id per segment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ferkit.batch.plan import Task, pending, plan_tasks, schema, task_rows
from ferkit.errors import FerkitError

FORMATS = ("parquet", "jsonl")


@dataclass
class BatchSummary:
    """What a job did: tasks run and skipped (already in the output), rows written, items that failed."""

    out: Path
    tasks: int = 0
    skipped: int = 0
    rows: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class BatchOptions:
    """How the job runs on the cluster. `actors` None: as many as fit while one CPU stays free for Ray's own
    read and write tasks (a 2-CPU machine gets one 1-CPU actor)."""

    address: str | None = None
    actors: int | None = None
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0
    batch_size: int = 8
    segment_seconds: float | None = None
    classify_actors: int = (
        0  # > 0: detection in `actors`, classification in these (GPU ones with gpus_per_actor)
    )
    fmt: str = "parquet"
    resume: bool = False
    overwrite: bool = False
    init_kwargs: dict = field(
        default_factory=dict
    )  # extra ray.init arguments (tests: num_cpus, object store)


class _Recognize:
    """A Ray actor: one recognizer, many tasks."""

    def __init__(self, load_kwargs: dict, threads: int, labels: tuple[str, ...]) -> None:
        import ferkit

        self.rec = ferkit.load(**load_kwargs, threads=threads)
        self.schema = schema(labels)

    def __call__(self, batch: dict):
        import pyarrow as pa

        rows = []
        for kind, path, start, end in zip(
            batch["kind"], batch["path"], batch["start"], batch["end"], strict=True
        ):
            rows += task_rows(self.rec, Task(str(kind), str(path), int(start), int(end)))
        return pa.Table.from_pylist(rows, schema=self.schema)


def run_batch(sources, out: str | Path, options: BatchOptions | None = None, **load_kwargs) -> BatchSummary:
    """Recognise emotions in every image and video of `sources` on Ray Data; rows go to `out`.

    Args:
        sources: What `ferkit predict` accepts, as a path, glob, folder or list of them (images and videos).
        out: The output folder (Parquet or JSON-lines files).
        options: Cluster, concurrency, segments, format and re-run semantics (`BatchOptions`).
        **load_kwargs: `ferkit.load` arguments: model, detector, device, min_face, max_side, tta, ...

    Raises:
        FerkitError: Ray is not installed, the output holds an earlier run (without resume or overwrite), or
            the requested actors would leave no CPU for Ray's own tasks.
    """
    import time

    options = options or BatchOptions()
    t0, out = time.perf_counter(), Path(out)
    ray = _ray()
    tasks = plan_tasks(sources, options.segment_seconds)
    todo = _prepare_output(out, tasks, options)
    summary = BatchSummary(out, tasks=len(todo), skipped=len(tasks) - len(todo))
    labels = _labels(load_kwargs)
    started = not ray.is_initialized()  # a cluster this call starts, it also stops (tests keep theirs)
    if started:
        ray.init(
            address=options.address, include_dashboard=False, logging_level="WARNING", **options.init_kwargs
        )
    try:
        if todo:
            ray.data.DataContext.get_current().enable_progress_bars = False
            ds = _dataset(ray, todo, options, load_kwargs, labels)
            (ds.write_parquet if options.fmt == "parquet" else ds.write_json)(str(out))
        summary.rows, summary.errors = _count(out, options.fmt, {t.path for t in todo})
    finally:
        if started:
            ray.shutdown()  # also on Ctrl-C and on errors
    summary.seconds = time.perf_counter() - t0
    return summary


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise FerkitError("ferkit batch needs Ray Data: pip install 'ferkit[ray]'") from None
    return ray


def _labels(load_kwargs: dict) -> tuple[str, ...]:
    """The model's class names, read once here (cheaply: no detector) to fix the schema before any actor starts."""
    from ferkit.backends import load_backend

    return tuple(
        load_backend(load_kwargs.get("model"), load_kwargs.get("device", "cpu")).data_config.labels.names
    )


def _dataset(ray, todo: list[Task], options: BatchOptions, load_kwargs: dict, labels):
    cpus = float(ray.cluster_resources().get("CPU", 1))
    per, extra = max(options.cpus_per_actor, 1e-9), max(0, options.classify_actors)
    actors = options.actors or max(1, int((cpus - 1) // per) - extra)
    used = (actors + extra) * options.cpus_per_actor
    if used > cpus - 1:
        raise FerkitError(
            f"{actors + extra} actor(s) × {options.cpus_per_actor:g} CPU would use {used:g} of the cluster's {cpus:g} "
            "CPUs: leave at least one for Ray's read and write tasks (fewer --actors or --cpus-per-actor)"
        )
    threads = max(1, int(options.cpus_per_actor))
    items = ray.data.from_items([t.to_dict() for t in todo])
    if not extra:
        return items.map_batches(
            _Recognize,
            fn_constructor_args=(load_kwargs, threads, labels),
            batch_size=options.batch_size,
            concurrency=actors,
            num_cpus=options.cpus_per_actor,
            num_gpus=options.gpus_per_actor,
        )
    from ferkit.batch.stages import Classify, Detect

    detected = items.map_batches(
        Detect,
        fn_constructor_args=(load_kwargs, threads),
        batch_size=options.batch_size,
        concurrency=actors,
        num_cpus=options.cpus_per_actor,
    )
    return detected.map_batches(
        Classify,
        fn_constructor_args=(load_kwargs, threads, labels),
        batch_format="pyarrow",
        batch_size=256,  # frames: their crops are classified in one pass
        concurrency=extra,
        num_cpus=options.cpus_per_actor,
        num_gpus=options.gpus_per_actor,
    )


def _prepare_output(out: Path, tasks: list[Task], options: BatchOptions) -> list[Task]:
    """The tasks to run: all of them in a new or emptied folder, those not yet in it under `resume`."""
    if options.fmt not in FORMATS:
        raise FerkitError(f"--format {options.fmt!r}: choose one of {', '.join(FORMATS)}")
    if out.exists() and not out.is_dir():
        raise FerkitError(f"--out {out}: that is a file; give a folder")
    earlier = _data_files(out, options.fmt)
    if earlier and not (options.resume or options.overwrite):
        raise FerkitError(
            f"--out {out} already holds {len(earlier)} output file(s) of an earlier run: pass --resume to add only "
            "what is missing, or --overwrite to start over"
        )
    if options.overwrite:
        for path in earlier:
            path.unlink()
        earlier = []
    out.mkdir(parents=True, exist_ok=True)
    return pending(tasks, _done_rows(earlier, options.fmt)) if earlier else tasks


def _data_files(out: Path, fmt: str) -> list[Path]:
    suffix = ".parquet" if fmt == "parquet" else ".json"
    return sorted(p for p in out.glob(f"*{suffix}") if p.is_file()) if out.is_dir() else []


def _read(files: list[Path], fmt: str, cols: list[str]) -> list[dict]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return [row for f in files for row in pq.read_table(f, columns=cols).to_pylist()]
    import json

    rows = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            rows += [{c: d.get(c) for c in cols} for d in map(json.loads, filter(str.strip, fh))]
    return rows


def _done_rows(files: list[Path], fmt: str) -> list[tuple[str, int]]:
    return [(r["source"], r["frame"]) for r in _read(files, fmt, ["source", "frame"])]


def _count(out: Path, fmt: str, sources: set[str]) -> tuple[int, list[str]]:
    """Rows this job wrote (those of its sources) and their errors."""
    rows = [r for r in _read(_data_files(out, fmt), fmt, ["source", "error"]) if r["source"] in sources]
    return len(rows), [r["error"] for r in rows if r["error"]]
