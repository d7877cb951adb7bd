"""A time limit for tests that could hang (a Ray job waiting for lost resources): SIGALRM raises in the test."""

from __future__ import annotations

import contextlib
import signal


@contextlib.contextmanager
def time_limit(seconds: int, what: str):
    def boom(*_):
        raise TimeoutError(f"{what} took over {seconds} s: a hang?")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
