"""The detector base class: input checks, scaling to a comfortable size, mapping boxes back, filtering."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ferkit._deps import cv2
from ferkit.errors import FerkitError
from ferkit.faces.face import Face

FRAME_FACE_AREA = 0.2  # share of the image a box of the searches after the first must cover (default)
RETRY_SCORE = 0.5  # the lower score those boxes pass at, as a share of the detector's threshold (default)
ENLARGE_MAX_SIDE = 480  # pixels: an image up to this side with no face anywhere is also searched at 2×
RETRY_MIN_SIDE = 192  # pixels: the padded image of a small crop is enlarged to at least this side


class Detector:
    """Finds faces in an RGB uint8 H×W×3 image; subclasses implement `_detect` on the (scaled) image.

    Images whose longer side exceeds `max_side` are shrunk (area interpolation) before detection and the boxes
    and landmarks are mapped back to the original pixels; faces smaller than `min_face` pixels (shorter box
    side, original pixels) and faces scoring below `threshold` are dropped. Faces come sorted by score,
    best first.

    Args:
        min_face: Smallest face to report, in original-image pixels (0 keeps every face).
        threshold: Minimum score in [0, 1]; None takes the detector's default.
        max_side: Longest image side the detector works at; None takes the detector's default.

    Attributes:
        name: Registry name (set by `register_detector`).
        default_threshold: Score threshold used when `threshold` is None.
        default_max_side: The detector's comfortable image size (longest side, pixels).
    """

    name: ClassVar[str] = "detector"
    default_threshold: ClassVar[float] = 0.0
    default_max_side: ClassVar[int] = 960
    pad_retry: ClassVar[float] = 0.5  # border (fraction of the longer side) of the second search; 0: none
    retry_area: ClassVar[float] = FRAME_FACE_AREA  # share of the image a box of those searches must cover
    retry_score: ClassVar[float] = RETRY_SCORE  # share of `threshold` a box of those searches must score

    def __init__(
        self, min_face: int = 0, threshold: float | None = None, max_side: int | None = None
    ) -> None:
        if min_face < 0:
            raise FerkitError(f"min_face must be >= 0 pixels, got {min_face}")
        self.min_face = int(min_face)
        self.threshold = self.default_threshold if threshold is None else float(threshold)
        if max_side is not None and int(max_side) < 32:
            raise FerkitError(f"max_side must be at least 32 pixels, got {max_side}")
        self.max_side = int(max_side or self.default_max_side)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(min_face={self.min_face}, threshold={self.threshold}, max_side={self.max_side})"

    def __call__(self, image: np.ndarray) -> list[Face]:
        return self.detect(image)

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 H×W×3 image (a gray H×W image is accepted too), in original pixels.

        When nothing is found, the image is searched again inside a plain border (`pad_retry` of its longer side
        on every side, filled with its mean colour): a face that fills the frame or is cut by its edge then has
        the context detectors are trained on, and its box is mapped back and clipped to the image. A small image
        (up to ENLARGE_MAX_SIDE) still without a face is searched once more at twice its size. In these searches a
        face must cover `retry_area` of the image and passes at `retry_score` of the threshold (each detector sets
        both by measurement). `pad_retry = 0` turns them off.
        """
        rgb = check_rgb(image)
        h, w = rgb.shape[:2]
        faces = self._kept(self._scaled(rgb), w * h, frame=False)
        if not faces and self.pad_retry > 0:
            faces = self._kept(self._bordered(rgb, self.pad_retry, 1), w * h, frame=True)
        if not faces and self.pad_retry > 0 and max(h, w) <= ENLARGE_MAX_SIDE:
            faces = self._kept(self._bordered(rgb, 0.0, 2), w * h, frame=True)  # a small, low-detail face
        return faces

    def _bordered(self, rgb: np.ndarray, border: float, enlarge: int) -> list[Face]:
        """Faces of `rgb` searched inside a plain border (`border` × its longer side on every side, its mean
        colour), enlarged `enlarge` times (more when the result is under RETRY_MIN_SIDE), mapped back to `rgb`."""
        h, w = rgb.shape[:2]
        pad = round(border * max(h, w))
        fill = [float(v) for v in rgb.reshape(-1, 3).mean(0)]
        padded = (
            cv2().copyMakeBorder(rgb, pad, pad, pad, pad, cv2().BORDER_CONSTANT, value=fill) if pad else rgb
        )
        ph, pw = padded.shape[:2]
        k = max(enlarge, -(-RETRY_MIN_SIDE // max(ph, pw)))
        if k > 1:
            padded = cv2().resize(padded, None, fx=k, fy=k, interpolation=cv2().INTER_LINEAR)
        found = self._scaled(padded, inner=(pad * k, pad * k, w * k, h * k))
        return [_clip(_shift(_rescale(f, 1 / k, pw, ph) if k > 1 else f, -pad), w, h) for f in found]

    def _kept(self, faces: list[Face], area: int, frame: bool) -> list[Face]:
        """Faces above `threshold` and `min_face`, best first. With `frame` (the searches of an image where nothing
        was found), only boxes covering `retry_area` of the image are kept, at `retry_score` of the threshold:
        those searches are for a photo that is one face; a small box there (a dog, a backdrop) is not kept."""

        def passes(f: Face) -> bool:
            return self._retry_passes(f, area) if frame else f.score >= self.threshold

        faces = [f for f in faces if passes(f) and min(f.box[2], f.box[3]) >= max(self.min_face, 1)]
        return sorted(faces, key=lambda f: -f.score)

    def _retry_passes(self, face: Face, area: float) -> bool:
        """Whether a box of the searches after an empty first pass is kept, `area` being the photo's."""
        return (
            face.box[2] * face.box[3] >= self.retry_area * area
            and face.score >= self.retry_score * self.threshold
        )

    def _scaled(self, rgb: np.ndarray, inner: tuple[int, int, int, int] | None = None) -> list[Face]:
        """`_detect` on `rgb` shrunk to `max_side`, boxes in `rgb`'s pixels (clipped to it). With `inner` (where
        the photo lies in `rgb`, x, y, w, h: the searches after an empty first pass), `_detect_framed`."""
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = rgb
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = cv2().resize(rgb, size, interpolation=cv2().INTER_AREA)
            scale = size[0] / w
        if inner is None:
            found = self._detect(small)
        else:
            found = self._detect_framed(small, tuple(round(v * scale) for v in inner))
        return [_rescale(f, 1.0 / scale, w, h) if scale != 1.0 else _clip(f, w, h) for f in found]

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in `rgb` (already scaled), in its own pixel coordinates."""
        raise NotImplementedError

    def _detect_framed(self, rgb: np.ndarray, inner: tuple[int, int, int, int]) -> list[Face]:
        """`_detect` in the searches after an empty first pass, where `rgb` holds the photo at `inner` (x, y, w, h,
        in `rgb`'s pixels) inside a border, maybe enlarged: a detector can look at the whole photo as a face."""
        return self._detect(rgb)


def check_rgb(image: np.ndarray) -> np.ndarray:
    """`image` as a C-contiguous uint8 H×W×3 array; gray H×W is repeated to 3 channels.

    Raises:
        FerkitError: Not uint8, a shape other than H×W or H×W×3, or zero-size.
    """
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise FerkitError(f"detector input must be uint8, got {arr.dtype}")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise FerkitError(f"detector input must be an RGB H×W×3 image, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise FerkitError(f"zero-size image ({arr.shape[1]}×{arr.shape[0]} pixels)")
    return np.ascontiguousarray(arr)


def clip_to(face: Face, inner: tuple[int, int, int, int]) -> Face:
    """`face` cut to the rectangle `inner` (x, y, w, h), in that rectangle's coordinates."""
    x, y, w, h = inner
    return _clip(Face((face.box[0] - x, face.box[1] - y, face.box[2], face.box[3]), face.score), w, h)


def _clip(face: Face, w: int, h: int) -> Face:
    x, y, bw, bh = face.box
    x0, y0 = max(0, min(int(x), w)), max(0, min(int(y), h))
    x1, y1 = max(0, min(int(x + bw), w)), max(0, min(int(y + bh), h))
    return Face((x0, y0, x1 - x0, y1 - y0), face.score, face.landmarks)


def _shift(face: Face, d: int) -> Face:
    x, y, bw, bh = face.box
    marks = tuple((px + d, py + d) for px, py in face.landmarks) if face.landmarks else None
    return Face((x + d, y + d, bw, bh), face.score, marks)


def _rescale(face: Face, k: float, w: int, h: int) -> Face:
    x, y, bw, bh = face.box
    box = (round(x * k), round(y * k), round(bw * k), round(bh * k))
    marks = tuple((px * k, py * k) for px, py in face.landmarks) if face.landmarks else None
    return _clip(Face(box, face.score, marks), w, h)
