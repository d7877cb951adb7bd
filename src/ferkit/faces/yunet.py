"""`yunet`: libfacedetection's YuNet through the `yuface` wheel — boxes, scores and five landmarks.

The wheel bundles its own OpenMP runtime. With OpenMP's default of one thread per core, a detection that has to
share the CPU with another busy process (a training job) spins in barriers: on a 2-core machine a 320×240 image
took ~430 ms instead of ~14 ms. The detector therefore sets the wheel's OpenMP thread count itself (`threads`,
default 1) through that runtime's `omp_set_num_threads`; PyTorch's own OpenMP runtime is not touched.
"""

from __future__ import annotations

import ctypes
import functools
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


def set_yuface_threads(threads: int) -> bool:
    """Set the OpenMP thread count of the `yuface` wheel's runtime; False when it cannot be set."""
    lib = _omp_library()
    if lib is None or not hasattr(lib, "omp_set_num_threads"):
        return False
    lib.omp_set_num_threads(int(threads))
    return True


@register_detector(
    "yunet",
    description="libfacedetection YuNet via the yuface wheel: boxes, scores, 5 landmarks (default)",
    requires=("yuface",),
    priority=0,
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

    def __init__(
        self, min_face: int = 0, threshold: float | None = None, max_side: int | None = None, threads: int = 1
    ) -> None:
        super().__init__(min_face=min_face, threshold=threshold, max_side=max_side)
        self.threads = int(threads)

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        import yuface

        set_yuface_threads(self.threads)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "image size is too large" when max_side > 960
            confs, boxes, marks = yuface.detect(bgr, conf=0.0)
        faces = []
        for conf, box, mark in zip(confs.tolist(), boxes.tolist(), marks.tolist(), strict=True):
            points = tuple((float(mark[i]), float(mark[i + 1])) for i in range(0, 10, 2))
            faces.append(Face(tuple(int(v) for v in box), conf / 100.0, points))
        return faces
