"""Annotated videos that browsers play: H.264 in MP4 through PyAV (`pip install 'ferkit[video]'`), each frame at its
own timestamp (variable frame rates kept), and the source's audio copied in (or re-encoded to AAC when its codec
cannot go into MP4), trimmed to the frames written.

PyAV's wheels bundle FFmpeg built with libx264, which is licensed under the GPL (version 2 or later); ferkit
itself does not ship it. Without PyAV, `VideoWriter` (OpenCV, mp4v) is used instead.
"""

from __future__ import annotations

import functools
import importlib.util
from fractions import Fraction
from pathlib import Path

import numpy as np

TIME_BASE = Fraction(1, 90_000)  # the MPEG clock: exact for 24, 25, 30 and 29.97 fps alike


@functools.cache
def available() -> bool:
    """Whether PyAV is installed and its FFmpeg has an H.264 encoder."""
    if importlib.util.find_spec("av") is None:
        return False
    import av

    for name in ("libx264", "h264"):
        try:
            av.Codec(name, "w")  # an encoder, not only a decoder
            return True
        except Exception:  # PyAV raises its own error types for an unknown codec
            continue
    return False


class AvVideoWriter:
    """Frames of one source to `path` (.mp4), opened on the first frame.

    Args:
        path: The output file.
        fps: Frame rate used for frames without a timestamp (and as the stream's nominal rate).
        source: The video the frames come from: its audio is copied in when it has some.
    """

    def __init__(self, path: str | Path, fps: float | None, source: str | Path | None = None) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.source = Path(source) if source and Path(source).is_file() else None
        self._out = self._video = self._audio = None
        self._n, self._last_pts = 0, -1

    def write(self, frame_rgb: np.ndarray, t: float | None = None) -> None:
        import av

        if self._out is None:
            self._open(frame_rgb.shape[1], frame_rgb.shape[0])
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_rgb), format="rgb24")
        seconds = t if t is not None else self._n / self.fps
        pts = max(round(seconds / TIME_BASE), self._last_pts + 1)  # strictly increasing
        frame.pts, frame.time_base = pts, TIME_BASE
        self._last_pts, self._n = pts, self._n + 1
        for packet in self._video.encode(frame):
            self._out.mux(packet)

    def _open(self, width: int, height: int) -> None:
        import av

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = av.open(str(self.path), mode="w", container_options={"movflags": "+faststart"})
        codec = "libx264" if "libx264" in av.codecs_available else "h264"
        self._video = self._out.add_stream(codec, rate=Fraction(self.fps).limit_denominator(1001))
        self._video.width, self._video.height = width - width % 2, height - height % 2
        self._video.pix_fmt = "yuv420p"  # what browsers decode
        self._video.time_base = self._video.codec_context.time_base = TIME_BASE  # frames keep their own times
        # no B-frames: with frames at uneven times, reordered frames could get decode times out of order
        self._video.options = {"crf": "23", "preset": "veryfast", "bf": "0"}
        self._audio = _Audio.open(self.source, self._out) if self.source is not None else None

    def close(self) -> None:
        if self._out is None:
            return
        try:
            if self._video is not None:
                for packet in self._video.encode():
                    self._out.mux(packet)
            if self._audio is not None:
                end = self._last_pts * TIME_BASE + 1 / Fraction(self.fps).limit_denominator(1001)
                self._copy_audio(float(end))
        finally:
            if self._audio is not None:
                self._audio.src.close()
            self._out.close()
            self._out = None

    def _copy_audio(self, end: float) -> None:
        """The audio up to `end`; a damaged audio stream costs the audio (with a warning), not the video."""
        import warnings

        import av

        try:
            self._audio.copy(self._out, end)
        except (av.error.FFmpegError, ValueError) as exc:
            warnings.warn(
                f"{self.path}: the audio of {self.source} could not be copied ({exc})", stacklevel=3
            )


class _Audio:
    """The source's first audio stream and its stream in the output (added before the output's header is
    written): copied when MP4 takes its codec, else re-encoded to AAC."""

    COPY = ("aac", "mp3", "ac3", "eac3", "opus", "alac", "flac")

    def __init__(self, src, audio, stream, copy: bool) -> None:
        self.src, self.audio, self.stream, self.copying = src, audio, stream, copy
        # OpenCV's frame times count from the video stream's start: audio is shifted by the same origin
        video = src.streams.video[0] if src.streams.video else None
        origin = (
            video.start_time * video.time_base if video is not None and video.start_time is not None else 0
        )
        self.origin = float(origin)

    @classmethod
    def open(cls, source: Path, out) -> _Audio | None:
        import av

        try:
            src = av.open(str(source))
        except av.error.FFmpegError:
            return None
        if not src.streams.audio:
            src.close()
            return None
        audio = src.streams.audio[0]
        if audio.codec_context.name in cls.COPY:
            return cls(src, audio, out.add_stream_from_template(audio), True)
        channels = len(
            audio.layout.channels
        )  # an unnamed layout ("1 channels") is refused by the AAC encoder
        layout = {1: "mono", 2: "stereo"}.get(channels, audio.layout.name)
        stream = out.add_stream("aac", rate=audio.rate or 48000, layout=layout)
        return cls(src, audio, stream, False)

    def copy(self, out, end: float) -> None:
        """Everything up to `end` seconds into `out`."""
        tb = self.audio.time_base
        shift = round(self.origin / tb)
        if self.copying:
            for packet in self.src.demux(self.audio):
                if packet.dts is None or packet.pts is None:
                    continue
                if float(packet.pts * tb) - self.origin > end:
                    break  # packets come in time order: the rest is past the last frame written
                if packet.pts < shift:
                    continue  # before the video's first frame
                packet.pts, packet.dts, packet.stream = packet.pts - shift, packet.dts - shift, self.stream
                out.mux(packet)
            return
        for frame in self.src.decode(self.audio):
            if frame.time is not None and frame.time - self.origin > end:
                break
            if frame.time is not None and frame.time < self.origin:
                continue
            frame.pts = None
            for packet in self.stream.encode(frame):
                out.mux(packet)
        for packet in self.stream.encode():
            out.mux(packet)
