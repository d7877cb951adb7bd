"""`ferkit serve`: the REST service with its browser page, under uvicorn."""

from __future__ import annotations

import os

from ferkit.commands._common import add_device
from ferkit.errors import FerkitError
from ferkit.serve.settings import SETTINGS_ENV, ServeSettings, SettingsError

D = ServeSettings()  # the defaults, written once in ServeSettings
FLAGS = {"read_timeout_s": "--read-timeout", "cors_origins": "--cors-origin"}
"""The flag of each ServeSettings field whose name is not the flag's (the others are `--field-name`)."""


def flag_of(field: str) -> str:
    """The command-line flag that sets a ServeSettings field."""
    from ferkit.commands._common import flag_of as spelled

    return spelled(field, FLAGS)


def register(sub) -> None:
    p = sub.add_parser("serve", help="REST service + browser page (POST /v1/predict, GET /)")
    p.add_argument(
        "--model", help="checkpoint, .onnx file or shipped model name (default: the shipped model)"
    )
    p.add_argument(
        "--detector", help="face detector (default: the best installed one; see `ferkit detectors`)"
    )
    p.add_argument(
        "--max-side", type=int, metavar="PX", help="longest side face detection runs at (default 960)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    p.add_argument(
        "--max-upload-mb", type=float, default=D.max_upload_mb, help=f"default {D.max_upload_mb:g}"
    )
    p.add_argument(
        "--max-pending",
        type=int,
        default=D.max_pending,
        help=f"requests running or queued before 503 (default {D.max_pending})",
    )
    p.add_argument(
        "--read-timeout",
        type=float,
        default=D.read_timeout_s,
        metavar="S",
        help=f"seconds a request body may go without data before a 408 (default {D.read_timeout_s:g}; "
        "120 s for a whole body)",
    )
    p.add_argument(
        "--max-reading",
        type=int,
        default=D.max_reading,
        metavar="N",
        help=f"request bodies received at once before 503 (default {D.max_reading}; each holds up to 4/3 of "
        "--max-upload-mb)",
    )
    p.add_argument(
        "--api-key-env", metavar="VAR", help="require X-API-Key equal to this environment variable"
    )
    p.add_argument(
        "--cors-origin", action="append", default=None, help="allow this origin (CORS is off by default)"
    )
    add_device(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    try:
        import uvicorn
    except ImportError:
        raise FerkitError("ferkit serve needs the serve extra: pip install 'ferkit[serve]'") from None
    if args.workers < 1:
        raise FerkitError(f"--workers {args.workers}: must be at least 1")
    settings = ServeSettings(
        model=args.model,
        detector=args.detector,
        max_side=args.max_side,
        max_upload_mb=args.max_upload_mb,
        max_pending=args.max_pending,
        read_timeout_s=args.read_timeout,
        max_reading=args.max_reading,
        api_key_env=args.api_key_env,
        cors_origins=tuple(args.cors_origin or ()),
        device=args.device,
        threads=args.threads,
    )
    try:
        settings.check()
    except SettingsError as e:
        raise FerkitError(f"{flag_of(e.field)} {e.value}: {e.reason}") from None
    from ferkit.serve.app import app_from_settings

    app = app_from_settings(settings)  # a bad --model or --detector fails here, once, not in every worker
    if args.workers > 1:  # each worker process builds its own app from the same settings
        os.environ[SETTINGS_ENV] = settings.to_json()
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
