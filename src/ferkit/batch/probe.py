"""How many frames a video really holds, for cutting it into segments (`--segment-seconds`).

A container's frame count is what its header claims: an estimate, and sometimes far off (a header can claim
100,000 frames for a file of 20). Each segment planned past the real end would be an empty task, so the claim is
checked by decoding the frame that would start the last segment, and counted when that frame does not exist.
"""

from __future__ import annotations

import math
from pathlib import Path

from ferkit.errors import SourceError


def frames_and_fps(path: str, seconds: float) -> tuple[int, float]:
    """A video's frame count and rate for segments of `seconds`: the claimed count when the frame that would
    start its last segment decodes, else the frames counted in the file (0: unknown or unreadable, one task)."""
    from ferkit.predict.video import video_info

    try:
        count, fps = video_info(path)
    except SourceError:
        return 0, 30.0  # one task, which reports the error as its row
    step = max(1, round(seconds * fps))
    if count <= step or has_frame(path, (math.ceil(count / step) - 1) * step):
        return count, fps
    return count_frames(path), fps


def has_frame(path: str, index: int) -> bool:
    """Whether frame `index` of a video decodes (OpenCV seeks to it; a backend that cannot land there exactly
    counts as no)."""
    from ferkit._deps import cv2
    from ferkit.predict.sources import SourceItem
    from ferkit.predict.video import open_capture

    cv = cv2()
    cap = open_capture(SourceItem("video", path, Path(path)))
    try:
        cap.set(cv.CAP_PROP_POS_FRAMES, index)
        return int(round(cap.get(cv.CAP_PROP_POS_FRAMES))) == index and bool(cap.grab())
    finally:
        cap.release()


def count_frames(path: str) -> int:
    """The frames a video holds: its packets counted with PyAV (no decoding), or its frames grabbed with OpenCV
    where PyAV is not installed or cannot read it."""
    try:
        import av
    except ImportError:
        return _grab_count(path)
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            return sum(1 for packet in container.demux(stream) if packet.size)
    except (IndexError, OSError, av.FFmpegError):
        return _grab_count(path)


def _grab_count(path: str) -> int:
    from ferkit.predict.sources import SourceItem
    from ferkit.predict.video import open_capture

    cap = open_capture(SourceItem("video", path, Path(path)))
    try:
        n = 0
        while cap.grab():
            n += 1
        return n
    finally:
        cap.release()
