"""`evaluate()`: a model on a dataset split (or a folder of photos through a face detector) → `EvalResult`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferkit.data import FerDataset, load_dataset
from ferkit.errors import DataError
from ferkit.evaluate.dedup import dedup_figure
from ferkit.evaluate.metrics import Metrics, compute_metrics
from ferkit.labels import LabelSpace, canonical
from ferkit.probs import softmax

PREFERRED_SPLITS = ("public_test", "valid", "test")
"""Split evaluated when none is given and the dataset has several (first one present wins)."""


@dataclass(frozen=True)
class LabelMatch:
    """How the data's classes map onto the model's outputs (by canonical name).

    Attributes:
        table: int array, data label id → model label id, or -1 when the model does not know the class.
        left_out: {data class: samples} of classes the model does not know (left out of the evaluation).
        model_only: model classes the data does not have (still possible, and wrong, predictions).
    """

    table: np.ndarray
    left_out: dict[str, int]
    model_only: tuple[str, ...]


@dataclass(frozen=True)
class EvalResult:
    """One evaluation: the metrics plus what was evaluated, how, and the per-sample arrays behind the plots.

    Attributes:
        model, data, split: what was evaluated; `split_rule` says why that split.
        tta: test-time augmentation (none, flip, tencrop); `detector` the face detector or None.
        metrics: every metric, in the model's label space.
        no_face: photos where the detector found no face (scored as errors).
        left_out: {class: samples} of data classes the model does not know; `model_only_classes` the reverse.
        dedup: accuracy on the samples without an exact duplicate in the training data, or None.
        model_card: see `ferkit.evaluate.card.model_card`.
        images: the uint8 crops the model saw (N×S×S); y_true, probs, no_face_mask, sources per sample.
    """

    model: str
    data: str
    split: str
    split_rule: str
    tta: str
    detector: str | None
    metrics: Metrics
    no_face: int
    left_out: dict[str, int]
    model_only_classes: tuple[str, ...]
    dedup: dict | None
    model_card: dict
    seconds: float
    images: np.ndarray = field(repr=False)
    y_true: np.ndarray = field(repr=False)
    probs: np.ndarray = field(repr=False)
    no_face_mask: np.ndarray = field(repr=False)
    sources: np.ndarray = field(repr=False)

    @property
    def predictions(self) -> np.ndarray:
        """Predicted label ids; -1 where no face was found."""
        return np.where(self.no_face_mask, -1, self.probs.argmax(1))

    def confident_mistakes(self, k: int = 24) -> np.ndarray:
        """Indices of up to `k` wrong predictions, most confident first (no-face samples excluded)."""
        pred = self.predictions
        wrong = np.flatnonzero((pred != self.y_true) & ~self.no_face_mask)
        conf = self.probs[wrong].max(1) if len(wrong) else np.zeros(0)
        return wrong[np.argsort(-conf, kind="stable")][:k]

    def to_dict(self) -> dict:
        """The JSON of `ferkit evaluate --json` (fractions in 0..1)."""
        return {
            "model": self.model,
            "data": self.data,
            "split": self.split,
            "split_rule": self.split_rule,
            "tta": self.tta,
            "detector": self.detector,
            **self.metrics.to_dict(),
            "no_face": self.no_face,
            "left_out": dict(self.left_out),
            "n_left_out": int(sum(self.left_out.values())),
            "model_only_classes": list(self.model_only_classes),
            "dedup": self.dedup,
            "model_card": self.model_card,
            "seconds": self.seconds,
        }


def choose_split(ds: FerDataset, split: str | None) -> tuple[str, str]:
    """(split name, why): the given one, the only one, or the first of PREFERRED_SPLITS present."""
    if split:
        return split, "given"
    present = ds.splits
    if len(present) == 1:
        return present[0], "the dataset's only split"
    for name in PREFERRED_SPLITS:
        if name in present:
            return name, f"default: first present of {', '.join(PREFERRED_SPLITS)}"
    raise DataError(
        f"{ds.root}: {'has no samples' if not present else 'splits ' + ', '.join(present)}; "
        f"choose one with --split (none of the default splits {', '.join(PREFERRED_SPLITS)} is present)"
    )


def match_labels(model_space: LabelSpace, data: FerDataset) -> LabelMatch:
    """Map the data's classes onto the model's by canonical name (aliases: happiness → happy, ...).

    Raises:
        DataError: no class in common; the message lists both label spaces.
    """
    model_names = [canonical(n) for n in model_space.names]
    data_names = [canonical(n) for n in data.label_space.names]
    table = np.array([model_names.index(n) if n in model_names else -1 for n in data_names], np.int64)
    counts = np.bincount(data.labels, minlength=len(data_names))
    if not np.any(table[counts > 0] >= 0):
        raise DataError(
            f"the model's labels and the data's share no class: model {model_space.name} "
            f"({', '.join(model_space.names)}); data {data.label_space.name} ({', '.join(data.label_space.names)})"
        )
    left = {data_names[i]: int(counts[i]) for i in range(len(data_names)) if table[i] < 0 and counts[i]}
    present = {data_names[i] for i in range(len(data_names)) if counts[i]}
    return LabelMatch(table, left, tuple(n for n in model_names if n not in present))


def _load_backend(model, device: str = "cpu", threads: int | None = None):
    from ferkit.backends import load_backend

    return load_backend(model, device, threads)


def _model_label(model, backend) -> str:
    """How the result names the model: the path or name given, else the backend's name."""
    if isinstance(model, str | Path):
        return str(model)
    return str(getattr(backend, "name", None) or type(model).__name__)


