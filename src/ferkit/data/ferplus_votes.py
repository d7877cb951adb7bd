"""FER+ label rules from the FER+ reference code (Barsoum et al. 2016), on the 10 vote columns
neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.

Every mode first removes single votes (outliers). A sample is dropped when the processed distribution peaks on
unknown or NF; the kept target is renormalised over the 8 emotions.
- majority: the top emotion when it holds more than half of the votes, else dropped.
- probability / crossentropy: the top emotions (at most 3) until 75 % of the votes are covered; dropped when
  they hold ≤ 50 % of the votes.
- multi_target: every emotion with at least 30 % of the votes; dropped when those hold ≤ 50 % of the votes
  (microsoft/FERPlus src/ferplus.py, `_process_data`; an early version of that file had a for/else bug that
  sent every sample to unknown).
"""

from __future__ import annotations

import numpy as np

from ferkit.constants import LABEL_MODES as MODES

N_EMOTIONS = 8


def process_votes(votes: np.ndarray, mode: str) -> np.ndarray | None:
    """The target distribution over the 8 emotions for one row of 10 votes, or None when the sample is dropped."""
    raw = np.where(votes <= 1.0, 0.0, votes.astype(np.float64))
    total = raw.sum()
    if total <= 0:
        return None
    emotion = np.zeros_like(raw)
    if mode == "majority":
        top = int(np.argmax(raw))
        if raw[top] <= 0.5 * total:
            return None
        emotion[top] = raw[top]
    elif mode in ("probability", "crossentropy"):
        emotion = _top_votes(raw.copy(), total)
        if emotion is None:
            return None
    elif mode == "multi_target":
        keep = raw >= 0.3 * total
        emotion[keep] = raw[keep]
        if emotion.sum() <= 0.5 * total:
            return None
    else:
        raise ValueError(f"unknown FER+ label mode {mode!r}; known: {', '.join(MODES)}")
    if int(np.argmax(emotion)) >= N_EMOTIONS:
        return None
    emotion = emotion[:N_EMOTIONS]
    return emotion / emotion.sum()


def _top_votes(raw: np.ndarray, total: float) -> np.ndarray | None:
    emotion = np.zeros_like(raw)
    part, count, valid = 0.0, 0, True
    while part < 0.75 * total and count < 3 and valid:
        top = raw.max()
        for i in range(raw.size):
            if raw[i] == top:
                emotion[i] = top
                raw[i] = 0
                part += emotion[i]
                count += 1
                if i >= N_EMOTIONS:  # unknown or NF tie with the top emotions
                    valid = False
                    if emotion.sum() > top:
                        emotion[i] = 0
                        count -= 1
                    break
    if emotion.sum() <= 0.5 * total or count > 3:
        return None
    return emotion
