"""The two-stage job (`classify_actors` > 0): face detection, cropping and tracking in CPU actors, classification of
the crops in separate actors (GPU actors with `gpus_per_actor`). Between the stages only the crops travel (48×48
uint8, 2.3 KB a face) with each frame's boxes and track ids, never whole frames.

Both stages reuse the recognizer's own halves (`Recognizer.detect_and_crop` and its `DetectedFrame`s, then
`Recognizer.classify` and `face_results`) and its tracker (`VideoTracks.ids`, which needs boxes only), so the rows
are those of the one-stage job.

Smoothing is not done here: it blends each face's probabilities with those of its track in the frame before, so
it needs a video's frames classified in order in one place, and stage 2 classifies blocks of frames in several
actors in no fixed order. `run_batch` refuses `smooth` with two stages for that reason.
"""

from __future__ import annotations

import json
from itertools import islice

import numpy as np

from ferkit.batch.plan import Task, batch_tasks, schema, task_frames
from ferkit.predict.detected import DetectedFrame
from ferkit.predict.table import face_rows


def detected_schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("source", pa.string()),
            ("frame", pa.int64()),
            ("time", pa.float64()),
            ("fps", pa.float64()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("kind", pa.string()),
            ("error", pa.string()),
            ("faces", pa.string()),  # JSON: [[x, y, w, h], score, landmarks or null, track or null] per face
            ("crops", pa.binary()),  # N×S×S uint8, in face order
        ]
    )


def detected_rows(recognizer, task: Task) -> list[dict]:
    """Stage 1 for one task: one row per frame with its faces (original pixels), track ids and crops."""
    frames, rows, tracks = iter(task_frames(task)), [], recognizer.video_tracks()
    while chunk := list(islice(frames, recognizer.frames_per_batch)):
        rows += [_detected_row(d, tracks.ids(d)) for d in recognizer.detect_and_crop(chunk)]
    return rows


def _detected_row(d: DetectedFrame, ids: list[int | None]) -> dict:
    """A detected frame as a row of `detected_schema`."""
    f = d.frame
    described = [[list(x.box), x.score, x.landmarks, t] for x, t in zip(d.faces, ids, strict=True)]
    w, h = f.size if f.size else (None, None)
    return {
        "source": f.source,
        "frame": f.index,
        "time": f.time,
        "fps": f.fps,
        "width": w,
        "height": h,
        "kind": f.kind,
        "error": d.error,
        "faces": json.dumps(described, default=float),
        "crops": d.crops.tobytes() if len(d.crops) else b"",
    }


def classified_rows(recognizer, detected: list[dict]) -> list[dict]:
    """Stage 2: the crops of many frames classified in one pass, then the rows of the one-stage job."""
    from ferkit.faces import Face
    from ferkit.predict.detected import face_results
    from ferkit.predict.results import FrameResult

    s = recognizer.backend.data_config.image_size
    crops = [np.frombuffer(d["crops"], np.uint8).reshape(-1, s, s) for d in detected]
    probs = recognizer.classify(np.concatenate(crops)) if any(len(c) for c in crops) else None
    rows, start = [], 0
    for d, c in zip(detected, crops, strict=True):
        described = json.loads(d["faces"])
        faces = [Face(tuple(b), sc, tuple(map(tuple, lm)) if lm else None) for b, sc, lm, _ in described]
        mine = probs[start : start + len(c)] if len(c) else np.zeros((0, len(recognizer.labels)), np.float32)
        start += len(c)
        size = (d["width"], d["height"]) if d["width"] is not None else None
        result = FrameResult(
            source=d["source"],
            frame=d["frame"],
            faces=face_results(faces, mine, [t for *_, t in described], recognizer.labels),
            error=d["error"],
            size=size,
            fps=d["fps"] if d["kind"] in ("video", "webcam") else None,
            time=d["time"],
        )
        rows += face_rows(result, recognizer.labels)
    return rows


class Detect:
    """Ray actor of stage 1."""

    def __init__(self, load_kwargs: dict, threads: int) -> None:
        import ferkit

        self.rec = ferkit.load(**{**load_kwargs, "device": "cpu"}, threads=threads)

    def __call__(self, batch: dict):
        import pyarrow as pa

        rows = [row for task in batch_tasks(batch) for row in detected_rows(self.rec, task)]
        return pa.Table.from_pylist(rows, schema=detected_schema())


class Classify:
    """Ray actor of stage 2 (on a GPU with `gpus_per_actor` and `device="cuda"`)."""

    def __init__(self, load_kwargs: dict, threads: int, labels: tuple[str, ...]) -> None:
        import ferkit

        keep = {k: load_kwargs[k] for k in ("device", "tta") if k in load_kwargs}
        self.rec = ferkit.load(load_kwargs.get("model"), "none", threads=threads, **keep)
        self.schema = schema(labels)

    def __call__(self, batch):
        import pyarrow as pa

        return pa.Table.from_pylist(classified_rows(self.rec, batch.to_pylist()), schema=self.schema)
