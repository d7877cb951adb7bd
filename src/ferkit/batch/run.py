"""`run_batch`: recognition over many images and videos on Ray Data (`pip install 'ferkit[ray]'`), on this machine
as a local cluster or unchanged on a multi-node one.

Each actor loads the model once (`ferkit.load`) and turns tasks (an image; a video or a range of its frames) into
rows; only file paths go into the object store and rows come out, never whole frames. Output is a folder of
Parquet (or JSON-lines) files with the fixed schema of `ferkit.batch.plan.schema`, each written by the actor that
made its rows and recorded in the folder's ledger (`ferkit.batch.output`). Video segments
(`segment_seconds`) are processed independently: their track ids and smoothing start afresh at each segment
border (a person on both sides of a border gets one id per segment).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ferkit.batch import output
from ferkit.batch.files import write_part
from ferkit.batch.plan import Task, batch_tasks, check_segment_seconds, plan_tasks, schema, task_rows
from ferkit.errors import FerkitError, OptionError, first_line


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
    """How the job runs on the cluster; a bad field is refused when the options are made (`OptionError` naming
    the field).

    `actors` None: as many as fit while one CPU stays free for Ray's own read and write tasks (a 2-CPU machine
    gets one 1-CPU actor). `batch_size`: tasks per actor call; None is 8 images, or 1 video (videos spread over
    actors). `segment_seconds`: cut videos into tasks of this many seconds. `classify_actors` > 0: detection in
    `actors`, classification in these (GPU ones with `gpus_per_actor`). `fmt`: "parquet" or "jsonl".
    `init_kwargs`: extra `ray.init` arguments (tests: num_cpus, object store).
    """

    address: str | None = None
    actors: int | None = None
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0
    batch_size: int | None = None
    segment_seconds: float | None = None
    classify_actors: int = 0
    fmt: str = "parquet"
    resume: bool = False
    overwrite: bool = False
    init_kwargs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.resume and self.overwrite:
            raise OptionError("{resume} and {overwrite}: choose one (add what is missing, or start over)")
        if not self.cpus_per_actor > 0:
            raise OptionError("{cpus_per_actor} {value:g}: must be more than 0", value=self.cpus_per_actor)
        if self.actors is not None and self.actors < 1:
            raise OptionError("{actors} {value}: must be at least 1", value=self.actors)
        if self.classify_actors < 0 or self.gpus_per_actor < 0:
            raise OptionError("{classify_actors} and {gpus_per_actor} must not be negative")
        if self.batch_size is not None and self.batch_size < 1:
            raise OptionError("{batch_size} {value}: must be at least 1", value=self.batch_size)
        check_segment_seconds(self.segment_seconds)
        if self.fmt not in output.SUFFIX:
            raise OptionError("{fmt} {value!r}: choose one of " + ", ".join(output.SUFFIX), value=self.fmt)
        if self.classify_actors and self.resume:
            raise OptionError(
                "{resume} works with one-stage jobs: two stages write a video's rows across many files"
            )


class _Recognize:
    """A Ray actor: one recognizer, many tasks; each call's rows go to one data file of the output."""

    def __init__(self, load_kwargs: dict, threads: int, labels: tuple[str, ...], out: str, fmt: str) -> None:
        import ferkit

        self.rec = ferkit.load(**load_kwargs, threads=threads)
        self.schema = schema(labels)
        self.out, self.fmt = Path(out), fmt

    def __call__(self, batch: dict) -> dict:
        import pyarrow as pa

        tasks = list(batch_tasks(batch))
        rows = [row for task in tasks for row in task_rows(self.rec, task)]
        written = write_part(self.out, self.fmt, pa.Table.from_pylist(rows, schema=self.schema), tasks)
        return {k: [v] for k, v in written.items()}


def _write_stage_two(table, out: str, fmt: str) -> dict:
    """The last step of a two-stage job: one data file per block of classified rows."""
    written = write_part(Path(out), fmt, table, None)
    return {k: [v] for k, v in written.items()}


