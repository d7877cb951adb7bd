"""Offline knowledge distillation: a teacher checkpoint's predictions on the clean training images, softened by a
temperature and blended into the training targets once, before the first epoch. Several teachers form an ensemble:
their softened probabilities are averaged. Each teacher's logits on a training set are cached on disk (keyed by its
weights, preprocessing and the images' bytes), so distilling again from the same teachers skips their forward
passes. The student then trains on those soft targets with its usual augmentation, mixup and label smoothing (no teacher forward pass per step)."""

from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from ferkit.config import Config, teacher_paths
from ferkit.data import FerDataset
from ferkit.data.cache import cache_dir
from ferkit.errors import ConfigError, ModelError
from ferkit.labels import LabelSpace
from ferkit.models import load_model
from ferkit.train import device as devmod
from ferkit.train.loop import predict_logits


def teacher_probs(
    paths: str | list[str],
    images: np.ndarray,
    labels: LabelSpace,
    temperature: float,
    device,
    amp: bool,
    batch: int = 512,
) -> np.ndarray:
    """float32 N×C: softmax(teacher logits / temperature) on uint8 crops N×H×W, in the student's label order,
    averaged over the teachers when `paths` names several."""
    paths = teacher_paths(paths)
    digest = images_digest(images)
    total = 0
    for path in paths:
        logits = teacher_logits(path, images, digest, labels, device, amp, batch)
        total = total + torch.softmax(logits / temperature, dim=1)
    return (total / len(paths)).numpy()


def _teacher_cache_file(teacher, images_digest: str, amp: bool):
    """Cache file of one teacher's logits: keyed by its weights, its preprocessing, the images and the amp mode."""
    h = hashlib.sha256(f"teacher-logits-v2\0{amp}\0{images_digest}\0".encode())
    h.update(repr(teacher.data_config.to_dict()).encode())
    for name, t in teacher.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return cache_dir() / f"teacher-{h.hexdigest()[:32]}.npy"


LOGITS_SUFFIX = ".logits.npz"
"""A teacher's logits on a training set, computed elsewhere (`save_teacher_logits`): `train.distill_from` takes
such a file in place of a checkpoint, so a run can distil without carrying the teacher's weights."""


def images_digest(images: np.ndarray) -> str:
    """sha256 of a uint8 image array (shape, dtype and bytes): what teacher logits are keyed by."""
    h = hashlib.sha256(f"{images.shape}\0{images.dtype}\0".encode())
    h.update(np.ascontiguousarray(images).tobytes())
    return h.hexdigest()


def save_teacher_logits(path: str, images: np.ndarray, out, device="cpu", amp: bool = False) -> Path:
    """Write teacher checkpoint `path`'s logits on `images` (the training split, exactly as the trainer will see
    it) to `out` (`*.logits.npz`): logits, the teacher's label names, the images' digest and the teacher's name."""
    from ferkit._atomic import atomic_path

    out = Path(out)
    if not out.name.endswith(LOGITS_SUFFIX):
        raise ConfigError(f"{out}: teacher logits files are named *{LOGITS_SUFFIX}")
    teacher = load_model(path)
    digest = images_digest(images)
    logits = teacher_logits(path, images, digest, teacher.data_config.labels, device, amp)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            logits=logits.numpy().astype(np.float32),
            labels=np.array(teacher.data_config.labels.names),
            images_sha256=np.array(digest),
            teacher=np.array(str(path)),
        )
    return out


def _logits_file(path: str, digest: str, labels: LabelSpace, n: int) -> torch.Tensor:
    try:
        with np.load(path, allow_pickle=False) as z:
            logits, names, saved = z["logits"], [str(x) for x in z["labels"]], str(z["images_sha256"])
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise ModelError(f"{path}: not a teacher logits file ({exc})") from None
    if names != list(labels.names):
        raise ModelError(
            f"{path}: the teacher predicts {', '.join(names)}; the training data has {', '.join(labels.names)}"
        )
    if saved != digest or logits.shape[0] != n:
        raise ModelError(
            f"{path}: these logits were computed on other training images ({logits.shape[0]} faces); recompute "
            "them on this run's training split (ferkit.train.distill.save_teacher_logits)"
        )
    return torch.from_numpy(logits.astype(np.float32))


def teacher_logits(
    path: str, images: np.ndarray, images_digest: str, labels: LabelSpace, device, amp: bool, batch: int = 512
) -> torch.Tensor:
    """float32 N×C logits of one teacher (a checkpoint, or a `*.logits.npz` file of logits computed elsewhere),
    checked to predict the student's classes; read from the cache when these weights have scored these images
    before (a failed cache read or write only warns)."""
    if str(path).endswith(LOGITS_SUFFIX):
        return _logits_file(path, images_digest, labels, len(images))
    teacher = load_model(path)
    names = list(teacher.data_config.labels.names)
    if names != list(labels.names):
        raise ModelError(
            f"{path}: the teacher predicts {', '.join(names)}; the training data has "
            f"{', '.join(labels.names)}: distil from a teacher trained on the same classes"
        )
    cached = _teacher_cache_file(teacher, images_digest, amp)
    if cached.is_file():
        try:
            logits = np.load(cached, allow_pickle=False)
            if logits.shape == (len(images), len(names)):
                return torch.from_numpy(logits)
        except (OSError, ValueError) as exc:
            warnings.warn(f"ignoring unreadable teacher cache {cached}: {exc}", stacklevel=2)
    logits = predict_logits(teacher.to(device), images, teacher.data_config, device, batch, amp)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, logits.numpy().astype(np.float32))
    except OSError as exc:
        warnings.warn(f"could not write the teacher cache {cached}: {exc}", stacklevel=2)
    return logits


def blend(targets: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """(1 − weight) · targets + weight · teacher, row by row (both N×C distributions)."""
    return ((1 - weight) * targets + weight * teacher).astype(np.float32)


def distilled_targets(train: FerDataset, soft: np.ndarray, cfg: Config, device, log) -> np.ndarray:
    """The targets blended with the teachers' softened predictions on the clean training images."""
    t0, t = time.perf_counter(), cfg.train
    teacher_amp = devmod.use_teacher_amp(t, device)
    probs = teacher_probs(
        t.distill_from, train.images, train.label_space, t.distill_temperature, device, teacher_amp
    )
    agree = float((probs.argmax(1) == train.labels).mean())
    log(
        f"distilling from {' + '.join(teacher_paths(t.distill_from))}: the teacher agrees with {agree:.1%} of the "
        f"training labels (weight {t.distill_weight}, temperature {t.distill_temperature}, "
        f"{time.perf_counter() - t0:.0f} s)"
    )
    return blend(soft, probs, t.distill_weight)
