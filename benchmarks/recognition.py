"""Recognition figures: emotion-step speed (torch and ONNX), detector latency, end-to-end video FPS, and face
detection recall / false boxes on the hand-boxed faces of ../shared/data/wild/training.xml.

    python -m benchmarks.recognition [--model default] [--only speed,detectors,video,tracking,recall] [--seconds 3]
                                     [--threads N] [--backend torch,onnxruntime,openvino,auto]
                                     [--video-detectors yunet,mtcnn] [--quick] [--fer-python PATH] [--no-record]

- emotion step: `backend.logits` on uint8 face crops (preprocessing included, detection excluded), faces/s at
  batch 1 and batch 64, for the PyTorch checkpoint and, per ONNX runtime in --backend (ONNX Runtime, OpenVINO),
  its float ONNX export and the shipped int8 file; `auto` is what `ferkit.load(model)` picks on this machine.
- `--quick`: a smoke run (0.3 s per speed figure, 12-frame videos, 2 detector calls), nothing recorded.
- detector latency: median ms per `Detector.detect` call on a group photo (wild/2007_007763.jpg, else the
  astronaut) resized to 320×240, 640×480 and 1280×720 (detectors shrink images over their working size of
  960 px first; that resize is included).
- end-to-end: frames/s of `Recognizer.stream` over a generated 640×480 MJPG video (decode + detect + crop +
  classify) with 1 and 3 faces (the astronaut's face pasted at ~110 px).
- recall: a hand-drawn box (dlib imglab, `<box top left width height>`) counts as found when a detection matches
  it one-to-one, greedily by IoU, with IoU ≥ 0.5 OR the detection's centre inside the box — YuNet's boxes are
  taller than dlib's square boxes (forehead to chin), so IoU alone under-counts correct detections. A detection
  matching no hand box is a false box. Only 4 photos (18 faces) are boxed; figures are per detector.
- `--fer-python PATH`: also run the `fer` package's default detector (an interpreter where `fer` is installed,
  see docs/REFERENCES) on the same photos and record its recall beside ours.
When the model has no weights yet (no shipped default), an untrained vgg_fer_gap is timed instead (speed does
not depend on the weights); the table says so.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from benchmarks.record import record

WILD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wild"
SIZES = ((320, 240), (640, 480), (1280, 720))


def _model(spec: str):
    """(nn.Module, description): the checkpoint, or an untrained vgg_fer_gap when it does not exist."""
    from ferkit.backends.resolve import resolve_model_path, weights_dir
    from ferkit.errors import ModelError
    from ferkit.models import create_model, load_model

    try:
        shipped = (
            weights_dir() / f"{spec}.safetensors"
        )  # a shipped name: its PyTorch weights (not its int8 file)
        path = shipped if shipped.is_file() else resolve_model_path(spec)
        model = load_model(path)
        return model, f"{path.name} ({model.model_name})"
    except ModelError as exc:
        print(f"note: {exc}\n      timing an untrained vgg_fer_gap instead", file=sys.stderr)
        return create_model("vgg_fer_gap").eval(), "vgg_fer_gap, untrained (no weights)"


def _rate(fn, items: int, seconds: float) -> float:
    fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n * items / (time.perf_counter() - t0)


def bench_speed(backends: dict, seconds: float) -> str:
    rows = ["| backend | batch 1 (faces/s) | batch 64 (faces/s) |", "|---|---|---|"]
    for name, backend in backends.items():
        s = backend.data_config.image_size
        rates = []
        for batch in (1, 64):
            crops = np.random.default_rng(0).integers(0, 256, (batch, s, s), dtype=np.uint8)
            rates.append(_rate(lambda c=crops, b=backend: b.logits(c), batch, seconds))
        rows.append(f"| {name} | {rates[0]:,.0f} | {rates[1]:,.0f} |")
    return "\n".join(rows)


def _photo() -> np.ndarray:
    from ferkit.imageio import open_image, to_rgb

    path = WILD / "2007_007763.jpg"
    if path.is_file():
        return to_rgb(open_image(path))
    import skimage.data

    return skimage.data.astronaut()


def bench_detectors(detectors: list[str], repeats: int, threads: int | None = None) -> str:
    import cv2

    photo = _photo()
    head = " | ".join(f"{w}×{h} (ms)" for w, h in SIZES)
    rows = [f"| detector | {head} |", "|---|" + "---|" * len(SIZES)]
    for name in detectors:
        det = make_detector(name, threads)
        cells = []
        for size in SIZES:
            img = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
            det.detect(img)
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                det.detect(img)
                times.append(time.perf_counter() - t)
            cells.append(f"{1000 * statistics.median(times):.1f}")
        rows.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(rows)


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


def make_detector(spec: str, threads: int | None):
    """A detector from "name" or "mtcnn@RUNTIME" (MTCNN's networks forced onto onnxruntime or openvino)."""
    from ferkit.faces import get_detector

    name, _, runtime = spec.partition("@")
    if name == "mtcnn":
        from ferkit.faces.mtcnn import MtcnnDetector

        return MtcnnDetector(threads=threads or 2, runtime=runtime or None)
    return get_detector(name)


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


def emotion_backends(model, spec: str, runtimes: list[str], tmp: Path, threads: int | None) -> dict:
    """{label: backend}: torch, then per ONNX runtime its float export and the shipped int8 file, then `auto`."""
    from ferkit.backends import TorchBackend, load_backend
    from ferkit.backends.choose import installed_runtimes
    from ferkit.backends.resolve import weights_dir
    from ferkit.export import export_onnx

    backends = {"torch": TorchBackend(model)} if "torch" in runtimes else {}
    files = {"float ONNX": export_onnx(model, tmp / "model.onnx")}
    if (weights_dir() / f"{spec}.int8.onnx").is_file():
        files["int8 (shipped)"] = weights_dir() / f"{spec}.int8.onnx"
    for runtime in (r for r in ("onnxruntime", "openvino") if r in runtimes and r in installed_runtimes()):
        for what, path in files.items():
            backends[f"{runtime}, {what}"] = load_backend(path, "cpu", threads, backend=runtime)
    if "auto" in runtimes:
        auto = load_backend(spec, "cpu", threads)
        backends[f"auto: {auto.name} on {auto.runtime}"] = auto
    return backends


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


def boxed_photos() -> dict[str, list[tuple[int, int, int, int]]]:
    """{file name: [(x, y, w, h), ...]} from wild/training.xml."""
    root = ET.parse(WILD / "training.xml").getroot()
    return {
        img.get("file"): [
            tuple(int(b.get(k)) for k in ("left", "top", "width", "height")) for b in img.iter("box")
        ]
        for img in root.iter("image")
    }


def match(truth: list, found: list) -> tuple[int, int]:
    """(hand boxes found, false boxes): greedy one-to-one matching, IoU ≥ 0.5 or centre in the box."""
    from ferkit.faces import iou

    def hit(t, f):
        cx, cy = f[0] + f[2] / 2, f[1] + f[3] / 2
        inside = t[0] <= cx <= t[0] + t[2] and t[1] <= cy <= t[1] + t[3]
        return iou(t, f) >= 0.5 or inside

    pairs = sorted(
        ((iou(t, f), ti, fi) for ti, t in enumerate(truth) for fi, f in enumerate(found)), reverse=True
    )
    used_t, used_f = set(), set()
    for _, ti, fi in pairs:
        if ti not in used_t and fi not in used_f and hit(truth[ti], found[fi]):
            used_t.add(ti)
            used_f.add(fi)
    return len(used_t), len(found) - len(used_f)


def bench_recall(detectors: list[str], fer_python: str | None) -> str:
    from ferkit.faces import get_detector
    from ferkit.imageio import open_image, to_rgb

    photos = boxed_photos()
    total = sum(len(b) for b in photos.values())
    rows = [
        "| detector | faces found | recall | boxes | false boxes | false-box rate |",
        "|---|---|---|---|---|---|",
    ]
    results: dict[str, dict] = {}
    for name in detectors:
        det = get_detector(name)
        per = {p: [f.box for f in det.detect(to_rgb(open_image(WILD / p)))] for p in photos}
        results[name] = per
    if fer_python:
        results["fer (PyPI)"] = _fer_boxes(fer_python, list(photos))
    for name, per in results.items():
        found = sum(match(photos[p], per[p])[0] for p in photos)
        false = sum(match(photos[p], per[p])[1] for p in photos)
        boxes = sum(len(per[p]) for p in photos)
        rows.append(
            f"| {name} | {found}/{total} | {found / total:.0%} | {boxes} | {false} | {false / max(boxes, 1):.0%} |"
        )
    return "\n".join(rows)


FER_CHILD = r"""
import json, sys, cv2
from fer.fer import FER
import fer, os
cascade = os.path.join(os.path.dirname(fer.__file__), "data", "haarcascade_frontalface_default.xml")
det = FER(cascade_file=cascade)
out = {}
for path in sys.argv[1:]:
    out[os.path.basename(path)] = [list(map(int, f["box"])) for f in det.detect_emotions(cv2.imread(path))]
print(json.dumps(out))
"""


def _fer_boxes(python: str, photos: list[str]) -> dict:
    res = subprocess.run(
        [python, "-c", FER_CHILD, *(str(WILD / p) for p in photos)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if res.returncode:
        raise SystemExit(f"fer baseline failed:\n{res.stderr[-2000:]}")
    return {k: [tuple(b) for b in v] for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="default", help="checkpoint or shipped model name")
    p.add_argument("--only", default="speed,detectors,video,tracking,recall", help="comma-separated sections")
    p.add_argument("--seconds", type=float, default=3.0, help="time per speed measurement")
    p.add_argument("--repeats", type=int, default=20, help="detector calls per size")
    p.add_argument("--frames", type=int, default=90, help="frames of each generated video")
    p.add_argument(
        "--threads", type=int, help="threads of torch, ONNX Runtime, OpenVINO and MTCNN (default: all)"
    )
    p.add_argument(
        "--backend",
        default="torch,onnxruntime,openvino,auto",
        help="comma-separated emotion backends to time: torch, onnxruntime, openvino, auto (ferkit.load's pick)",
    )
    p.add_argument(
        "--video-detectors",
        default="yunet,mtcnn",
        help="detectors of the video section; mtcnn@onnxruntime / mtcnn@openvino force MTCNN's runtime",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: short timings, small videos, no record")
    p.add_argument("--fer-python", help="python of a venv with the `fer` package (recall section)")
    p.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = p.parse_args()
    if args.quick:
        args.seconds, args.frames, args.repeats, args.no_record = 0.3, 12, 2, True
    import torch

    from ferkit.faces import default_detector, list_detectors

    if args.threads:
        torch.set_num_threads(args.threads)
    only = set(args.only.split(","))
    detectors = [d for d in list_detectors(available_only=True) if d != "none"]
    if "mtcnn" in detectors and "openvino" in args.backend:
        detectors += ["mtcnn@onnxruntime", "mtcnn@openvino"]
    model, described = _model(args.model)
    tmp = Path(tempfile.mkdtemp(prefix="ferkit-bench-"))
    runtimes = args.backend.split(",")
    backends = emotion_backends(model, args.model, runtimes, tmp, args.threads) if only - {"recall"} else {}
    out = print if args.no_record else record
    note = f"model: {described}; threads: {args.threads or 'all'} (torch {torch.get_num_threads()}); {_cpu()}"
    if "speed" in only:
        out(
            f"Recognition: emotion step (faces/s), {args.model}",
            f"{note}\n\n{bench_speed(backends, args.seconds)}",
        )
    if "detectors" in only:
        out("Recognition: detector latency", bench_detectors(detectors, args.repeats, args.threads))
    if "video" in only:
        video = {k: b for k, b in backends.items() if k.startswith(("auto", "torch")) or "int8" in k}
        out(
            f"Recognition: end-to-end video FPS (640×480), {args.model}",
            f"{note}\n\n{bench_video(video, tmp, args.frames, args.video_detectors.split(','), args.threads)}",
        )
    if "tracking" in only:
        name = next((k for k in backends if k.startswith("auto")), next(iter(backends)))
        out(
            f"Recognition: cost of tracking and the per-person summary (640×480, 3 faces), {args.model}",
            f"{note}; backend {name}, detector {default_detector()}\n\n{bench_tracking(backends[name], tmp, args.frames)}",
        )
    if "recall" in only and (WILD / "training.xml").is_file():
        out(
            "Recognition: detection recall on wild/training.xml",
            bench_recall([d for d in detectors if "@" not in d], args.fer_python),
        )


def _cpu() -> str:
    """The CPU's model name and which of AMX, AVX-512 BF16 and VNNI it has (the units OpenVINO can use)."""
    try:
        info = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "CPU: unknown"
    field = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip() for ln in info if ":" in ln}
    flags = field.get("flags", "").split()
    units = {"AMX": "amx_tile", "AVX-512 BF16": "avx512_bf16", "VNNI": "avx512_vnni"}
    have = [u for u, flag in units.items() if flag in flags]
    return f"CPU: {field.get('model name', 'unknown')} ({', '.join(have) or 'none of AMX, BF16, VNNI'}" + (
        ")" if "amx_tile" in flags else "; no AMX)"
    )


if __name__ == "__main__":
    main()
