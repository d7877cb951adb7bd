"""The first half of recognition, as a typed result: a frame's faces and their crops, before classification.

`Recognizer.detect_and_crop` gives one `DetectedFrame` per frame; `Recognizer.classify` takes their crops, and
`face_results` joins faces, probabilities and track ids into `FaceResult`s. `ferkit.batch` runs the two halves
in separate actors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ferkit.faces import Face
from ferkit.predict.results import FaceResult
from ferkit.predict.sources import Frame


@dataclass(frozen=True)
class DetectedFrame:
    """One frame after detection and cropping.

    Attributes:
        frame: The frame (its `image` may be a reduced decode of a very large JPEG).
        faces: The faces found, best score first, in the pixels of the original image (`frame.size`).
        crops: Their FER2013-style grayscale crops, uint8 N×S×S in face order (S: the model's image size).
        error: Why the frame could not be processed (then `faces` is empty), else None.
    """

    frame: Frame
    faces: list[Face]
    crops: np.ndarray = field(repr=False)
    error: str | None = None

    @property
    def tracked(self) -> bool:
        """Whether its faces get track ids: a video or webcam frame that was processed."""
        return self.frame.kind in ("video", "webcam") and self.error is None


def face_results(
    faces: list[Face], probs: np.ndarray, tracks: list[int | None], names: tuple[str, ...]
) -> list[FaceResult]:
    """Typed results of faces (original pixels), their class probabilities and track ids."""
    return [
        FaceResult(
            box=f.box,
            score=float(f.score),
            label=names[int(np.argmax(row))],
            probs={n: float(v) for n, v in zip(names, row, strict=True)},
            landmarks=f.landmarks,
            track=t,
        )
        for f, row, t in zip(faces, probs, tracks, strict=True)
    ]


def to_original(face: Face, k: float) -> Face:
    """A face found in a decode scaled by 1/`k`, in the original image's pixels."""
    if k == 1.0:
        return face
    box = tuple(round(v * k) for v in face.box)
    marks = tuple((x * k, y * k) for x, y in face.landmarks) if face.landmarks else None
    return Face(box, face.score, marks)


def decode_scale(frame: Frame) -> float:
    """Original width / decoded width of a frame (above 1 only for a very large JPEG decoded reduced)."""
    return frame.size[0] / frame.image.shape[1] if frame.ok and frame.size else 1.0
