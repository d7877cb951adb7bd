"""The per-person outputs of `ferkit predict` on videos: `--summary FILE`, `--timeline DIR` and `--report DIR`.

`PeopleWriter` takes results one at a time like the other writers and writes everything when it is closed: the
summary table (JSON or CSV), one timeline PNG per video, and an HTML report with the timeline, the table and, for
each person, the annotated frame where each of their most frequent emotions was most confident.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from ferkit.predict.results import FrameResult
from ferkit.predict.summary import Summarizer, write_summary
from ferkit.predict.timeline import write_timeline
from ferkit.predict.writers import file_stem, output_folder

THUMB_HEIGHT = 160  # pixels of a report snapshot


class PeopleWriter:
    """Collects tracked faces; on close writes the summary, the timelines and the report that were asked for."""

    def __init__(
        self, summary: str | Path | None, timeline: str | Path | None, report: str | Path | None
    ) -> None:
        self.summary_path = Path(summary) if summary else None
        self.timeline_dir = output_folder(timeline, "--timeline") if timeline else None
        self.report_dir = output_folder(report, "--report") if report else None
        if self.summary_path and self.summary_path.is_dir():
            from ferkit.errors import FerkitError

            raise FerkitError(
                f"--summary {self.summary_path}: that is a folder; give a .json or .csv file name"
            )
        if self.summary_path:
            output_folder(self.summary_path.parent, "--summary")  # checked now, not after the whole video
        self._stems: dict[str, str] = {}
        self.acc = Summarizer()
        self.written: list[Path] = []
        self._shots: dict[tuple[str, int, str], tuple[float, np.ndarray, str]] = {}

    def stem(self, source: str) -> str:
        """A file stem for a source's outputs, unique within the run (two clip.mp4 in two folders differ)."""
        if source not in self._stems:
            base, n = file_stem(source), 1
            name = base
            while name in self._stems.values():
                n += 1
                name = f"{base}_{n}"
            self._stems[source] = name
        return self._stems[source]

    def write(self, result: FrameResult) -> None:
        self.acc.add(result)
        if self.report_dir is not None and result.image is not None and result.fps is not None:
            self._keep_snapshots(result)

    def _keep_snapshots(self, result: FrameResult) -> None:
        """For each (track, label), the annotated face of the frame where that label was most confident."""
        plotted = None
        for face in result.faces:
            key = (result.source, face.track, face.label)
            if face.track is None or face.confidence <= self._shots.get(key, (-1.0,))[0]:
                continue
            plotted = result.plot(bars=False) if plotted is None else plotted
            k = plotted.shape[1] / (result.size[0] if result.size else plotted.shape[1])
            caption = f"{result.timestamp:.1f} s: {face.label} {face.confidence:.0%}"
            self._shots[key] = (face.confidence, _thumb(plotted, face.box, k), caption)

    def close(self, commit: bool = True) -> None:
        if not commit:
            return
        labels = self.acc.labels
        if self.summary_path:
            self.written.append(write_summary(self.acc.summaries(), self.summary_path, labels))
        for folder in (self.timeline_dir, self.report_dir):
            if folder is None:
                continue
            for source in self.acc.sources():
                path = folder / f"{self.stem(source)}.timeline.png"
                self.written.append(write_timeline(self.acc.series(source), labels, path, title=source))
        if self.report_dir is not None:
            self.written.append(self._write_report())

    def _write_report(self) -> Path:
        from ferkit._atomic import atomic_path

        thumbs = output_folder(self.report_dir / "people", "--report")
        parts = [
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>ferkit: who felt what</title>"
            f"<style>{CSS}</style></head><body><h1>Who felt what, when</h1>"
        ]
        summaries = self.acc.summaries()
        for source in self.acc.sources():
            rows = [s for s in summaries if s.source == source]
            parts.append(f"<h2>{html.escape(source)}</h2>")
            parts.append(
                f"<img class='timeline' src='{self.stem(source)}.timeline.png' alt='emotion timeline'>"
            )
            parts.append(_table(rows, self.acc.labels))
            for s in rows:
                parts.append(self._person_html(s, thumbs))
        parts.append("</body></html>")
        path = self.report_dir / "report.html"
        with atomic_path(path) as tmp:
            tmp.write_text("\n".join(parts), encoding="utf-8")
        return path

    def _person_html(self, s, thumbs: Path) -> str:
        from PIL import Image

        top = sorted(s.share, key=lambda n: -s.share[n])[:3]
        cells = []
        for label in top:
            shot = self._shots.get((s.source, s.track, label))
            if shot is None:
                continue
            name = f"{self.stem(s.source)}_p{s.track}_{label}.jpg"
            Image.fromarray(shot[1]).save(thumbs / name, quality=90)
            cells.append(
                f"<figure><img src='people/{name}'><figcaption>{html.escape(shot[2])}</figcaption></figure>"
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
