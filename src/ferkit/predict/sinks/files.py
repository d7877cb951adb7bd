"""Result files that stream: a JSON list of results and a CSV with one row per face, each written under a
temporary name and moved onto its path when the run ends, so a run that fails before its first result leaves an
earlier file as it was."""

from __future__ import annotations

import csv
import json
from contextlib import ExitStack
from pathlib import Path

from ferkit._atomic import atomic_path
from ferkit.errors import FerkitError
from ferkit.predict.results import FrameResult
from ferkit.predict.sinks.base import RunInfo, Sink
from ferkit.predict.sinks.paths import output_folder, refuse_input


class _StagedFile(Sink):
    """A text file written through `ferkit._atomic.atomic_path` and moved onto `path` by close(commit=True).

    Args:
        path: The file.
        what: How messages name it (the `ferkit predict` option, e.g. "--json").
    """

    newline: str | None = None

    def __init__(self, path: str | Path, what: str) -> None:
        self.path, self.what = Path(path), what
        self._stage: ExitStack | None = None
        self._f = None

    def open(self, run: RunInfo) -> None:
        refuse_input(self.path, self.what, run.inputs)
        if self.path.is_dir():
            raise FerkitError(f"{self.what} {self.path}: that is a folder; give a file name")
        output_folder(self.path.parent, self.what)
        self._stage = ExitStack()
        try:
            tmp = self._stage.enter_context(atomic_path(self.path))
            self._f = self._stage.enter_context(tmp.open("w", encoding="utf-8", newline=self.newline))
        except OSError as exc:
            self._stage.close()
            raise FerkitError(f"{self.what} {self.path}: cannot write here ({exc.strerror or exc})") from None

    def close(self, commit: bool = True) -> list[Path]:
        stage, self._stage = self._stage, None
        if stage is None:
            return []
        if commit:
            stage.close()  # closes the file, then atomic_path moves it onto `path`
            return [self.path]
        stage.__exit__(Discarded, Discarded(), None)  # atomic_path removes its temporary file
        return []


class Discarded(Exception):
    """Ends a staged file's block so that nothing replaces the target."""


class JsonWriter(_StagedFile):
    """`--json FILE`: `[FrameResult.to_dict(), ...]`, one result at a time; close() ends the list."""

    def __init__(self, path: str | Path, what: str = "--json") -> None:
        super().__init__(path, what)
        self._n = 0

    def open(self, run: RunInfo) -> None:
        super().open(run)
        self._f.write("[")

    def write(self, result: FrameResult) -> None:
        self._f.write(("," if self._n else "") + "\n " + json.dumps(result.to_dict(), allow_nan=False))
        self._n += 1

    def close(self, commit: bool = True) -> list[Path]:
        if self._f is not None and not self._f.closed:
            self._f.write("\n]\n" if self._n else "]\n")
        return super().close(commit)


class CsvWriter(_StagedFile):
    """`--csv FILE`: one row per face (`ferkit.predict.table`): source, frame, timestamp, face, track, x, y, w, h,
    score, label, confidence, p_<class>..., error. A frame without a face (or that failed) still gets one row,
    with the face columns empty, so a video has a row for every frame; `track` is empty for still images.

    Args:
        path: The file.
        labels: Class names of the p_ columns; None: the model's.
    """

    newline = ""

    def __init__(
        self, path: str | Path, labels: tuple[str, ...] | list[str] | None = None, what: str = "--csv"
    ):
        super().__init__(path, what)
        self.labels = list(labels) if labels is not None else None

    def open(self, run: RunInfo) -> None:
        from ferkit.predict.table import columns

        super().open(run)
        self.labels = self.labels if self.labels is not None else list(run.labels)
        self._w = csv.writer(self._f)
        self._columns = columns(self.labels)
        self._w.writerow(self._columns)

    def write(self, result: FrameResult) -> None:
        from ferkit.predict.table import face_rows

        for row in face_rows(result, self.labels):
            self._w.writerow([_cell(k, row[k]) for k in self._columns])


def _cell(key: str, value) -> str:
    """How the CSV writes a value: empty for None, fixed decimals for the measured numbers."""
    if value is None:
        return ""
    if key == "timestamp" or key == "score":
        return f"{value:.4f}"
    if key == "confidence" or key.startswith("p_"):
        return f"{value:.6f}"
    return str(value)
