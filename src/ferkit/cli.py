"""Command-line interface: a thin shim over the Python API.

Each sub-command lives in `ferkit/commands/<name>.py`, which defines `register(subparsers)`; the parser it adds
sets `func`, a callable taking the parsed args and returning an exit code. The CLI never does work itself:
every verb calls one public function.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from ferkit import __version__
from ferkit.commands._ranges import check_ranges
from ferkit.errors import FerkitError

# Order here is the order in `ferkit --help`.
COMMAND_MODULES = (
    "data",
    "models",
    "train",
    "evaluate",
    "cv",
    "cv_ensemble",
    "predict",
    "batch",
    "detectors",
    "export",
    "serve",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ferkit",
        description="ferkit: facial emotion recognition — data, training, evaluation, recognition.",
    )
    parser.add_argument("--version", action="version", version=f"ferkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"ferkit.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"ferkit.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def _command_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The sub-parser of the command `name`."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings of a CLI run as one `ferkit: warning: ...` line each, without Python's file and line."""
    print(f"ferkit: warning: {message}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ferkit` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _show_warning
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        check_ranges(_command_parser(parser, args.command), args)
        return int(args.func(args) or 0)
    except FerkitError as exc:
        print(f"ferkit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `ferkit ... | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("ferkit: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a read-only folder, a file that vanished: one line, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"ferkit: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
