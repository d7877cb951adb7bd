"""Load test of `ferkit serve` on loopback: N requests at concurrency C with a real face photo.

    python -m benchmarks.load_test [--requests 1000] [--concurrency 32] [--model M] [--max-seconds 300]

Starts the server in-process on 127.0.0.1 (a free port), sends the bundled astronaut photo, and records
requests/s, p50/p95/p99 latency, the count of 503 answers (deliberate back-pressure) and any other errors.
Bounded in count and time; only loopback traffic.
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.record import record

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--model", default=None)
    ap.add_argument("--max-pending", type=int, default=8)
    ap.add_argument("--max-seconds", type=float, default=300)
    args = ap.parse_args()
    import httpx
    import uvicorn

    import ferkit
    from ferkit.serve import Limits, create_app

    rec = ferkit.load(args.model)
    app = create_app(rec, Limits(max_pending=args.max_pending))
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/v1/predict"
    photo = (ROOT / "src/ferkit/samples/astronaut.jpg").read_bytes()
    deadline = time.time() + args.max_seconds
    client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=args.concurrency))

    def one(_):
        if time.time() > deadline:
            return None, 0.0
        t = time.perf_counter()
        try:
            r = client.post(url, files={"file": ("a.jpg", photo, "image/jpeg")})
            return r.status_code, time.perf_counter() - t
        except httpx.HTTPError:
            return -1, time.perf_counter() - t

    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        results = [r for r in pool.map(one, range(args.requests)) if r[0] is not None]
    wall = time.perf_counter() - t0
    server.should_exit = True
    ok = np.array([dt for code, dt in results if code == 200]) * 1000
    n503 = sum(1 for code, _ in results if code == 503)
    errors = sum(1 for code, _ in results if code not in (200, 503))
    body = (
        "| requests sent | concurrency | 200 | 503 (back-pressure) | other errors | requests/s (200) | "
        "p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|---|---|\n"
        f"| {len(results)} | {args.concurrency} | {len(ok)} | {n503} | {errors} | {len(ok) / wall:.1f} | "
        f"{np.percentile(ok, 50):.0f} | {np.percentile(ok, 95):.0f} | {np.percentile(ok, 99):.0f} |\n\n"
        f"Model `{rec.backend.name}`, detector `{rec.detector.name}`, 512×512 JPEG with one face, "
        f"max pending {args.max_pending}, one uvicorn worker, wall time {wall:.1f} s."
    )
    record(f"REST service load test (loopback), max pending {args.max_pending}", body)


if __name__ == "__main__":
    main()
