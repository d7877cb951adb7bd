"""Train several configs side by side on one GPU machine and collect the results in one folder.

    python -m release.train_gpu --data ../shared/data/fer2013 --out runs/gpu \\
        configs/fer2013_resnet18_gpu.yaml configs/fer2013_mobilefer_gpu.yaml [--budget 1800]

Every CONFIG is trained by `ferkit train` in a process of its own, all at the same time on the GPU, each into
OUT/<config name>/ (its checkpoints, history.csv, summary.json and curves; its log beside it as OUT/<name>.log).
A config trains on --data, or on the dataset written after it as CONFIG=DATA.

With --budget SECONDS, one training epoch of each config is first timed on this machine (random faces, the
config's own augmentation, mixing, autocast and channels-last, plus one validation pass), and every run gets the
same epoch count, floor(budget / sum of the epoch times), so that runs sharing the GPU all end within the budget;
this is conservative for small 48x48 networks, whose runs overlap on a GPU (benchmarks/RESULTS.md). Without it,
each config trains for its own train.epochs.

When the runs end, OUT/results.json holds the epoch count, each run's exit code and its best epoch, and a table
of the best epochs is printed. A run that fails does not stop the others.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def seconds_per_epoch(config: str, n_train: int, n_val: int, steps: int, overrides: list[str]) -> float:
    """Seconds one epoch of `config` takes on this machine: `steps` timed training steps after a warm-up
    epoch, scaled to `n_train` faces, plus one validation pass over `n_val` faces."""
    import numpy as np
    import torch
    from benchmarks._epoch import random_epoch_data, timed_epoch

    from ferkit.config import load_config
    from ferkit.labels import FER7
    from ferkit.train import device as devmod
    from ferkit.train.build import build_model, make_optimizer
    from ferkit.train.loop import validate

    cfg = load_config(config, overrides)
    device = devmod.pick_device(cfg.train.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    amp, cl = devmod.use_amp(cfg.train, device), devmod.use_channels_last(cfg.train, device)
    model = build_model(cfg, FER7, None, False, log=lambda *a: None).to(device)
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model)
    dc, bs = model.data_config, cfg.train.batch_size
    data = random_epoch_data(bs * steps, dc.image_size, device)
    fwd = torch.compile(model) if cfg.train.compile else model

    def epoch() -> float:
        return timed_epoch(fwd, opt, data, cfg, dc, steps, amp=amp, channels_last=cl)

    epoch()  # warm-up: cuDNN autotuning, allocator, torch.compile
    per_step = epoch() / steps
    val = np.random.default_rng(0).integers(0, 256, (n_val, dc.image_size, dc.image_size), dtype=np.uint8)
    t0 = time.perf_counter()
    validate(model, val, np.zeros(n_val, np.int64), dc, device, cfg.train.eval_batch_size, amp)
    return per_step * max(1, n_train // bs) + (time.perf_counter() - t0)


def split_sizes(data: str) -> tuple[int, int]:
    """(training faces, validation faces) of a dataset, as the first config's splits would take them."""
    from ferkit.data import load_dataset

    ds = load_dataset(data)
    train, *rest = ds.split_names
    return len(ds.take_split(train)), len(ds.take_split(rest[0])) if rest else 0


def plan(runs: list[tuple[str, str]], args: argparse.Namespace) -> int | None:
    """The shared epoch count for the budget (None without one); prints each config's epoch time."""
    if not args.budget:
        return None
    n_train, n_val = split_sizes(runs[0][1])
    times = {
        cfg: seconds_per_epoch(cfg, n_train, n_val, args.probe_steps, args.set) * args.overhead
        for cfg, _ in runs
    }
    epochs = max(1, int(args.budget // sum(times.values())))
    epochs = min(epochs, args.max_epochs) if args.max_epochs else epochs
    for cfg, t in times.items():
        print(f"{cfg}: {t:.2f} s per epoch", flush=True)
    print(f"{epochs} epochs for every run", flush=True)
    return epochs


def start(config: str, data: str, out: Path, sets: list[str]) -> subprocess.Popen:
    """`ferkit train` of one config into out/<name>/, its output in out/<name>.log."""
    name = Path(config).stem
    cmd = [sys.executable, "-m", "ferkit", "train", "-c", config, "--data", data]
    cmd += ["--run-dir", str(out / name), "--exist-ok", *[a for kv in sets for a in ("--set", kv)]]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(out / f"{name}.log", "w") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def collect(out: Path, procs: dict[str, subprocess.Popen], epochs: int | None, seconds: float) -> dict:
    """results.json in `out`: the epoch count, exit codes and each run's best epoch (from its summary.json)."""
    best = {}
    for name in procs:
        summary = out / name / "summary.json"
        if summary.is_file():
            best[name] = json.loads(summary.read_text()).get("best", {})
    report = {
        "seconds": round(seconds, 1),
        "epochs": epochs,
        "exit_codes": {n: p.returncode for n, p in procs.items()},
        "best": best,
    }
    (out / "results.json").write_text(json.dumps(report, indent=2))
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="+", metavar="CONFIG[=DATA]")
    ap.add_argument("--data", help="the dataset of every config that names none (a folder or a packed file)")
    ap.add_argument("--out", default=str(ROOT / "runs" / "gpu"), help="folder of the runs and results.json")
    ap.add_argument("--budget", type=float, help="seconds all runs together may take (sets the epoch count)")
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override in every config"
    )
    ap.add_argument("--probe-steps", type=int, default=30, help="timed training steps per config")
    ap.add_argument("--overhead", type=float, default=1.1, help="factor for saving, logging and data loading")
    ap.add_argument("--max-epochs", type=int, help="cap on the epoch count from --budget")
    args = ap.parse_args(argv)
    args.runs = [(c.partition("=")[0], c.partition("=")[2] or args.data) for c in args.configs]
    missing = [c for c, d in args.runs if not d]
    if missing:
        ap.error(f"no dataset for {', '.join(missing)}: give --data or write CONFIG=DATA")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs = plan(args.runs, args)
    sets = [*args.set, *([f"train.epochs={epochs}"] if epochs else [])]
    procs = {Path(cfg).stem: start(cfg, data, out, sets) for cfg, data in args.runs}
    for p in procs.values():
        p.wait()
    report = collect(out, procs, epochs, time.time() - t0)
    for name, code in report["exit_codes"].items():
        best = report["best"].get(name, {})
        shown = ", ".join(f"{k} {v}" for k, v in best.items()) or f"no summary (see {out / name}.log)"
        print(f"{name}: exit {code}; best {shown}", flush=True)
    return max(report["exit_codes"].values(), default=0)


if __name__ == "__main__":
    sys.exit(main())
