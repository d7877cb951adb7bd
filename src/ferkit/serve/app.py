"""The FastAPI app: POST /v1/predict, GET /v1/models, GET /health, GET / (the browser page), /docs.

Inference runs off the event loop in a worker thread, one at a time per process (PyTorch uses every core for a
forward pass); a bounded count of pending requests answers 503 with Retry-After instead of piling up.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import os
import threading
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from ferkit.errors import ModelError
from ferkit.serve.limits import Gate, HTTPProblem, Limits, decode_upload

STATIC = Path(__file__).resolve().parent / "static"


def create_app(recognizer, limits: Limits | None = None, api_key: str | None = None, cors_origins=None):
    """A FastAPI app serving one Recognizer (see `ferkit.load`).

    Args:
        recognizer: the model + detector to serve.
        limits: upload size, image pixels and pending-request limits.
        api_key: when set, every /v1 request must send it in the X-API-Key header (else 401).
        cors_origins: origins allowed by CORS; None (default) adds no CORS headers.
    """
    limits = limits or Limits()
    gate, infer_lock = Gate(limits.max_pending), threading.Lock()
    reading = Gate(limits.max_reading, "too many uploads in progress; retry shortly")
    app, check_key = _bare_app(cors_origins), _key_check(api_key)

    def run(rgb):
        with infer_lock:  # one inference at a time: the model's threads are not shared
            t = time.perf_counter()
            frame = recognizer.predict(rgb, keep_images=False)[0]
            return frame, time.perf_counter() - t

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models(request: Request):
        check_key(request)
        return {"models": [_model_info(recognizer)]}

    @app.post("/v1/predict")
    async def predict(request: Request):
        """Multipart `file` (JPEG/PNG/WebP/BMP) or JSON `{"image_base64": ...}` → the faces in the image."""
        check_key(request)
        data = await _upload(request, limits, reading)
        gate.enter()  # bound the work (decoding, inference) of concurrent requests
        try:
            rgb = await run_in_threadpool(decode_upload, data, limits)
            frame, seconds = await run_in_threadpool(run, rgb)
        finally:
            gate.leave()
        out = frame.to_dict()
        out.update(
            {
                "model": recognizer.backend.name,
                "image_size": [int(rgb.shape[1]), int(rgb.shape[0])],
                "timing_ms": round(1000 * seconds, 2),
            }
        )
        return out

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app


def _key_check(api_key: str | None):
    """A function that raises 401 when `api_key` is set and the request does not send it as X-API-Key."""

    def check_key(request: Request) -> None:
        sent = request.headers.get("x-api-key", "").encode("utf-8", "surrogateescape")
        if api_key and not hmac.compare_digest(sent, api_key.encode("utf-8")):
            raise HTTPProblem(401, "missing or wrong X-API-Key")

    return check_key


def _bare_app(cors_origins) -> FastAPI:
    """The FastAPI app with CORS (when origins are given) and the error answers, before any route."""
    app = FastAPI(title="ferkit", description="Facial emotion recognition", version=_version())
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["*"], allow_headers=["*"]
        )

    @app.exception_handler(HTTPProblem)
    async def _problem(request, exc: HTTPProblem):
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(ModelError)
    async def _broken_model(request, exc: ModelError):  # e.g. non-finite outputs: say so, not a bare 500
        return JSONResponse({"detail": str(exc)}, status_code=500)

    return app


def _model_info(recognizer) -> dict:
    dc = recognizer.backend.data_config
    return {
        "name": recognizer.backend.name,
        "labels": list(dc.labels.names),
        "input_size": dc.input_size,
        "detector": recognizer.detector.name,
    }


async def _upload(request: Request, limits: Limits, reading: Gate) -> bytes:
    """The uploaded image's bytes. The body is read (bounded in size and time) before an inference slot is taken:
    clients that send headers and then nothing hold a reading slot until they time out with 408, never an
    inference slot."""
    reading.enter()
    try:
        return await _image_bytes(request, await _read_in_time(request, limits))
    finally:
        reading.leave()


async def _read_in_time(request: Request, limits: Limits) -> bytes:
    """The request body, bounded in size; 408 when no bytes arrive for `limits.read_timeout_s` seconds, or the
    whole body takes over `limits.read_total_s` (a slow but steady upload of 10 MB at 1 Mbit/s still fits)."""
    cap = limits.max_upload_bytes * 4 // 3 + 64 * 1024  # base64 in JSON is 4/3 of the image, plus framing
    try:
        return await asyncio.wait_for(_read_bounded(request, cap, limits.read_timeout_s), limits.read_total_s)
    except TimeoutError:
        raise HTTPProblem(
            408,
            f"the request body did not arrive in time (limits: {limits.read_timeout_s:g} s without data, "
            f"{limits.read_total_s:g} s in all)",
            {"Connection": "close"},
        ) from None


async def _read_bounded(request: Request, cap: int, idle_s: float) -> bytes:
    """The request body, refused with 413 as soon as it passes `cap` bytes (chunked bodies included); TimeoutError
    when no chunk arrives for `idle_s` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPProblem(400, "malformed Content-Length header")
        if int(declared) > cap:
            raise HTTPProblem(413, f"request of {int(declared):,} bytes is over the upload limit")
    body = bytearray()
    chunks = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), idle_s)
        except StopAsyncIteration:
            return bytes(body)
        body += chunk
        if len(body) > cap:
            raise HTTPProblem(413, f"request body is over the upload limit of {cap:,} bytes")


