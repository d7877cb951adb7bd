"""`--save DIR`: annotated still images and videos, never over one of the run's inputs."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from ferkit.predict.results import FrameResult
from ferkit.predict.sinks.base import RunInfo, Sink
from ferkit.predict.sinks.paths import file_id, file_stem, output_folder
from ferkit.predict.sinks.video import StagedVideo


class AnnotatedSaver(Sink):
    """`--save DIR`: annotated still images as DIR/<name>.jpg, and each video / webcam as DIR/<name>.mp4.

    An output never replaces an input: where DIR/<name>.jpg (or .mp4) is one of the run's source files (e.g.
    `--save` names the photos' own folder), the output is DIR/<name>.annotated.jpg instead. Other existing files
    in DIR (an earlier run's outputs) are replaced.

    A video read with `stride` > 1 keeps every stride-th frame, so it is written at fps / stride: it plays for
    as long as its source.

    Args:
        folder: Where the annotated files go (created when the run opens).
    """

    keeps_images = True

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.stride = 1
        self.written: list[Path] = []
        self._videos: dict[str, StagedVideo] = {}
        self._names: set[str] = set()
        self._inputs: set[tuple[int, int]] = set()

    def open(self, run: RunInfo) -> None:
        self.folder = output_folder(self.folder, "--save")
        self.stride = max(1, int(run.stride))
        self._inputs = run.inputs

    def write(self, result: FrameResult) -> None:
        if result.image is None:
            return
        if result.fps is not None:  # a video or webcam frame
            video = self._videos.get(result.source)
            if video is None:
                video = self._videos[result.source] = StagedVideo(
                    self._unique(result.source, ".mp4"), result.fps / self.stride, result.source
                )
            video.write(result.plot(), result.timestamp)
        else:
            self.written.append(result.save(self._unique(result.source, ".jpg")))

    def _unique(self, source: str, suffix: str) -> Path:
        stem = file_stem(source, "frame")
        if self._is_input(self.folder / f"{stem}{suffix}") or self._is_input(Path(source)):
            stem += ".annotated"  # beside its source (or another input of the same name): never over it
        name, i = stem, 1
        while name in self._names or self._is_input(self.folder / f"{name}{suffix}"):
            i += 1
            name = f"{stem}_{i}"
        self._names.add(name)
        return self.folder / f"{name}{suffix}"

    def _is_input(self, path: Path) -> bool:
        """Whether `path` is one of the run's source files in the save folder (by device and inode, so links
        and other spellings of the same file count)."""
        if path.parent.resolve() != self.folder.resolve():
            return False
        ident = file_id(path)
        return ident is not None and ident in self._inputs

    def close(self, commit: bool = True) -> list[Path]:
        """Finish every video (also when one of them fails) and return every file written: what was drawn is
        kept whatever `commit` says."""

        def close_one(video) -> None:
            video.close()
            self.written.append(video.path)

        videos, self._videos = list(self._videos.values()), {}
        with ExitStack() as stack:  # every video is finished even when one of them fails
            for video in reversed(videos):
                stack.callback(close_one, video)
        return self.written
