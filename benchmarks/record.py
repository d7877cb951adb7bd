"""The one recorder of measurements: a description of the machine, and a section of benchmarks/RESULTS.md
written or replaced (benchmarks and studies both record through it)."""

from __future__ import annotations

import datetime
import functools
import os
import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def cpu_mhz() -> float:
    try:
        mhz = [float(line.split(":")[1]) for line in open("/proc/cpuinfo") if line.startswith("cpu MHz")]
        return max(mhz) if mhz else 0.0
    except OSError:
        return 0.0


@functools.cache
def cpuinfo() -> dict[str, str]:
    """The first CPU's fields in /proc/cpuinfo ("model name", "flags", ...); empty where there is none."""
    try:
        lines = Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines()
    except OSError:
        return {}
    return {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip() for ln in lines if ":" in ln}


def machine() -> str:
    """ "<CPU model> (AMX | no AMX), <n> cores, torch <v>, Python <v>": one Xeon model name covers CPUs with and
    without AMX, whose figures differ 2-4x."""
    info = cpuinfo()
    name = info.get("model name") or platform.processor() or platform.machine()
    if info:
        name += " (AMX)" if has_unit("AMX") else " (no AMX)"
    import torch

    return f"{name}, {os.cpu_count()} cores, torch {torch.__version__}, Python {platform.python_version()}"


UNITS = {"AMX": "amx_tile", "AVX-512 BF16": "avx512_bf16", "VNNI": "avx512_vnni"}
"""The CPU units bf16 and int8 code uses, by their /proc/cpuinfo flag."""


def has_unit(unit: str) -> bool:
    """Whether the CPU has one of UNITS (False where /proc/cpuinfo is missing)."""
    return UNITS[unit] in cpuinfo().get("flags", "").split()


def cpu_units() -> str:
    """The CPU's model name and which of AMX, AVX-512 BF16 and VNNI it has."""
    info = cpuinfo()
    if not info:
        return "CPU: unknown"
    have = [u for u in UNITS if has_unit(u)]
    return f"CPU: {info.get('model name', 'unknown')} ({', '.join(have) or 'none of AMX, BF16, VNNI'}" + (
        ")" if has_unit("AMX") else "; no AMX)"
    )


VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}


def cpu_class() -> str:
    """ "CPU with AMX", "Intel CPU, no AMX", "AMD CPU, no AMX" (another vendor: "CPU no AMX") or "CPU, AMX unknown"
    (no /proc/cpuinfo): speed sections are kept per class, as their figures differ 2-4x."""
    info = cpuinfo()
    if not info:
        return "CPU, AMX unknown"
    if has_unit("AMX"):
        return "CPU with AMX"
    vendor = VENDORS.get(info.get("vendor_id", ""))
    return f"{vendor} CPU, no AMX" if vendor else "CPU no AMX"


def fp32_peak_gflops(cores: int | None = None) -> float:
    """cores × 32 fp32 FLOP/cycle (two 256-bit FMA pipes: 2 × 8 lanes × 2 FLOP) × clock."""
    return (cores or os.cpu_count() or 1) * 32 * cpu_mhz() / 1000


def invocation() -> str:
    """How the running script was started: `python -m benchmarks.validation` for a module of this package."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return f"python -m {spec.name}"
    return f"python {os.path.relpath(sys.argv[0])}"


def record(title: str, body: str) -> None:
    """Print a section and write it to RESULTS.md with the date, machine and command: it replaces the section of
    the same title (RESULTS.md holds the current figure of each measurement; history lives in git), else it is
    appended."""
    cmd = " ".join([invocation(), *sys.argv[1:]])
    text = (
        f"\n## {title}\n_{datetime.date.today().isoformat()} · {machine()}_  \n"
        f"Command: `{cmd}`\n\n{body.strip()}\n"
    )
    print(text)
    old = RESULTS.read_text() if RESULTS.exists() else ""
    RESULTS.write_text(replace_section(old, title, text))


def section_span(document: str, title: str) -> tuple[int, int] | None:
    """(start, end) of the `## title` section of `document`, from its heading's newline up to the next `## `
    heading or the end; None when it has none."""
    head = f"\n## {title}\n"
    start = document.find(head)
    if start < 0:
        return None
    end = document.find("\n## ", start + len(head))
    return start, end if end >= 0 else len(document)


def replace_section(document: str, title: str, section: str) -> str:
    """`document` with its `## title` section replaced by `section`, or with `section` appended when it has
    none."""
    span = section_span(document, title)
    if span is None:
        return document + section
    return document[: span[0]] + section + document[span[1] :]
