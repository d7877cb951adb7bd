"""Temporal smoothing for video: faces matched frame to frame by IoU, probabilities averaged exponentially."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferkit.faces.face import iou


@dataclass
class _Track:
    id: int
    box: tuple[int, int, int, int]
    probs: np.ndarray
    missed: int = 0


class IouTracker:
    """Greedy IoU tracker with exponential smoothing of class probabilities.

    Each frame, detections are matched to the live tracks of the previous frames, highest IoU first (a pair
    needs IoU ≥ `min_iou`). A matched track's probabilities become `alpha · previous + (1 − alpha) · current`;
    an unmatched detection starts a new track; a track unmatched for more than `max_missed` frames ends.

    Args:
        alpha: Weight of the past in [0, 1); 0 turns smoothing off (tracks are still numbered).
        min_iou: Smallest overlap that continues a track.
        max_missed: Frames a track survives without a match.
    """

    def __init__(self, alpha: float, min_iou: float = 0.3, max_missed: int = 5) -> None:
        if not 0.0 <= alpha < 1.0:
            from ferkit.errors import FerkitError

            raise FerkitError(f"smoothing alpha must be in [0, 1), got {alpha}")
        self.alpha = float(alpha)
        self.min_iou = float(min_iou)
        self.max_missed = int(max_missed)
        self._tracks: list[_Track] = []
        self._next_id = 0

    def reset(self) -> None:
        """Forget every track (a new video starts)."""
        self._tracks = []
        self._next_id = 0

    def update(
        self, boxes: list[tuple[int, int, int, int]], probs: np.ndarray
    ) -> tuple[list[int], np.ndarray]:
        """Match this frame's faces to the tracks.

        Args:
            boxes: Face boxes (x, y, w, h) of the frame.
            probs: N×C probabilities of those faces.

        Returns:
            (track id of each face, smoothed N×C probabilities).
        """
        pairs = sorted(
            ((iou(t.box, b), ti, bi) for ti, t in enumerate(self._tracks) for bi, b in enumerate(boxes)),
            reverse=True,
        )
        match: dict[int, int] = {}
        used: set[int] = set()
        for overlap, ti, bi in pairs:
            if overlap < self.min_iou:
                break
            if ti not in used and bi not in match:
                match[bi] = ti
                used.add(ti)
        out = np.array(probs, dtype=np.float32, copy=True)
        ids = []
        for bi, box in enumerate(boxes):
            if bi in match:
                track = self._tracks[match[bi]]
                out[bi] = self.alpha * track.probs + (1.0 - self.alpha) * out[bi]
                track.box, track.probs, track.missed = box, out[bi].copy(), 0
            else:
                track = _Track(self._next_id, box, out[bi].copy())
                self._next_id += 1
                self._tracks.append(track)
            ids.append(track.id)
        matched_ids = set(ids)
        for track in self._tracks:
            if track.id not in matched_ids:
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]
        return ids, out
