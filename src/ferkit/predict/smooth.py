"""Temporal smoothing of a video's class probabilities, one exponential average per face track.

A face's probabilities in a frame are blended with its track's smoothed probabilities of the frame before:
`alpha * past + (1 - alpha) * now`. A track's first frame is taken as it is. The smoother knows track ids only
(`ferkit.predict.track` gives them), so it runs wherever a track's frames arrive in order, apart from detection.
"""

from __future__ import annotations

import numpy as np

from ferkit.errors import FerkitError


class Smoother:
    """Exponential smoothing of the probabilities of each track of one video.

    Args:
        alpha: Weight of the past in [0, 1); 0 leaves the probabilities as they are.
    """

    def __init__(self, alpha: float = 0.0) -> None:
        if not 0.0 <= alpha < 1.0:
            raise FerkitError(f"smoothing alpha must be in [0, 1), got {alpha}")
        self.alpha = float(alpha)
        self._past: dict[int, np.ndarray] = {}  # track id -> its last smoothed probabilities

    def update(self, ids: list[int], probs: np.ndarray) -> np.ndarray:
        """The N×C probabilities of one frame's faces (track `ids`, in frame order), smoothed: float32, a copy."""
        out = np.array(probs, dtype=np.float32, copy=True)
        for i, track in enumerate(ids):
            past = self._past.get(track)
            if past is not None:
                out[i] = self.alpha * past + (1.0 - self.alpha) * out[i]
            self._past[track] = out[i].copy()
        return out
