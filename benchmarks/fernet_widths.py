"""Speed of the `fernet` widths against resnet18_fer and mobilefer: FLOPs, parameters and faces/s of the emotion
step (ONNX Runtime float32 and int8, batch 64), on this machine.

    python -m benchmarks.fernet_widths [--widths 0.5,0.75,1.0] [--seconds 6] [--no-record]

Speed does not depend on the weights, so the networks are untrained; int8 is calibrated on 256 blurred-noise
crops (calibration changes the ranges, not the work). Accuracy per width needs training (the GPU campaign): it is
not measured here. Each model's best of 3 alternating rounds.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from release.ship_model import faces_per_second


def calibration_crops(n: int = 256) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(128, 40, (n, 12, 12)).clip(0, 255)
    return np.kron(x, np.ones((4, 4))).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="0.5,0.75,1.0")
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    from ferkit.backends.onnx_backend import OnnxBackend
    from ferkit.export import export_onnx
    from ferkit.models import create_model
    from ferkit.models._registry import count_flops, count_params
    from ferkit.quantize import quantize_int8

    specs = [("resnet18_fer", {}), ("mobilefer", {})]
    specs += [("fernet", {"width_mult": float(w)}) for w in args.widths.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, kw) in enumerate(specs):
            model = create_model(name, **kw).eval()
            fp32 = export_onnx(model, Path(tmp) / f"m{i}.onnx")
            int8 = quantize_int8(
                fp32, Path(tmp) / f"m{i}.int8.onnx", calibration_crops(), 128, 128, max_label_changes=1.0
            ).path
            backends = {"fp32": OnnxBackend.load(fp32), "int8": OnnxBackend.load(int8)}
            best = {k: 0.0 for k in backends}
            for _ in range(3):
                for k, b in backends.items():
                    best[k] = max(best[k], faces_per_second(b, 64, args.seconds / 3))
            label = name + (f" ×{kw['width_mult']:g}" if kw else "")
            rows.append(
                f"| {label} | {count_flops(model) / 1e9:.3f} | {count_params(model) / 1e6:.2f} M | "
                f"{best['fp32']:,.0f} | {best['int8']:,.0f} |"
            )
            print(rows[-1], flush=True)
    body = (
        "| network | GFLOPs per 48×48 face | parameters | faces/s ONNX fp32 (batch 64) | faces/s ONNX int8 |\n"
        "|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nUntrained weights (speed does not depend on them); "
        "ONNX Runtime's default threads; best of 3 alternating rounds. Accuracy per width comes from training "
        "(the GPU model campaign), not from this script."
    )
    print(body)
    if not args.no_record:
        from benchmarks.record import record

        record("fernet widths: speed", body)


if __name__ == "__main__":
    main()
