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

The sections live in `recognition_speed` (emotion step), `recognition_detectors` (latency, recall) and
`recognition_video` (video FPS, tracking); this module parses the options and records the tables.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.recognition_detectors import WILD, bench_detectors, bench_recall
from benchmarks.recognition_speed import bench_speed, emotion_backends
from benchmarks.recognition_video import bench_tracking, bench_video
from benchmarks.record import cpu_class, cpu_units, record


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


def _parse_args() -> argparse.Namespace:
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
    return args


def main() -> None:
    args = _parse_args()
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
    note = f"model: {described}; threads: {args.threads or 'all'} (torch {torch.get_num_threads()}); {cpu_units()}"
    amx = cpu_class()  # one section per CPU class: their figures differ 2-4x
    if "speed" in only:
        out(
            f"Recognition: emotion step (faces/s), {args.model}, {amx}",
            f"{note}\n\n{bench_speed(backends, args.seconds)}",
        )
    if "detectors" in only:
        out(f"Recognition: detector latency, {amx}", bench_detectors(detectors, args.repeats, args.threads))
    if "video" in only:
        video = {k: b for k, b in backends.items() if k.startswith(("auto", "torch")) or "int8" in k}
        out(
            f"Recognition: end-to-end video FPS (640×480), {args.model}, {amx}",
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


if __name__ == "__main__":
    main()