async def _image_bytes(request: Request, body: bytes) -> bytes:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        buffered = Request(request.scope, receive=replay)
        async with buffered.form() as form:
            upload = form.get("file")
            if upload is None:
                raise HTTPProblem(422, "multipart body has no 'file' field")
            if not hasattr(upload, "read"):
                raise HTTPProblem(
                    422,
                    "the 'file' field is a text value, not a file upload: send it with a filename "
                    "(curl -F 'file=@photo.jpg')",
                )
            return await upload.read()
    if ctype.startswith("application/json"):
        try:
            payload = json.loads(body)
            return base64.b64decode(payload["image_base64"], validate=True)
        except (
            ValueError,
            KeyError,
            TypeError,
            RecursionError,
            binascii.Error,
        ):  # deep nesting: RecursionError
            raise HTTPProblem(422, 'JSON body must be {"image_base64": "<base64 image>"}') from None
    raise HTTPProblem(415, "send multipart/form-data with a 'file' field or JSON {\"image_base64\": ...}")


def _version() -> str:
    from ferkit import __version__

    return __version__


def check_outputs(recognizer) -> None:
    """Refuse to serve a model whose outputs are not finite (ModelError): every request would fail."""
    import numpy as np

    s = recognizer.backend.data_config.image_size
    recognizer.classify(np.full((1, s, s), 128, np.uint8))


def app_from_settings(settings):
    """The app `ferkit serve` runs: the settings checked, the model loaded and its outputs checked once."""
    import ferkit

    settings.check()
    rec = ferkit.load(
        settings.model,
        detector=settings.detector,
        max_side=settings.max_side,
        device=settings.device,
        threads=settings.threads,
    )
    check_outputs(rec)
    return create_app(rec, settings.limits(), settings.api_key(), list(settings.cors_origins) or None)


def app_from_env():
    """App factory for `uvicorn --factory` with several workers: the settings come as JSON in FERKIT_SERVE_SETTINGS
    (written by `ferkit serve`)."""
    from ferkit.serve.settings import SETTINGS_ENV, ServeSettings

    text = os.environ.get(SETTINGS_ENV)
    if not text:
        raise RuntimeError(f"{SETTINGS_ENV} is not set: start the service with `ferkit serve`")
    return app_from_settings(ServeSettings.from_json(text))
