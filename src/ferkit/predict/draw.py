"""Drawing results on an image: face boxes, the top label with its confidence, and per-class probability bars."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ferkit._deps import cv2

if TYPE_CHECKING:
    from ferkit.predict.results import FaceResult

# One colour per canonical label (RGB); other labels get a grey.
COLOURS: dict[str, tuple[int, int, int]] = {
    "angry": (230, 50, 50),
    "disgust": (120, 170, 40),
    "fear": (150, 80, 200),
    "happy": (250, 200, 30),
    "sad": (60, 110, 230),
    "surprise": (250, 130, 30),
    "neutral": (190, 190, 190),
    "contempt": (170, 110, 70),
}


def colour(label: str) -> tuple[int, int, int]:
    """The drawing colour of a label."""
    return COLOURS.get(label, (200, 200, 200))


def annotate(
    image: np.ndarray, faces: list[FaceResult], bars: bool = True, fps: float | None = None
) -> np.ndarray:
    """A copy of an RGB image with every face drawn.

    Args:
        image: RGB uint8 H×W×3 (the frame the faces were found in, possibly a reduced decode of it).
        faces: Results whose boxes are in `image` pixels.
        bars: Also draw a panel of per-class probability bars beside each face.
        fps: When given, write "N.N FPS" in the top-left corner (live display).
    """
    cv = cv2()
    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    unit = max(0.35, min(h, w) / 900.0)  # font scale
    thick = max(1, round(unit * 2))
    boxes = [tuple(int(v) for v in f.box) for f in faces]
    for face in faces:
        x, y, bw, bh = (int(v) for v in face.box)
        col = colour(face.label)
        cv.rectangle(out, (x, y), (x + bw, y + bh), col, thick)
        who = f"#{face.track} " if face.track is not None else ""
        _label(out, f"{who}{face.label} {face.confidence:.0%}", (x, y), col, unit, thick)
    if bars:  # after every box, so that a panel never hides another face's box
        for face in faces:
            _bars(out, face, boxes, unit)
    if fps is not None:
        _label(out, f"{fps:.1f} FPS", (0, int(30 * unit) + 4), (255, 255, 255), unit, thick)
    return out


def _label(
    img: np.ndarray, text: str, at: tuple[int, int], col: tuple[int, int, int], unit: float, thick: int
):
    cv = cv2()
    (tw, th), base = cv.getTextSize(text, cv.FONT_HERSHEY_SIMPLEX, unit, thick)
    x, y = at
    y = max(y, th + base + 2)
    cv.rectangle(img, (x, y - th - base - 2), (x + tw + 2, y), col, -1)
    ink = (0, 0, 0) if sum(col) > 380 else (255, 255, 255)
    cv.putText(img, text, (x + 1, y - base), cv.FONT_HERSHEY_SIMPLEX, unit, ink, thick, cv.LINE_AA)


def _bars(img: np.ndarray, face: FaceResult, boxes: list[tuple[int, int, int, int]], unit: float) -> None:
    """A dark panel beside the box with one bar per class; skipped when it would cover another face."""
    cv = cv2()
    names = list(face.probs)
    scale = unit * 0.8
    row = int(22 * scale) + 4
    name_w = max(cv.getTextSize(n, cv.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for n in names) + 6
    bar_w = int(name_w * 1.3)
    pw, ph = name_w + bar_w + 6, row * len(names) + 4
    h, w = img.shape[:2]
    spot = _panel_spot(tuple(int(v) for v in face.box), (pw, ph), (w, h), boxes)
    if spot is None:
        return
    px, py = spot
    img[py : py + ph, px : px + pw] = (img[py : py + ph, px : px + pw] * 0.3).astype(np.uint8)
    for i, name in enumerate(names):
        top = py + 2 + i * row
        cv.putText(
            img, name, (px + 3, top + row - 6), cv.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1, cv.LINE_AA
        )
        length = int(round(bar_w * float(face.probs[name])))
        if length > 0:
            cv.rectangle(img, (px + name_w, top + 3), (px + name_w + length, top + row - 3), colour(name), -1)


def _panel_spot(
    box: tuple[int, int, int, int],
    panel: tuple[int, int],
    image: tuple[int, int],
    boxes: list[tuple[int, int, int, int]],
) -> tuple[int, int] | None:
    """Top-left corner for the panel: right of the box, else left, else below; None if each covers a face."""
    x, y, bw, bh = box
    pw, ph = panel
    w, h = image
    if pw > w or ph > h:
        return None
    for px, py in ((x + bw + 4, y), (x - pw - 4, y), (x, y + bh + 4)):
        px, py = min(max(px, 0), w - pw), min(max(py, 0), h - ph)
        rect = (px, py, pw, ph)
        if all(other == box or not _overlap(rect, other) for other in boxes):
            return px, py
    return None


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
