"""Evaluation on real photos: each original file → face detector → largest face → crop for the model.

The data layer stores image folders as 48×48 grayscale; detection needs the photo itself, so every file is read
again at full resolution from `ds.root / ds.sources[i]`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ferkit.data import FerDataset
from ferkit.errors import DataError, FerkitError
from ferkit.imageio import open_image, to_rgb
from ferkit.models.data_config import DataConfig


def resolve_detector(detector):
    """A detector object: the argument itself when it has `.detect`, else `ferkit.faces.get_detector(name)`."""
    if not isinstance(detector, str):
        if not callable(getattr(detector, "detect", None)):
            raise FerkitError(f"detector {detector!r} has no detect(image) method")
        return detector
    from ferkit.faces import get_detector

    return get_detector(detector)


def detector_name(detector) -> str:
    return str(getattr(detector, "name", None) or type(detector).__name__)


def _fit(crop: np.ndarray, size: int) -> np.ndarray:
    """A uint8 size×size grayscale array from any crop (gray or RGB, any size)."""
    arr = np.asarray(crop)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    im = Image.fromarray(arr)
    if im.mode != "L":
        im = im.convert("L")
    if im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(im, np.uint8)


def largest_face(faces):
    """The face with the largest box area."""
    return max(faces, key=lambda f: int(f.box[2]) * int(f.box[3]))


def photo_crops(
    ds: FerDataset, detector, dc: DataConfig, quiet: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Detect and crop the largest face of every photo of `ds`.

    Returns:
        (crops uint8 N×S×S with S = dc.image_size, no_face bool N). A photo without a face keeps its stored
        image (resized) as a placeholder for reports; it is scored as an error.

    Raises:
        DataError: a sample is not an image file (e.g. a CSV row), or a file can no longer be read.
    """
    from ferkit.faces.align import crop_face

    size = dc.image_size
    crops = np.zeros((len(ds), size, size), np.uint8)
    no_face = np.zeros(len(ds), bool)
    items = enumerate(ds.sources)
    if not quiet:
        from tqdm import tqdm

        items = tqdm(items, total=len(ds), desc="detecting faces", unit="photo")
    for i, rel in items:
        path = Path(ds.root) / str(rel)
        if not path.is_file():
            raise DataError(
                f"{path}: not an image file; face detection needs a folder of photos (<class>/<images>)"
            )
        rgb = to_rgb(open_image(path))
        faces = list(detector.detect(rgb) or [])
        if not faces:
            no_face[i] = True
            crops[i] = _fit(ds.images[i], size)
            continue
        crops[i] = _fit(crop_face(rgb, largest_face(faces), dc), size)
    return crops, no_face
