"""Errors a user can cause. The CLI prints their message without a traceback and exits non-zero."""

from __future__ import annotations


class FerkitError(Exception):
    """Base class of every error caused by user input (paths, files, configs, models)."""


class DataError(FerkitError):
    """A dataset path, file, row or label is missing or malformed."""


class ConfigError(FerkitError):
    """A config file or override is invalid (unknown key, wrong type)."""


class ModelError(FerkitError):
    """An unknown model name, or a checkpoint that does not fit."""


class TrainingError(FerkitError):
    """Training cannot start or cannot go on (existing run dir, NaN loss, missing split)."""


class SourceError(FerkitError):
    """A prediction source (image, video, webcam) cannot be opened."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (a library's multi-line dump reduced to its summary), or its
    type name when the message is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """Return ' (did you mean X?)' for the closest choice, or '' when none is close."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
