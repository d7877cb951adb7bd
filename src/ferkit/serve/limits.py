"""Request limits of the web service: upload size, image formats and pixels, and a bounded inference queue."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

import numpy as np

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP")
JPEG_FAMILY = ("JPEG", "MPO")  # Pillow calls multi-picture JPEGs (many phones and cameras) MPO


class HTTPProblem(Exception):
    """An error answered with an HTTP status and a message (and optional headers)."""

    def __init__(self, status: int, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_pending: int = 8  # requests running or waiting for inference; more → 503
    read_timeout_s: float = 20.0  # seconds without body data → 408
    read_total_s: float = 120.0  # seconds for the whole body → 408
    max_reading: int = (
        32  # request bodies being received at once (each ≤ ~4/3 × max_upload_bytes); more → 503
    )


def decode_upload(data: bytes, limits: Limits) -> np.ndarray:
    """Bytes of an uploaded image → RGB uint8 array, or HTTPProblem 413 / 415 / 422."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from ferkit.imageio import to_rgb

    if len(data) > limits.max_upload_bytes:
        raise HTTPProblem(
            413, f"upload of {len(data):,} bytes is over the limit of {limits.max_upload_bytes:,}"
        )
    if not data:
        raise HTTPProblem(422, "the upload is empty")
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise HTTPProblem(415, f"not an image (accepted: {', '.join(ALLOWED_FORMATS)})") from None
    except Image.DecompressionBombError:
        raise HTTPProblem(413, f"image is over the limit of {limits.max_pixels:,} pixels") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise HTTPProblem(422, f"the image cannot be decoded ({exc})") from None
    if im.format not in ALLOWED_FORMATS + JPEG_FAMILY:
        raise HTTPProblem(
            415, f"{im.format} images are not accepted (accepted: {', '.join(ALLOWED_FORMATS)})"
        )
    if im.width * im.height > limits.max_pixels:
        raise HTTPProblem(413, f"{im.width}x{im.height} pixels is over the limit of {limits.max_pixels:,}")
    if im.width == 0 or im.height == 0:
        raise HTTPProblem(422, "the image has zero size")
    try:
        im.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise HTTPProblem(422, f"the image cannot be decoded ({exc})") from None
    return to_rgb(ImageOps.exif_transpose(im) or im)


class Gate:
    """Counts requests that hold or wait for a resource (inference, or reading a body); refuses (503) past
    `max_pending`."""

    def __init__(self, max_pending: int, message: str = "inference is saturated; retry shortly") -> None:
        self.max_pending, self.pending, self._lock = max_pending, 0, threading.Lock()
        self.message = message

    def enter(self) -> None:
        with self._lock:
            if self.pending >= self.max_pending:
                raise HTTPProblem(503, self.message, {"Retry-After": "1"})
            self.pending += 1

    def leave(self) -> None:
        with self._lock:
            self.pending -= 1
