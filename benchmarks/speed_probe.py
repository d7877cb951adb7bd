"""What `train.amp: auto` / `train.channels_last: auto` choose on this CPU, per model: the trainer's own probe
(`ferkit.train.speed_probe`) run on each model, with fp32 NCHW against the chosen setting in training img/s.

    python -m benchmarks.speed_probe [--models resnet18_fer,mobilefer,...] [--batch 32] [--steps 3]
"""

from __future__ import annotations

import argparse

from benchmarks.record import cpu_class, record

MODELS = "resnet18_fer,mobilefer,vgg_fer_gap,seed_cnn4c2f,seed_keras_cnn,seed_cnn_wd"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=MODELS)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    from ferkit.models import create_model
    from ferkit.train.speed_probe import time_setting

    rows = [
        "| model | fp32 NCHW | fp32 channels-last | bf16 NCHW | bf16 channels-last | chosen | chosen / fp32 NCHW |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.models.split(","):
        model = create_model(name)
        ips = {
            (amp, cl): time_setting(model, amp, cl, args.batch, args.steps)
            for amp in (False, True)
            for cl in (False, True)
        }
        (amp, cl), best = max(ips.items(), key=lambda kv: kv[1])
        chosen = f"{'bf16' if amp else 'fp32'} {'channels-last' if cl else 'NCHW'}"
        cells = " | ".join(
            f"{ips[k]:.0f}" for k in ((False, False), (False, True), (True, False), (True, True))
        )
        rows.append(f"| {name} | {cells} | {chosen} | {best / ips[(False, False)]:.2f}× |")
        print(rows[-1], flush=True)
    note = (
        f"\nTraining images/s, batch {args.batch}, SGD step on random inputs, {args.steps} timed steps after one "
        "warm-up step: the same measurement the trainer makes when `train.amp` or `train.channels_last` is `auto` "
        "on a CPU (`ferkit.train.speed_probe`)."
    )
    record(
        f"What train.amp / channels_last auto choose per model, {cpu_class()}", "\n".join(rows) + "\n" + note
    )


if __name__ == "__main__":
    main()
