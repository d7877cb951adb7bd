"""A second look for a photo that is one face, which the MTCNN cascade can miss.

On already-cropped faces (RAF-DB's aligned photos, a face filling the frame) P-Net proposes boxes near the face,
but R-Net's and O-Net's box offsets move them off it and O-Net then scores them 0-0.3, while the same networks
score a box around the whole face above 0.9. In the searches after an empty first pass the detector therefore
also scores P-Net's best candidates (without R-Net's and O-Net's offsets) and a box centred on the whole photo,
each enlarged a few times; on equal scores the least enlarged box is kept. One network's score alone lets in cats and coffee cups (random crops of photos without a face reach O-Net
0.9 one time in fifty), so a box is kept only when R-Net and O-Net both pass it on the crop and on its mirror
image: a face is symmetric, a false match seldom is. The whole photo's box, where a face is likeliest in these
searches, passes at a lower score than P-Net's candidates.
"""

from __future__ import annotations

import numpy as np

from ferkit.faces.face import Face
from ferkit.faces.mtcnn_cascade import _crops, _face, _landmarks, _nms
from ferkit.faces.mtcnn_runtime import Run

AGREE = 0.7  # the lowest of the four scores (R-Net, O-Net; crop and mirror) a box must reach
# the same for the box on the whole photo, the likelier place for the face in these searches: on 500 RAF-DB aligned
# faces 4 are missed (7 at 0.7), with no box on 1,281 photos and crops without a face (one at 0.4 of 487)
AGREE_WHOLE = 0.5
ENLARGE = (1.0, 1.25, 1.5)  # each candidate square is also scored at these multiples of its side
WHOLE = 0.8  # the whole photo's candidate: a centred square of this share of its shorter side
MAX_CANDIDATES = 32  # P-Net's best candidates scored (bounds the work on a large photo without a face)


def recheck(
    rgb: np.ndarray, candidates: np.ndarray, inner: tuple[int, int, int, int], min_area: float, run: Run
) -> list[Face]:
    """Faces among `candidates` (P-Net's rows, best first) and the whole photo that R-Net and O-Net agree on.

    Args:
        rgb: The searched image (the photo inside a border, maybe enlarged).
        candidates: P-Net's boxes in `rgb`'s pixels (x1, y1, x2, y2, score, ...), best first.
        inner: Where the photo lies in `rgb` (x, y, w, h).
        min_area: Smallest box area kept, in `rgb`'s pixels.
        run: The runtime of the networks.
    """
    boxes = np.vstack([candidates[:MAX_CANDIDATES, :4], _whole(inner)])
    need = np.r_[np.full(len(boxes) - 1, AGREE), AGREE_WHOLE]
    boxes = np.vstack([_enlarged(boxes, k) for k in ENLARGE])
    need = np.tile(need, len(ENLARGE))
    side = boxes[:, 2] - boxes[:, 0]
    large = side * side >= min_area
    boxes, need = boxes[large], need[large]
    if not len(boxes):
        return []
    score, marks = _agreement(rgb, boxes, run)
    keep = score >= need
    if not keep.any():
        return []
    boxes, score, marks = boxes[keep], score[keep], marks[keep]
    rows = np.hstack([boxes, score[:, None]])
    xs, ys = _landmarks(boxes, marks)
    return [_face(rows[i], xs[i], ys[i]) for i in _nms(rows, 0.3, "min")]


def _agreement(rgb: np.ndarray, boxes: np.ndarray, run: Run) -> tuple[np.ndarray, np.ndarray]:
    """The lowest face score of R-Net and O-Net on each box's crop and on its mirror image; O-Net's landmarks."""
    small, large = _crops(rgb, boxes, 24), _crops(rgb, boxes, 48)
    # crops are transposed (N×W×H×3): a mirror image reverses axis 1
    r = run("rnet", np.ascontiguousarray(np.concatenate([small, small[:, ::-1]])))[1][:, 1]
    _, marks, o = run("onet", np.ascontiguousarray(np.concatenate([large, large[:, ::-1]])))
    n = len(boxes)
    score = np.minimum(np.minimum(r[:n], r[n:]), np.minimum(o[:n, 1], o[n:, 1]))
    return score, marks[:n]


def _whole(inner: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = inner
    half = WHOLE * min(w, h) / 2
    cx, cy = x + w / 2, y + h / 2
    return np.array([[cx - half, cy - half, cx + half, cy + half]])


def _enlarged(boxes: np.ndarray, k: float) -> np.ndarray:
    """Square boxes `k` times the side of `boxes` (x1, y1, x2, y2), same centres."""
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    half = k * np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) / 2
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1)
