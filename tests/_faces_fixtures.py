"""Shared helpers of the recognition tests: the astronaut photo, its face box, a tiny checkpoint, a tiny video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

ASTRONAUT_FACE = (178, 63, 89, 112)
"""YuNet's box of the one face in skimage's astronaut (x, y, w, h), used as ground truth."""

WILD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wild"


def astronaut() -> np.ndarray:
    """skimage.data.astronaut(): a public-domain 512×512 RGB photo with one face."""
    import skimage.data

    return skimage.data.astronaut()


def tiny_checkpoint(path: Path, name: str = "mobilefer", seed: int = 0) -> Path:
    """An untrained zoo model whose head is randomised (so its outputs are not uniform), saved to `path`."""
    from ferkit.models import create_model, save_checkpoint

    torch.manual_seed(seed)
    model = create_model(name)
    torch.nn.init.normal_(model.head.weight, std=0.5)
    torch.nn.init.normal_(model.head.bias, std=0.5)
    return save_checkpoint(path, model)


def write_video(path: Path, frames: int = 10, fps: float = 12.0, size: tuple[int, int] = (320, 240)) -> Path:
    """An MJPG .avi of `frames` frames: the astronaut's face moving right over a grey background."""
    import cv2

    img = astronaut()
    face = cv2.resize(img[40:300, 130:320], (95, 130), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), 90, np.uint8)
        x = 40 + 6 * i
        frame[50:180, x : x + 95] = face
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


PEOPLE_FACE = (80, 110)  # w, h of each pasted face


def people_frames(frames: int = 75, size: tuple[int, int] = (480, 320)):
    """Frames of a scene with two people (the astronaut's face pasted twice) and where each face is.

    Person "A" walks right along the top and leaves the picture for frames 20–29; person "B" walks left lower
    down, so the two cross around frame 39 (B passes in front of A, hiding A's chin). Yields (RGB frame,
    {person: (x, y, w, h)} of the faces drawn in it).
    """
    import cv2

    face = cv2.resize(astronaut()[40:300, 130:320], PEOPLE_FACE, interpolation=cv2.INTER_AREA)
    w, h = PEOPLE_FACE
    for i in range(frames):
        img = np.full((size[1], size[0], 3), 90, np.uint8)
        where = {"A": (10 + 5 * i, 20, w, h), "B": (size[0] - w - 10 - 5 * i, 60, w, h)}
        if 20 <= i < 30:
            del where["A"]
        for x, y, _, _ in where.values():
            img[y : y + h, x : x + w] = face
        yield img, where


def write_people_video(path: Path, fps: float = 25.0, frames: int = 75) -> tuple[Path, list[dict]]:
    """`people_frames` as an MJPG .avi; returns (path, the per-frame {person: box} ground truth)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (480, 320))
    assert writer.isOpened()
    truth = []
    for img, where in people_frames(frames):
        writer.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        truth.append(where)
    writer.release()
    return path, truth
