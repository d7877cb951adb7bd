"""Face tracks across video frames: the same person keeps the same id while on screen, through short detector misses.
The tracker sees boxes only; smoothing a track's probabilities over time is `ferkit.predict.smooth`.

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
from ferkit.predict.detected import DetectedFrame
from ferkit.predict.smooth import Smoother

Box = tuple[int, int, int, int]
DEFAULT_GAP_S = 0.5  # seconds a track survives without a detection


@dataclass
class _Track:
    id: int
    box: Box
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
    """Numbers the faces of one video across frames from their boxes alone.

    Args:
        max_gap: Frames a track survives without a detection (see `gap_frames`).
        min_iou: Overlap with the predicted box that always allows a match.
        max_centre: Centre distance, in face sizes, that allows a match without overlap (fast motion).
    """

    def __init__(self, max_gap: int = 15, min_iou: float = 0.2, max_centre: float = 1.0):
        if max_gap < 1:
            raise FerkitError(f"a track must survive at least 1 missed frame, got max_gap={max_gap}")
        self.max_gap = int(max_gap)
        self.min_iou, self.max_centre = float(min_iou), float(max_centre)
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._frame: int | None = None  # the last frame seen
        self._step: int | None = None  # the smallest step between frames seen (the stride)

    def update(self, frame: int, boxes: list[Box]) -> list[int]:
        """The track id of each face of this frame (ids count from 1 and are never reused).

        Args:
            frame: The frame's index in the video (frames skipped by a stride count as passed time).
            boxes: Face boxes (x, y, w, h) of the frame.
        """
        if self._frame is not None and frame > self._frame:
            self._step = min(self._step or frame - self._frame, frame - self._frame)
        self._frame = frame
        step = self._step or 1
        self._tracks = [
            t for t in self._tracks if frame - t.last - step <= self.max_gap
        ]  # missed frames ≤ gap
        match = self._assign(frame, boxes)
        ids = []
        for bi, box in enumerate(boxes):
            track = match.get(bi)
            if track is None:
                track = _Track(self._next_id, tuple(box), frame)
                self._next_id += 1
                self._tracks.append(track)
            else:
                _move(track, tuple(box), frame)
            ids.append(track.id)
        return ids

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


def _move(track: _Track, box: Box, frame: int) -> None:
    """A matched track takes the new box and a blend of its old and newly measured velocity."""
    dt = max(1, frame - track.last)
    (ox, oy, ow, oh), (x, y, w, h) = track.box, box
    measured = ((x + w / 2 - ox - ow / 2) / dt, (y + h / 2 - oy - oh / 2) / dt)
    track.velocity = tuple(0.5 * v + 0.5 * m for v, m in zip(track.velocity, measured, strict=True))
    track.box, track.last = box, frame


class VideoTracks:
    """The tracks of the videos and webcams in one stream of frames: a `Tracker` per source, made at its first
    frame, and, with `smooth` > 0, a `Smoother` per source. Still images and failed frames get no track.

    Args:
        smooth: Smoothing alpha (see `ferkit.predict.smooth.Smoother`); 0 leaves probabilities as they are.
        gap_s: Seconds a track survives without a detection (`gap_frames` at each video's frame rate).
    """

    def __init__(self, smooth: float = 0.0, gap_s: float = DEFAULT_GAP_S) -> None:
        Smoother(smooth)  # checks alpha
        self.smooth, self.gap_s = float(smooth), float(gap_s)
        self._trackers: dict[str, Tracker] = {}
        self._smoothers: dict[str, Smoother] = {}

    def ids(self, detected: DetectedFrame) -> list[int | None]:
        """Track ids of a detected frame's faces (None for each face of a still image or a failed frame)."""
        frame = detected.frame
        if not detected.tracked:
            return [None] * len(detected.faces)
        tracker = self._trackers.get(frame.source)
        if tracker is None:
            tracker = self._trackers[frame.source] = Tracker(gap_frames(frame.fps, self.gap_s))
        return tracker.update(frame.index, [f.box for f in detected.faces])

    def smoothed(self, source: str, ids: list[int | None], probs: np.ndarray) -> np.ndarray:
        """One frame's probabilities smoothed along their tracks; as they are without tracks or smoothing."""
        if not self.smooth or not ids or ids[0] is None:
            return probs
        smoother = self._smoothers.get(source)
        if smoother is None:
            smoother = self._smoothers[source] = Smoother(self.smooth)
        return smoother.update(ids, probs)
