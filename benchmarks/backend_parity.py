"""The same shipped int8 ONNX file on ONNX Runtime and on OpenVINO: accuracy of each on the validation sets, how often
their top classes agree, the largest difference of any probability, and how often each agrees with the float
weights the int8 file was quantized from. OpenVINO runs int8 on other units than
ONNX Runtime (AMX tiles where the CPU has them, else VNNI), with its own rounding, so the two are compared on real
faces rather than assumed equal.

    python -m benchmarks.backend_parity [--models default,fer2013,ferplus] [--sets publictest,ferplus_valid]
        [--threads 2] [--no-record]
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.record import cpu_class, cpu_units, record
from benchmarks.validation import DATA, SETS

RUNTIMES = ("onnxruntime", "openvino")


def compare(model: str, key: str, threads: int | None) -> dict:
    """Accuracy per runtime, top-1 agreement and max |Δp| of one model's int8 file on one validation set."""
    from ferkit.backends import load_backend
    from ferkit.backends.resolve import weights_dir
    from ferkit.evaluate import evaluate

    path = weights_dir() / f"{model}.int8.onnx"
    files = {r: path for r in RUNTIMES} | {"float": weights_dir() / f"{model}.safetensors"}
    results = {}
    for runtime, file in files.items():
        backend = load_backend(file, "cpu", threads, backend="torch" if runtime == "float" else runtime)
        results[runtime] = evaluate(backend, SETS[key][1], split=SETS[key][2])
    a, b, ref = (results[r].probs for r in (*RUNTIMES, "float"))
    return {
        "n": len(a),
        "accuracy": {r: results[r].metrics.accuracy for r in files},
        "agree": float(np.mean(a.argmax(1) == b.argmax(1))),
        "max_dp": float(np.abs(a - b).max()),
        "as_float": {r: float(np.mean(results[r].probs.argmax(1) == ref.argmax(1))) for r in RUNTIMES},
    }


def table(rows: dict) -> str:
    out = [
        "| file | validation set | n | ONNX Runtime | OpenVINO | difference (points) | same top class | max abs Δp "
        "| float weights (torch) | same top class as float: ONNX Runtime / OpenVINO |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (model, key), r in rows.items():
        ort, ov = (100 * r["accuracy"][k] for k in RUNTIMES)
        out.append(
            f"| `{model}.int8.onnx` | {SETS[key][0]} | {r['n']:,} | {ort:.2f} % | {ov:.2f} % | {ov - ort:+.2f} "
            f"| {100 * r['agree']:.2f} % | {r['max_dp']:.3f} | {100 * r['accuracy']['float']:.2f} % "
            f"| {100 * r['as_float']['onnxruntime']:.2f} / {100 * r['as_float']['openvino']:.2f} % |"
        )
    closer = sum(r["as_float"]["openvino"] >= r["as_float"]["onnxruntime"] for r in rows.values())
    out.append(
        f"\nOpenVINO's int8 agrees with the float weights at least as often as ONNX Runtime's on {closer} of "
        f"{len(rows)} rows"
        + (
            ": where the two runtimes differ, it is the rounding of two int8 kernels around the same float model, "
            "not OpenVINO drifting from it."
            if closer == len(rows)
            else "."
        )
    )
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="default,fer2013,ferplus", help="shipped models with an int8 file")
    p.add_argument("--sets", default="publictest,ferplus_valid", help=f"validation sets: {', '.join(SETS)}")
    p.add_argument("--threads", type=int, default=None, help="threads of both runtimes (default: all)")
    p.add_argument("--no-record", action="store_true", help="print only; do not write RESULTS.md")
    args = p.parse_args()
    unknown = [k for k in args.sets.split(",") if k not in SETS]
    if unknown:
        p.error(f"unknown validation set {unknown[0]!r}; choose from {', '.join(SETS)}")
    if not DATA.is_dir():
        p.error(f"no validation data at {DATA}")
    from ferkit.backends.choose import installed_runtimes
    from ferkit.backends.resolve import weights_dir

    missing = [r for r in RUNTIMES if r not in installed_runtimes()]
    if missing:
        p.error(f"{missing[0]} is not installed (pip install 'ferkit[onnx,openvino]')")
    no_int8 = [m for m in args.models.split(",") if not (weights_dir() / f"{m}.int8.onnx").is_file()]
    if no_int8:
        p.error(f"no shipped int8 file for {no_int8[0]!r} ({weights_dir() / (no_int8[0] + '.int8.onnx')})")
    rows = {(m, k): compare(m, k, args.threads) for m in args.models.split(",") for k in args.sets.split(",")}
    body = f"{cpu_units()}; threads: {args.threads or 'all'}\n\n{table(rows)}"
    title = f"OpenVINO against ONNX Runtime on the same int8 files, {cpu_class()}"
    (print if args.no_record else record)(title, body)


if __name__ == "__main__":
    main()
