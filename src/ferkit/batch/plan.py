"""Planning a batch job without Ray: the tasks (one per image, one per video or video segment), the fixed Arrow
schema of its output, the rows of one task, and which tasks an earlier run's output already holds (`--resume`).

Rows are built by `ferkit.predict.table.face_rows`, the function behind `--csv`, so a batch job and `ferkit predict
--csv` give the same columns and values.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ferkit.errors import FerkitError, OptionError, SourceError
from ferkit.predict.table import FACE_FIELDS, columns, face_rows


@dataclass(frozen=True)
class Task:
    """One unit of work: an image, or frames `start` ≤ index < `end` of a video (`end` -1: to its end)."""

    kind: str  # "image" or "video"
    path: str
    start: int = 0
    end: int = -1

    def to_dict(self) -> dict:
        """The task as a row for Ray (the path as bytes, so a file name that is not UTF-8 travels as it is)."""
        return {**asdict(self), "path": os.fsencode(self.path)}


def plan_tasks(sources, segment_seconds: float | None = None) -> list[Task]:
    """The tasks of a job: every image and video the sources name (folders and globs expanded, as `ferkit
    predict` does); a video is cut into ranges of `segment_seconds` when given.

    Raises:
        FerkitError: A source that is neither an image nor a video file (webcams and arrays cannot be batched).
    """
    from ferkit.batch.probe import frames_and_fps
    from ferkit.predict.sources import parse_source

    check_segment_seconds(segment_seconds)
    tasks: list[Task] = []
    for item in parse_source(list(sources) if isinstance(sources, list | tuple) else sources):
        if item.kind in ("image", "error"):
            tasks.append(Task("image", item.name))
        elif item.kind == "video" and not segment_seconds:
            tasks.append(Task("video", item.name))  # no need to open it here
        elif item.kind == "video":  # the frames that really exist: a header's count can be far off
            tasks += segments(item.name, *frames_and_fps(item.name, segment_seconds), segment_seconds)
        else:
            raise FerkitError(f"{item.name}: a {item.kind} cannot be batched; give image or video files")
    return tasks


def check_segment_seconds(seconds: float | None) -> None:
    """OptionError naming `segment_seconds` unless it is None or a positive, finite number of seconds."""
    if seconds is not None and not 0 < seconds < math.inf:
        raise OptionError(
            "{segment_seconds} must be a positive number of seconds, got {value}", value=seconds
        )


def segments(path: str, frames: int, fps: float, seconds: float | None) -> list[Task]:
    """A video's tasks: the whole video, or consecutive frame ranges of `seconds` (the last one open-ended, since
    containers' frame counts are estimates)."""
    if not seconds or frames <= 0:
        return [Task("video", path)]
    step = max(1, round(seconds * fps))
    n = max(1, math.ceil(frames / step))
    return [Task("video", path, i * step, (i + 1) * step if i < n - 1 else -1) for i in range(n)]


def schema(labels):
    """The output's pyarrow schema: the `--csv` columns with their types (see `ferkit.predict.table`)."""
    import pyarrow as pa

    types = {
        "source": pa.string(),
        "frame": pa.int64(),
        "timestamp": pa.float64(),
        "face": pa.int32(),
        "track": pa.int32(),
        "x": pa.int32(),
        "y": pa.int32(),
        "w": pa.int32(),
        "h": pa.int32(),
        "score": pa.float32(),
        "label": pa.string(),
        "confidence": pa.float32(),
        "error": pa.string(),
    }
    assert set(FACE_FIELDS) <= set(types)
    return pa.schema([(c, types.get(c, pa.float32())) for c in columns(labels)])


def batch_tasks(batch):
    """The tasks of a batch Ray hands an actor (columns of `Task.to_dict()`)."""
    for kind, path, start, end in zip(
        batch["kind"], batch["path"], batch["start"], batch["end"], strict=True
    ):
        yield Task(str(kind), os.fsdecode(path), int(start), int(end))


def task_rows(recognizer, task: Task) -> list[dict]:
    """The rows of one task: one per face, one per frame or image without a face, one per item that failed."""
    rows = []
    for result in recognizer.stream_frames(task_frames(task), keep_images=False):
        rows += face_rows(result, recognizer.labels)
    return rows


def task_frames(task: Task):
    """The frames of a task (an image read through ferkit's reader, or a video's frame range); an item that
    cannot be read is one frame carrying its error."""
    from ferkit.predict.sources import Frame
    from ferkit.predict.video import video_frames

    if task.kind == "image":
        return [_image_frame(task.path)]
    try:
        return video_frames(task.path, task.start, None if task.end < 0 else task.end)
    except SourceError as exc:
        return [Frame(task.path, task.start, error=str(exc), kind="video")]


def _image_frame(path: str):
    """An image file read through ferkit's own reader (bytes first: Ray and object stores hand over bytes)."""
    from ferkit.imageio import ImageReadError, read_rgb
    from ferkit.predict.sources import Frame

    try:
        data = Path(path).read_bytes()
        rgb, size = read_rgb(data, name=path)
    except (OSError, ImageReadError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Frame(path, error=reason if path in reason else f"{path}: {reason}", kind="image")
    return Frame(path, 0, rgb, "image", size)


def source_identity(path: str) -> dict:
    """A source as the ledger knows it: its resolved path (so `..`, links and other working folders compare
    equal), size and modification time (None for a path that does not exist)."""
    try:
        st = os.stat(path)
    except OSError:
        return {"source": os.path.realpath(path), "size": None, "mtime_ns": None}
    return {"source": os.path.realpath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def uncovered(tasks: list[Task], finished: list[dict]) -> list[Task]:
    """The tasks, or the parts of video frame ranges, that `finished` (ledger entries: source identity, start,
    end) do not cover; however the earlier run cut its videos, no frame is run twice or left out.

    Raises:
        OptionError: A source changed (size or time) since the earlier run wrote its rows (`resume`).
    """
    ranges: dict[str, list[tuple[int, float]]] = {}
    stamps: dict[str, tuple] = {}
    for e in finished:
        ranges.setdefault(e["source"], []).append((e["start"], math.inf if e["end"] < 0 else e["end"]))
        stamps[e["source"]] = (e["size"], e["mtime_ns"])
    left: list[Task] = []
    for t in tasks:
        ident = source_identity(t.path)
        key = ident["source"]
        if key in stamps and stamps[key] != (ident["size"], ident["mtime_ns"]):
            raise OptionError(
                "{resume}: {path} changed since the earlier run wrote its rows; use {overwrite}", path=t.path
            )
        left += _gaps(t, ranges.get(key, []))
    return left


def _gaps(task: Task, done: list[tuple[int, float]]) -> list[Task]:
    """The parts of `task` outside the frame ranges `done` (an image: all or nothing)."""
    if task.kind == "image":
        return [] if done else [task]
    end = math.inf if task.end < 0 else task.end
    gaps, pos = [], task.start
    for a, b in sorted(done):
        if a >= end or pos >= end:
            break
        if a > pos:
            gaps.append((pos, a))
        pos = max(pos, b)
    if pos < end:
        gaps.append((pos, end))
    return [Task("video", task.path, int(a), -1 if b == math.inf else int(b)) for a, b in gaps]
