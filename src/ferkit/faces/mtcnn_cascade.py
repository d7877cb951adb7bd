"""The MTCNN cascade's stages on numpy arrays (Zhang et al. 2016): P-Net over an image pyramid, R-Net, O-Net.

The networks were trained on transposed images (the original is MATLAB code), so every input is transposed
(N×W×H×3) and the outputs read back accordingly. Pixels are scaled as (x − 127.5) / 128. Each stage takes a `Run`
(`mtcnn_runtime`): the runtime the networks execute on.
"""

from __future__ import annotations

import numpy as np

from ferkit._deps import cv2
from ferkit.faces.face import Face
from ferkit.faces.mtcnn_runtime import Run

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
    """Indices kept by non-maximum suppression of rows (x1, y1, x2, y2, score, ...), best score first (on equal
    scores, the earlier row)."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    x1, y1, x2, y2, s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order, keep = np.argsort(-s, kind="stable"), []  # on a tie the earlier row
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


def _stage1(
    rgb: np.ndarray, scales: list[float], run: Run, threshold: float = STAGE_THRESHOLDS[0]
) -> np.ndarray:
    """P-Net over the image pyramid: candidate boxes (x1, y1, x2, y2, score, 4 offsets) scoring `threshold` up."""
    h, w = rgb.shape[:2]
    found, level = [], rgb
    for scale in scales:
        size = (int(np.ceil(w * scale)), int(np.ceil(h * scale)))
        # each level from the one above it: area averaging over a smaller source, ~4x less work per level
        level = cv2().resize(level, size, interpolation=cv2().INTER_AREA)
        x = _normalise(level)[None].transpose(0, 2, 1, 3)
        reg, prob = (o[0].transpose(1, 0, 2) for o in run("pnet", np.ascontiguousarray(x)))
        ys, xs = np.nonzero(prob[:, :, 1] >= threshold)
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
    xs, ys = _landmarks(boxes, marks)
    boxes = _regress(boxes, reg, plus_one=True)
    pick = _nms(boxes, 0.7, "min")
    return [_face(boxes[i], xs[i], ys[i]) for i in pick]


def _landmarks(boxes: np.ndarray, marks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """O-Net's five points (fractions of each box, x then y) in image pixels: N×5 x and N×5 y."""
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    return marks[:, 0:5] * w[:, None] + boxes[:, 0:1] - 1, marks[:, 5:10] * h[:, None] + boxes[:, 1:2] - 1


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
