"""Pixels as ferkit works with them: any Pillow image, or a numpy array in the RGB convention, as uint8 RGB
(H×W×3) or grayscale (H×W). Alpha is composited on white; 16-bit, bool and float images are scaled to 0..255."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ferkit.errors import SourceError


def is_pil(obj: object) -> bool:
    """Whether `obj` is a Pillow image."""
    return isinstance(obj, Image.Image)


def to_gray(im: Image.Image) -> np.ndarray:
    """Any Pillow image (L, RGB, RGBA, P, CMYK, I;16, I, F, LA, 1) as a uint8 H×W grayscale array."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(arr.max()), 1.0)
        if mode == "I" and arr.max() <= 255:
            top = 255.0
        return np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    if im.mode != "L":
        im = im.convert("RGB").convert("L")
    return np.asarray(im, dtype=np.uint8)


def to_rgb(im: Image.Image) -> np.ndarray:
    """Any Pillow image as a uint8 H×W×3 RGB array (alpha composited on white, 16-bit scaled)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        g = to_gray(im)
        return np.repeat(g[:, :, None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im.convert("RGBA"))
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def array_to_rgb(value: object) -> np.ndarray:
    """A numpy array (RGB convention) or PIL image as RGB uint8 H×W×3.

    Raises:
        SourceError: Zero-size, or a shape / dtype that is not an image.
    """
    if is_pil(value):
        try:
            return to_rgb(value)  # a lazily opened file is decoded here
        except (OSError, SyntaxError, ValueError) as exc:
            name = getattr(value, "filename", "") or "PIL image"
            raise SourceError(f"{name}: the image cannot be decoded ({exc})") from None
    arr = np.asarray(value)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise SourceError(f"array of shape {arr.shape} is not an image (expected H×W, H×W×3 or H×W×4)")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise SourceError(f"zero-size image ({arr.shape[1]}×{arr.shape[0]} pixels)")
    arr = _to_uint8(arr)
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        return (arr[:, :, :3] * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(arr)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if arr.dtype == np.uint16:
        return (arr.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise SourceError("array image has NaN or infinite values")
        top = 1.0 if arr.max() <= 1.0 else 255.0
        return np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        return np.clip(arr, 0, 255).astype(np.uint8)
    raise SourceError(f"array of dtype {arr.dtype} is not an image")
