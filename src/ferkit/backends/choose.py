"""Which installed runtime runs an ONNX file fastest on this machine, measured once and remembered.

ONNX Runtime is the reference: every figure ferkit publishes for an ONNX file was measured with it. OpenVINO is a
candidate only when its probabilities on a few real faces (the FER2013 crops bundled in `ferkit/samples`, with
flips, shifts and exposure changes) agree with ONNX Runtime's. The candidates that agree are timed on the same
crops — a batch of 16 and single faces, weighted equally per face — and the fastest wins. The choice is cached in
`backends.json` under the user cache folder ($FERKIT_CACHE_DIR, else ~/.cache/ferkit), keyed by the file's
digest, the CPU's model and flags, the runtimes' and ferkit's versions, and the thread count, so it is measured
once per model file and machine (about a second or two).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ONNX_RUNTIMES = ("onnxruntime", "openvino")
"""Runtimes for ONNX files, the reference first."""

MEAN_PROB_DIFF = 0.03
"""Largest mean (over the probe faces) of the largest class-probability difference for a runtime to agree. Two int8
runtimes round differently: on 1000 FER2013 PublicTest faces OpenVINO and ONNX Runtime differ by 0.015-0.022 on
average on the shipped int8 files, about as much as either differs from the float model; float files by <0.001."""

MIN_TOP1 = 0.9
"""Smallest share of probe faces on which a runtime must name the reference's top class (98 % on PublicTest)."""

MIN_GAIN = 0.05
"""Another runtime replaces the reference only when it is at least this much faster (a tie keeps the reference)."""


@dataclass(frozen=True)
class Choice:
    """The runtime picked for a file.

    Attributes:
        runtime: "onnxruntime" or "openvino".
        seconds: Measured cost per runtime (batch-16 time per face + single-face time); empty when only one was
            installed.
        rejected: Runtimes left out and why (disagreement with the reference, or a load failure).
        cached: Whether the choice came from the cache instead of a measurement now.
    """

    runtime: str
    seconds: dict[str, float] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    cached: bool = False

    def describe(self) -> str:
        """One line for `ferkit models` and logs, e.g. "openvino (0.0061 s vs onnxruntime 0.0073 s, measured)"."""
        if not self.seconds:
            return f"{self.runtime} (the only runtime installed)"
        others = ", ".join(f"{r} {s:.4f} s" for r, s in self.seconds.items() if r != self.runtime)
        how = "cached measurement" if self.cached else "measured"
        return f"{self.runtime} ({self.seconds[self.runtime]:.4f} s vs {others or 'none'}, {how})"


def installed_runtimes() -> list[str]:
    """The runtimes for ONNX files that are installed here, reference first."""
    return [r for r in ONNX_RUNTIMES if importlib.util.find_spec(r) is not None]


def user_cache_dir() -> Path:
    """$FERKIT_CACHE_DIR, else ~/.cache/ferkit."""
    base = os.environ.get("FERKIT_CACHE_DIR")
    return Path(base) if base else Path.home() / ".cache" / "ferkit"


def cache_file() -> Path:
    return user_cache_dir() / "backends.json"


def choice_key(path: Path, threads: int) -> str:
    """The cache key of a file on this machine: file digest, CPU, runtime and ferkit versions, threads."""
    return machine_key(hashlib.sha256(Path(path).read_bytes()).hexdigest()[:20], threads)


def machine_key(what: str, threads: int) -> str:
    """`what` (a file digest) on this machine: CPU model and flags, runtime and ferkit versions, threads."""
    from ferkit import __version__

    versions = [__version__, *(f"{r}={_version(r)}" for r in installed_runtimes())]
    machine = hashlib.sha256(" ".join([platform.machine(), *_cpu_words()]).encode()).hexdigest()[:12]
    return f"{what}-{machine}-{'-'.join(versions)}-t{threads}"


def cached_choice(path: Path, threads: int) -> Choice | None:
    """The remembered choice for a file, or None when it was never measured here (nothing is measured)."""
    return recall(choice_key(path, threads))


_seen: dict[str, Choice] = {}
"""Choices made or read in this process (a cache folder that cannot be written is not measured again)."""


def recall(key: str) -> Choice | None:
    """The choice cached under `key` (this process's, else the cache file's), or None."""
    if key in _seen:
        return _seen[key]
    entry = _read_cache().get(key)
    if not isinstance(entry, dict) or entry.get("runtime") not in ONNX_RUNTIMES:
        return None
    return Choice(entry["runtime"], entry.get("seconds", {}), entry.get("rejected", {}), cached=True)


def choose_runtime(
    path: str | os.PathLike, threads: int = 0, loaders: dict | None = None
) -> tuple[Choice, object]:
    """(the choice, the winning backend loaded) for an ONNX file: from the cache, else measured and cached.

    Args:
        path: The .onnx file.
        threads: The CPU threads inference will use (0: every core); the measurement uses the same.
        loaders: {runtime: (path, threads) → backend}; default: ONNX Runtime's and OpenVINO's backends.
    """
    choice, backend = _choose(Path(path), threads, loaders or default_loaders())
    backend.choice = choice  # what `repr` and `ferkit models` report
    return choice, backend


