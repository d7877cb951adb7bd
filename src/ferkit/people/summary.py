"""Who felt what, when: per-person summaries of video results, built as the results stream by.

`summarize(results)` gives one `TrackSummary` per source and track: when the person was first and last on screen,
for how long, the dominant emotion, the mean probabilities and the share of time per emotion. `Summarizer` does
the same one result at a time (so a long video is never held in memory) and keeps each track's probabilities
over time for the timeline plot.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ferkit._names import text_name

if TYPE_CHECKING:  # ferkit.predict imports this package back (its sinks write these files)
    from ferkit.predict.results import FrameResult


@dataclass(frozen=True)
class TrackSummary:
    """One person (track) in one video.

    Attributes:
        source: The video (or webcam) the track is in.
        track: Its id (`FaceResult.track`).
        first, last: Timestamps (seconds) of the first and last frame the face was found in.
        seconds: Time on screen: frames found × the time one processed frame stands for (stride / fps).
        frames: Frames the face was found in.
        dominant: The emotion that was the top label for the largest share of those frames.
        mean_probs: Mean probability of every class over those frames.
        share: Share of those frames in which each class was the top label (sums to 1).
    """

    source: str
    track: int
    first: float
    last: float
    seconds: float
    frames: int
    dominant: str
    mean_probs: dict[str, float]
    share: dict[str, float]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["source"] = text_name(self.source)
        for key in ("first", "last", "seconds"):
            d[key] = round(d[key], 4)
        d["mean_probs"] = {k: round(v, 6) for k, v in self.mean_probs.items()}
        d["share"] = {k: round(v, 6) for k, v in self.share.items()}
        return d


@dataclass
class _Series:
    """One track's history: timestamps and probabilities of the frames it was found in."""

    times: list[float] = field(default_factory=list)
    probs: list[np.ndarray] = field(default_factory=list)


class Summarizer:
    """Collects tracked faces one result at a time; `summaries()` and `series()` read what it has seen."""

    def __init__(self) -> None:
        self.labels: tuple[str, ...] = ()
        self._tracks: dict[tuple[str, int], _Series] = {}
        self._last: dict[str, int] = {}  # last processed frame per source, and the smallest step (the stride)
        self._step: dict[str, int] = {}
        self._fps: dict[str, float] = {}

    def add(self, result: FrameResult) -> None:
        """Take one result; still images and faces without a track are ignored."""
        if result.fps is None or not result.ok:
            return
        self._fps[result.source] = float(result.fps)
        last = self._last.get(result.source)
        if last is not None and result.frame > last:
            step = result.frame - last
            self._step[result.source] = min(self._step.get(result.source, step), step)
        self._last[result.source] = result.frame
        t = result.timestamp
        for face in result.faces:
            if face.track is None:
                continue
            if not self.labels:
                self.labels = tuple(face.probs)
            series = self._tracks.setdefault((result.source, face.track), _Series())
            series.times.append(t)
            series.probs.append(np.array([face.probs[n] for n in self.labels], np.float64))

    def series(self, source: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """{track: (times N, probabilities N×C)} of one source, tracks in order of appearance."""
        return {
            track: (np.array(s.times), np.stack(s.probs))
            for (src, track), s in self._tracks.items()
            if src == source
        }

    def sources(self) -> list[str]:
        return list(dict.fromkeys(src for src, _ in self._tracks))

    def summaries(self) -> list[TrackSummary]:
        return [self._summary(src, track, s) for (src, track), s in self._tracks.items()]

    def _summary(self, source: str, track: int, s: _Series) -> TrackSummary:
        probs = np.stack(s.probs)
        top = np.bincount(probs.argmax(1), minlength=len(self.labels)) / len(probs)
        mean = probs.mean(0)
        dominant = max(range(len(self.labels)), key=lambda i: (top[i], mean[i]))
        stride = self._step.get(source, 1)
        return TrackSummary(
            source=source,
            track=track,
            first=float(min(s.times)),
            last=float(max(s.times)),
            seconds=len(s.times) * stride / self._fps[source],
            frames=len(s.times),
            dominant=self.labels[dominant],
            mean_probs={n: float(v) for n, v in zip(self.labels, mean, strict=True)},
            share={n: float(v) for n, v in zip(self.labels, top, strict=True)},
        )


def summarize(results: Iterable[FrameResult]) -> list[TrackSummary]:
    """One `TrackSummary` per source and track of video / webcam results (still images have no tracks)."""
    acc = Summarizer()
    for result in results:
        acc.add(result)
    return acc.summaries()


def write_summary(summaries: list[TrackSummary], path: str | Path, labels: tuple[str, ...]) -> Path:
    """The summaries as JSON (`.json`) or CSV (any other suffix): one row per source and track."""
    from ferkit._atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".json":
            tmp.write_text(json.dumps([s.to_dict() for s in summaries], indent=1, allow_nan=False) + "\n")
        else:
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(
                    ["source", "track", "first_s", "last_s", "seconds", "frames", "dominant"]
                    + [f"mean_{n}" for n in labels]
                    + [f"share_{n}" for n in labels]
                )
                for s in summaries:
                    head = [
                        s.source,
                        s.track,
                        f"{s.first:.4f}",
                        f"{s.last:.4f}",
                        f"{s.seconds:.4f}",
                        s.frames,
                    ]
                    means = [f"{s.mean_probs[n]:.6f}" for n in labels]
                    w.writerow([*head, s.dominant, *means, *(f"{s.share[n]:.6f}" for n in labels)])
    return path
