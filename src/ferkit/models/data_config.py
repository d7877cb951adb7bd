"""The data config a model holds: input size, channels, normalisation and label space.

Transforms, the recognizer, ONNX metadata and the REST API read these fields from the model (or its checkpoint)
rather than hard-coding them. `FACE_SIZE` (ferkit.constants) is the one place the face-crop size is written down.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from ferkit.constants import FACE_SIZE
from ferkit.errors import ModelError
from ferkit.labels import FER7, LabelSpace

FER_MEAN: tuple[float, ...] = (0.5077,)
"""Mean pixel value of FER2013 training images, on the [0, 1] scale."""

FER_STD: tuple[float, ...] = (0.2550,)
"""Standard deviation of FER2013 training pixels, on the [0, 1] scale."""


@dataclass(frozen=True)
class DataConfig:
    """What a model expects as input.

    Attributes:
        input_size: Side of the square input the network takes. Equal to `image_size`, or smaller when the
            recipe trains on random crops (evaluation then takes the center crop).
        image_size: Side the face crops are resized to before cropping.
        channels: Number of input channels (1 for grayscale; 3 repeats the gray channel).
        mean: Per-channel mean on the [0, 1] pixel scale (one value is broadcast to every channel).
        std: Per-channel standard deviation on the [0, 1] pixel scale.
        labels: The label space of the model's outputs: logit i means `labels.names[i]`.
    """

    input_size: int = FACE_SIZE
    image_size: int = FACE_SIZE
    channels: int = 1
    mean: tuple[float, ...] = FER_MEAN
    std: tuple[float, ...] = FER_STD
    labels: LabelSpace = field(default=FER7)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))
        if not 0 < self.input_size <= self.image_size:
            raise ModelError(
                f"data config: input_size {self.input_size} must be positive and at most "
                f"image_size {self.image_size}"
            )
        if self.channels not in (1, 3):
            raise ModelError(f"data config: channels must be 1 or 3, got {self.channels}")
        for key, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, self.channels):
                raise ModelError(f"data config: {key} needs 1 or {self.channels} values, got {len(values)}")
        if any(s <= 0 for s in self.std):
            raise ModelError(f"data config: std must be positive, got {self.std}")

    def with_labels(self, labels: LabelSpace) -> DataConfig:
        """A copy of this config with another label space."""
        return replace(self, labels=labels)

    def to_dict(self) -> dict:
        """A JSON-ready dict (lists instead of tuples, labels as a dict)."""
        return {
            "input_size": self.input_size,
            "image_size": self.image_size,
            "channels": self.channels,
            "mean": list(self.mean),
            "std": list(self.std),
            "labels": self.labels.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> DataConfig:
        """Inverse of `to_dict`. Raises ModelError naming the first missing key."""
        try:
            return cls(
                input_size=int(d["input_size"]),
                image_size=int(d["image_size"]),
                channels=int(d["channels"]),
                mean=tuple(d["mean"]),
                std=tuple(d["std"]),
                labels=LabelSpace.from_dict(d["labels"]),
            )
        except KeyError as exc:
            raise ModelError(f"data config is missing key {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ModelError(f"data config is malformed: {exc}") from None


def _center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top : top + size, left : left + size]


def preprocess(images_uint8: torch.Tensor, cfg: DataConfig) -> torch.Tensor:
    """Turn a batch of face crops into network input.

    Steps: scale to [0, 1]; resize (bilinear, antialiased) to `cfg.image_size` when the crops have another size;
    center-crop to `cfg.input_size`; repeat the gray channel when `cfg.channels == 3`; normalise by mean/std.
    Works on any device; the output stays on the input's device.

    Args:
        images_uint8: N×H×W or N×C×H×W uint8 images (C = 1, or 3 which is averaged to gray for a 1-channel
            model). A floating tensor is taken as already scaled to [0, 1].
        cfg: The model's data config.

    Returns:
        Float32 tensor N×channels×input_size×input_size.
    """
    x = images_uint8
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ModelError(f"preprocess expects N×H×W or N×C×H×W images with C in (1, 3), got {tuple(x.shape)}")
    x = x.float() / 255.0 if not x.is_floating_point() else x.float()
    if x.shape[1] == 3 and cfg.channels == 1:
        x = x.mean(dim=1, keepdim=True)
    if tuple(x.shape[-2:]) != (cfg.image_size, cfg.image_size):
        size = (cfg.image_size, cfg.image_size)
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    if cfg.input_size != cfg.image_size:
        x = _center_crop(x, cfg.input_size)
    if cfg.channels == 3 and x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(cfg.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(cfg.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return ((x - mean) / std).contiguous()
