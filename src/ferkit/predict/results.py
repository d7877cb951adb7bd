"""Typed, stable results: `FaceResult` (one face) and `FrameResult` (one image or video frame).

No face ⇒ `faces == []`. An item that could not be read ⇒ `faces == []` and `error` set.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ferkit._names import text_name
from ferkit.errors import FerkitError


@dataclass(frozen=True)
class FaceResult:
    """One recognised face.

    Attributes:
        box: (x, y, w, h) in pixels of the original image.
        score: Face-detector confidence in [0, 1].
        label: The most probable class.
        probs: Probability of every class, in the model's label order.
        landmarks: Five (x, y) points (eyes, nose, mouth corners) when the detector gives them, else None.
        track: In a video or webcam stream, the face's track id: the same person keeps it from frame to frame
            (numbered from 1; see `ferkit.predict.track`). None for still images.
    """

    box: tuple[int, int, int, int]
    score: float
    label: str
    probs: dict[str, float] = field(hash=False)
    landmarks: tuple[tuple[float, float], ...] | None = field(default=None, hash=False)
    track: int | None = None

    @property
    def confidence(self) -> float:
        """Probability of `label`."""
        return float(self.probs[self.label])

    def to_dict(self) -> dict:
        """{"box": [x, y, w, h], "score", "label", "probs": {label: p}, "landmarks", "track"}."""
        d = {
            "box": [int(v) for v in self.box],
            "score": round(float(self.score), 4),
            "label": self.label,
            "probs": {k: round(float(v), 6) for k, v in self.probs.items()},
            "landmarks": [[round(x, 1), round(y, 1)] for x, y in self.landmarks] if self.landmarks else None,
            "track": self.track,
        }
        return d


@dataclass(frozen=True)
class FrameResult:
    """The faces of one image or video frame.

    Attributes:
        source: The item's name (file path, "webcam:0", "array").
        frame: Frame number within a video / webcam (0 for still images).
        faces: The faces found, best detector score first; [] when there are none or on error.
        error: Why the item could not be processed, else None.
        image: The RGB frame (None when not kept, e.g. video frames from `Recognizer.predict`).
        size: (width, height) of the original image; boxes are in these pixels.
        fps: Frame rate of a video / webcam source, else None.
        time: The frame's own timestamp in seconds (from the video container), when the reader gives one.
    """

    source: str
    frame: int = 0
    faces: list[FaceResult] = field(default_factory=list)
    error: str | None = None
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    size: tuple[int, int] | None = None
    fps: float | None = None
    time: float | None = None

    @property
    def ok(self) -> bool:
        """True when the item was read (it may still have no face)."""
        return self.error is None

    @property
    def timestamp(self) -> float | None:
        """Seconds from the start of a video: the frame's own timestamp, else frame / fps; None for still
        images."""
        if self.time is not None:
            return self.time
        return self.frame / self.fps if self.fps else None

    def to_dict(self) -> dict:
        """JSON-ready: {"source", "frame", "timestamp", "width", "height", "faces": [...], "error"}."""
        w, h = self.size if self.size else (None, None)
        ts = self.timestamp
        return {
            "source": text_name(self.source),
            "frame": self.frame,
            "timestamp": round(ts, 4) if ts is not None else None,
            "width": w,
            "height": h,
            "faces": [f.to_dict() for f in self.faces],
            "error": text_name(self.error) if self.error else self.error,
        }

    def to_pandas(self):
        """This frame's faces as a pandas DataFrame, one row per face (see `ferkit.predict.table`)."""
        from ferkit.predict.table import results_to_frame

        return results_to_frame([self])

    def plot(self, bars: bool = True, fps: float | None = None) -> np.ndarray:
        """The frame as an RGB uint8 array with boxes, labels with confidence, and probability bars.

        Raises:
            FerkitError: The result keeps no image (an error item, or a video frame from `predict`).
        """
        from ferkit.predict.draw import annotate

        if self.image is None:
            why = self.error or "no image was kept (use Recognizer.stream for video frames)"
            raise FerkitError(f"{self.source} frame {self.frame}: nothing to plot: {why}")
        faces = self.faces
        if self.size and self.size[0] != self.image.shape[1]:
            k = self.image.shape[1] / self.size[0]
            faces = [replace(f, box=tuple(round(v * k) for v in f.box)) for f in faces]
        return annotate(self.image, faces, bars=bars, fps=fps)

    def save(self, path: str | Path, bars: bool = True) -> Path:
        """Write the annotated frame (`plot`) to an image file; the format follows the suffix.

        Returns:
            The path written (parent folders are created).
        """
        from PIL import Image

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(self.plot(bars=bars)).save(path)
        return path
