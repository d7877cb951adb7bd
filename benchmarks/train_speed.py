"""Training throughput of every registered model on this machine: images/s, achieved GFLOP/s (forward+backward
≈ 3 × forward FLOPs) as a fraction of fp32 peak, and peak memory. Each model runs in its own subprocess so its
peak RSS is its own.

    python -m benchmarks.train_speed [--batch 128] [--steps 6] [--models a,b]

The last column is bf16 autocast with channels-last (`train.amp: bf16`, `train.channels_last: "on"`): it helps
some models on this CPU and hurts others, so the table says which.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.record import cpu_mhz, fp32_peak_gflops, record

CHILD = r"""
import json, resource, sys, time, torch
from ferkit.models import create_model, model_info
from ferkit.train.losses import soft_cross_entropy
name, batch, steps, cl, amp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1"
m = create_model(name); dc = m.data_config
if cl: m = m.to(memory_format=torch.channels_last)
opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, nesterov=True)
x = torch.randn(batch, dc.channels, dc.input_size, dc.input_size)
if cl: x = x.contiguous(memory_format=torch.channels_last)
y = torch.nn.functional.one_hot(torch.randint(0, 7, (batch,)), 7).float()
def step():
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
        loss = soft_cross_entropy(m(x).float(), y)
    opt.zero_grad(); loss.backward(); opt.step()
for _ in range(2): step()
t = time.perf_counter()
for _ in range(steps): step()
dt = time.perf_counter() - t
info = model_info(name)
print(json.dumps({"ips": batch * steps / dt, "mflops": info["mflops"], "params": info["params"],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(name: str, batch: int, steps: int, cl: bool, amp: bool = False) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, name, str(batch), str(steps), "1" if cl else "0", "1" if amp else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--models", default="")
    args = ap.parse_args()
    from ferkit.models import list_models

    names = args.models.split(",") if args.models else list_models()
    peak = fp32_peak_gflops()
    rows = [
        "| model | params | fwd MFLOPs | img/s (NCHW) | img/s (channels-last) | GFLOP/s (best fp32) | % of fp32 peak "
        "| peak RSS (MB) | img/s (bf16, channels-last) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        a, b = run(name, args.batch, args.steps, False), run(name, args.batch, args.steps, True)
        c = run(name, args.batch, args.steps, True, amp=True)
        best = max(a["ips"], b["ips"])
        gflops = 3 * a["mflops"] * best / 1000
        rows.append(
            f"| {name} | {a['params']:,} | {a['mflops']:.1f} | {a['ips']:.0f} | {b['ips']:.0f} | "
            f"{gflops:.1f} | {100 * gflops / peak:.1f} % | {max(a['rss_mb'], b['rss_mb']):.0f} | {c['ips']:.0f} |"
        )
        print(rows[-1], flush=True)
    note = (
        f"\nfp32 peak = 2 cores × 32 FLOP/cycle (2 × 256-bit FMA pipes × 8 lanes × 2) × {cpu_mhz():.0f} MHz "
        f"= {peak:.0f} GFLOP/s. Batch {args.batch}, SGD step, fp32 unless marked bf16, {args.steps} timed steps "
        f"after 2 warm-up steps; GFLOP/s = 3 × forward FLOPs × images/s (fp32 columns)."
    )
    record(
        f"Training throughput per model (CPU), {args.models or 'every model'}", "\n".join(rows) + "\n" + note
    )


if __name__ == "__main__":
    main()
