"""Cold and warm load time of a dataset folder (default: ../shared/data/fer2013).

    python -m benchmarks.data_load [PATH]

Cold = empty cache (decode every image); warm = the second load, served from the on-disk cache.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.record import record


def main() -> None:
    path = (
        sys.argv[1]
        if len(sys.argv) > 1
        else str(Path(__file__).resolve().parents[1] / "../shared/data/fer2013")
    )
    cache = tempfile.mkdtemp(prefix="ferkit-bench-")
    os.environ["FERKIT_CACHE_DIR"] = cache
    from ferkit.data import load_dataset
    from ferkit.errors import FerkitError

    try:
        t = time.perf_counter()
        ds = load_dataset(path)
        cold = time.perf_counter() - t
        warm = []
        for _ in range(3):
            t = time.perf_counter()
            load_dataset(path)
            warm.append(time.perf_counter() - t)
    except FerkitError as exc:
        sys.exit(f"data_load: {exc}")
    finally:
        shutil.rmtree(cache, ignore_errors=True)  # a whole decoded copy of the dataset
    body = (
        f"| dataset | images | cold load (s) | warm load (s), best of 3 |\n|---|---|---|---|\n"
        f"| {Path(path).name} ({ds.format}) | {len(ds):,} | {cold:.2f} | {min(warm):.2f} |"
    )
    record("Dataset load time (cache)", body)


if __name__ == "__main__":
    main()
