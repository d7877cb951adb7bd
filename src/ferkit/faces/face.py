"""`Face`: one detected face — box, confidence and (when the detector gives them) five landmarks."""

from __future__ import annotations

from dataclasses import dataclass, field

Point = tuple[float, float]


@dataclass(frozen=True)
class Face:
    """A face found in an image.

    Attributes:
        box: (x, y, w, h) in pixels of the original image: top-left corner, width and height.
        score: Detector confidence in [0, 1] (1.0 for detectors without a score, such as `none`).
        landmarks: Five (x, y) points in original-image pixels — the eye on the image's left, the eye on the
            image's right, the nose tip, the mouth corner on the image's left, the mouth corner on the image's
            right — or None when the detector gives none.
    """

    box: tuple[int, int, int, int]
    score: float = 1.0
    landmarks: tuple[Point, ...] | None = field(default=None)

    @property
    def area(self) -> int:
        """w × h in pixels."""
        return self.box[2] * self.box[3]

    @property
    def eyes(self) -> tuple[Point, Point] | None:
        """(eye on the image's left, eye on the image's right), or None without landmarks."""
        if not self.landmarks or len(self.landmarks) < 2:
            return None
        return self.landmarks[0], self.landmarks[1]

    def to_dict(self) -> dict:
        """JSON-ready: {"box": [x, y, w, h], "score", "landmarks": [[x, y], ...] or None}."""
        return {
            "box": list(self.box),
            "score": round(float(self.score), 4),
            "landmarks": [[round(x, 1), round(y, 1)] for x, y in self.landmarks] if self.landmarks else None,
        }


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes; 0 when either is empty."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0