def _choose(path: Path, threads: int, loaders: dict) -> tuple[Choice, object]:
    runtimes = [r for r in installed_runtimes() if r in loaders]
    if len(runtimes) <= 1:
        runtime = runtimes[0] if runtimes else "onnxruntime"  # none: ONNX Runtime's message names the extra
        return Choice(runtime), loaders[runtime](path, threads)
    known = cached_choice(path, threads)
    if known is not None:
        return known, loaders[known.runtime](path, threads)
    choice, backend = measure(path, threads, {r: loaders[r] for r in runtimes})
    remember(choice_key(path, threads), choice, path.name)
    return choice, backend


def measure(path: Path, threads: int, loaders: dict[str, Callable]) -> tuple[Choice, object]:
    """Load every runtime, check it against the first (the reference) on the probe faces, time those that agree."""
    crops = probe_crops()
    backends, seconds, rejected, reference = {}, {}, {}, None
    for runtime, load in loaders.items():
        try:
            backend = load(path, threads)
            probs = _softmax(backend.logits(crops))
        except Exception as exc:  # a runtime that cannot run the file is left out, with its reason
            if reference is None:
                raise
            rejected[runtime] = f"failed: {str(exc).splitlines()[0][:200]}"
            continue
        if reference is None:
            reference = probs
        elif reason := disagreement(probs, reference):
            rejected[runtime] = reason
            continue
        backends[runtime], seconds[runtime] = backend, cost(backend, crops)
    best = min(seconds, key=seconds.get)
    ref = next(iter(seconds))
    if seconds[best] > seconds[ref] * (1 - MIN_GAIN):
        best = ref
    return Choice(best, seconds, rejected), backends[best]


def disagreement(probs: np.ndarray, reference: np.ndarray) -> str | None:
    """Why probabilities do not agree with the reference's (None when they do)."""
    mean = float(np.abs(probs - reference).max(axis=1).mean())
    top1 = float(np.mean(probs.argmax(1) == reference.argmax(1)))
    if mean > MEAN_PROB_DIFF or top1 < MIN_TOP1:
        return f"disagrees with the reference (mean |dp| {mean:.3f}, same top class on {top1:.0%} of probe faces)"
    return None


def cost(backend, crops: np.ndarray, repeats: int = 2) -> float:
    """Seconds per face at batch len(crops) plus seconds per single face, each the best of `repeats` runs (the
    caller has run the batch once already: the warm-up, which also compiles lazily compiled models)."""
    single = crops[:1]
    backend.logits(single)
    per_face = min(_timed(backend.logits, crops) for _ in range(repeats)) / len(crops)
    return per_face + min(_timed(backend.logits, single) for _ in range(repeats + 1))


def probe_crops(n: int = 16) -> np.ndarray:
    """n uint8 48×48 face crops: the bundled FER2013 faces, mirrored, shifted and re-exposed (deterministic)."""
    faces = _sample_faces()
    out = []
    for k in range(n):
        face = faces[k % len(faces)].astype(np.float32)
        face = face[:, ::-1] if (k // len(faces)) % 2 else face
        face = np.roll(face, (k % 3 - 1) * 2, axis=(k % 2))
        face = (face - 128) * (0.8 + 0.05 * (k % 7)) + 128 + 4 * (k % 5 - 2)
        out.append(np.clip(face, 0, 255).astype(np.uint8))
    return np.stack(out)


def default_loaders() -> dict[str, Callable]:
    from ferkit.backends.onnx_backend import OnnxBackend
    from ferkit.backends.openvino_backend import OpenVinoBackend

    return {
        "onnxruntime": lambda path, threads: OnnxBackend.load(path, threads=threads),
        "openvino": lambda path, threads: OpenVinoBackend.load(path, threads=threads),
    }


def _sample_faces() -> list[np.ndarray]:
    rows = (Path(__file__).resolve().parents[1] / "samples" / "mini_fer2013.csv").read_text().splitlines()[1:]
    return [np.array(row.split(",")[1].split(), np.uint8).reshape(48, 48) for row in rows if row.strip()]


def _timed(fn, x) -> float:
    t = time.perf_counter()
    fn(x)
    return time.perf_counter() - t


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "?"


def _cpu_words() -> list[str]:
    """The CPU's model name and flags from /proc/cpuinfo (empty where there is none)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return [platform.processor()]
    pick = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(("model name", "flags", "Features"))]
    return sorted(set(pick))


def _read_cache() -> dict:
    try:
        doc = json.loads(cache_file().read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def remember(key: str, choice: Choice, what: str) -> None:
    """Add the choice to the cache file (atomically); a cache that cannot be written is only skipped."""
    from datetime import UTC, datetime

    from ferkit._atomic import atomic_path

    _seen[key] = Choice(choice.runtime, choice.seconds, choice.rejected, cached=True)
    doc = _read_cache()
    doc[key] = {
        "runtime": choice.runtime,
        "seconds": choice.seconds,
        "rejected": choice.rejected,
        "file": what,
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        cache_file().parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cache_file()) as tmp:
            tmp.write_text(json.dumps(doc, indent=1))
    except OSError:
        pass
