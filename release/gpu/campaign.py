"""The GPU model campaign as ONE command: every run side by side, results
written to the output folder as they are produced.

    python release/gpu/campaign.py run --faces runs/campaign/faces.npz.xz --teachers runs/campaign/teachers \
        --budget 420 --out "$OUT" [--runs NAME,...] [--set KEY=VALUE ...] [--probe-steps 30]
    python release/gpu/campaign.py prepare FACES DIR      # the two packed datasets only

`prepare` turns faces.npz.xz (release/gpu/campaign_data.py) into two packed datasets: fer2013.npz (FER7
labels; train, public_test) and ferplus.npz (FER+ 8 classes from the votes: probability targets for train, the
majority label for valid = PublicTest, FER+'s rules for dropping faces; only faces found among the FER+ PNGs).

`run` prepares the data, times one epoch of every run (release/gpu/probe.py), gives every run the same epoch
count so that all of them end within `budget` seconds side by side, starts them as `ferkit train` processes, and
every `--every` seconds writes `progress.tar.gz` (logs, histories, configs, summaries) to the output folder. When
the runs end, or at the budget plus a grace period, it stops them (each keeps its best checkpoint), saves the
teacher runs' logits on the training faces into progress.tar.gz, and writes the best checkpoints, most important
run first and as many as fit in 58 MiB, as `weights.tar.part-NN` files of at most 15 MiB (the device returns at
most 8 files, 64 MiB together), and campaign.json (epochs, exit codes, best epochs). Nothing else goes there.
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONFIGS = ROOT / "configs" / "campaign"
# Most important first: the efficient `default` and `fast` students, the FER+ model, a teacher for the next round.
RUNS = ("fernet_default_distill", "fernet_fast_distill", "ferplus_fernet", "resnet18_teacher_long")
PART = 15 * 2**20
WEIGHTS_BUDGET = 58 * 2**20  # the device returns at most 8 files and 64 MiB: the rest is progress + report


def prepare(faces: Path, out: Path) -> tuple[Path, Path]:
    """(fer2013.npz, ferplus.npz) packed datasets in `out` from the joined faces file."""
    from ferkit.data.dataset import build_dataset
    from ferkit.data.ferplus_votes import process_votes
    from ferkit.data.packed import pack_dataset
    from ferkit.labels import FER7, FERPLUS8

    with lzma.open(faces, "rb") as fh, np.load(io.BytesIO(fh.read()), allow_pickle=False) as z:
        images, fer7, split, votes, matched = (z[k] for k in ("images", "fer7", "split", "votes", "matched"))
    names = np.array(["train", "public_test"])
    out.mkdir(parents=True, exist_ok=True)
    fer = build_dataset(
        images=images,
        labels=fer7.astype(np.int64),
        label_space=FER7,
        splits=list(names[split]),
        split_order=("train", "public_test"),
        sources=[f"face{i}" for i in range(len(images))],
        format="campaign",
        root=faces,
    )
    keep, targets, plus_splits = [], [], []
    for i in np.flatnonzero(matched):
        rule = "probability" if split[i] == 0 else "majority"
        target = process_votes(votes[i].astype(np.float64), rule)
        if target is not None:
            keep.append(i)
            targets.append(target)
            plus_splits.append("train" if split[i] == 0 else "valid")
    soft = np.stack(targets).astype(np.float32)
    plus = build_dataset(
        images=images[keep],
        labels=soft.argmax(1),
        label_space=FERPLUS8,
        splits=plus_splits,
        split_order=("train", "valid"),
        sources=[f"face{i}" for i in keep],
        format="campaign",
        root=faces,
        soft_targets=soft,
        notes={"label_mode": "probability"},
    )
    return pack_dataset(fer, out / "fer2013.npz"), pack_dataset(plus, out / "ferplus.npz")


def _runs(names: list[str], data: dict[str, Path], teachers: Path) -> list[tuple[str, Path, Path, list[str]]]:
    """(name, config, dataset, extra overrides) of each run; students distil from every teacher logits file."""
    logits = sorted(str(p) for p in teachers.glob("*.logits.npz")) if teachers.is_dir() else []
    out = []
    for name in names:
        cfg = CONFIGS / f"{name}.yaml"
        extra = [f"train.distill_from={json.dumps(logits)}"] if "distill" in name and logits else []
        out.append((name, cfg, data["ferplus" if name.startswith("ferplus") else "fer2013"], extra))
    return out


def _epochs(runs, budget: float, steps: int, overrides: list[str], sizes: tuple[int, int]) -> int:
    cmd = [sys.executable, str(HERE / "probe.py"), "--budget", str(budget), "--steps", str(steps)]
    cmd += ["--n-train", str(sizes[0]), "--n-val", str(sizes[1])]
    cmd += [a for kv in overrides for a in ("--set", kv)] + [str(cfg) for _, cfg, _, _ in runs]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()
    print("\n".join(lines), flush=True)
    return int(lines[-1].split()[1])


def _pack(members: list[Path], base: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in members:
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(base)))
    return buf.getvalue()


def _teacher_logits(work: Path, fer2013: Path, names: list[str]) -> None:
    """The finished teacher runs' logits on the training faces (small, unlike their weights): the next round's
    students distil from them."""
    from ferkit.data import load_dataset
    from ferkit.train.distill import save_teacher_logits

    train = load_dataset(fer2013).take_split("train")
    device = "cuda" if torch_cuda() else "cpu"
    for name in names:
        best = work / name / "best.safetensors"
        if "teacher" in name and best.is_file():
            save_teacher_logits(str(best), train.images, work / name / f"{name}.logits.npz", device, amp=True)


def torch_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _write_progress(work: Path, out: Path) -> None:
    kinds = ("*.log", "*/history.csv", "*/config.yaml", "*/summary.json", "*/*.logits.npz", "epochs.txt")
    members = sorted(p for k in kinds for p in work.glob(k))
    tmp = out / ".progress.tmp"
    tmp.write_bytes(_pack(members, work))
    tmp.replace(out / "progress.tar.gz")


def _write_weights(work: Path, out: Path, names: list[str]) -> list[str]:
    """Best checkpoints, most important run first, in ≤ 15 MiB parts; runs that do not fit are left out."""
    chosen, size = [], 0
    for name in names:
        best = work / name / "best.safetensors"
        if best.is_file() and size + best.stat().st_size <= WEIGHTS_BUDGET:
            chosen.append(best)
            size += best.stat().st_size
    blob = io.BytesIO()
    with tarfile.open(fileobj=blob, mode="w") as tar:
        for best in chosen:
            tar.add(best, arcname=f"{best.parent.name}.safetensors")
    data = blob.getvalue()
    for i in range(0, len(data), PART):
        (out / f"weights.tar.part-{i // PART:02d}").write_bytes(data[i : i + PART])
    return [p.parent.name for p in chosen]


def run(args: argparse.Namespace) -> None:
    t0 = time.time()
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    fer2013, ferplus = prepare(Path(args.faces), work / "data")
    runs = _runs(args.runs.split(","), {"fer2013": fer2013, "ferplus": ferplus}, Path(args.teachers))
    from ferkit.data import load_dataset

    ds = load_dataset(fer2013)
    sizes = (len(ds.take_split("train")), len(ds.take_split("public_test")))
    epochs = _epochs(runs, args.budget - (time.time() - t0), args.probe_steps, args.set, sizes)
    epochs = min(epochs, args.max_epochs) if args.max_epochs else epochs
    (work / "epochs.txt").write_text(f"{epochs}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1"}
    procs = {}
    for name, cfg, data, extra in runs:
        sets = [*extra, *args.set, f"train.epochs={epochs}"]
        cmd = [
            sys.executable,
            "-m",
            "ferkit",
            "train",
            "-c",
            str(cfg),
            "--data",
            str(data),
            "--run-dir",
            str(work / name),
            "--exist-ok",
            *[a for kv in sets for a in ("--set", kv)],
        ]
        procs[name] = subprocess.Popen(
            cmd, stdout=open(work / f"{name}.log", "w"), stderr=subprocess.STDOUT, env=env
        )
    deadline = t0 + args.budget + args.grace
    while any(p.poll() is None for p in procs.values()) and time.time() < deadline:
        time.sleep(min(args.every, max(0.5, deadline - time.time())))
        _write_progress(work, out)
    for p in procs.values():
        if p.poll() is None:
            p.terminate()
    for p in procs.values():
        p.wait(60)
    _teacher_logits(work, fer2013, [r[0] for r in runs])
    _write_progress(work, out)
    sent = _write_weights(work, out, [r[0] for r in runs])
    report = {
        "seconds": round(time.time() - t0, 1),
        "epochs": epochs,
        "exit_codes": {n: p.returncode for n, p in procs.items()},
        "weights_sent": sent,
        "best": {
            n: json.loads((work / n / "summary.json").read_text()).get("best", {})
            for n in procs
            if (work / n / "summary.json").is_file()
        },
    }
    (out / "campaign.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("faces")
    p.add_argument("dir")
    r = sub.add_parser("run")
    r.add_argument("--faces", required=True)
    r.add_argument("--teachers", default="")
    r.add_argument("--budget", type=float, required=True, help="seconds for everything before the runs stop")
    r.add_argument("--grace", type=float, default=30, help="seconds past the budget before runs are stopped")
    r.add_argument("--out", required=True)
    r.add_argument("--work", default=str(ROOT / "runs" / "campaign" / "work"))
    r.add_argument("--runs", default=",".join(RUNS))
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override in every run")
    r.add_argument("--probe-steps", type=int, default=30)
    r.add_argument("--max-epochs", type=int, help="cap on the epoch count (the smoke test's tiny runs)")
    r.add_argument("--every", type=float, default=30, help="seconds between progress writes")
    args = ap.parse_args()
    if args.verb == "prepare":
        print(prepare(Path(args.faces), Path(args.dir)))
    else:
        run(args)


if __name__ == "__main__":
    main()