def run_batch(sources, out: str | Path, options: BatchOptions | None = None, **load_kwargs) -> BatchSummary:
    """Recognise emotions in every image and video of `sources` on Ray Data; rows go to `out`.

    Args:
        sources: What `ferkit predict` accepts, as a path, glob, folder or list of them (images and videos), on
            storage every node of the cluster can read (paths are made absolute here).
        out: The output folder (Parquet or JSON-lines files), on storage every node can write and this process
            can read.
        options: Cluster, concurrency, segments, format and re-run semantics (`BatchOptions`).
        **load_kwargs: `ferkit.load` arguments: model, detector, device, min_face, max_side, tta, ...

    Raises:
        OptionError: A `ferkit.load` argument that is out of range or does not fit the options (it names the
            field), or a cluster that cannot be reached or cannot place the actors asked for.
        FerkitError: Ray is not installed, the output holds an earlier run (without resume or
            overwrite) or other files, or the requested actors cannot be placed on the cluster.
    """
    import time

    o = options or BatchOptions()
    _check_options(o, load_kwargs)
    t0, out = time.perf_counter(), Path(out).expanduser().resolve()
    ray = _ray()
    labels = _labels(load_kwargs)
    tasks = _outside(plan_tasks(_absolute(sources), o.segment_seconds), out)
    with output.lock(out):
        todo = output.prepare_output(out, tasks, _job(o, labels, load_kwargs), o.resume, o.overwrite)
        summary = BatchSummary(out, tasks=len(todo), skipped=len(tasks) - len(todo))
        if todo:
            _execute(ray, todo, o, load_kwargs, labels, out, summary)
    summary.seconds = time.perf_counter() - t0
    return summary


def _execute(ray, todo: list[Task], o: BatchOptions, load_kwargs: dict, labels, out: Path, summary) -> None:
    """Run the tasks on the cluster (started here unless one is running) and count what they wrote."""
    import json

    started = not ray.is_initialized()  # a cluster this call starts, it also stops (tests keep theirs)
    if started:
        _init(ray, o)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        for written in _dataset(ray, todo, o, load_kwargs, labels, out).iter_rows():
            summary.rows += int(written["rows"])
            summary.errors += json.loads(written["errors"])
    finally:
        if started:
            ray.shutdown()  # also on Ctrl-C and on errors


def _init(ray, o: BatchOptions) -> None:
    """Start a local cluster or connect to `o.address`; OptionError naming `address` when that cannot be done."""
    try:
        ray.init(address=o.address, include_dashboard=False, logging_level="WARNING", **o.init_kwargs)
    except ValueError as exc:  # e.g. ray:// without the Ray Client: "requires pip package `ray[client]`"
        hint = " (pip install 'ray[client]')" if "ray[client]" in str(exc) else ""
        raise OptionError(
            "{address} {value}: cannot connect{hint}: {why}", value=o.address, hint=hint, why=first_line(exc)
        ) from None
    except ConnectionError as exc:
        raise OptionError(
            "{address} {value}: cannot connect: {why}", value=o.address, why=first_line(exc)
        ) from None


def _job(o: BatchOptions, labels, load_kwargs: dict) -> dict:
    """What the marker records: a resume must match it (the options that change the rows, model included)."""
    options = {k: v for k, v in load_kwargs.items() if k not in ("device", "threads")}
    model = options.get("model")
    if isinstance(model, str | Path) and Path(model).expanduser().exists():
        options["model"] = os.path.realpath(Path(model).expanduser())
    options = {k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in options.items()}
    stages = 2 if o.classify_actors else 1
    return {"format": o.fmt, "labels": list(labels), "stages": stages, "options": options}


def _outside(tasks: list[Task], out: Path) -> list[Task]:
    """The tasks whose files are not in the output folder (a run never reads its own output)."""
    return [t for t in tasks if not Path(os.path.realpath(t.path)).is_relative_to(out)]


