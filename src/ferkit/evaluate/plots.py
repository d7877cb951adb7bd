"""Evaluation figures (PNG): confusion matrices, per-class bars, reliability diagram, confident mistakes.

matplotlib is imported inside each function and drawn with the Agg canvas (no display, no pyplot state).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferkit.evaluate.metrics import Metrics


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _matrix_panel(ax, m: np.ndarray, labels: tuple[str, ...], title: str, fmt: str) -> None:
    ax.imshow(m, cmap="Blues", vmin=0, vmax=max(float(m.max()), 1e-9))
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, labels, rotation=45, ha="right")
    ax.set_yticks(ticks, labels)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    if len(labels) <= 12:
        top = float(m.max()) or 1.0
        for (i, j), v in np.ndenumerate(m):
            ax.text(
                j,
                i,
                format(v, fmt),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if v > top / 2 else "k",
            )


def confusion_png(metrics: Metrics, path: str | Path) -> Path:
    """Two panels: the confusion matrix in counts, and row-normalised (recall on the diagonal)."""
    cm = np.asarray(metrics.confusion_matrix, dtype=np.float64)
    rows = np.asarray([metrics.per_class[n].support for n in metrics.labels], np.float64)
    norm = cm / np.maximum(rows, 1)[:, None]
    fig = _figure(12, 5.2)
    a1, a2 = fig.subplots(1, 2)
    _matrix_panel(a1, cm.astype(np.int64), metrics.labels, "counts", "d")
    _matrix_panel(a2, norm, metrics.labels, "row-normalised (fraction of true class)", ".2f")
    return _save(fig, Path(path))


def per_class_png(metrics: Metrics, path: str | Path) -> Path:
    """Grouped bars of precision, recall and F1 per class (support in the tick labels)."""
    labels = metrics.labels
    x = np.arange(len(labels))
    fig = _figure(max(6, 1.1 * len(labels) + 2), 4)
    ax = fig.subplots()
    for k, key in enumerate(("precision", "recall", "f1")):
        vals = [getattr(metrics.per_class[n], key) for n in labels]
        ax.bar(x + (k - 1) * 0.27, vals, width=0.27, label=key)
    ax.set_xticks(x, [f"{n}\n(n={metrics.per_class[n].support})" for n in labels])
    ax.set(ylim=(0, 1.15), ylabel="fraction", title="per-class precision / recall / F1")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", ncol=3, fontsize=8)
    return _save(fig, Path(path))


def reliability_png(metrics: Metrics, path: str | Path) -> Path:
    """Reliability diagram: accuracy per confidence bin against the diagonal, with the bin counts below."""
    rel = metrics.reliability
    edges = np.asarray(rel.edges)
    mids, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    count = np.asarray(rel.count)
    fig = _figure(5.5, 6)
    a1, a2 = fig.subplots(2, 1, height_ratios=(3, 1), sharex=True)
    used = count > 0
    a1.bar(mids[used], np.asarray(rel.accuracy)[used], width=width[used], edgecolor="k", label="accuracy")
    a1.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    a1.plot(mids[used], np.asarray(rel.confidence)[used], "o", color="C3", ms=4, label="mean confidence")
    a1.set(ylim=(0, 1), ylabel="accuracy", title=f"reliability (ECE {metrics.ece:.3f}, {len(count)} bins)")
    a1.legend(loc="upper left", fontsize=8)
    a2.bar(mids, count, width=width, color="C0", edgecolor="k")
    a2.set(xlim=(0, 1), xlabel="confidence (max probability)", ylabel="predictions")
    return _save(fig, Path(path))


def mistakes_png(result, path: str | Path, k: int = 24, cols: int = 6) -> Path:
    """A grid of the `k` most confident mistakes: the crop the model saw, true → predicted (confidence)."""
    idx = result.confident_mistakes(k)
    names = result.metrics.labels
    rows = max(1, -(-len(idx) // cols))
    fig = _figure(2 * cols, 2.5 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, cols)).reshape(-1)
    for ax in axes:
        ax.axis("off")
    if len(idx) == 0:
        axes[0].text(0, 0.5, "no mistakes", fontsize=14)
    pred = result.predictions
    for ax, i in zip(axes, idx, strict=False):
        ax.imshow(result.images[i], cmap="gray", vmin=0, vmax=255)
        conf = float(result.probs[i].max())
        ax.set_title(f"{names[result.y_true[i]]} → {names[pred[i]]}\n{conf:.2f}", fontsize=9)
    fig.suptitle("most confident mistakes: true → predicted (confidence)")
    return _save(fig, Path(path))
