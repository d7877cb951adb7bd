"""`ferkit serve`: the REST service with its browser page, under uvicorn."""

from __future__ import annotations

import os

from ferkit.errors import FerkitError


def register(sub) -> None:
    p = sub.add_parser("serve", help="REST service + browser page (POST /v1/predict, GET /)")
    p.add_argument(
        "--model", help="checkpoint, .onnx file or shipped model name (default: the shipped model)"
    )
    p.add_argument("--detector", help="face detector (default: yunet where installed, else haar)")
    p.add_argument(
        "--max-side", type=int, metavar="PX", help="longest side face detection runs at (default 960)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    p.add_argument("--max-upload-mb", type=float, default=10.0)
    p.add_argument("--max-pending", type=int, default=8, help="requests running or queued before 503")
    p.add_argument(
        "--read-timeout",
        type=float,
        default=20.0,
        metavar="S",
        help="seconds a request body may go without data before a 408 (default 20; 120 s for a whole body)",
    )
    p.add_argument(
        "--max-reading",
        type=int,
        default=32,
        metavar="N",
        help="request bodies received at once before 503 (default 32; each holds up to 4/3 of --max-upload-mb)",
    )
    p.add_argument(
        "--api-key-env", metavar="VAR", help="require X-API-Key equal to this environment variable"
    )
    p.add_argument(
        "--cors-origin", action="append", default=None, help="allow this origin (CORS is off by default)"
    )
    p.set_defaults(func=_run)


def _run(args) -> int:
    try:
        import uvicorn
    except ImportError:
        raise FerkitError("ferkit serve needs the serve extra: pip install 'ferkit[serve]'") from None
    if args.api_key_env and not os.environ.get(args.api_key_env):
        raise FerkitError(f"--api-key-env {args.api_key_env}: that environment variable is not set")
    env = {
        "FERKIT_SERVE_MODEL": args.model or "",
        "FERKIT_SERVE_DETECTOR": args.detector or "",
        "FERKIT_SERVE_MAX_SIDE": str(args.max_side or ""),
        "FERKIT_SERVE_MAX_UPLOAD_MB": str(args.max_upload_mb),
        "FERKIT_SERVE_MAX_PENDING": str(args.max_pending),
        "FERKIT_SERVE_READ_TIMEOUT": str(args.read_timeout),
        "FERKIT_SERVE_MAX_READING": str(args.max_reading),
        "FERKIT_SERVE_API_KEY_ENV": args.api_key_env or "",
        "FERKIT_SERVE_CORS": ",".join(args.cors_origin or []),
    }
    os.environ.update(env)
    from ferkit.serve.app import app_from_env

    if args.workers < 1:
        raise FerkitError(f"--workers {args.workers}: must be at least 1")
    if not args.read_timeout > 0:
        raise FerkitError(f"--read-timeout {args.read_timeout}: must be a positive number of seconds")
    if args.max_reading < 1 or args.max_pending < 1:
        raise FerkitError("--max-reading and --max-pending must be at least 1")
    app = app_from_env()  # a bad --model or --detector fails here, once, not in every restarted worker
    if args.workers > 1:  # each worker process builds its own app from the FERKIT_SERVE_* variables
        uvicorn.run(
            "ferkit.serve.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
        )
    else:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
