"""`none`: no detection — the whole image is the face (pre-cropped, FER2013-style input)."""

from __future__ import annotations

import numpy as np

from ferkit.faces._registry import register_detector
from ferkit.faces.base import Detector, check_rgb
from ferkit.faces.face import Face


@register_detector(
    "none",
    description="no detection: the whole image is one face (pre-cropped faces such as FER2013)",
    priority=1000,
)
class WholeImageDetector(Detector):
    """Returns one face covering the whole image, score 1.0 (none when the image is under `min_face`).

    Use it with margin 0 for already-cropped faces: padding a FER-style crop again costs accuracy.
    """

    def detect(self, image: np.ndarray) -> list[Face]:
        rgb = check_rgb(image)
        h, w = rgb.shape[:2]
        if min(h, w) < max(self.min_face, 1):
            return []
        return [Face((0, 0, w, h), 1.0, None)]
