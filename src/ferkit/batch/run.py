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

from ferkit.batch import output
from ferkit.batch.plan import Task, batch_tasks, plan_tasks, schema, task_rows
from ferkit.errors import FerkitError


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
    """How the job runs on the cluster.

    `actors` None: as many as fit while one CPU stays free for Ray's own read and write tasks (a 2-CPU machine
    gets one 1-CPU actor). `batch_size`: tasks per actor call; None is 8 images, or 1 video (videos spread over
    actors). `classify_actors` > 0: detection in `actors`, classification in these (GPU ones with
    `gpus_per_actor`). `init_kwargs`: extra `ray.init` arguments (tests: num_cpus, object store).
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


class _Recognize:
    """A Ray actor: one recognizer, many tasks."""

    def __init__(self, load_kwargs: dict, threads: int, labels: tuple[str, ...]) -> None:
        import ferkit

        self.rec = ferkit.load(**load_kwargs, threads=threads)
        self.schema = schema(labels)

    def __call__(self, batch: dict):
        import pyarrow as pa

        rows = [row for task in batch_tasks(batch) for row in task_rows(self.rec, task)]
        return pa.Table.from_pylist(rows, schema=self.schema)


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
        FerkitError: Ray is not installed, a bad option, the output holds an earlier run (without resume or
            overwrite) or other files, or the requested actors cannot be placed on the cluster.
    """
    import time

    o = options or BatchOptions()
    _check_options(o, load_kwargs)
    t0, out = time.perf_counter(), Path(out).expanduser().resolve()
    ray = _ray()
    labels = _labels(load_kwargs)
    tasks = plan_tasks(_absolute(sources), o.segment_seconds)
    todo = output.prepare_output(out, tasks, o.fmt, labels, o.resume, o.overwrite)
    summary = BatchSummary(out, tasks=len(todo), skipped=len(tasks) - len(todo))
    if todo:
        before = set(output.data_files(out, o.fmt))
        started = not ray.is_initialized()  # a cluster this call starts, it also stops (tests keep theirs)
        if started:
            ray.init(address=o.address, include_dashboard=False, logging_level="WARNING", **o.init_kwargs)
        try:
            ray.data.DataContext.get_current().enable_progress_bars = False
            ds = _dataset(ray, todo, o, load_kwargs, labels)
            (ds.write_parquet if o.fmt == "parquet" else ds.write_json)(str(out))
            new = sorted(set(output.data_files(out, o.fmt)) - before)
            summary.rows, summary.errors = output.count(new, o.fmt)
        finally:
            if started:
                ray.shutdown()  # also on Ctrl-C and on errors
    summary.seconds = time.perf_counter() - t0
    return summary


def _check_options(o: BatchOptions, load_kwargs: dict) -> None:
    """FerkitError naming the option for values that would fail late or hang the cluster."""
    from ferkit.commands._ranges import check_value

    for name in ("min_face", "max_side"):  # the detector's options: refused here, not in every actor
        if load_kwargs.get(name) is not None:
            check_value(name, load_kwargs[name])
    if o.resume and o.overwrite:
        raise FerkitError("--resume and --overwrite: choose one (add what is missing, or start over)")
    if not o.cpus_per_actor > 0:
        raise FerkitError(f"--cpus-per-actor {o.cpus_per_actor:g}: must be more than 0")
    if o.actors is not None and o.actors < 1:
        raise FerkitError(f"--actors {o.actors}: must be at least 1")
    if o.classify_actors < 0 or o.gpus_per_actor < 0:
        raise FerkitError("--classify-actors and --gpus-per-actor must not be negative")
    if o.batch_size is not None and o.batch_size < 1:
        raise FerkitError(f"--batch-size {o.batch_size}: must be at least 1")
    if str(load_kwargs.get("device", "cpu")).startswith("cuda") and not o.gpus_per_actor > 0:
        raise FerkitError(
            "--device cuda needs --gpus-per-actor (Ray hands a GPU only to actors that ask for one)"
        )
    if o.classify_actors and o.resume:
        raise FerkitError(
            "--resume works with one-stage jobs: two stages write a video's rows across many files"
        )
    if o.classify_actors and load_kwargs.get("smooth"):
        raise FerkitError(
            "smoothing needs the one-stage job (the two-stage job tracks without probabilities)"
        )


def _absolute(sources):
    """Paths as absolute paths: Ray's workers do not run in this process's working folder."""
    if isinstance(sources, list | tuple):
        return [_absolute(s) for s in sources]
    if isinstance(sources, str | Path):
        return str(Path(sources).expanduser().absolute())
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
        raise FerkitError(
            f"{actors + extra} actor(s) × {o.cpus_per_actor:g} CPU would use {used:g} of the cluster's {cpus:g} CPUs: "
            "leave at least one for Ray's read and write tasks (fewer --actors or --cpus-per-actor)"
        )
    wanted = (extra or actors) * o.gpus_per_actor
    if wanted > gpus:
        raise FerkitError(f"the actors ask for {wanted:g} GPU(s), the cluster has {gpus:g}")
    return actors


def _dataset(ray, todo: list[Task], o: BatchOptions, load_kwargs: dict, labels):
    actors = _placement(ray, o)
    threads = max(1, int(o.cpus_per_actor))
    videos = any(t.kind == "video" for t in todo)
    size = o.batch_size or (1 if videos else 8)  # Ray bundles `size` tasks per call: videos one by one
    items = ray.data.from_items([t.to_dict() for t in todo])
    if not o.classify_actors:
        return items.map_batches(
            _Recognize,
            fn_constructor_args=(load_kwargs, threads, labels),
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
    return detected.map_batches(
        Classify,
        fn_constructor_args=(load_kwargs, threads, labels),
        batch_format="pyarrow",
        batch_size=256,  # frames: their crops are classified in one pass
        concurrency=o.classify_actors,
        num_cpus=o.cpus_per_actor,
        num_gpus=o.gpus_per_actor,
    )
