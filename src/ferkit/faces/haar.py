"""`haar`: OpenCV's frontal-face Haar cascade (the fallback detector; no landmarks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit._deps import cv2
from ferkit.faces._registry import register_detector
from ferkit.faces.base import Detector
from ferkit.faces.face import Face, iou

CASCADE = "haarcascade_frontalface_default.xml"


def cascade_path() -> Path | None:
    """The frontal-face cascade shipped by the OpenCV 4.x wheels (`cv2.data.haarcascades`), or None."""
    data = getattr(cv2(), "data", None)
    folder = getattr(data, "haarcascades", None)
    if not folder or not (Path(folder) / CASCADE).is_file():
        return None
    return Path(folder) / CASCADE


def _missing_cascade() -> str | None:
    if cascade_path() is None:
        return (
            f"this OpenCV build ships no {CASCADE} (OpenCV 5 dropped them); install opencv-python-headless<5"
        )
    return None


@register_detector(
    "haar",
    description="OpenCV Haar cascade, frontal faces, no landmarks (fallback)",
    requires=("cv2",),
    priority=10,
    check=_missing_cascade,
)
class HaarDetector(Detector):
    """OpenCV's `haarcascade_frontalface_default.xml` with `detectMultiScale2`.

    The cascade has no real confidence; the score is `1 - 0.5 ** (neighbours / min_neighbors)` (0.5 for a box
    just accepted, near 1 for a box many overlapping windows agree on). On the 18 real photos of the shared test
    data, faces mostly score 0.98–1.0 (a few small or turned ones 0.62–0.86), while the cascade's false boxes on
    dogs, clothing and backdrops score 0.57–0.78: the default threshold of 0.8 drops those at the cost of two
    small faces (studies/haar_threshold.py), and a box that overlaps a better one (IoU > 0.3) is dropped as
    the same face.

    Args:
        min_face: Smallest face to report (original pixels).
        threshold: Minimum score; None is 0.8 (0 keeps every accepted box).
        max_side: Longest side detection runs at; None is 960.
        scale_factor: Image pyramid step of the cascade.
        min_neighbors: Overlapping windows needed to accept a box.
    """

    default_threshold = 0.8
    default_max_side = 960
    overlap = 0.3  # IoU above which a lower-scoring box is the same face

    def __init__(
        self,
        min_face: int = 0,
        threshold: float | None = None,
        max_side: int | None = None,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
    ) -> None:
        super().__init__(min_face=min_face, threshold=threshold, max_side=max_side)
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self._cascade = cv2().CascadeClassifier(str(cascade_path()))

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        cv = cv2()
        gray = cv.cvtColor(rgb, cv.COLOR_RGB2GRAY)
        boxes, neighbours = self._cascade.detectMultiScale2(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(20, 20)
        )
        found = [
            Face(tuple(int(v) for v in box), 1.0 - 0.5 ** (int(n) / max(self.min_neighbors, 1)), None)
            for box, n in zip(
                np.asarray(boxes).reshape(-1, 4), np.asarray(neighbours).reshape(-1), strict=True
            )
        ]
        kept: list[Face] = []
        for face in sorted(found, key=lambda f: -f.score):
            if all(iou(face.box, k.box) <= self.overlap for k in kept):
                kept.append(face)
        return kept
