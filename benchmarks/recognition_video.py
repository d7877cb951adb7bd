"""Video figures of `benchmarks.recognition`: end-to-end FPS of `Recognizer.stream` over generated videos, and
what tracking and the per-person summary cost per frame."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.recognition_detectors import make_detector


def make_video(path: Path, faces: int, frames: int = 90) -> Path:
    """A 640×480 MJPG video at 30 FPS with `faces` copies of the astronaut's face drifting sideways."""
    import cv2
    import skimage.data

    face = cv2.resize(skimage.data.astronaut()[40:300, 130:320], (84, 115), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    for i in range(frames):
        frame = np.full((480, 640, 3), 100, np.uint8)
        for k in range(faces):
            x, y = 40 + 200 * k + (i % 30), 150 + 40 * (k % 2)
            frame[y : y + 115, x : x + 84] = face
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def bench_video(backends: dict, folder: Path, frames: int = 90, detectors=("",), threads=None) -> str:
    from ferkit.predict import Recognizer

    rows = ["| backend | detector | 1 face (FPS) | 3 faces (FPS) |", "|---|---|---|---|"]
    videos = {n: make_video(folder / f"faces{n}.avi", n, frames) for n in (1, 3)}
    for (name, backend), spec in ((b, d) for b in backends.items() for d in detectors):
        rec = Recognizer(backend, make_detector(spec, threads) if spec else None)
        cells = []
        for video in videos.values():
            list(rec.stream(video, max_frames=5))  # warm-up
            t = time.perf_counter()
            results = list(rec.stream(video, keep_images=False))
            fps = len(results) / (time.perf_counter() - t)
            found = sum(len(r.faces) for r in results) / max(len(results), 1)
            cells.append(f"{fps:.1f} ({found:.2f} faces/frame found)")
        rows.append(f"| {name} | {spec or rec.detector.name} | {' | '.join(cells)} |")
    return "\n".join(rows)


def bench_tracking(backend, folder: Path, frames: int = 90) -> str:
    """What tracking and the per-person summary cost per frame of the 3-face video: their own time (measured
    inside the run) as a share of the frame time, and the FPS of runs without and with `--summary`."""
    from ferkit.people.summary import Summarizer
    from ferkit.predict import Recognizer
    from ferkit.predict import track as track_mod

    video = make_video(folder / "faces3.avi", 3, frames)
    rec = Recognizer(backend)
    list(rec.stream(video, max_frames=5))  # warm-up
    spent = {"track": 0.0, "summary": 0.0}
    real = track_mod.Tracker.update

    def timed(self, *a, **kw):
        t = time.perf_counter()
        out = real(self, *a, **kw)
        spent["track"] += time.perf_counter() - t
        return out

    track_mod.Tracker.update = timed
    try:
        t = time.perf_counter()
        results = list(rec.stream(video, keep_images=False))
        plain = time.perf_counter() - t
        acc, t = Summarizer(), time.perf_counter()
        for r in rec.stream(video, keep_images=False):
            t0 = time.perf_counter()
            acc.add(r)
            spent["summary"] += time.perf_counter() - t0
        with_summary = time.perf_counter() - t
        t0 = time.perf_counter()
        acc.summaries()
        spent["summary"] += time.perf_counter() - t0
    finally:
        track_mod.Tracker.update = real
    n, frame_ms = len(results), 1000 * plain / len(results)
    track_ms, summary_ms = 1000 * spent["track"] / (2 * n), 1000 * spent["summary"] / n
    return (
        "| frames | faces/frame | frame time (ms) | tracking (ms/frame) | summary (ms/frame) | FPS, no summary | "
        "FPS, with summary |\n|---|---|---|---|---|---|---|\n"
        f"| {n} | {sum(len(r.faces) for r in results) / n:.2f} | {frame_ms:.1f} | {track_ms:.3f} "
        f"({100 * track_ms / frame_ms:.2f} %) | {summary_ms:.3f} ({100 * summary_ms / frame_ms:.2f} %) | "
        f"{n / plain:.1f} | {n / with_summary:.1f} |"
    )
