"""The two-stage job (`classify_actors` > 0): face detection, cropping and tracking in CPU actors, classification of
the crops in separate actors (GPU actors with `gpus_per_actor`). Between the stages only the crops travel (48×48
uint8, 2.3 KB a face) with each frame's boxes and track ids, never whole frames.

Both stages reuse the recognizer's own halves (`Recognizer.detect_and_crop`, `face_results`) and tracker, so the
rows are those of the one-stage job.
"""

from __future__ import annotations

import json
from itertools import islice

import numpy as np

from ferkit.batch.plan import Task, batch_tasks, schema, task_frames
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
    from ferkit.predict.recognizer import original_faces

    frames, rows, trackers = iter(task_frames(task)), [], {}
    while chunk := list(islice(frames, recognizer.frames_per_batch)):
        pending, crops = recognizer.detect_and_crop(chunk)
        for p in pending:
            f, faces = p.frame, original_faces(p)
            tracks, _ = recognizer.track(p, faces, np.zeros((len(faces), 1)), trackers)
            mine = crops[p.start : p.start + len(faces)]
            described = [[list(x.box), x.score, x.landmarks, t] for x, t in zip(faces, tracks, strict=True)]
            w, h = f.size if f.size else (None, None)
            rows.append(
                {
                    "source": f.source,
                    "frame": f.index,
                    "time": f.time,
                    "fps": f.fps,
                    "width": w,
                    "height": h,
                    "kind": f.kind,
                    "error": p.error,
                    "faces": json.dumps(described, default=float),
                    "crops": np.stack(mine).tobytes() if mine else b"",
                }
            )
    return rows


def classified_rows(recognizer, detected: list[dict]) -> list[dict]:
    """Stage 2: the crops of many frames classified in one pass, then the rows of the one-stage job."""
    from ferkit.faces import Face
    from ferkit.predict.recognizer import face_results
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
