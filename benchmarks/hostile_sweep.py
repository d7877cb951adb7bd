"""The adversarial sweep of the web service: hostile and ordinary requests against a real `ferkit serve`.

    python -m benchmarks.hostile_sweep [--requests 3000] [--model fast] [--record]

Starts `ferkit serve` as its own process on loopback, then
1. sends `requests` requests at concurrency 8, cycling through a real face photo (half of them) and hostile
   inputs: garbage bytes, an empty upload, a truncated JPEG, a PNG decompression bomb, a GIF, deeply nested JSON,
   bad base64, JSON without the key, a wrong content type, a multipart body without a file, and an understated
   Content-Length; it counts answers by status (target: no 5xx other than 503);
2. reads the server's resident set after a warm-up and after each of six rounds of the sweep: the least-squares
   slope, per 1,000 face requests with the default detector (target < 5 MB; single readings move by tens of MB
   as large hostile bodies come and go, so two endpoints alone would mislead);
3. opens 16 connections that send headers declaring a body and then nothing, and times a real request while they
   are held (target: answered within 2 s); the idle ones must be answered 408 once the read timeout passes.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.record import record

ROOT = Path(__file__).resolve().parents[1]

PHOTO = ROOT / "src" / "ferkit" / "samples" / "astronaut.jpg"
READ_TIMEOUT = 3.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024


def hostile_requests() -> list[tuple[str, dict]]:
    """(name, httpx.post keyword arguments) of every hostile request kind."""
    from PIL import Image
    from tests.conftest import png_bomb_bytes

    photo = PHOTO.read_bytes()
    gif = io.BytesIO()
    Image.new("L", (32, 32)).save(gif, "GIF")
    nested = "[" * 200_000 + "]" * 200_000
    return [
        ("garbage", {"files": {"file": ("a.jpg", b"\x00garbage" * 100, "image/jpeg")}}),
        ("empty", {"files": {"file": ("a.jpg", b"", "image/jpeg")}}),
        ("truncated jpeg", {"files": {"file": ("a.jpg", photo[: len(photo) // 3], "image/jpeg")}}),
        ("png bomb", {"files": {"file": ("b.png", png_bomb_bytes(20_000, 20_000), "image/png")}}),
        ("gif", {"files": {"file": ("a.gif", gif.getvalue(), "image/gif")}}),
        ("nested json", {"content": nested, "headers": {"Content-Type": "application/json"}}),
        ("bad base64", {"json": {"image_base64": "***"}}),
        ("json without key", {"json": {"image": base64.b64encode(photo).decode()}}),
        ("json list", {"content": json.dumps([1, 2]), "headers": {"Content-Type": "application/json"}}),
        ("wrong content type", {"content": photo, "headers": {"Content-Type": "text/plain"}}),
        ("multipart without file", {"files": {"other": ("a.jpg", photo, "image/jpeg")}}),
    ]


def sweep(url: str, n: int) -> tuple[Counter, dict[str, Counter]]:
    import httpx

    photo = PHOTO.read_bytes()
    kinds = hostile_requests()
    client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=8))

    def one(i: int):
        name, kw = (
            ("face", {"files": {"file": ("a.jpg", photo, "image/jpeg")}})
            if i % 2 == 0
            else kinds[i // 2 % len(kinds)]
        )
        try:
            return name, client.post(url, **kw).status_code
        except httpx.HTTPError as exc:
            return name, type(exc).__name__

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(n)))
    by_kind: dict[str, Counter] = {}
    for name, code in answers:
        by_kind.setdefault(name, Counter())[code] += 1
    return Counter(code for _, code in answers), by_kind


def slow_clients(port: int, url: str, count: int = 16) -> tuple[float, int, int]:
    """(seconds a real request took while `count` idle bodies were held, its status, idle ones answered 408)."""
    import httpx

    idle = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 50000\r\n\r\n"
        )
        idle.append(s)
    time.sleep(0.5)
    t = time.perf_counter()
    r = httpx.post(url, files={"file": ("a.jpg", PHOTO.read_bytes(), "image/jpeg")}, timeout=30)
    took = time.perf_counter() - t
    answered = 0
    for s in idle:
        s.settimeout(READ_TIMEOUT + 10)
        try:
            answered += s.recv(64).startswith(b"HTTP/1.1 408")
        except OSError:
            pass
        s.close()
    return took, r.status_code, answered


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--model", default="fast", help="model to serve (the detector is the point: default one)")
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    import httpx

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ferkit",
            "serve",
            "--model",
            args.model,
            "--port",
            str(port),
            "--read-timeout",
            str(READ_TIMEOUT),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/v1/predict"
    try:
        deadline = time.time() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit(f"server did not start: {server.stderr.read()[-2000:]}") from None
                time.sleep(0.3)
        sweep(url, 200)  # warm-up: allocator pools, lazy imports
        rounds, codes, by_kind, samples = 6, Counter(), {}, [rss_mb(server.pid)]
        t = time.perf_counter()
        for _ in range(rounds):
            c, k = sweep(url, args.requests // rounds)
            codes.update(c)
            for name, counter in k.items():
                by_kind.setdefault(name, Counter()).update(counter)
            samples.append(rss_mb(server.pid))
        wall = time.perf_counter() - t
        took, status, answered = slow_clients(port, url)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code
    finally:
        server.terminate()
        server.wait(20)
    faces = by_kind["face"].total()
    import numpy as np

    per_round = faces / rounds
    slope = float(np.polyfit(np.arange(len(samples)) * per_round, samples, 1)[0]) * 1000
    bad5xx = sum(v for k, v in codes.items() if isinstance(k, int) and k >= 500 and k != 503)
    kinds = "\n".join(
        f"| {k} | {', '.join(f'{c}: {n}' for c, n in sorted(v.items(), key=str))} |"
        for k, v in by_kind.items()
    )
    body = (
        f"`ferkit serve --model {args.model}` (default detector) in its own process, loopback, concurrency 8, "
        f"read timeout {READ_TIMEOUT:g} s.\n\n"
        "| measure | result | target |\n|---|---|---|\n"
        f"| requests sent | {codes.total()} in {wall:.0f} s ({faces} face photos, the rest hostile) | |\n"
        f"| 5xx other than 503 | {bad5xx} | 0 |\n"
        f"| server RSS growth per 1,000 face requests (least-squares slope over {rounds} rounds) | "
        f"{slope:.2f} MB (RSS after each round: {' → '.join(f'{v:.0f}' for v in samples)} MB) | < 5 MB |\n"
        f"| a real request while 16 idle bodies are held | {status} in {took:.2f} s | 200 within 2 s |\n"
        f"| idle bodies answered 408 after the timeout | {answered} of 16 | 16 |\n"
        f"| /health afterwards | {health} | 200 |\n\n"
        "Answers per request kind:\n\n| kind | status: count |\n|---|---|\n" + kinds
    )
    print(body)
    if args.record:
        record("Adversarial sweep of the web service", body)


if __name__ == "__main__":
    main()
