"""Every ferkit module imports on its own, as the first ferkit module of a process (no import cycles that only
show when a user imports, say, `ferkit.people` before `ferkit.predict`)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import importlib, pkgutil, sys, traceback
import ferkit
names = sorted(m.name for m in pkgutil.walk_packages(ferkit.__path__, "ferkit.") if m.name != "ferkit.__main__")
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m == "ferkit" or m.startswith("ferkit.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as exc:
        if "circular" in str(exc) or "partially initialized" in str(exc):
            failed.append(f"{name}: {exc}")
print(len(names))
print("\n".join(failed))
"""


def test_each_module_imports_first():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    count, *failed = out.stdout.strip().split("\n")
    assert int(count) > 100
    assert not [f for f in failed if f], "\n".join(failed)