def _check_options(o: BatchOptions, load_kwargs: dict) -> None:
    """OptionError naming the option for `ferkit.load` arguments that would fail late (in every actor) or that
    do not fit the options."""
    from ferkit.commands._ranges import RANGES

    for name in ("min_face", "max_side"):  # the detector's options: refused here, not in every actor
        value = load_kwargs.get(name)
        if value is not None and not RANGES[name].holds(value):
            raise OptionError("{" + name + "} {value}: must be " + RANGES[name].describe(), value=value)
    if str(load_kwargs.get("device", "cpu")).startswith("cuda") and not o.gpus_per_actor > 0:
        raise OptionError(
            "{device} {value} needs {gpus_per_actor} (Ray hands a GPU only to actors that ask for one)",
            value=load_kwargs["device"],
        )
    if o.classify_actors and load_kwargs.get("smooth"):
        raise OptionError(
            "{smooth} needs the one-stage job ({classify_actors} 0): smoothing blends each face's probabilities "
            "with its track's in the frame before, so a video's frames must be classified in order in one "
            "place, and the two-stage job classifies blocks of frames in several actors in no fixed order"
        )


def _absolute(sources):
    """Paths as absolute, normalised paths (`..` removed): Ray's workers do not run in this process's working
    folder, and rows name a file the same way from every folder."""
    if isinstance(sources, list | tuple):
        return [_absolute(s) for s in sources]
    if isinstance(sources, str | Path):
        return os.path.abspath(Path(sources).expanduser())
    return sources


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise FerkitError("ferkit batch needs Ray Data: pip install 'ferkit[ray]'") from None
    return ray


def _labels(load_kwargs: dict) -> tuple[str, ...]:
    """The model's class names, read here on the CPU (the labels do not depend on the device) to fix the schema
    before any actor starts."""
    from ferkit.backends import load_backend

    return tuple(load_backend(load_kwargs.get("model"), "cpu").data_config.labels.names)


def _placement(ray, o: BatchOptions) -> int:
    """How many first-stage actors to start; FerkitError when the request cannot be placed."""
    res = ray.cluster_resources()
    cpus, gpus = float(res.get("CPU", 1)), float(res.get("GPU", 0))
    extra = o.classify_actors
    actors = o.actors or max(1, int((cpus - 1) // o.cpus_per_actor) - extra)
    used = (actors + extra) * o.cpus_per_actor
    if used > cpus - 1:
        raise OptionError(
            "{n} actor(s) × {per:g} CPU would use {used:g} of the cluster's {cpus:g} CPUs: leave at least one for "
            "Ray's read and write tasks (fewer {actors} or {cpus_per_actor})",
            n=actors + extra,
            per=o.cpus_per_actor,
            used=used,
            cpus=cpus,
        )
    wanted = (extra or actors) * o.gpus_per_actor
    if wanted > gpus:
        raise FerkitError(f"the actors ask for {wanted:g} GPU(s), the cluster has {gpus:g}")
    return actors


def _dataset(ray, todo: list[Task], o: BatchOptions, load_kwargs: dict, labels, out: Path):
    actors = _placement(ray, o)
    threads = max(1, int(o.cpus_per_actor))
    videos = any(t.kind == "video" for t in todo)
    size = o.batch_size or (1 if videos else 8)  # Ray bundles `size` tasks per call: videos one by one
    items = ray.data.from_items([t.to_dict() for t in todo])
    if not o.classify_actors:
        return items.map_batches(
            _Recognize,
            fn_constructor_args=(load_kwargs, threads, labels, str(out), o.fmt),
            batch_size=size,
            concurrency=actors,
            num_cpus=o.cpus_per_actor,
            num_gpus=o.gpus_per_actor,
        )
    from ferkit.batch.stages import Classify, Detect

    detected = items.map_batches(
        Detect,
        fn_constructor_args=(load_kwargs, threads),
        batch_size=size,
        concurrency=actors,
        num_cpus=o.cpus_per_actor,
    )
    classified = detected.map_batches(
        Classify,
        fn_constructor_args=(load_kwargs, threads, labels),
        batch_format="pyarrow",
        batch_size=256,  # frames: their crops are classified in one pass
        concurrency=o.classify_actors,
        num_cpus=o.cpus_per_actor,
        num_gpus=o.gpus_per_actor,
    )
    return classified.map_batches(
        _write_stage_two, fn_args=(str(out), o.fmt), batch_format="pyarrow", batch_size=None
    )
