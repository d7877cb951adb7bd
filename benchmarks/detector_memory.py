"""Memory growth of each face detector over many detections (resident set size, per 1,000 calls).

    python -m benchmarks.detector_memory [--calls 1500] [--warmup 300] [--record]

Each detector runs in a fresh process on the bundled astronaut photo (512×512, one face): `warmup` calls first
(allocator pools and caches settle), then `calls` more; the growth of the resident set over those is reported per
1,000 calls. For yunet it also measures the `yuface` wheel's own Python wrapper, which ferkit no longer calls
because it leaks its result buffer. Target: under 1 MB per 1,000 calls for every detector.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.record import record

ROOT = Path(__file__).resolve().parents[1]

PHOTO = ROOT / "src" / "ferkit" / "samples" / "astronaut.jpg"


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def measure(name: str, calls: int, warmup: int) -> dict:
    """Run in the child: detections with `name` (a detector, or `yuface-wrapper`), RSS before and after."""
    import numpy as np

    from ferkit.faces import get_detector
    from ferkit.imageio import read_rgb

    rgb = read_rgb(PHOTO)[0]
    if name == "yuface-wrapper":
        import yuface

        bgr = np.ascontiguousarray(rgb[:, :, ::-1])

        def detect():
            return yuface.detect(bgr, conf=0.0)
    else:
        detector = get_detector(name)

        def detect():
            return detector.detect(rgb)

    for _ in range(warmup):
        faces = detect()
    before = rss_mb()
    for _ in range(calls):
        faces = detect()
    grown = rss_mb() - before
    return {
        "name": name,
        "faces": len(faces[0]) if name == "yuface-wrapper" else len(faces),
        "mb_per_1000": grown * 1000 / calls,
        "rss_mb": rss_mb(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1500)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--record", action="store_true", help="write the table to benchmarks/RESULTS.md")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.calls, args.warmup)))
        return
    from ferkit.faces import list_detectors

    names = list_detectors(available_only=True)
    if "yunet" in names:
        names.append("yuface-wrapper")
    rows = []
    for name in names:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.detector_memory",
                "--child",
                name,
                "--calls",
                str(args.calls),
                "--warmup",
                str(args.warmup),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    table = (
        "| detector | faces found | RSS growth per 1,000 detections | RSS at the end |\n|---|---|---|---|\n"
    )
    for r in rows:
        label = "yuface's own wrapper (not used by ferkit)" if r["name"] == "yuface-wrapper" else r["name"]
        table += f"| {label} | {r['faces']} | {r['mb_per_1000']:.2f} MB | {r['rss_mb']:.0f} MB |\n"
    body = (
        f"{args.calls} detections of the astronaut photo (512×512) after {args.warmup} warm-up calls, each detector "
        "in a fresh process.\n\n"
        + table
        + "\nferkit's yunet calls libfacedetection's C API with a buffer it "
        "owns; the wheel's Python wrapper leaks its 36 KB result buffer on every call."
    )
    print(body)
    if args.record:
        record("Face detector memory growth", body)


if __name__ == "__main__":
    main()
