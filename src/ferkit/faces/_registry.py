"""The detector registry: `@register_detector("name")` makes a detector exist for `ferkit detectors`,
`get_detector` and the tests.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ferkit.errors import FerkitError, did_you_mean
from ferkit.faces.base import Detector


class DetectorError(FerkitError):
    """An unknown detector name, or a detector whose dependency is not installed."""


@dataclass(frozen=True)
class _Entry:
    cls: type[Detector]
    description: str
    requires: tuple[str, ...]
    priority: int
    check: Callable[[], str | None] | None


_REGISTRY: dict[str, _Entry] = {}


def register_detector(
    name: str,
    *,
    description: str,
    requires: tuple[str, ...] = (),
    priority: int = 100,
    check: Callable[[], str | None] | None = None,
) -> Callable[[type[Detector]], type[Detector]]:
    """Class decorator registering a `Detector` subclass under `name`.

    Args:
        name: Registry name, e.g. "yunet".
        description: One line for `ferkit detectors`.
        requires: Modules that must import for the detector to be available.
        priority: Lower is preferred when choosing the default detector (`none` is never the default).
        check: Extra availability check returning None when fine or the reason it is unavailable.
    """

    def decorator(cls: type[Detector]) -> type[Detector]:
        if name in _REGISTRY:
            raise ValueError(f"detector {name!r} is registered twice")
        cls.name = name
        _REGISTRY[name] = _Entry(cls, description, tuple(requires), priority, check)
        return cls

    return decorator


def list_detectors(available_only: bool = False) -> list[str]:
    """Registered detector names in order of preference (the default first when available)."""
    names = sorted(_REGISTRY, key=lambda n: (_REGISTRY[n].priority, n))
    return [n for n in names if not available_only or unavailable_reason(n) is None]


@functools.cache
def unavailable_reason(name: str) -> str | None:
    """None when detector `name` can run here, else why not (e.g. "yuface is not installed")."""
    entry = _entry(name)
    for module in entry.requires:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return f"{module} is not installed ({exc}); pip install 'ferkit[faces]'"
    return entry.check() if entry.check else None


def default_detector() -> str:
    """The preferred available detector (yunet, else haar).

    Raises:
        DetectorError: No real detector is available (only `none`).
    """
    for name in list_detectors():
        if name != "none" and unavailable_reason(name) is None:
            return name
    reasons = "; ".join(f"{n}: {unavailable_reason(n)}" for n in list_detectors() if n != "none")
    raise DetectorError(f"no face detector is available ({reasons}); pip install 'ferkit[faces]'")


def default_reason() -> str:
    """One sentence: which detector `get_detector()` uses here and why (the better ones it skipped, and their
    reasons)."""
    try:
        chosen = default_detector()
    except DetectorError as exc:
        return str(exc)
    order = [n for n in list_detectors() if n != "none"]
    skipped = [f"{n} ({unavailable_reason(n)})" for n in order[: order.index(chosen)]]
    why = f"skipped, being unavailable: {'; '.join(skipped)}" if skipped else "the first choice"
    return f"in use: {chosen}, the first available of {', '.join(order)}; {why}"


def get_detector(name: str | Detector | None = None, **kwargs: object) -> Detector:
    """Build a detector by name (None: the default), passing `kwargs` (min_face, threshold, max_side, ...).

    A `Detector` instance is returned as it is (`kwargs` must then be empty).

    Raises:
        DetectorError: Unknown name (with the known ones) or a detector whose dependency is missing.
    """
    if isinstance(name, Detector):
        if kwargs:
            raise DetectorError(f"options {sorted(kwargs)} cannot be applied to an existing detector")
        return name
    name = default_detector() if name is None else str(name)
    _entry(name)
    reason = unavailable_reason(name)
    if reason:
        raise DetectorError(f"detector {name!r} is not available: {reason}")
    return _REGISTRY[name].cls(**kwargs)


def detector_table() -> list[dict]:
    """One dict per detector: name, available, default, description, reason (None when available)."""
    try:
        default = default_detector()
    except DetectorError:
        default = None
    return [
        {
            "name": n,
            "available": unavailable_reason(n) is None,
            "default": n == default,
            "description": _REGISTRY[n].description,
            "reason": unavailable_reason(n),
        }
        for n in list_detectors()
    ]


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        names = list_detectors()
        raise DetectorError(
            f"unknown detector {name!r}{did_you_mean(name, names)}; known: {', '.join(names)}"
        )
    return _REGISTRY[name]
