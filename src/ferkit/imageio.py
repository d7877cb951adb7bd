"""Robust image decoding shared by the data layer and recognition: any mode, EXIF orientation, size limits."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ferkit.errors import DataError

IMAGE_EXTS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pnm"}
)

# Images over this many pixels are refused (decompression bombs; a 100-megapixel photo is not a face dataset).
MAX_PIXELS = 64_000_000


class ImageReadError(DataError):
    """One image cannot be read; the message names the file and the reason."""


def is_image_file(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTS


def open_image(
    path: Path | str | bytes, max_pixels: int = MAX_PIXELS, name: str | None = None
) -> Image.Image:
    """Open and fully decode an image, honouring EXIF orientation.

    Args:
        path: An image file, or the bytes of one (e.g. read from an object store).
        max_pixels: Larger images are refused.
        name: How messages name bytes (default "<bytes>").

    Raises:
        ImageReadError: zero-byte, truncated, corrupt or non-image file, or more than `max_pixels` pixels.
    """
    if isinstance(path, bytes | bytearray | memoryview):
        path, fh = name or "<bytes>", io.BytesIO(bytes(path))  # a str: "s3://b/k.jpg" keeps its "//"
        size = len(fh.getbuffer())
    else:
        path = Path(path)
        fh, size = path, None
    try:
        if (path.stat().st_size if size is None else size) == 0:
            raise ImageReadError(f"{path}: empty (zero-byte) file")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(fh)
            try:
                if im.width * im.height > max_pixels:
                    raise ImageReadError(
                        f"{path}: {im.width}x{im.height} pixels is over the limit of {max_pixels:,} (refused)"
                    )
                im.load()
                multi = getattr(im, "n_frames", 1) > 1
                if multi:
                    im.seek(0)
                out = ImageOps.exif_transpose(im) or im
                if (
                    multi or getattr(im, "fp", None) is not None
                ):  # GIF, TIFF, ... keep the file open for seeking
                    # keep frame 0 in memory and close the file
                    out = out.copy() if out is im else out
                    im.close()
                return out
            except BaseException:
                im.close()  # a refused or broken file is not left open until garbage collection
                raise
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(f"{path}: image too large (decompression bomb refused)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: corrupt or truncated image ({exc})") from None


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


def read_gray(path: Path | str, size: int | None) -> tuple[np.ndarray, tuple[int, int], str]:
    """Decode a file to uint8 grayscale, resized to size×size when `size` is given.

    Returns:
        (array, (width, height) of the file, Pillow mode of the file)
    """
    im = open_image(path)
    orig = (im.width, im.height)
    mode = im.mode
    gray = to_gray(im)
    if size is not None and gray.shape != (size, size):
        gray = np.asarray(
            Image.fromarray(gray).resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
        )
    return gray, orig, mode
