"""Hostile clients of the web service: idle bodies cannot lock it, odd JSON is a 422, a broken model
is refused at start."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
import torch

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tests.test_serve import _png, _Server  # noqa: E402


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    import ferkit
    from ferkit.models import create_model, save_checkpoint

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path_factory.mktemp("m") / "tiny.safetensors", create_model("mobilefer"))
    return ferkit.load(str(ckpt))


def _idle_client(port: int) -> socket.socket:
    """Headers that declare a 100 kB body, then nothing."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(
        b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
    )
    return s


def test_idle_bodies_cannot_lock_out_real_requests(recognizer):
    from ferkit.serve import Limits, create_app

    app = create_app(recognizer, Limits(max_pending=2, read_timeout_s=1.5))
    with _Server(app) as base:
        port = int(base.rsplit(":", 1)[1])
        idle = [_idle_client(port) for _ in range(8)]  # four times the inference slots
        try:
            time.sleep(0.3)
            t = time.perf_counter()
            r = httpx.post(
                f"{base}/v1/predict", files={"file": ("a.png", _png(64, 64), "image/png")}, timeout=10
            )
            assert r.status_code == 200, r.text
            assert time.perf_counter() - t < 2.0
            assert httpx.get(f"{base}/health", timeout=5).status_code == 200
            # the idle ones are answered 408 once their time is up
            idle[0].settimeout(10)
            answer = idle[0].recv(4096).decode()
            assert answer.startswith("HTTP/1.1 408"), answer
        finally:
            for s in idle:
                s.close()


def test_deeply_nested_json_is_a_422(recognizer):
    from ferkit.serve import create_app

    with _Server(create_app(recognizer)) as base:
        body = "[" * 100_000 + "]" * 100_000
        r = httpx.post(
            f"{base}/v1/predict", content=body, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert r.status_code == 422, r.text


def test_serve_refuses_a_model_that_outputs_nan(tmp_path):
    from ferkit.models import create_model, save_checkpoint

    model = create_model("mobilefer")
    with torch.no_grad():
        model.head.bias.fill_(float("nan"))
    ckpt = save_checkpoint(tmp_path / "nan.safetensors", model)
    r = subprocess.run(
        [sys.executable, "-m", "ferkit", "serve", "--model", str(ckpt), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0 and "non-finite" in r.stderr and "Traceback" not in r.stderr


def test_a_model_error_during_a_request_is_answered_with_its_message(recognizer):
    from ferkit.errors import ModelError
    from ferkit.serve import create_app

    class Broken:
        backend, detector = recognizer.backend, recognizer.detector

        def predict(self, image, keep_images=False):
            raise ModelError("model x produced non-finite outputs")

    with _Server(create_app(Broken())) as base:
        r = httpx.post(f"{base}/v1/predict", files={"file": ("a.png", _png(32, 32), "image/png")}, timeout=10)
    assert r.status_code == 500 and "non-finite" in r.json()["detail"]


def test_readers_past_the_limit_get_503_and_their_slots_come_back(recognizer):
    from ferkit.serve import Limits, create_app

    app = create_app(recognizer, Limits(max_reading=2, read_timeout_s=1.0))
    with _Server(app) as base:
        port = int(base.rsplit(":", 1)[1])
        idle = [_idle_client(port) for _ in range(2)]
        try:
            time.sleep(0.3)
            files = {"file": ("a.png", _png(64, 64), "image/png")}
            r = httpx.post(f"{base}/v1/predict", files=files, timeout=10)
            assert r.status_code == 503 and "uploads in progress" in r.json()["detail"]
            for s in idle:  # both time out with 408 ...
                s.settimeout(10)
                assert s.recv(64).startswith(b"HTTP/1.1 408")
            # ... and give their reading slots back
            assert httpx.post(f"{base}/v1/predict", files=files, timeout=10).status_code == 200
        finally:
            for s in idle:
                s.close()
