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


class OptionError(FerkitError):
    """A bad option. The message names each option as the Python API spells it (`segment_seconds`); a command
    line that spells its options as flags (`--segment-seconds`) rephrases it with `named`.

    Args:
        template: The message, each option written as `{field}` and each value as `{name}` given in `values`
            (format specs allowed: `"{cpus_per_actor} {value:g}: must be more than 0"`).
        **values: The values the message quotes (never rephrased, whatever they hold).
    """

    def __init__(self, template: str, **values: object) -> None:
        self.template, self.values = template, values
        super().__init__(self.named(lambda field: field))

    @property
    def fields(self) -> list[str]:
        """The options the message names, in order."""
        import string

        names = (name for _, name, _, _ in string.Formatter().parse(self.template) if name)
        return list(dict.fromkeys(n for n in names if n not in self.values))

    def named(self, spell) -> str:
        """The message with each option spelled by `spell(field)` (e.g. as its command-line flag)."""
        return self.template.format(**self.values, **{f: spell(f) for f in self.fields})


class DataOptionError(OptionError, DataError):
    """A data option that does not fit the data or an earlier run (cross-validation grouping, resuming a run
    folder): an `OptionError` (it names fields) that callers catching `DataError` still catch."""
