"""Numeric command-line options: every one has a range, checked before the command starts; a value outside it is
one `ferkit: error:` line and exit status 2, never a traceback, an overflow or a hang."""

from __future__ import annotations

import argparse

import pytest

from ferkit.cli import _command_parser, build_parser, main
from ferkit.commands._ranges import RANGES, machine_cpus, numeric_actions


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_numeric_option_has_a_range(command):
    parser = _command_parser(build_parser(), command)
    missing = [a.option_strings[0] for a in numeric_actions(parser) if a.dest not in RANGES]
    assert not missing, f"ferkit {command}: no range for {missing}"


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "x.jpg", "--track-gap", "inf"],
        ["predict", "x.jpg", "--track-gap", "1e308"],
        ["predict", "x.jpg", "--margin", "nan"],
        ["predict", "x.jpg", "--max-side", "0"],
        ["batch", "x.jpg", "--out", "o", "--segment-seconds", "inf"],
        ["batch", "x.jpg", "--out", "o", "--max-side", "0"],
        ["batch", "x.jpg", "--out", "o", "--min-face", "-1"],
        ["batch", "x.jpg", "--out", "o", "--cpus-per-actor", "nan"],
        ["serve", "--port", "-1"],
        ["serve", "--port", "70000"],
        ["serve", "--max-side", "1"],
        ["serve", "--read-timeout", "inf"],
    ],
)
def test_out_of_range_is_one_line_and_exit_2(argv, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    flag = argv[-2]
    assert err.startswith(f"ferkit: error: {flag} ") and "must be" in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()  # refused before anything started


def test_threads_above_the_machine_are_lowered_with_a_note():
    parser = _command_parser(build_parser(), "predict")
    args = parser.parse_args(["x.jpg", "--threads", "10000"])
    from ferkit.commands._ranges import check_ranges

    with pytest.warns(UserWarning, match="--threads 10000: this machine has"):
        check_ranges(parser, args)
    assert args.threads == machine_cpus()


def test_library_refuses_nan_margin_and_endless_track_gap():
    from ferkit.errors import FerkitError
    from ferkit.predict.recognizer import Recognizer

    for kwargs in ({"margin": float("nan")}, {"track_gap": float("inf")}):
        with pytest.raises(FerkitError):
            Recognizer(None, "none", **kwargs)
