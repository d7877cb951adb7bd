"""`ferkit batch` against `ferkit predict` on the same images: images/s with 1 and 2 actors, the fixed cost of a
job (Ray start, actor start, shutdown: a one-image job), and the memory of one actor.

    python -m benchmarks.batch_scaling [--images 1000] [--model default] [--no-record]
    python -m benchmarks.batch_scaling --gpu [--actors-list 1,2,4,8,14]   # on a GPU machine (e.g. 16 cores + one H200)

On a GPU machine with `ferkit[ray]` installed, `--photos` names the photo folder when ../shared/data/wild is not
there, and `--write` also writes the section to a file of its own.

The images are the photos of ../shared/data/wild that have faces (else the bundled astronaut), shrunk to at most
640 px and copied under distinct names up to `--images`. `predict` is `run_predict` in this process (one
recognizer, its default threads); each batch job starts its own local Ray cluster, as `ferkit batch` does. With
`--gpu`, every job runs in two stages: detection in N one-CPU actors and classification of the crops in one GPU
actor (`--classify-actors 1 --gpus-per-actor 1 --device cuda`), for each N of `--actors-list`. Actor
memory is the largest resident set of any `_Recognize` actor process, sampled every 0.2 s from /proc (Linux).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.record import record

ROOT = Path(__file__).resolve().parents[1]
WILD = ROOT.parent / "shared" / "data" / "wild"
PHOTOS = [
    "2007_007763.jpg",
    "2008_001009.jpg",
    "2008_001322.jpg",
    "2008_002079.jpg",
    "two_people.jpg",
    "obama_and_biden.jpg",
    "couple.jpg",
    "bald_guys.jpg",
    "alex_lacamoire1.jpg",
    "justin.jpg",
]


def make_images(folder: Path, n: int, photos: Path = WILD) -> Path:
    from PIL import Image

    sources = [photos / p for p in PHOTOS if (photos / p).is_file()] or [
        ROOT / "src/ferkit/samples/astronaut.jpg"
    ]
    shrunk = []
    for p in sources:
        im = Image.open(p).convert("RGB")
        im.thumbnail((640, 640))
        shrunk.append(im)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shrunk[i % len(shrunk)].save(folder / f"img{i:05d}.jpg", quality=90)
    return folder


class ActorMemory:
    """Largest RSS (MB) of a recognizer actor process (`_Recognize`, `Detect`, `Classify`) while running."""

    def __init__(self) -> None:
        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    cmd = (proc / "cmdline").read_bytes()
                    if not any(name in cmd for name in (b"_Recognize", b"Detect", b"Classify")):
                        continue
                    rss = next(
                        ln for ln in (proc / "status").read_text().splitlines() if ln.startswith("VmRSS")
                    )
                except (OSError, StopIteration):
                    continue
                self.peak = max(self.peak, int(rss.split()[1]) / 1024)


def timed_batch(images: Path, out: Path, actors: int, cpus: float, model: str, gpu: dict | None = None):
    """(seconds, largest actor RSS in MB) of one `run_batch` job; `gpu`: {"device", "gpus"} for two stages."""
    from ferkit.batch import BatchOptions, run_batch

    shutil.rmtree(out, ignore_errors=True)
    extra = {"classify_actors": 1, "gpus_per_actor": gpu["gpus"]} if gpu else {}
    with ActorMemory() as mem:
        t = time.perf_counter()
        options = BatchOptions(actors=actors, cpus_per_actor=cpus, **extra)
        run_batch(images, out, options, model=model, **({"device": gpu["device"]} if gpu else {}))
        return time.perf_counter() - t, mem.peak


def gpu_scaling(
    images: Path, tmp: Path, n: int, model: str, counts: list[int], gpu: dict, cpus: float
) -> str:
    rows = []
    for k in counts:
        s, mem = timed_batch(images, tmp / f"gpu{k}", k, cpus, model, gpu)
        rows.append(f"| {k} | {s:.1f} | {n / s:.1f} | {mem:.0f} |")
        print(rows[-1], flush=True)
    from ferkit.faces import default_detector

    return (
        f"{n} photos, model `{model}` on {gpu['device']} (one classify actor, {gpu['gpus']:g} GPU), detection "
        f"(`{default_detector()}`) in N actors of {cpus:g} CPU; {os.cpu_count()} cores.\n\n"
        "| detect actors | wall, s | images/s | actor RSS, MB |\n|---|---|---|---|\n" + "\n".join(rows)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--model", default="default")
    ap.add_argument("--gpu", action="store_true", help="two-stage jobs with a GPU classify actor")
    ap.add_argument("--actors-list", default="1,2,4,8,14", help="with --gpu: detect-actor counts")
    ap.add_argument(
        "--device", default="cuda", help="with --gpu: the classify actor's device (cpu: a smoke test)"
    )
    ap.add_argument("--gpus", type=float, default=1.0, help="with --gpu: GPUs of the classify actor")
    ap.add_argument("--cpus", type=float, default=1.0, help="with --gpu: CPUs of each actor")
    ap.add_argument("--photos", type=Path, default=WILD, help="folder holding the wild photos")
    ap.add_argument("--write", type=Path, help="also write the section's text to this file")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    import ferkit
    from ferkit.predict.run import run_predict
    from ferkit.predict.sinks import CsvWriter

    tmp = Path(tempfile.mkdtemp(prefix="ferkit-batch-"))
    images = make_images(tmp / "images", args.images, args.photos)
    if args.gpu:
        counts = [int(k) for k in args.actors_list.split(",")]
        gpu = {"device": args.device, "gpus": args.gpus}
        body = gpu_scaling(images, tmp, args.images, args.model, counts, gpu, args.cpus)
        print(body)
        if args.write:
            args.write.write_text(body + "\n")
        if not args.no_record:
            record("ferkit batch on Ray Data: detect actors against images/s, GPU classify actor", body)
        return
    one = make_images(tmp / "one", 1)
    rec = ferkit.load(args.model)
    t = time.perf_counter()
    run_predict(images, rec, [CsvWriter(tmp / "predict.csv")])
    predict_s = time.perf_counter() - t
    fixed_s, _ = timed_batch(one, tmp / "out1", 1, 1.0, args.model)
    rows = [f"| `ferkit predict` (one process) | — | {predict_s:.1f} | {args.images / predict_s:.1f} | — |"]
    for actors, cpus in ((1, 1.0), (2, 0.5)):
        s, mem = timed_batch(images, tmp / f"out{actors}", actors, cpus, args.model)
        rows.append(
            f"| `ferkit batch`, {actors} actor(s) × {cpus:g} CPU | {fixed_s:.1f} | {s:.1f} | {args.images / s:.1f} | "
            f"{mem:.0f} |"
        )
    body = (
        f"{args.images} photos (wild photos with faces, ≤ 640 px), model `{args.model}` (`ferkit.load`: int8 ONNX "
        f"where shipped), default detector; a local Ray cluster per job on the machine's {os.cpu_count()} cores.\n\n"
        "| run | fixed cost per job, s (a one-image job) | wall, s | images/s | actor RSS, MB |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
    print(body)
    shutil.rmtree(tmp, ignore_errors=True)
    if not args.no_record:
        record("ferkit batch on Ray Data against ferkit predict", body)


if __name__ == "__main__":
    main()
