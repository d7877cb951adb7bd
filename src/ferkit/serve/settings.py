"""What `ferkit serve` starts with: one dataclass whose defaults are the only copy of the service's defaults (the CLI
reads them from here), checked once, and passed to uvicorn's worker processes as one JSON value."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

from ferkit.errors import FerkitError
from ferkit.serve.limits import Limits

SETTINGS_ENV = "FERKIT_SERVE_SETTINGS"
"""The environment variable that hands the settings to `uvicorn --workers N` processes (JSON of ServeSettings)."""


class SettingsError(FerkitError):
    """A ServeSettings field whose value cannot work: `field` names it (as the dataclass does), `value` is the value
    given and `reason` what it must be. The message reads `field value: reason`."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field} {value}: {reason}")
        self.field, self.value, self.reason = field, value, reason


@dataclass(frozen=True)
class ServeSettings:
    """The model, the detector and the limits of one service.

    Attributes:
        model: checkpoint, .onnx file or shipped model name; None is the shipped default.
        detector: face detector name; None picks the best installed one.
        max_side: longest side face detection runs at; None is the recognizer's default.
        max_upload_mb: largest accepted upload (a base64 JSON body may be 4/3 of it).
        max_pending: requests running or queued for inference before a 503.
        read_timeout_s: seconds a request body may go without data before a 408 (the whole body gets
            max(120, 6 × this)).
        max_reading: request bodies received at once before a 503.
        api_key_env: the environment variable holding the key every /v1 request must send as X-API-Key.
        cors_origins: origins allowed by CORS (none: no CORS headers).
        device, threads: where the model runs and the CPU threads it may use (see `ferkit.load`).
    """

    model: str | None = None
    detector: str | None = None
    max_side: int | None = None
    max_upload_mb: float = Limits.max_upload_bytes / 2**20
    max_pending: int = Limits.max_pending
    read_timeout_s: float = Limits.read_timeout_s
    max_reading: int = Limits.max_reading
    api_key_env: str | None = None
    cors_origins: tuple[str, ...] = ()
    device: str = "cpu"
    threads: int | None = None

    def check(self) -> None:
        """Raise SettingsError naming the field when a value cannot work."""
        if not self.max_upload_mb > 0:
            raise SettingsError("max_upload_mb", self.max_upload_mb, "must be a positive number of megabytes")
        if not self.read_timeout_s > 0:
            raise SettingsError("read_timeout_s", self.read_timeout_s, "must be a positive number of seconds")
        for name in ("max_pending", "max_reading"):
            if getattr(self, name) < 1:
                raise SettingsError(name, getattr(self, name), "must be at least 1")
        if self.max_side is not None:
            from ferkit.commands._ranges import RANGES

            allowed = RANGES["max_side"]  # the same bounds as predict's
            if not allowed.holds(self.max_side):
                raise SettingsError("max_side", self.max_side, f"must be {allowed.describe()}")
        if self.api_key_env and not os.environ.get(self.api_key_env):
            raise SettingsError("api_key_env", self.api_key_env, "that environment variable is not set")

    def limits(self) -> Limits:
        idle = float(self.read_timeout_s)
        return Limits(
            max_upload_bytes=int(self.max_upload_mb * 2**20),
            max_pending=self.max_pending,
            read_timeout_s=idle,
            read_total_s=max(Limits.read_total_s, 6 * idle),
            max_reading=self.max_reading,
        )

    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        d = json.loads(text)
        return cls(**{**d, "cors_origins": tuple(d.get("cors_origins") or ())})
