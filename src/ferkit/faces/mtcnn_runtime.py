"""Which runtime runs MTCNN's three ONNX networks: ONNX Runtime, or OpenVINO where it is installed and a short
side-by-side on this machine (the detector on a bundled photo, a few calls each) finds it faster with the same
faces. Measured once per machine, runtime versions and thread count, and cached with the emotion models' choices
(`ferkit.backends.choose`).

OpenVINO prepares its kernels for each new input shape on first use (about +50 ms per 640×480 photo here, where
a repeated shape is 15-40 % faster than ONNX Runtime), so on OpenVINO an input shape's first call still runs on
ONNX Runtime and only shapes seen before go to OpenVINO: a video (the same pyramid every frame) gains, a folder of
photos of many sizes loses nothing."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

NETS = ("pnet", "rnet", "onet")
Run = Callable[[str, np.ndarray], list[np.ndarray]]
"""(network name, input) → the network's outputs."""


@functools.cache
def best_runtime(weights: Path, threads: int) -> str:
    """ "openvino" where it is installed, agrees and is faster here; else "onnxruntime"."""
    from ferkit.backends import choose

    if "openvino" not in choose.installed_runtimes() or "onnxruntime" not in choose.installed_runtimes():
        return "onnxruntime"
    key = choose.machine_key("mtcnn-" + _digest(weights), threads)
    known = choose.recall(key)
    if known is None:
        known = side_by_side(weights, threads)
        choose.remember(key, known, "mtcnn")
    return known.runtime


def runner(runtime: str, weights: Path, threads: int) -> Run:
    """The three networks on `runtime`."""
    return functools.partial(_run, runtime, weights, threads)


def side_by_side(weights: Path, threads: int, calls: int = 3):
    """A `Choice` between ONNX Runtime and OpenVINO: the detector on the bundled astronaut photo at 640×480, the
    median of `calls` calls each; OpenVINO only where it finds the same faces and is at least 5 % faster."""
    from ferkit.backends.choose import MIN_GAIN, Choice
    from ferkit.faces.mtcnn import MtcnnDetector

    rgb = _photo()
    seconds, found = {}, {}
    for runtime in ("onnxruntime", "openvino"):
        try:
            det = MtcnnDetector(threads=threads, runtime=runtime)
            found[runtime], seconds[runtime] = _timed_detect(det, rgb, calls)
        except Exception as exc:  # OpenVINO that cannot run a network: stay on ONNX Runtime
            return Choice("onnxruntime", rejected={runtime: f"failed: {str(exc).splitlines()[0][:200]}"})
    if not _same_faces(found["onnxruntime"], found["openvino"]):
        return Choice("onnxruntime", seconds, {"openvino": "found other faces than ONNX Runtime"})
    fast = seconds["openvino"] < seconds["onnxruntime"] * (1 - MIN_GAIN)
    return Choice("openvino" if fast else "onnxruntime", seconds)


def _timed_detect(det, rgb: np.ndarray, calls: int) -> tuple[list, float]:
    faces = det.detect(rgb)  # warm-up: new shapes run on ONNX Runtime first, then OpenVINO compiles for them
    det.detect(rgb)
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        det.detect(rgb)
        times.append(time.perf_counter() - t)
    return faces, float(np.median(times))


def _same_faces(a: list, b: list) -> bool:
    """Same number of faces, each box within 2 px of its counterpart."""
    boxes_a, boxes_b = sorted(f.box for f in a), sorted(f.box for f in b)
    return len(boxes_a) == len(boxes_b) and all(
        max(abs(p - q) for p, q in zip(x, y, strict=True)) <= 2 for x, y in zip(boxes_a, boxes_b, strict=True)
    )


def _run(runtime: str, weights: Path, threads: int, name: str, x: np.ndarray) -> list[np.ndarray]:
    if runtime == "openvino" and _seen(name, x.shape):
        compiled = _openvino(weights, name, threads)
        request = _requests(compiled)
        result = request.infer({0: x})
        return [result[out].copy() for out in compiled.outputs]
    sess = _onnxruntime(weights, name, threads)
    return sess.run(None, {sess.get_inputs()[0].name: x})


@functools.cache
def _onnxruntime(weights: Path, name: str, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.enable_mem_pattern = False  # input shapes change every call (pyramid sizes, candidate counts)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting on a shared CPU
    return ort.InferenceSession(str(weights / f"{name}.onnx"), opts, providers=["CPUExecutionProvider"])


@functools.cache
def _openvino(weights: Path, name: str, threads: int):
    from ferkit.backends.openvino_backend import compile_model

    return compile_model(weights / f"{name}.onnx", threads, "LATENCY")


_local = threading.local()
_shapes: set[tuple] = set()
MAX_SHAPES = 4096


def _seen(name: str, shape: tuple) -> bool:
    """Whether a network already ran on an input of this shape (remembers it; forgets all past MAX_SHAPES)."""
    key = (name, *shape)
    if key in _shapes:
        return True
    if len(_shapes) >= MAX_SHAPES:
        _shapes.clear()
    _shapes.add(key)
    return False


def _requests(compiled):
    """This thread's infer request of a compiled network (a request must not be shared between threads)."""
    cache = _local.__dict__.setdefault("requests", {})
    if id(compiled) not in cache:
        cache[id(compiled)] = compiled.create_infer_request()
    return cache[id(compiled)]


def _digest(weights: Path) -> str:
    h = hashlib.sha256()
    for name in NETS:
        h.update((weights / f"{name}.onnx").read_bytes())
    return h.hexdigest()[:20]


def _photo() -> np.ndarray:
    from ferkit._deps import cv2
    from ferkit.imageio import open_image, to_rgb

    path = Path(__file__).resolve().parents[1] / "samples" / "astronaut.jpg"
    return cv2().resize(to_rgb(open_image(path)), (640, 480), interpolation=cv2().INTER_AREA)
