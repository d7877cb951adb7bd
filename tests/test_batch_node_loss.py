"""`ferkit batch` on a two-node local Ray cluster loses its worker node mid-job: the output still holds exactly
`ferkit predict`'s rows, none twice.

The job's only actor is made to run on the worker node (the head's CPU is held by a placeholder actor), and one
of its inputs is a named pipe, so the actor is provably inside a task, blocked reading it, when the node goes.
Then the head's CPU is freed, Ray restarts the actor there and retries its tasks, and the pipe delivers the
image's bytes.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from tests._faces_fixtures import tiny_checkpoint

from _deadline import time_limit
from ferkit.batch import BatchOptions
from ferkit.predict import load
from ferkit.predict.table import face_rows

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "ferkit" / "samples" / "astronaut.jpg"
FAST_NODE_DEATH = {  # the head notices the lost node within about a second, not Ray's default 15 s or more
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 200,
    "health_check_timeout_ms": 200,
    "health_check_failure_threshold": 3,
}


@pytest.fixture
def two_nodes():
    pytest.importorskip("ray", reason="Ray not installed (pip install 'ferkit[ray]')")
    import ray
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": 80 * 2**20}
    cluster = Cluster(
        initialize_head=True,
        head_node_args={**node, "include_dashboard": False, "_system_config": FAST_NODE_DEATH},
    )
    worker = cluster.add_node(**node)
    ray.init(address=cluster.address, logging_level="ERROR")
    cluster.wait_for_nodes()
    yield ray, cluster, worker
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture
def deadline():
    with time_limit(180, "ferkit batch after losing a node"):
        yield


def _hold_head_cpu(ray):
    """A placeholder actor on the head node holding its CPU, so the job's actor can only start on the worker."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote(num_cpus=1)
    class Placeholder:
        def ready(self) -> bool:
            return True

    head = ray.get_runtime_context().get_node_id()
    holder = Placeholder.options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(head, soft=False)
    ).remote()
    ray.get(holder.ready.remote())
    return holder


def _wait_for_reader(pipe: Path, timeout: float = 120.0) -> int:
    """A write end of `pipe`, opened once a reader (the job's actor, inside a task) has it open."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            return os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: nobody reads it yet
                raise
        time.sleep(0.05)
    raise TimeoutError(f"no actor opened {pipe}")


def _reader_pid(pipe: Path) -> int:
    """The process (the job's actor) that has `pipe` open."""
    for proc in Path("/proc").iterdir():
        if proc.name == str(os.getpid()):  # this process holds the write end
            continue
        try:
            if any(os.path.samefile(fd, pipe) for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except (OSError, ValueError):  # processes that end meanwhile, or are not ours to read
            continue
    raise LookupError(f"no process has {pipe} open")


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > end:
            raise TimeoutError(f"the actor (pid {pid}) outlived its node")
        time.sleep(0.05)


def _lose_the_worker(ray, cluster, worker, holder, pipe: Path, failures: list) -> None:
    """While the actor is blocked reading `pipe` on the worker: remove that node, free the head's CPU, then feed
    the pipe to the restarted actor."""
    try:
        fd = _wait_for_reader(pipe)
        reader = _reader_pid(pipe)
        cluster.remove_node(worker, allow_graceful=False)  # its raylet and object store
        _wait_gone(reader)  # closing the write end earlier would hand the dying actor an empty file
        os.close(fd)
        ray.kill(holder)
        _feed(pipe, SAMPLE.read_bytes())
    except BaseException as exc:  # reported by the test, not lost in this thread
        failures.append(exc)


def _feed(pipe: Path, data: bytes, tries: int = 5) -> None:
    """Write `data` through `pipe` to the next reader (the restarted actor retrying its task); a reader that
    goes before reading it all gets it again on its next try."""
    for _ in range(tries):
        try:
            with open(pipe, "wb") as fh:  # blocks until a reader opens the pipe
                fh.write(data)
            return
        except BrokenPipeError:
            continue
    raise TimeoutError(f"no reader took all of {pipe} in {tries} tries")


def _key(row):
    return (row["source"], row["frame"], row["face"], row["label"], row["x"], row["y"], row["error"])


def test_losing_a_worker_node_mid_job_keeps_exactly_predicts_rows(two_nodes, deadline, tmp_path):
    import pyarrow.parquet as pq

    from ferkit.batch import run_batch

    ray, cluster, worker = two_nodes
    images = tmp_path / "in"
    images.mkdir()
    shutil.copy(SAMPLE, images / "a.jpg")
    shutil.copy(SAMPLE, images / "b.jpg")
    pipe = images / "c.jpg"
    os.mkfifo(pipe)
    sources = [images / "a.jpg", images / "b.jpg", pipe]
    ckpt, out = tiny_checkpoint(tmp_path / "tiny.safetensors"), tmp_path / "out"

    holder, failures = _hold_head_cpu(ray), []
    control = threading.Thread(
        target=_lose_the_worker, args=(ray, cluster, worker, holder, pipe, failures), daemon=True
    )
    control.start()
    summary = run_batch(sources, out, BatchOptions(actors=1, batch_size=1), model=ckpt)
    control.join(timeout=30)
    assert not failures, failures
    assert not cluster.worker_nodes  # the node really went while the job ran

    pipe.unlink()
    shutil.copy(SAMPLE, pipe)  # the same bytes as a plain file, for `ferkit predict`
    rec = load(ckpt)
    expected = [r for res in rec.predict(sources) for r in face_rows(res, rec.labels)]
    rows = pq.read_table(out).to_pylist()
    assert sorted(map(_key, rows)) == sorted(map(_key, expected))  # every row once: none lost, none twice
    assert summary.rows == len(rows) and not summary.errors
