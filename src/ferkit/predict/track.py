"""Face tracks across video frames: the same person keeps the same id while on screen, through short detector misses,
and (optionally) their class probabilities are smoothed over time.

Each track remembers its last box and its velocity. In a new frame every track's box is moved by its velocity over
the frames since it was last seen, and detections are assigned to tracks by the Hungarian method
(`scipy.optimize.linear_sum_assignment`) on a cost of (1 − IoU with the predicted box) + (centre distance / face
size). A pair is allowed when the IoU is at least `min_iou` or the centres are within `max_centre` face sizes,
and the two boxes' areas differ by less than 3×. So a face moving fast keeps its id, and two faces that cross
keep theirs (each is expected where its own motion takes it).

A track not seen for more than `max_gap` frames of the video ends (frames skipped by a stride count as time, not
as misses); if that face comes back it gets a new id. There is no
identity model: a person who leaves the frame for longer than the gap, or is hidden that long, is a new track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferkit.errors import FerkitError

Box = tuple[int, int, int, int]
DEFAULT_GAP_S = 0.5  # seconds a track survives without a detection


@dataclass
class _Track:
    id: int
    box: Box
    probs: np.ndarray
    last: int  # frame index it was last seen in
    velocity: tuple[float, float] = (0.0, 0.0)  # centre motion in pixels per frame

    def predicted(self, frame: int) -> tuple[float, float, float, float]:
        dt = frame - self.last
        x, y, w, h = self.box
        return x + self.velocity[0] * dt, y + self.velocity[1] * dt, w, h


def gap_frames(fps: float | None, seconds: float = DEFAULT_GAP_S) -> int:
    """Frames a track survives without a detection: `seconds` at the video's frame rate (30 when unknown)."""
    return max(1, round(seconds * (fps or 30.0)))


class Tracker:
    """Numbers the faces of one video across frames, with optional exponential smoothing of their probabilities.

    Args:
        alpha: Weight of the past in [0, 1) when smoothing the probabilities; 0 turns smoothing off (the faces
            are still tracked).
        max_gap: Frames a track survives without a detection (see `gap_frames`).
        min_iou: Overlap with the predicted box that always allows a match.
        max_centre: Centre distance, in face sizes, that allows a match without overlap (fast motion).
    """

    def __init__(self, alpha: float = 0.0, max_gap: int = 15, min_iou: float = 0.2, max_centre: float = 1.0):
        if not 0.0 <= alpha < 1.0:
            raise FerkitError(f"smoothing alpha must be in [0, 1), got {alpha}")
        if max_gap < 1:
            raise FerkitError(f"a track must survive at least 1 missed frame, got max_gap={max_gap}")
        self.alpha, self.max_gap = float(alpha), int(max_gap)
        self.min_iou, self.max_centre = float(min_iou), float(max_centre)
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._frame: int | None = (
            None  # the last frame seen, and the smallest step between frames (the stride)
        )
        self._step: int | None = None

    def update(self, frame: int, boxes: list[Box], probs: np.ndarray) -> tuple[list[int], np.ndarray]:
        """Assign this frame's faces to tracks.

        Args:
            frame: The frame's index in the video (frames skipped by a stride count as passed time).
            boxes: Face boxes (x, y, w, h) of the frame.
            probs: N×C probabilities of those faces.

        Returns:
            (track id of each face, N×C probabilities, smoothed when alpha > 0).
        """
        if self._frame is not None and frame > self._frame:
            self._step = min(
                self._step or frame - self._frame, frame - self._frame
            )  # the stride frames come at
        self._frame = frame
        step = self._step or 1
        self._tracks = [
            t for t in self._tracks if frame - t.last - step <= self.max_gap
        ]  # missed frames ≤ gap
        match = self._assign(frame, boxes)
        out = np.array(probs, dtype=np.float32, copy=True)
        ids = []
        for bi, box in enumerate(boxes):
            track = match.get(bi)
            if track is None:
                track = _Track(self._next_id, tuple(box), out[bi].copy(), frame)
                self._next_id += 1
                self._tracks.append(track)
            else:
                out[bi] = self.alpha * track.probs + (1.0 - self.alpha) * out[bi]
                _move(track, tuple(box), frame, out[bi])
            ids.append(track.id)
        return ids, out

    def _assign(self, frame: int, boxes: list[Box]) -> dict[int, _Track]:
        """{detection index: track} by minimum total cost over the allowed pairs."""
        if not boxes or not self._tracks:
            return {}
        from scipy.optimize import linear_sum_assignment

        cost = np.array([[self._cost(t.predicted(frame), b) for b in boxes] for t in self._tracks])
        rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e9))
        return {int(c): self._tracks[r] for r, c in zip(rows, cols, strict=True) if np.isfinite(cost[r, c])}

    def _cost(self, pred: tuple[float, float, float, float], box: Box) -> float:
        px, py, pw, ph = pred
        x, y, w, h = box
        if max(pw * ph, w * h) > 3 * max(1.0, min(pw * ph, w * h)):
            return np.inf  # another face size: not the same face
        ix = max(0.0, min(px + pw, x + w) - max(px, x))
        iy = max(0.0, min(py + ph, y + h) - max(py, y))
        inter = ix * iy
        overlap = inter / (pw * ph + w * h - inter) if inter > 0 else 0.0
        size = max(1.0, np.sqrt(w * h))
        dist = float(np.hypot(px + pw / 2 - x - w / 2, py + ph / 2 - y - h / 2)) / size
        if overlap < self.min_iou and dist > self.max_centre:
            return np.inf
        return (1.0 - overlap) + dist


def _move(track: _Track, box: Box, frame: int, probs: np.ndarray) -> None:
    """A matched track takes the new box, a blend of its old and newly measured velocity, and the probabilities."""
    dt = max(1, frame - track.last)
    (ox, oy, ow, oh), (x, y, w, h) = track.box, box
    measured = ((x + w / 2 - ox - ow / 2) / dt, (y + h / 2 - oy - oh / 2) / dt)
    track.velocity = tuple(0.5 * v + 0.5 * m for v, m in zip(track.velocity, measured, strict=True))
    track.box, track.last, track.probs = box, frame, probs.copy()
