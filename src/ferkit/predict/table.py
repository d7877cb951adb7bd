"""One row per face: the table behind `--csv` and `results_to_frame` (one function builds the rows for both).

Columns: source, frame, timestamp, face (index in the frame), track, x, y, w, h, score, label, confidence, one
`p_<class>` per class, error. A frame without a face (or an item that failed) still gets one row, with the face
columns empty, so a video has a row for every frame.
"""

from __future__ import annotations

from collections.abc import Iterable

from ferkit._names import text_name
from ferkit.predict.results import FrameResult

FACE_FIELDS = ("face", "track", "x", "y", "w", "h", "score", "label", "confidence")


def columns(labels: Iterable[str]) -> list[str]:
    """The column names, in order."""
    return ["source", "frame", "timestamp", *FACE_FIELDS, *(f"p_{n}" for n in labels), "error"]


def face_rows(result: FrameResult, labels: Iterable[str]) -> list[dict]:
    """The rows of one result (None where a value does not apply; a file name that is not UTF-8 spelled as
    `ferkit._names.text_name` spells it)."""
    labels = list(labels)
    head = {"source": text_name(result.source), "frame": result.frame, "timestamp": result.timestamp}
    if not result.faces:
        empty = dict.fromkeys([*FACE_FIELDS, *(f"p_{n}" for n in labels)])
        error = text_name(result.error) if result.error else result.error
        return [{**head, **empty, "error": error}]
    return [
        {
            **head,
            "face": i,
            "track": face.track,
            **dict(zip("xywh", (int(v) for v in face.box), strict=True)),
            "score": float(face.score),
            "label": face.label,
            "confidence": face.confidence,
            **{f"p_{n}": float(face.probs.get(n, 0.0)) for n in labels},
            "error": None,
        }
        for i, face in enumerate(result.faces)
    ]


def results_to_frame(results: Iterable[FrameResult], labels: Iterable[str] | None = None):
    """A pandas DataFrame with one row per face (see the module docstring); needs pandas (`ferkit[pandas]`).

    Args:
        results: FrameResults, e.g. `Recognizer.predict(video)`.
        labels: Class names for the p_ columns; None takes them from the first face found.
    """
    try:
        import pandas as pd
    except ImportError:
        from ferkit.errors import FerkitError

        raise FerkitError("results_to_frame needs pandas: pip install 'ferkit[pandas]'") from None
    results = list(results)
    if labels is None:
        labels = next((tuple(f.probs) for r in results for f in r.faces), ())
    labels = list(labels)
    rows = [row for r in results for row in face_rows(r, labels)]
    frame = pd.DataFrame(rows, columns=columns(labels))
    return frame.astype(
        {"face": "Int64", "track": "Int64", "x": "Int64", "y": "Int64", "w": "Int64", "h": "Int64"}
    )
