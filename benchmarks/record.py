"""The one recorder of measurements: a description of the machine, and a section of benchmarks/RESULTS.md
written or replaced (benchmarks and studies both record through it)."""

from __future__ import annotations

import datetime
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


def machine() -> str:
    name = platform.processor() or platform.machine()
    try:
        name = next(
            line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    import torch

    return f"{name}, {os.cpu_count()} cores, torch {torch.__version__}, Python {platform.python_version()}"


def cpu_units() -> str:
    """The CPU's model name and which of AMX, AVX-512 BF16 and VNNI it has (the units bf16 and int8 code uses)."""
    try:
        info = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "CPU: unknown"
    field = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip() for ln in info if ":" in ln}
    flags = field.get("flags", "").split()
    units = {"AMX": "amx_tile", "AVX-512 BF16": "avx512_bf16", "VNNI": "avx512_vnni"}
    have = [u for u, flag in units.items() if flag in flags]
    return f"CPU: {field.get('model name', 'unknown')} ({', '.join(have) or 'none of AMX, BF16, VNNI'}" + (
        ")" if "amx_tile" in flags else "; no AMX)"
    )


def cpu_class() -> str:
    """ "CPU with AMX", "CPU no AMX" or "CPU, AMX unknown" (no /proc/cpuinfo): speed sections are kept per class,
    as their figures differ 2-4x."""
    units = cpu_units()
    if units == "CPU: unknown":
        return "CPU, AMX unknown"
    return "CPU no AMX" if "no AMX" in units else "CPU with AMX"


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


def replace_section(document: str, title: str, section: str) -> str:
    """`document` with its `## title` section (up to the next `## ` heading) replaced by `section`, or with
    `section` appended when it has none."""
    head = f"\n## {title}\n"
    start = document.find(head)
    if start < 0:
        return document + section
    end = document.find("\n## ", start + len(head))
    return document[:start] + section + (document[end:] if end >= 0 else "")
