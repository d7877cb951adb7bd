"""`--summary FILE`, `--timeline DIR` and `--report DIR`: the per-person outputs of videos (`ferkit.people`),
collected as results stream by and written when the run ends."""

from __future__ import annotations

from pathlib import Path

from ferkit.errors import FerkitError
from ferkit.people.report import Snapshots, write_report
from ferkit.people.summary import Summarizer, write_summary
from ferkit.people.timeline import write_timeline
from ferkit.predict.results import FrameResult
from ferkit.predict.sinks.base import RunInfo, Sink
from ferkit.predict.sinks.paths import file_stem, output_folder, refuse_input


class PeopleWriter(Sink):
    """Collects tracked faces; on close writes the summary, the timelines and the report that were asked for.

    Args:
        summary: The per-person table: JSON for a .json name, else CSV.
        timeline: Folder for one timeline PNG per video.
        report: Folder for an HTML report (with its own timelines and snapshots).
    """

    def __init__(
        self,
        summary: str | Path | None = None,
        timeline: str | Path | None = None,
        report: str | Path | None = None,
    ) -> None:
        self.summary_path = Path(summary) if summary else None
        self.timeline_dir = Path(timeline) if timeline else None
        self.report_dir = Path(report) if report else None
        self.keeps_images = self.report_dir is not None  # snapshots are cut from the annotated frames
        self.people = Summarizer()
        self.shots = Snapshots()
        self._stems: dict[str, str] = {}

    def open(self, run: RunInfo) -> None:
        if self.summary_path:
            refuse_input(self.summary_path, "--summary", run.inputs)
        self.timeline_dir = output_folder(self.timeline_dir, "--timeline") if self.timeline_dir else None
        self.report_dir = output_folder(self.report_dir, "--report") if self.report_dir else None
        if self.summary_path and self.summary_path.is_dir():
            raise FerkitError(
                f"--summary {self.summary_path}: that is a folder; give a .json or .csv file name"
            )
        if self.summary_path:
            output_folder(self.summary_path.parent, "--summary")  # checked now, not after the whole video

    def write(self, result: FrameResult) -> None:
        self.people.add(result)
        if self.report_dir is not None:
            self.shots.add(result)

    def close(self, commit: bool = True) -> list[Path]:
        if not commit:
            return []
        written, labels = [], self.people.labels
        if self.summary_path:
            written.append(write_summary(self.people.summaries(), self.summary_path, labels))
        for folder in (self.timeline_dir, self.report_dir):
            for source in self.people.sources() if folder is not None else ():
                path = folder / f"{self.stem(source)}.timeline.png"
                written.append(write_timeline(self.people.series(source), labels, path, title=source))
        if self.report_dir is not None:
            thumbs = output_folder(self.report_dir / "people", "--report")
            written.append(write_report(self.report_dir, thumbs, self.people, self.shots, self.stem))
        return written

    def stem(self, source: str) -> str:
        """A file stem for a source's outputs, unique within the run (two clip.mp4 in two folders differ)."""
        if source not in self._stems:
            base, n = file_stem(source), 1
            name = base
            while name in self._stems.values():
                n += 1
                name = f"{base}_{n}"
            self._stems[source] = name
        return self._stems[source]
