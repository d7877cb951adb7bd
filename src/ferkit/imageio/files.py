"""Opening image files with Pillow: any format Pillow reads, EXIF orientation, a size limit against decompression
bombs, and messages that name the file."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ferkit.errors import DataError
from ferkit.imageio.convert import to_gray

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
