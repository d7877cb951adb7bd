"""Sinks: where `run_predict` sends results. A new output of `ferkit predict` is a new sink.

A sink is opened once before the first result (`open`: it creates its files and checks its paths, learning the
run's labels, stride and input files from `RunInfo`), takes every result in order (`write`), and is closed once at
the end (`close`), also when the run fails. Subclass `Sink` and override what the output needs:

```python
class Faces(Sink):
    def __init__(self):
        self.count = 0

    def write(self, result):
        self.count += len(result.faces)

run_predict("clips/", ferkit.load(), [Faces()])
```
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ferkit.predict.results import FrameResult


@dataclass
class RunInfo:
    """What a sink learns when a run opens.

    Attributes:
        source: The run's source, as `run_predict` received it.
        labels: The model's class names, in its output order.
        stride: Every `stride`-th video frame is read (a video written at fps / stride plays for as long).
    """

    source: object
    labels: tuple[str, ...]
    stride: int = 1

    @cached_property
    def inputs(self) -> set[tuple[int, int]]:
        """(device, inode) of every file the source names: no sink writes over one (found on first use)."""
        from ferkit.predict.sinks.paths import input_file_ids

        return input_file_ids(self.source)


class Sink:
    """An output of `run_predict`. Every method has a default but `write`.

    Attributes:
        keeps_images: Whether results must hold their frame's image (outputs that draw).
        finished: Set to True to end the run after the current result (the live window's q).
    """

    keeps_images: bool = False
    finished: bool = False

    def open(self, run: RunInfo) -> None:
        """Prepare for the first result: create files, check paths (FerkitError naming the output)."""

    def write(self, result: FrameResult) -> None:
        """Take one result."""
        raise NotImplementedError

    def close(self, commit: bool = True) -> list[Path]:
        """Finish and return the files written. `commit` is False when the run failed before its first result:
        a sink then leaves any earlier file at its paths as it was."""
        return []
