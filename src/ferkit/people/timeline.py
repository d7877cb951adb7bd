"""Emotion timelines: for each person (track) of a video, the probability of every emotion over time, one panel per
track, in the same class colours as the annotated frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAX_PANELS = 24


def timeline_figure(
    series: dict[int, tuple[np.ndarray, np.ndarray]], labels: tuple[str, ...], title: str = ""
):
    """A matplotlib Figure with one panel per track: time (s) against each class's probability.

    Args:
        series: {track: (times N, probabilities N×C)}, as `Summarizer.series` gives them.
        labels: The C class names, in the columns' order.
        title: Shown above the first panel.
    """
    from matplotlib.figure import Figure

    from ferkit.predict.draw import colour  # here: ferkit.predict imports this package back

    if len(series) > MAX_PANELS:  # the people on screen longest; a crowd would make an unreadable, huge image
        keep = sorted(series, key=lambda t: -len(series[t][0]))[:MAX_PANELS]
        series = {t: series[t] for t in series if t in keep}
        title = f"{title} ({MAX_PANELS} people on screen longest)".strip()
    n = max(1, len(series))
    fig = Figure(figsize=(10, 0.9 + 1.7 * n), layout="constrained")
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    for ax, (track, (times, probs)) in zip(axes, series.items(), strict=False):
        times, probs = _break_gaps(times, probs)
        for j, name in enumerate(labels):
            ax.plot(
                times, probs[:, j], color=np.array(colour(name)) / 255, label=name, lw=1.3, marker=".", ms=2
            )
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"person #{track}")
        ax.grid(alpha=0.3)
    axes[0].legend(
        ncol=len(labels), loc="lower left", bbox_to_anchor=(0, 1.02), fontsize="small", frameon=False
    )
    if title:
        fig.suptitle(title)
    axes[-1].set_xlabel("time (s)")
    return fig


def _break_gaps(times: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NaN rows where a track was away for more than twice its usual frame interval, so lines do not bridge it."""
    if len(times) < 3:
        return times, probs
    step = np.median(np.diff(times))
    cut = np.flatnonzero(np.diff(times) > 2 * step) + 1
    if not len(cut):
        return times, probs
    nan_t = (times[cut - 1] + times[cut]) / 2
    return np.insert(times, cut, nan_t), np.insert(probs, cut, np.nan, axis=0)


def write_timeline(
    series: dict[int, tuple[np.ndarray, np.ndarray]],
    labels: tuple[str, ...],
    path: str | Path,
    title: str = "",
) -> Path:
    """`timeline_figure` saved as a PNG at `path` (written atomically)."""
    from ferkit._atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        timeline_figure(series, labels, title).savefig(tmp, format="png", dpi=100)
    return path
