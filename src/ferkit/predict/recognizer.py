"""The `Recognizer`: detect faces, crop them like FER2013, classify them in batches, return typed results."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ferkit.errors import FerkitError
from ferkit.faces import DEFAULT_MARGIN, Detector, Face, crop_face, get_detector
from ferkit.imageio import array_to_rgb
from ferkit.predict.detected import DetectedFrame, decode_scale, face_results, to_original
from ferkit.predict.frames import iter_frames
from ferkit.predict.results import FrameResult
from ferkit.predict.smooth import Smoother
from ferkit.predict.sources import Frame
from ferkit.predict.track import DEFAULT_GAP_S, VideoTracks
from ferkit.probs import softmax


class NoFaceError(FerkitError):
    """`require_face=True` and an image has no face."""


class Recognizer:
    """Facial emotion recognition on photos, folders, videos and webcams.

    `detect` and `classify` are the two public steps; `predict` / `stream` compose them. The faces of several
    frames are classified in one forward pass.

    Args:
        backend: A backend (`ferkit.backends`): `.logits(uint8 N×H×W)`, `.data_config`, `.name`.
        detector: Detector name, `Detector` instance, or None for the best available (yunet, else mtcnn, else
            haar).
        margin: Context around the FER2013-framed face, as a fraction of its side on every side (see
            `ferkit.faces.align`).
        min_face: Ignore faces smaller than this many pixels (None: the detector's default, 0).
        max_side: Longest side detection runs at (None: the detector's default, 960 px). Larger images are
            shrunk to it first, so faces under ~25 px after shrinking are missed: raise it for small faces in
            big photos (detection time grows with the pixels).
        smooth: Temporal smoothing of video probabilities, alpha in [0, 1): weight of the past (0 = off).
        track_gap: Seconds a video face track survives without a detection (`ferkit.predict.track`); a face
            away for longer gets a new track id.
        tta: Test-time augmentation of the backend ("none", "flip", "tencrop").
        batch_size: Most crops per forward pass.
        frames_per_batch: Video frames decoded and detected before one forward pass (webcams use 1).
        require_face: Raise `NoFaceError` for a readable image without a face instead of returning faces=[].
    """

    def __init__(
        self,
        backend,
        detector: str | Detector | None = None,
        margin: float = DEFAULT_MARGIN,
        min_face: int | None = None,
        max_side: int | None = None,
        smooth: float = 0.0,
        track_gap: float = DEFAULT_GAP_S,
        tta: str = "none",
        batch_size: int = 64,
        frames_per_batch: int = 8,
        require_face: bool = False,
    ) -> None:
        self.backend = backend
        options = {"min_face": min_face, "max_side": max_side}
        self.detector = get_detector(detector, **{k: int(v) for k, v in options.items() if v is not None})
        if not 0 <= margin <= 2:  # nan included
            raise FerkitError(f"margin must be between 0 and 2 (a fraction of the face size), got {margin}")
        if not 0 < track_gap < math.inf:
            raise FerkitError(f"track_gap must be a positive number of seconds, got {track_gap}")
        Smoother(smooth)  # checks alpha
        self.margin = float(margin)
        self.smooth = float(smooth)
        self.track_gap = float(track_gap)
        from ferkit.backends.base import check_batch_size, check_tta

        check_tta(tta)
        check_batch_size(batch_size)
        self.tta = tta
        self.batch_size = int(batch_size)
        self.frames_per_batch = max(1, int(frames_per_batch))
        self.require_face = bool(require_face)

    def __repr__(self) -> str:
        return (
            f"Recognizer(model={self.backend.name!r}, runtime={getattr(self.backend, 'runtime', '?')!r}, detector={self.detector.name!r}, margin={self.margin}, "
            f"smooth={self.smooth})"
        )

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in the model's output order."""
        return tuple(self.backend.data_config.labels.names)

    # ------------------------------------------------------------------------------------------------ steps

    def detect(self, image) -> list[Face]:
        """Faces in one image (RGB numpy array, PIL image or image path), best score first, in the image's own
        pixels (a JPEG path over 64 MP is decoded at a reduced scale; its boxes are scaled back)."""
        rgb, k = _decoded(image)
        return [to_original(f, k) for f in self.detector.detect(rgb)]

    def crop(self, image, faces: list[Face]) -> np.ndarray:
        """FER2013-style grayscale crops of `faces` (in the image's own pixels, as `detect` gives them) in
        `image`: uint8 N×S×S (S = the model's image size)."""
        rgb, k = _decoded(image)
        s = self.backend.data_config.image_size
        if not faces:
            return np.zeros((0, s, s), np.uint8)
        dc = self.backend.data_config
        return np.stack([crop_face(rgb, to_original(f, 1.0 / k), dc, self.margin) for f in faces])

    def classify(self, crops) -> np.ndarray:
        """Class probabilities of face crops: float32 N×C, rows summing to 1.

        Args:
            crops: uint8 N×H×W grayscale crops (any H×W: resized to the model's size), a list of H×W /
                H×W×3 crops, or one crop as an H×W or H×W×3 array (then N is 1).
        """
        batch = _crop_batch(crops, self.backend.data_config.image_size)
        if len(batch) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        return softmax(self.backend.logits(batch, tta=self.tta, batch_size=self.batch_size))

    # ------------------------------------------------------------------------------------------------ sources

    def predict(
        self, source, keep_images: bool | None = None, stride: int = 1, max_frames: int | None = None
    ) -> list[FrameResult]:
        """Results for every frame of a source (see `ferkit.predict.sources` for what a source can be).

        Args:
            source: Image path, folder, glob, video, webcam index, numpy array, PIL image, or a list of those.
            keep_images: Keep each frame's image in its result (for `plot` / `save`). None keeps still images
                but not video frames, so a long video does not fill the memory; use `stream` to draw videos.
            stride: Keep every `stride`-th video frame.
            max_frames: Stop each video / webcam after this many frames.
        """
        return list(self.stream(source, keep_images=keep_images, stride=stride, max_frames=max_frames))

    def stream(
        self, source, keep_images: bool | None = True, stride: int = 1, max_frames: int | None = None
    ) -> Iterator[FrameResult]:
        """Results one frame at a time (a generator), for videos and webcams; arguments as `predict`.

        Raises:
            SourceError: The source cannot be opened (raised at the first `next`).
            NoFaceError: `require_face=True` and a readable frame has no face.
        """
        yield from self.stream_frames(iter_frames(source, stride=stride, max_frames=max_frames), keep_images)

    def stream_frames(
        self, frames: Iterable[Frame], keep_images: bool | None = True
    ) -> Iterator[FrameResult]:
        """Results for ready frames (`ferkit.predict.sources.Frame`, e.g. `video_frames(path, start, end)` for
        one segment of a video); tracks and smoothing start afresh with each call."""
        tracks = self.video_tracks()
        batch: list[Frame] = []
        for frame in frames:
            batch.append(frame)
            if frame.kind == "webcam" or len(batch) >= self.frames_per_batch:
                yield from self._run(batch, tracks, keep_images)
                batch = []
        if batch:
            yield from self._run(batch, tracks, keep_images)

    def detect_and_crop(self, frames: list[Frame]) -> list[DetectedFrame]:
        """The first half of recognition: each frame's faces (in its original pixels) and their crops, in order;
        a frame that cannot be processed holds its error. `classify` is the second half."""
        return [self._detect_one(frame) for frame in frames]

    def video_tracks(self) -> VideoTracks:
        """Fresh track ids and smoothing (this recognizer's `smooth` and `track_gap`) for one stream of frames."""
        return VideoTracks(self.smooth, self.track_gap)

    # ------------------------------------------------------------------------------------------------ internals

    def _run(self, frames: list[Frame], tracks: VideoTracks, keep: bool | None) -> list[FrameResult]:
        detected = self.detect_and_crop(frames)
        crops = [d.crops for d in detected if len(d.crops)]
        probs = self.classify(np.concatenate(crops)) if crops else np.zeros((0, len(self.labels)), np.float32)
        results, start = [], 0
        for d in detected:
            results.append(self._result(d, probs[start : start + len(d.faces)], tracks, keep))
            start += len(d.faces)
        return results

    def _detect_one(self, frame: Frame) -> DetectedFrame:
        from ferkit._deps import cv2

        s = self.backend.data_config.image_size
        none = np.zeros((0, s, s), np.uint8)
        if not frame.ok:
            return DetectedFrame(frame, [], none, frame.error)
        try:
            faces = self.detector.detect(frame.image)
            crops = [crop_face(frame.image, f, self.backend.data_config, self.margin) for f in faces]
        except (FerkitError, ValueError, cv2().error) as exc:
            return DetectedFrame(frame, [], none, f"{frame.source}: {exc}")
        k = decode_scale(frame)
        return DetectedFrame(frame, [to_original(f, k) for f in faces], np.stack(crops) if crops else none)

    def _result(
        self, d: DetectedFrame, probs: np.ndarray, tracks: VideoTracks, keep: bool | None
    ) -> FrameResult:
        frame = d.frame
        if d.error is None and not d.faces and self.require_face:
            raise NoFaceError(f"{frame.source} frame {frame.index}: no face found (require_face=True)")
        ids = tracks.ids(d)
        faces = face_results(d.faces, tracks.smoothed(frame.source, ids, probs), ids, self.labels)
        keep_image = keep if keep is not None else frame.kind in ("image", "array")
        return FrameResult(
            source=frame.source,
            frame=frame.index,
            faces=faces,
            error=d.error,
            image=frame.image if keep_image and d.error is None else None,
            size=frame.size,
            fps=frame.fps,
            time=frame.time,
        )


def _decoded(image) -> tuple[np.ndarray, float]:
    """(RGB array, original width / decoded width): a path may be decoded at a reduced scale."""
    if isinstance(image, str | Path):
        from ferkit.imageio import read_rgb

        rgb, size = read_rgb(image)
        return rgb, size[0] / rgb.shape[1]
    return array_to_rgb(image), 1.0


def _crop_batch(crops, size: int) -> np.ndarray:
    """uint8 N×H×W from an array or a list of crops (gray or RGB; mixed sizes are resized to `size`)."""
    if isinstance(crops, np.ndarray):
        if crops.ndim == 2 or (crops.ndim == 3 and crops.shape[-1] in (3, 4)):
            crops = [crops]  # one gray or colour crop, not a batch of rows
        elif crops.ndim == 3 and crops.dtype == np.uint8:
            return crops
    items = list(crops)
    if not items:
        return np.zeros((0, size, size), np.uint8)
    from ferkit._deps import cv2

    out = []
    for c in items:
        g = np.asarray(c)
        g = array_to_rgb(g) if g.ndim == 3 or g.dtype != np.uint8 else g
        if g.ndim == 3:
            g = cv2().cvtColor(np.ascontiguousarray(g), cv2().COLOR_RGB2GRAY)
        if g.shape != (size, size):
            g = cv2().resize(g, (size, size), interpolation=cv2().INTER_AREA)
        out.append(g)
    return np.stack(out)
