"""Image decoding, in one place for the data layer, recognition and the service.

- `files`: opening a file (or its bytes) with Pillow: EXIF orientation, a size limit, errors that name the file.
- `convert`: a Pillow image or a numpy array as uint8 RGB or grayscale.
- `rgb`: one still image for recognition as RGB, very large JPEGs decoded at a reduced scale.
"""

from ferkit.imageio.convert import array_to_rgb, is_pil, to_gray, to_rgb
from ferkit.imageio.files import IMAGE_EXTS, MAX_PIXELS, ImageReadError, is_image_file, open_image, read_gray
from ferkit.imageio.rgb import read_rgb

__all__ = [
    "IMAGE_EXTS",
    "MAX_PIXELS",
    "ImageReadError",
    "array_to_rgb",
    "is_image_file",
    "is_pil",
    "open_image",
    "read_gray",
    "read_rgb",
    "to_gray",
    "to_rgb",
]
