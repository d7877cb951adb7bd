"""The web service on a real uvicorn server on loopback: every endpoint, every error, and the browser page."""

from __future__ import annotations

import base64
import io
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

ASTRONAUT = Path(__file__).resolve().parents[1] / "src" / "ferkit" / "samples" / "astronaut.jpg"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self, app):
        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    import ferkit
    from ferkit.models import create_model, save_checkpoint

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path_factory.mktemp("m") / "tiny.safetensors", create_model("mobilefer"))
    return ferkit.load(str(ckpt))


@pytest.fixture(scope="module")
def url(recognizer):
    from ferkit.serve import Limits, create_app

    app = create_app(recognizer, Limits(max_upload_bytes=300_000, max_pixels=4_000_000, max_pending=4))
    with _Server(app) as base:
        yield base


def _img(w: int, h: int, fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (w, h), 128).save(buf, fmt)
    return buf.getvalue()


def _png(w: int, h: int) -> bytes:
    return _img(w, h, "PNG")


def test_health_models_docs(url):
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    models = httpx.get(f"{url}/v1/models").json()["models"]
    assert models[0]["labels"][3] == "happy" and models[0]["name"] == "tiny"
    assert httpx.get(f"{url}/docs").status_code == 200
    assert "/v1/predict" in httpx.get(f"{url}/openapi.json").json()["paths"]
    assert "<canvas" in httpx.get(f"{url}/").text


def test_predict_multipart_and_base64_agree(url):
    data = ASTRONAUT.read_bytes()
    a = httpx.post(f"{url}/v1/predict", files={"file": ("a.jpg", data, "image/jpeg")}, timeout=60)
    assert a.status_code == 200, a.text
    body = a.json()
    assert len(body["faces"]) == 1 and body["model"] == "tiny" and body["timing_ms"] > 0
    face = body["faces"][0]
    x, y, w, h = face["box"]
    assert 150 < x + w / 2 < 300 and 40 < y + h / 2 < 200  # the astronaut's face
    assert face["label"] in face["probs"] and sum(face["probs"].values()) == pytest.approx(1, abs=1e-4)
    b = httpx.post(f"{url}/v1/predict", json={"image_base64": base64.b64encode(data).decode()}, timeout=60)
    assert b.status_code == 200 and b.json()["faces"] == body["faces"]


def test_multi_picture_jpeg_from_a_phone_is_accepted(url):
    from PIL import Image

    buf = io.BytesIO()
    first = Image.open(ASTRONAUT)
    first.save(buf, "MPO", save_all=True, append_images=[first.resize((64, 64))])
    assert Image.open(io.BytesIO(buf.getvalue())).format == "MPO"
    r = httpx.post(f"{url}/v1/predict", files={"file": ("p.jpg", buf.getvalue(), "image/jpeg")}, timeout=60)
    assert r.status_code == 200, r.text
    assert len(r.json()["faces"]) == 1


def test_no_face_is_an_empty_list(url):
    r = httpx.post(f"{url}/v1/predict", files={"file": ("g.png", _png(64, 64), "image/png")})
    assert r.status_code == 200 and r.json()["faces"] == []


