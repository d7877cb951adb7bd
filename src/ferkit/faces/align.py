"""Face alignment and cropping to a model's input: level the eyes, frame the face like FER2013, grayscale.

How FER2013 frames a face was measured by running YuNet on 600 random FER2013 training images (4× upscaled,
padded; 584 detected): in the 48×48 crops the median eye midpoint sits at 0.385 of the side from the top, the eye
midpoint to mouth midpoint distance is 0.383 of the side, the face is horizontally centred, and the YuNet box
height is 1.04 of the side (OpenCV's Haar box: 0.96). So at `margin=0`:

- with landmarks, the square's side is `eye-to-mouth distance / 0.383`, placed so the eyes land at 0.385 of
  the height, rotated so the eyes are level;
- without landmarks, the square's side is the longer box side, centred on the box.

`margin` then widens the square by that fraction of its side on every side (side × (1 + 2 × margin)).
Parts of the square outside the image repeat the border pixels.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ferkit._deps import cv2
from ferkit.constants import FACE_SIZE
from ferkit.faces.face import Face

if TYPE_CHECKING:  # the crop needs only the side length: no import of models/ (and torch) at run time
    from ferkit.models.data_config import DataConfig

DEFAULT_MARGIN = 0.0
"""Default margin: 0 reproduces FER2013 framing with YuNet landmarks or boxes (see the module docstring)."""

FER_EYE_Y = 0.385
"""Height of the eye midpoint in FER2013 crops, as a fraction of the side (measured, see module docstring)."""

FER_EYE_MOUTH = 0.383
"""Eye-midpoint to mouth-midpoint distance in FER2013 crops, as a fraction of the side (measured)."""


def face_square(face: Face, margin: float = DEFAULT_MARGIN) -> tuple[float, float, float, float]:
    """The crop square of a face: (center x, center y, side, angle in degrees of the eye line).

    Coordinates are continuous original-image pixels (the top-left pixel spans [0, 1)).
    """
    x, y, w, h = face.box
    cx, cy, side, angle = x + w / 2.0, y + h / 2.0, float(max(w, h)), 0.0
    if face.landmarks and len(face.landmarks) >= 5:
        (lx, ly), (rx, ry), _, (mlx, mly), (mrx, mry) = face.landmarks[:5]
        angle = math.degrees(math.atan2(ry - ly, rx - lx))
        ex, ey = (lx + rx) / 2.0 + 0.5, (ly + ry) / 2.0 + 0.5  # landmark pixels → continuous coordinates
        mx, my = (mlx + mrx) / 2.0 + 0.5, (mly + mry) / 2.0 + 0.5
        dist = math.hypot(mx - ex, my - ey)
        if dist >= 2.0 and max(w, h) > 0:
            side = min(max(dist / FER_EYE_MOUTH, 0.7 * max(w, h)), 1.4 * max(w, h))
            a = math.radians(angle)
            down = (-math.sin(a), math.cos(a))  # the face's downward direction in the image
            shift = (0.5 - FER_EYE_Y) * side
            cx, cy = ex + down[0] * shift, ey + down[1] * shift
    return cx, cy, side * (1.0 + 2.0 * float(margin)), angle


def crop_face(
    image: np.ndarray,
    face: Face,
    data_config: DataConfig | None = None,
    margin: float = DEFAULT_MARGIN,
    size: int | None = None,
) -> np.ndarray:
    """Cut one face out of an image as the model expects it: square, eyes level, grayscale.

    Args:
        image: RGB uint8 H×W×3 (or gray H×W) image the face was detected in.
        face: The detected face (box and optional landmarks in `image` pixels).
        data_config: The model's data config; the crop side is its `image_size`.
        margin: Extra context on every side, as a fraction of the FER2013-framed square (see module docstring).
        size: Crop side in pixels, overriding `data_config.image_size`.

    Returns:
        uint8 array size×size (grayscale).
    """
    out = int(size or _side(data_config))
    cx, cy, side, angle = face_square(face, margin)
    side = max(side, 1.0)
    if abs(angle) < 1e-3:
        return _axis_aligned(image, cx, cy, side, out)
    a = math.radians(angle)
    half = side / 2.0 * (abs(math.cos(a)) + abs(math.sin(a))) + 2.0
    x0, y0 = math.floor(cx - half), math.floor(cy - half)
    x1, y1 = math.ceil(cx + half), math.ceil(cy + half)
    region = _gray(_padded(image, x0, y0, x1, y1))
    k = out / side
    kx = ky = 1.0
    if k < 1.0:  # shrink with area interpolation first, so the warp below never aliases
        rh, rw = region.shape
        size_small = (max(1, round(rw * k)), max(1, round(rh * k)))
        region = cv2().resize(region, size_small, interpolation=cv2().INTER_AREA)
        kx, ky = size_small[0] / rw, size_small[1] / rh
    # Output pixel (u, v) → original point c + (side / out) · R(angle) · ((u, v) − output centre) → region pixel.
    s = side / out
    cos, sin = math.cos(a) * s, math.sin(a) * s
    src_x, src_y = (cx - x0) * kx - 0.5, (cy - y0) * ky - 0.5
    d = out / 2.0 - 0.5
    matrix = np.array(
        [
            [kx * cos, -kx * sin, src_x - kx * (cos - sin) * d],
            [ky * sin, ky * cos, src_y - ky * (sin + cos) * d],
        ],
        dtype=np.float64,
    )
    cv = cv2()
    return cv.warpAffine(
        region,
        matrix,
        (out, out),
        flags=cv.INTER_LINEAR | cv.WARP_INVERSE_MAP,
        borderMode=cv.BORDER_REPLICATE,
    )


def _axis_aligned(image: np.ndarray, cx: float, cy: float, side: float, out: int) -> np.ndarray:
    """No rotation: cut the square on whole pixels and resize once (a square crop of `out` pixels is exact)."""
    s = max(1, round(side))
    x0, y0 = round(cx - s / 2.0), round(cy - s / 2.0)
    region = _gray(_padded(image, x0, y0, x0 + s, y0 + s))
    if s == out:
        return np.ascontiguousarray(region)
    interp = cv2().INTER_AREA if s > out else cv2().INTER_LINEAR
    return cv2().resize(region, (out, out), interpolation=interp)


def crop_faces(
    image: np.ndarray,
    faces: list[Face],
    data_config: DataConfig | None = None,
    margin: float = DEFAULT_MARGIN,
) -> np.ndarray:
    """`crop_face` for every face: uint8 N×S×S (N may be 0)."""
    s = _side(data_config)
    if not faces:
        return np.zeros((0, s, s), np.uint8)
    return np.stack([crop_face(image, f, data_config, margin) for f in faces])


def _padded(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """image[y0:y1, x0:x1] where parts outside the image repeat its border pixels."""
    h, w = image.shape[:2]
    cx0, cy0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
    cx1, cy1 = max(min(x1, w), cx0 + 1), max(min(y1, h), cy0 + 1)
    part = image[cy0:cy1, cx0:cx1]
    top, left = max(0, cy0 - y0), max(0, cx0 - x0)
    bottom, right = max(0, (y1 - y0) - top - part.shape[0]), max(0, (x1 - x0) - left - part.shape[1])
    if top or left or bottom or right:
        part = cv2().copyMakeBorder(part, top, bottom, left, right, cv2().BORDER_REPLICATE)
    return part


def _gray(region: np.ndarray) -> np.ndarray:
    if region.ndim == 2:
        return np.ascontiguousarray(region)
    if region.shape[2] == 1:
        return np.ascontiguousarray(region[:, :, 0])
    return cv2().cvtColor(np.ascontiguousarray(region[:, :, :3]), cv2().COLOR_RGB2GRAY)


def _side(data_config: DataConfig | None) -> int:
    """The crop side: the model's `image_size`, or FER2013's 48 without a model."""
    return int(data_config.image_size) if data_config is not None else FACE_SIZE