def evaluate(
    model=None,
    data: str | Path | FerDataset = "",
    split: str | None = None,
    tta: str = "none",
    detector=None,
    train_data: str | Path | FerDataset | None = None,
    batch_size: int = 256,
    *,
    data_format: str | None = None,
    quiet: bool = True,
    device: str = "cpu",
    threads: int | None = None,
) -> EvalResult:
    """Evaluate a model on one split of a dataset.

    Args:
        model: a checkpoint path, an `.onnx` file, a shipped model name, an `nn.Module` or a backend; None is the
            default shipped model.
        data: a dataset path (any format of the data layer) or a loaded `FerDataset`.
        split: the split to evaluate; None picks the dataset's only split, else the first present of
            public_test, valid, test (the result says which and why).
        tta: test-time augmentation: none, flip or tencrop (crop size from the model's data config).
        detector: a face-detector name (`ferkit.faces`) or an object with `detect(rgb) -> list[Face]`. Each
            photo is then re-read at full resolution, its largest face cropped and classified; photos without a
            face count as `no_face` and as errors.
        train_data: a training dataset (path or FerDataset; its `train` split when it has one, else all of it):
            also report accuracy on the samples without an exact pixel duplicate in it.
        batch_size: images per forward pass.
        data_format: dataset format when `data` is a path (None detects it).
        quiet: no progress bars.
        device, threads: where the model runs and the CPU threads it may use (see `ferkit.load`).

    Raises:
        DataError: missing or empty split, no class in common (both label spaces listed), photos that are not
            image files when a detector is used.
        FerkitError: face detection requested but not available.
    """
    t0 = time.perf_counter()
    from ferkit.backends.base import check_batch_size, check_tta

    check_batch_size(batch_size)  # before the data is read, not after
    check_tta(tta)
    ds = _dataset(data, data_format, quiet)
    split_name, rule = choose_split(ds, split)
    backend = _load_backend(model, device, threads)
    s = _score(ds.take_split(split_name), backend, detector, tta, batch_size, quiet)
    metrics = compute_metrics(s.y, s.probs, backend.data_config.labels.names, missing=s.no_face)
    dedup = None
    if train_data is not None:
        correct = (s.probs.argmax(1) == s.y) & ~s.no_face
        dedup = dedup_figure(s.part.images, correct, train_data, quiet, test_format=s.part.format)
    where = str(data) if not isinstance(data, FerDataset) else ds.root
    return _result(s, _model_label(model, backend), backend, where, split_name, rule, tta, metrics, dedup, t0)


@dataclass(frozen=True)
class _Scored:
    """One split scored by a model: the samples kept (classes the model knows), their labels in the model's
    space, the crops it saw, the photos without a face and the probabilities."""

    part: FerDataset
    y: np.ndarray
    images: np.ndarray
    no_face: np.ndarray
    probs: np.ndarray
    detector: str | None
    match: LabelMatch


def _dataset(data, data_format: str | None, quiet: bool) -> FerDataset:
    if not isinstance(data, FerDataset) and not str(data):
        raise DataError("no data to evaluate: pass a dataset path (--data PATH) or a FerDataset")
    return data if isinstance(data, FerDataset) else load_dataset(data, data_format, quiet=quiet)


def _score(part: FerDataset, backend, detector, tta: str, batch_size: int, quiet: bool) -> _Scored:
    """Probabilities of the samples whose class the model knows (crops re-detected when `detector` is given)."""
    dc = backend.data_config
    match = match_labels(dc.labels, part)
    part = part.subset(match.table[part.labels] >= 0)
    det_name = None
    if detector is not None:
        from ferkit.evaluate.photos import detector_name, photo_crops, resolve_detector

        det = resolve_detector(detector)
        det_name = detector_name(det)
        images, no_face = photo_crops(part, det, dc, quiet)
    else:
        images, no_face = part.images, np.zeros(len(part), bool)
    probs = np.zeros((len(part), len(dc.labels)), np.float64)
    if (~no_face).any():
        probs[~no_face] = softmax(
            backend.logits(images[~no_face], tta=tta, batch_size=batch_size), np.float64
        )
    return _Scored(part, match.table[part.labels], np.asarray(images), no_face, probs, det_name, match)


def _result(s: _Scored, label, backend, data, split, rule, tta, metrics, dedup, t0) -> EvalResult:
    from ferkit.evaluate.card import model_card

    return EvalResult(
        model=label,
        data=data,
        split=split,
        split_rule=rule,
        tta=tta,
        detector=s.detector,
        metrics=metrics,
        no_face=int(s.no_face.sum()),
        left_out=s.match.left_out,
        model_only_classes=s.match.model_only,
        dedup=dedup,
        model_card={**model_card(backend), "name": label},
        seconds=time.perf_counter() - t0,
        images=s.images,
        y_true=s.y,
        probs=s.probs,
        no_face_mask=s.no_face,
        sources=s.part.sources,
    )
