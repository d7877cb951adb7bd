"""The HTML report of who felt what, when: for each video its timeline, the per-person table and, for each person,
the annotated face of the frame where each of their most frequent emotions was most confident."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ferkit.people.summary import Summarizer, TrackSummary

if TYPE_CHECKING:  # ferkit.predict imports this package back (its sinks write these files)
    from ferkit.predict.results import FrameResult

THUMB_HEIGHT = 160  # pixels of a report snapshot


class Snapshots:
    """For each (source, track, label), the annotated face of the frame where that label was most confident."""

    def __init__(self) -> None:
        self._shots: dict[tuple[str, int, str], tuple[float, np.ndarray, str]] = {}

    def add(self, result: FrameResult) -> None:
        """Take the faces of a video result that still holds its image (others are ignored)."""
        if result.image is None or result.fps is None:
            return
        plotted = None
        for face in result.faces:
            key = (result.source, face.track, face.label)
            if face.track is None or face.confidence <= self._shots.get(key, (-1.0,))[0]:
                continue
            plotted = result.plot(bars=False) if plotted is None else plotted
            k = plotted.shape[1] / (result.size[0] if result.size else plotted.shape[1])
            caption = f"{result.timestamp:.1f} s: {face.label} {face.confidence:.0%}"
            self._shots[key] = (face.confidence, _thumb(plotted, face.box, k), caption)

    def get(self, source: str, track: int, label: str) -> tuple[float, np.ndarray, str] | None:
        """(confidence, RGB thumbnail, caption), or None when that person never showed that label."""
        return self._shots.get((source, track, label))


def write_report(
    folder: Path, thumbs: Path, people: Summarizer, shots: Snapshots, stem: Callable[[str], str]
) -> Path:
    """`folder`/report.html, its snapshots as JPEGs in `thumbs` (a subfolder); `stem(source)` names a video's
    timeline PNG (`<stem>.timeline.png`, beside the report) and its snapshots."""
    from ferkit._atomic import atomic_path

    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>ferkit: who felt what</title>"
        f"<style>{CSS}</style></head><body><h1>Who felt what, when</h1>"
    ]
    summaries = people.summaries()
    for source in people.sources():
        rows = [s for s in summaries if s.source == source]
        parts.append(f"<h2>{html.escape(source)}</h2>")
        parts.append(f"<img class='timeline' src='{stem(source)}.timeline.png' alt='emotion timeline'>")
        parts.append(_table(rows, people.labels))
        parts += [_person_html(s, shots, thumbs, stem(s.source)) for s in rows]
    parts.append("</body></html>")
    path = folder / "report.html"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(parts), encoding="utf-8")
    return path


def _person_html(s: TrackSummary, shots: Snapshots, thumbs: Path, stem: str) -> str:
    from PIL import Image

    top = sorted(s.share, key=lambda n: -s.share[n])[:3]
    cells = []
    for label in top:
        shot = shots.get(s.source, s.track, label)
        if shot is None:
            continue
        name = f"{stem}_p{s.track}_{label}.jpg"
        Image.fromarray(shot[1]).save(thumbs / name, quality=90)
        cells.append(
            f"<figure><img src='{thumbs.name}/{name}'><figcaption>{html.escape(shot[2])}</figcaption></figure>"
        )
    return f"<h3>person #{s.track}: mostly {s.dominant}</h3><div class='shots'>{''.join(cells)}</div>"


def _thumb(image: np.ndarray, box, k: float) -> np.ndarray:
    """The face (with room for its label above it) cut from an annotated frame, THUMB_HEIGHT pixels high."""
    from PIL import Image

    x, y, w, h = (v * k for v in box)
    top, bottom = max(0, int(y - 0.45 * h)), min(image.shape[0], int(y + 1.15 * h))
    left, right = max(0, int(x - 0.3 * w)), min(image.shape[1], int(x + 1.3 * w))
    crop = Image.fromarray(image[top:bottom, left:right])
    scale = THUMB_HEIGHT / max(1, crop.height)
    return np.asarray(crop.resize((max(1, round(crop.width * scale)), THUMB_HEIGHT)))


def _table(rows, labels) -> str:
    head = (
        "<tr><th>person</th><th>on screen</th><th>first – last (s)</th><th>frames</th><th>dominant</th>"
        + "".join(f"<th>{html.escape(n)}</th>" for n in labels)
        + "</tr>"
    )
    body = [
        f"<tr><td>#{s.track}</td><td>{s.seconds:.1f} s</td><td>{s.first:.1f} – {s.last:.1f}</td><td>{s.frames}</td>"
        f"<td>{html.escape(s.dominant)}</td>"
        + "".join(f"<td>{s.share[n]:.0%}</td>" for n in labels)
        + "</tr>"
        for s in rows
    ]
    caption = "<caption>share of each person's time per emotion (top label of each frame)</caption>"
    return f"<table>{caption}{head}{''.join(body)}</table>"


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}caption{text-align:left;color:#555}
img.timeline{max-width:100%}.shots{display:flex;gap:1em;flex-wrap:wrap}figure{margin:0}
figcaption{font-size:.85em;color:#333}"""