@pytest.mark.parametrize(
    "payload, status, words",
    [
        ({"files": {"file": ("big.jpg", b"\xff\xd8" + bytes(400_000), "image/jpeg")}}, 413, "over the"),
        ({"files": {"file": ("huge.png", None, "image/png")}}, 413, "pixels"),
        ({"files": {"file": ("a.txt", b"hello, not an image", "text/plain")}}, 415, "not an image"),
        ({"files": {"file": ("a.gif", None, "image/gif")}}, 415, "GIF"),
        ({"files": {"file": ("t.jpg", None, "image/jpeg")}}, 422, "cannot be decoded"),
        ({"json": {"image_base64": "***"}}, 422, "image_base64"),
        ({"json": {"nothing": 1}}, 422, "image_base64"),
        ({"content": b"raw", "headers": {"content-type": "text/plain"}}, 415, "multipart"),
        ({"files": {"other": ("a.jpg", b"x", "image/jpeg")}}, 422, "'file'"),
        (
            {"data": {"file": "not a file"}, "files": {"other": ("a.jpg", b"x", "image/jpeg")}},
            422,
            "file upload",
        ),
    ],
)
def test_bad_uploads(url, payload, status, words):
    if "files" in payload and payload["files"].get("file", (None, 1))[1] is None:
        name = payload["files"]["file"][0]
        data = {"huge.png": lambda: _png(2500, 2000), "a.gif": lambda: _img(16, 16, "GIF")}.get(
            name, lambda: ASTRONAUT.read_bytes()[:3000]
        )()
        payload = {"files": {"file": (name, data, payload["files"]["file"][2])}}
    r = httpx.post(f"{url}/v1/predict", timeout=60, **payload)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_cors_off_by_default(url):
    r = httpx.options(
        f"{url}/v1/predict",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers


def test_api_key(recognizer):
    from ferkit.serve import create_app

    with _Server(create_app(recognizer, api_key="s3cret")) as base:
        assert httpx.get(f"{base}/v1/models").status_code == 401
        assert httpx.get(f"{base}/v1/models", headers={"X-API-Key": "wrong"}).status_code == 401
        assert httpx.get(f"{base}/v1/models", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert httpx.get(f"{base}/health").status_code == 200


def test_saturation_answers_503_with_retry_after(recognizer):
    from ferkit.serve import Limits, create_app

    class Slow:
        backend, detector = recognizer.backend, recognizer.detector

        def predict(self, image, keep_images=False):
            time.sleep(0.6)
            return recognizer.predict(image, keep_images=keep_images)

    with _Server(create_app(Slow(), Limits(max_pending=1))) as base:
        png = _png(32, 32)

        def call(_):
            return httpx.post(f"{base}/v1/predict", files={"file": ("a.png", png, "image/png")}, timeout=30)

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(call, range(6)))
    codes = [a.status_code for a in answers]
    assert 200 in codes and 503 in codes, codes
    assert all(a.headers.get("retry-after") == "1" for a in answers if a.status_code == 503)


def test_cli_serve_refuses_unset_api_key_env(tmp_path):
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "ferkit", "serve", "--api-key-env", "FERKIT_NO_SUCH_VAR_X"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "not set" in r.stderr and "Traceback" not in r.stderr


def test_cli_serve_with_workers_checks_the_model_once_and_exits(tmp_path):
    import subprocess
    import sys

    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "ferkit",
            "serve",
            "--model",
            str(tmp_path / "nope.safetensors"),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0 and "nope.safetensors" in r.stderr and "Traceback" not in r.stderr


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not CHROMIUM, reason="Chromium not installed (apt-get install chromium; .ci/run does)")
def test_browser_page_shows_box_and_label(url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) not installed")
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(url + "/")
        page.set_input_files("#file", str(ASTRONAUT))
        page.wait_for_selector(".face-label", timeout=60_000)
        label = page.inner_text(".face-label")
        size = page.evaluate(
            "[document.getElementById('canvas').width, document.getElementById('canvas').height]"
        )
        pixel = page.evaluate(  # a pixel on the left edge of the drawn box
            "(() => { const [x, y, w, h] = window.lastResult.faces[0].box;"
            " const c = document.getElementById('canvas').getContext('2d');"
            " return Array.from(c.getImageData(x, y + Math.floor(h / 2), 1, 1).data); })()"
        )
        shot = tmp_path / "page.png"
        page.screenshot(path=str(shot))
        junk = tmp_path / "notimg.jpg"  # a file neither the browser nor the server can decode
        junk.write_bytes(b"this is not an image")
        page.set_input_files("#file", str(junk))
        page.wait_for_function(
            "document.getElementById('status').textContent.startsWith('Error:')", timeout=30_000
        )
        status = page.inner_text("#status")
        browser.close()
    assert "not an image" in status  # the server's 415 message, not a page stuck on "Recognising…"
    assert label.split(". ", 1)[1] in {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    assert size == [512, 512]
    assert pixel[:3] == [0x22, 0xC5, 0x5E], pixel  # the box's green stroke
    assert shot.stat().st_size > 10_000


def test_chunked_upload_cannot_bypass_the_limit(url):
    def body():
        for _ in range(50):
            yield b"\x00" * 20_000  # 1 MB, no Content-Length: sent chunked

    r = httpx.post(
        f"{url}/v1/predict", content=body(), headers={"content-type": "application/json"}, timeout=60
    )
    assert r.status_code == 413 and "upload limit" in r.json()["detail"]


def test_bomb_header_and_odd_keys(recognizer, url):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
    r = httpx.post(f"{url}/v1/predict", files={"file": ("b.png", bomb, "image/png")})
    assert r.status_code == 413
    from ferkit.serve import create_app

    with _Server(create_app(recognizer, api_key="k")) as base:
        r = httpx.get(f"{base}/v1/models", headers={"X-API-Key": "é".encode()})
        assert r.status_code == 401
