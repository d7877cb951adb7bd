"""The allowed range of every numeric command-line option, checked in one place before a command starts.

`check_ranges` runs after parsing and before the command's function: a value outside its range (including
`nan` and `inf`, which `float()` accepts) ends the run with one line naming the option, and `--threads` above
the machine's CPU count is lowered to it with a warning. A numeric option without an entry here is a bug that
`tests/test_option_ranges.py` catches.
"""

from __future__ import annotations

import argparse
import os
import warnings
from dataclasses import dataclass

from ferkit.errors import FerkitError

BIG = 1_000_000_000  # a sane ceiling for counts that have no natural one (a value past it is a typo)


@dataclass(frozen=True)
class Range:
    """Allowed values `low` ≤ v ≤ `high` (`low` excluded when `open_low`, `high` when `open_high`)."""

    low: float
    high: float
    open_low: bool = False
    open_high: bool = False

    def holds(self, value: float) -> bool:
        """Whether `value` is inside (False for nan)."""
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return bool(above and below)

    def describe(self) -> str:
        """The range in words, e.g. "from 0 to 65535" or "more than 0 and at most 86400"."""
        low = f"more than {self.low:g}" if self.open_low else f"at least {self.low:g}"
        high = f"less than {self.high:g}" if self.open_high else f"at most {self.high:g}"
        return f"{low} and {high}"


DAY = 86_400.0
RANGES: dict[str, Range] = {
    # recognition (predict, batch, serve)
    "threads": Range(1, BIG),  # then lowered to the machine's CPUs, with a warning
    "min_face": Range(0, 100_000),
    "max_side": Range(32, 32_768),
    "margin": Range(0, 2),
    "smooth": Range(0, 1, open_high=True),
    "track_gap": Range(0, DAY, open_low=True),
    "stride": Range(1, BIG),
    "max_frames": Range(1, BIG),
    # batch
    "actors": Range(1, 100_000),
    "classify_actors": Range(0, 100_000),
    "cpus_per_actor": Range(0, 4096, open_low=True),
    "gpus_per_actor": Range(0, 1024),
    "batch_size": Range(1, BIG),
    "segment_seconds": Range(0, DAY, open_low=True),
    # serve
    "port": Range(0, 65_535),
    "workers": Range(1, 1024),
    "max_upload_mb": Range(0, 1_000_000, open_low=True),
    "max_pending": Range(1, BIG),
    "read_timeout": Range(0, DAY, open_low=True),
    "max_reading": Range(1, BIG),
    # data, cv, export
    "per_class": Range(1, 100_000),
    "folds": Range(2, 100_000),
    "seed": Range(0, 2**32 - 1),
    "opset": Range(1, 100),
    "calib_n": Range(1, BIG),
}


def numeric_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options of `parser` that take an int or a float."""
    return [a for a in parser._actions if a.type in (int, float)]


def check_ranges(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse an out-of-range numeric option of the command `parser` parsed (FerkitError naming it), and lower
    `--threads` to the CPUs this process may use (with a warning).

    Raises:
        FerkitError: A value outside its `RANGES` entry.
    """
    for action in numeric_actions(parser):
        value = getattr(args, action.dest, None)
        if value is not None:
            check_value(action.dest, value, action.option_strings[0] if action.option_strings else None)
    _cap_threads(args)


def check_value(dest: str, value: float, flag: str | None = None) -> None:
    """FerkitError naming the option (`flag`, or `--dest` spelled as on the command line) when `value` is outside
    its `RANGES` entry; the Python API of a command (e.g. `run_batch`) checks its arguments with it too."""
    allowed = RANGES[dest]
    if not allowed.holds(value):
        raise FerkitError(f"{flag or '--' + dest.replace('_', '-')} {value}: must be {allowed.describe()}")


def machine_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cap_threads(args: argparse.Namespace) -> None:
    threads, cpus = getattr(args, "threads", None), machine_cpus()
    if threads is not None and threads > cpus:
        warnings.warn(f"--threads {threads}: this machine has {cpus} CPU(s); using {cpus}", stacklevel=2)
        args.threads = cpus
