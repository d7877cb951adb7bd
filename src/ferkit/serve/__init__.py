"""The REST service and its browser page (`ferkit serve`). Needs the `serve` extra (fastapi, uvicorn)."""

from ferkit.serve.limits import Limits


def create_app(*args, **kwargs):
    """See `ferkit.serve.app.create_app` (imported here lazily: FastAPI is an optional dependency)."""
    try:
        from ferkit.serve.app import create_app as _create
    except ImportError as exc:
        from ferkit.errors import FerkitError

        raise FerkitError(
            f"the web service needs the serve extra: pip install 'ferkit[serve]' ({exc})"
        ) from None
    return _create(*args, **kwargs)


__all__ = ["create_app", "Limits"]
