"""Decoding one still image to RGB for recognition: any mode, EXIF orientation, and very large JPEGs.

Images over `MAX_PIXELS` (64 megapixels) are refused — except JPEGs, which are decoded at a
reduced scale (1/2, 1/4 or 1/8, through Pillow's `Image.draft`, so the full-size pixels never exist in memory)
until they fit. A 100-megapixel phone photo therefore works, and face boxes are still reported in the file's
own pixels. Pillow refuses any image over 2 × `Image.MAX_IMAGE_PIXELS` (~179 megapixels) at open time, and
other formats (PNG, TIFF, ...) over the limit are refused: the error names the file and its size.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ferkit.imageio.convert import to_rgb
from ferkit.imageio.files import MAX_PIXELS, ImageReadError, open_image


def read_rgb(
    path: Path | str | bytes, max_pixels: int = MAX_PIXELS, name: str | None = None
) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode an image file, or the bytes of one, to RGB uint8 H×W×3.

    Args:
        path: The file, or its bytes (Ray Data and object stores hand over bytes).
        max_pixels: Larger images are refused, except JPEGs, decoded at a reduced scale.
        name: How messages name bytes (their source path; default "<bytes>").

    Returns:
        (rgb, (width, height) of the full-size image after EXIF orientation). The array is smaller than that
        size only for JPEGs over `max_pixels`, decoded at a reduced scale.

    Raises:
        ImageReadError: Missing, empty, corrupt or non-image file, or too large (message names the file).
    """
    data = bytes(path) if isinstance(path, bytes | bytearray | memoryview) else None
    source = data if data is not None else Path(path)

    def opened():  # a fresh reader each time: every step reads from the start
        return io.BytesIO(data) if data is not None else source

    big = _oversized_jpeg(opened(), max_pixels)
    if big is None:
        im = open_image(source, max_pixels=max_pixels, name=name)
        return to_rgb(im), (im.width, im.height)
    return _draft_decode(opened(), big, max_pixels, (name or "<bytes>") if data is not None else None)


def _oversized_jpeg(path, max_pixels: int) -> tuple[int, int] | None:
    """(width, height) of a JPEG over `max_pixels`; None for anything else (left to `open_image`)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.format in ("JPEG", "MPO") and im.width * im.height > max_pixels:
                    return im.width, im.height
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError, SyntaxError):
        return None  # open_image gives the proper message
    return None


def _draft_decode(path, size: tuple[int, int], max_pixels: int, label: str | None = None):
    """A JPEG over `max_pixels` decoded at the smallest reduction that fits: (rgb, full size)."""
    src, path = path, label or path
    w, h = size
    factor = 2 ** math.ceil(math.log2(math.sqrt(w * h / max_pixels)))
    if factor > 8:
        raise ImageReadError(
            f"{path}: {w}x{h} pixels is over the limit of {max_pixels:,} even at 1/8 scale (refused)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(src)
            im.draft("RGB", (math.ceil(w / factor), math.ceil(h / factor)))
            if im.width * im.height > max_pixels:
                raise ImageReadError(
                    f"{path}: {w}x{h} pixels cannot be decoded under {max_pixels:,} (refused)"
                )
            im.load()
            turned = ImageOps.exif_transpose(im) or im
    except ImageReadError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: corrupt or truncated image ({exc})") from None
    swapped = (turned.width, turned.height) != (im.width, im.height)
    full = (h, w) if swapped else (w, h)
    return to_rgb(turned), full
