"""The shipped-ensemble study lines up a 7-class model with 8-class ones on FER+ valid, whose contempt faces the
7-class evaluation leaves out."""

from __future__ import annotations

import numpy as np
from studies import shipped_ensemble


def test_a_seven_class_model_is_aligned_with_eight_class_ones(monkeypatch):
    y8 = np.array([0, 7, 1, 7, 2])  # FER+ order; 7 is contempt
    eight = np.eye(8)[y8]
    seven = np.eye(8)[[0, 1, 2]]  # the 7-class model saw only the three non-contempt faces

    def fake(model, key):
        return (eight, y8) if model == "a" else (seven, y8[y8 != 7])

    monkeypatch.setattr(shipped_ensemble, "probabilities", fake)
    probs, y = shipped_ensemble.aligned(["a", "b"], "ferplus_valid")
    assert np.array_equal(y, y8) and all(p.shape == (5, 8) for p in probs)
    assert np.array_equal(probs[1][[0, 2, 4]], seven)
    assert np.allclose(probs[1][[1, 3], :7], 1 / 7) and np.all(probs[1][[1, 3], 7] == 0)
    assert shipped_ensemble.scores(np.log(np.clip(probs[0], 1e-6, 1)), y)[0] == 1.0
