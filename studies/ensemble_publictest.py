"""How different are a set of checkpoints? Score each one, and the weighted average of the probabilities of every
combination of two or more, on one split (FER2013 PublicTest by default). A combination that scores no better than
its best member means the checkpoints are the same model up to noise, and distilling from their ensemble cannot
help; a diverse member that lifts the average is a candidate teacher for `train.distill_from: [...]`.

    python -m studies.ensemble_publictest orig=src/ferkit/weights/fer2013.safetensors \
        ft=runs/ema_ft/best.safetensors fast=src/ferkit/weights/fast.safetensors@0.5 --data ../shared/data/fer2013

Each member is NAME=CHECKPOINT[@WEIGHT] (weight 1 by default). Weights chosen by looking at this table are fitted to
the split it scores: report them as such.
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch
from benchmarks.record import record


def parse_member(text: str) -> tuple[str, str, float]:
    name, sep, rest = text.partition("=")
    if not sep or not name or not rest:
        raise SystemExit(f"member {text!r}: write NAME=CHECKPOINT[@WEIGHT]")
    path, _, weight = rest.partition("@")
    try:
        return name, path, float(weight) if weight else 1.0
    except ValueError:
        raise SystemExit(f"member {text!r}: weight {weight!r} is not a number") from None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("members", nargs="+", help="NAME=CHECKPOINT[@WEIGHT]")
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="public_test")
    ap.add_argument(
        "--amp", choices=("none", "bf16"), default="none", help="bf16: the trainer's CPU evaluation"
    )
    ap.add_argument("--no-record", action="store_true", help="print only, do not append to RESULTS.md")
    args = ap.parse_args()
    members = [parse_member(m) for m in args.members]
    torch.set_num_threads(2)
    from ferkit.data import load_dataset
    from ferkit.models import load_model
    from ferkit.train.loop import predict_logits

    split = load_dataset(args.data).take_split(args.split)
    labels = torch.as_tensor(split.labels, dtype=torch.long)
    probs, rows = {}, []
    for name, path, weight in members:
        model = load_model(path)
        t0 = time.perf_counter()
        logits = predict_logits(model, split.images, model.data_config, "cpu", 512, args.amp == "bf16")
        probs[name] = (weight, logits.float().softmax(1))
        acc = float((logits.argmax(1) == labels).float().mean())
        rows.append(f"| {name} | `{path}` | {100 * acc:.2f} % | {time.perf_counter() - t0:.0f} s |")
    combos = []
    for r in range(2, len(members) + 1):
        for combo in itertools.combinations(probs, r):
            avg = sum(probs[n][0] * probs[n][1] for n in combo)
            acc = float((avg.argmax(1) == labels).float().mean())
            label = " + ".join(f"{probs[n][0]:g}·{n}" if probs[n][0] != 1 else n for n in combo)
            combos.append(f"| {label} | {100 * acc:.2f} % |")
    body = (
        f"Split `{args.split}` ({len(labels):,} images), single crops, arithmetic "
        f"{'bf16 autocast' if args.amp == 'bf16' else 'fp32'}.\n\n"
        "| member | checkpoint | accuracy | scoring time |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n| probability average | accuracy |\n|---|---|\n"
        + "\n".join(combos)
    )
    if args.no_record:
        print(body)
    else:
        record(f"Checkpoint ensembles on {args.split}: {', '.join(probs)}", body)


if __name__ == "__main__":
    main()
