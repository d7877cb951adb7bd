"""The FastAPI app: POST /v1/predict, GET /v1/models, GET /health, GET / (the browser page), /docs.

Inference runs off the event loop in a worker thread, one at a time per process (PyTorch uses every core for a
forward pass); a bounded count of pending requests answers 503 with Retry-After instead of piling up.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import threading
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

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
    app = FastAPI(title="ferkit", description="Facial emotion recognition", version=_version())
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["*"], allow_headers=["*"]
        )

    @app.exception_handler(HTTPProblem)
    async def _problem(request, exc: HTTPProblem):
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)

    def check_key(request: Request) -> None:
        if api_key and not hmac.compare_digest(request.headers.get("x-api-key", ""), api_key):
            raise HTTPProblem(401, "missing or wrong X-API-Key")

    def run(rgb):
        with infer_lock:
            t = time.perf_counter()
            frame = recognizer.predict(rgb, keep_images=False)[0]
            return frame, time.perf_counter() - t

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models(request: Request):
        check_key(request)
        dc = recognizer.backend.data_config
        return {
            "models": [
                {
                    "name": recognizer.backend.name,
                    "labels": list(dc.labels.names),
                    "input_size": dc.input_size,
                    "detector": recognizer.detector.name,
                }
            ]
        }

    @app.post("/v1/predict")
    async def predict(request: Request):
        """Multipart `file` (JPEG/PNG/WebP/BMP) or JSON `{"image_base64": ...}` → the faces in the image."""
        check_key(request)
        size = int(request.headers.get("content-length") or 0)
        if size > limits.max_upload_bytes * 4 // 3 + 4096:
            raise HTTPProblem(
                413, f"request of {size:,} bytes is over the upload limit of {limits.max_upload_bytes:,}"
            )
        data = await _image_bytes(request)
        rgb = decode_upload(data, limits)
        gate.enter()
        try:
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


async def _image_bytes(request) -> bytes:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            raise HTTPProblem(422, "multipart body has no 'file' field")
        return await upload.read()
    if ctype.startswith("application/json"):
        try:
            body = await request.json()
            return base64.b64decode(body["image_base64"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise HTTPProblem(422, 'JSON body must be {"image_base64": "<base64 image>"}') from None
    raise HTTPProblem(415, "send multipart/form-data with a 'file' field or JSON {\"image_base64\": ...}")


def _version() -> str:
    from ferkit import __version__

    return __version__


def app_from_env():
    """App factory for `uvicorn --factory` with several workers: settings come from FERKIT_SERVE_* variables."""
    import ferkit

    rec = ferkit.load(
        os.environ.get("FERKIT_SERVE_MODEL") or None, detector=os.environ.get("FERKIT_SERVE_DETECTOR") or None
    )
    limits = Limits(
        max_upload_bytes=int(float(os.environ.get("FERKIT_SERVE_MAX_UPLOAD_MB", "10")) * 1024 * 1024),
        max_pending=int(os.environ.get("FERKIT_SERVE_MAX_PENDING", "8")),
    )
    key_env = os.environ.get("FERKIT_SERVE_API_KEY_ENV")
    cors = [o for o in os.environ.get("FERKIT_SERVE_CORS", "").split(",") if o]
    return create_app(
        rec, limits, api_key=os.environ.get(key_env) if key_env else None, cors_origins=cors or None
    )
