"""int8 against float for each shipped model: FER2013 PublicTest accuracy and emotion-step speed, and (`--ship`)
the int8 file shipped beside the weights when it keeps the accuracy within 0.3 points and is faster.

    python -m benchmarks.int8 [--models fer2013,fast] [--data ../shared/data/fer2013] [--calib-n 1024]
                              [--seconds 5] [--ship] [--no-record]

Each of `--models` is a shipped name or a checkpoint file (`runs/x/best.safetensors`: measured, never shipped).
For each: its PyTorch weights exported to ONNX (float32), and `ferkit.quantize.quantize_int8` of them calibrated
on `calib-n` class-stratified faces of the FER2013 train split (never PublicTest). Accuracy is `ferkit.evaluate`
on PublicTest (no TTA) with each ONNX model; speed is faces/s of `backend.logits` at batch 64 (preprocessing
included) with ONNX Runtime's default threads, on the same random crops, alternating the two models over several
rounds and keeping each one's best round (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from release.ship_model import faces_per_second

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fer2013"
MAX_ACCURACY_DROP = 0.3  # points of PublicTest accuracy an int8 model may lose and still ship


def one_model(name: str, data: Path, calib_n: int, seconds: float, folder: Path, split: str) -> dict:
    from ferkit.backends.onnx_backend import OnnxBackend
    from ferkit.evaluate import evaluate
    from ferkit.export import export_onnx
    from ferkit.quantize import quantize_int8
    from ferkit.weights import WEIGHTS_DIR

    source = WEIGHTS_DIR / f"{name}.safetensors" if "/" not in name else Path(name)
    fp32 = export_onnx(source, folder / f"{source.parent.name}-{source.stem}.onnx")
    t = time.perf_counter()
    q = quantize_int8(fp32, folder / f"{source.parent.name}-{source.stem}.int8.onnx", data, n_calib=calib_n)
    quantize_s = time.perf_counter() - t
    acc = {
        kind: evaluate(str(path), data, split=split).metrics.accuracy * 100
        for kind, path in (("fp32", fp32), ("int8", q.path))
    }
    backends = {"fp32": OnnxBackend.load(fp32), "int8": OnnxBackend.load(q.path)}
    rounds = {kind: [] for kind in backends}
    for _ in range(3):
        for kind, backend in backends.items():
            rounds[kind].append(faces_per_second(backend, 64, seconds / 3))
    speed = {kind: max(v) for kind, v in rounds.items()}
    return {
        "name": name,
        "acc": acc,
        "speed": speed,
        "label_changes": q.label_changes,
        "quantize_s": quantize_s,
        "int8_path": q.path,
        "size_mb": {k: p.stat().st_size / 2**20 for k, p in (("fp32", fp32), ("int8", q.path))},
    }


def ship(name: str, r: dict, ok: bool, calib_n: int, split: str) -> None:
    """Ship (or withdraw) `<name>.int8.onnx` and record its figures in `<name>.metrics.json` and the card."""
    from release.card import write_model_card

    from ferkit.weights import WEIGHTS_DIR

    target = WEIGHTS_DIR / f"{name}.int8.onnx"
    metrics_path = WEIGHTS_DIR / f"{name}.metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics.pop("int8", None)
    target.unlink(missing_ok=True)
    if ok:
        shutil.copyfile(r["int8_path"], target)
        prefix = "publictest" if split == "public_test" else "eval"
        metrics["int8"] = {
            "file": target.name,
            f"{prefix}_accuracy": r["acc"]["int8"] / 100,
            f"{prefix}_fp32_onnx_accuracy": r["acc"]["fp32"] / 100,
            "onnx_fp32_batch64_faces_per_s": r["speed"]["fp32"],
            "onnx_int8_batch64_faces_per_s": r["speed"]["int8"],
            "calibration": f"{calib_n} class-stratified {'FER2013' if prefix == 'publictest' else 'FER+'} train "
            "faces, MinMax",
            "command": "python " + " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]]),
        }
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    write_model_card()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="fer2013,fast")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--split", default="public_test", help="split scored (FER+: valid)")
    ap.add_argument("--calib-n", type=int, default=1024)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument(
        "--ship", action="store_true", help="copy int8 files that qualify into src/ferkit/weights"
    )
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    rows, shipped = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            r = one_model(name, Path(args.data), args.calib_n, args.seconds, Path(tmp), args.split)
            drop = r["acc"]["fp32"] - r["acc"]["int8"]
            ok = drop <= MAX_ACCURACY_DROP and r["speed"]["int8"] > r["speed"]["fp32"]
            if args.ship and "/" not in name:
                ship(name, r, ok, args.calib_n, args.split)
                shipped += [name] if ok else []
            label = name if "/" not in name else f"`{name}` (a checkpoint: measured, not shipped)"
            rows.append(
                f"| {label} | {r['acc']['fp32']:.2f} % | {r['acc']['int8']:.2f} % | {-drop:+.2f} | "
                f"{r['label_changes']:.1%} | {r['speed']['fp32']:,.0f} | {r['speed']['int8']:,.0f} | "
                f"{r['speed']['int8'] / r['speed']['fp32']:.2f}× | {r['size_mb']['fp32']:.1f} → "
                f"{r['size_mb']['int8']:.1f} MB | {'yes' if ok else 'no'} |"
            )
            print(rows[-1], flush=True)
    where = "PublicTest" if args.split == "public_test" else f"{Path(args.data).name} {args.split}"
    body = (
        f"| model | {where} fp32 (ONNX) | {where} int8 | change (points) | labels changed on 1,024 "
        "train faces | fp32 faces/s (batch 64) | int8 faces/s | speed-up | file | qualifies (≤ "
        f"{MAX_ACCURACY_DROP} points lost, faster) |\n|---|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\nint8: ONNX Runtime static quantization (QDQ, per-channel int8 weights, uint8 activations, MinMax "
        f"calibration on {args.calib_n} class-stratified train faces of {Path(args.data).name}). No TTA. Speed: "
        "ONNX Runtime's "
        "default threads, best of 3 alternating rounds."
        + (f" Shipped: {', '.join(f'{n}.int8.onnx' for n in shipped)}." if shipped else "")
    )
    print(body)
    if not args.no_record:
        from benchmarks.record import record

        title = "int8 models (ONNX Runtime static quantization)"
        record(title if args.split == "public_test" else f"{title}, {where}: {args.models}", body)


if __name__ == "__main__":
    main()
