"""Shared fixtures: tiny datasets built in tmp_path for every supported format, a private dataset cache, the CLI.

Nothing here copies files from ../shared/data; every image is generated.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

FER7_ORDER = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FERPLUS_HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"


# ---------------------------------------------------------------------------------------------------- helpers


def noise(seed: int, shape: tuple[int, int] = (48, 48)) -> np.ndarray:
    """A reproducible random uint8 image: distinct seeds never give equal images."""
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def save_image(path: Path, image: np.ndarray | Image.Image, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = image if isinstance(image, Image.Image) else Image.fromarray(image)
    im.save(path, **kwargs)
    return path


def pixel_string(image: np.ndarray) -> str:
    return " ".join(map(str, image.reshape(-1).tolist()))


def png_bomb_bytes(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width×height black pixels: a few KB on disk, huge once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    comp = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + packed bits
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def run_ferkit(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m ferkit ARGS` in a fresh interpreter (inherits FERKIT_CACHE_DIR from os.environ)."""
    return subprocess.run(
        [sys.executable, "-m", "ferkit", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=dict(os.environ),
    )


# ---------------------------------------------------------------------------------------------------- autouse


@pytest.fixture(autouse=True)
def _private_dataset_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty dataset cache; nothing is written under ~/.cache."""
    cache = tmp_path_factory.mktemp("ferkit-cache")
    monkeypatch.setenv("FERKIT_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def cache_dir(_private_dataset_cache) -> Path:
    return _private_dataset_cache


@pytest.fixture
def ferkit_cli():
    """Callable running the ferkit CLI in a subprocess: ferkit_cli("data", "stats", path)."""
    return run_ferkit


# ---------------------------------------------------------------------------------------------------- Kaggle FER2013

# (relative path, image seed or None when the file is a byte copy of another file) — see KAGGLE_COPIES.
KAGGLE_FILES = {
    "train/angry/Training_0.jpg": 0,
    "train/angry/Training_1.jpg": 1,
    "train/happy/Training_2.jpg": 2,
    "train/happy/Training_3.jpg": 3,
    "train/sad/Training_5.jpg": 5,
    "test/angry/PublicTest_6.jpg": 6,
    "test/angry/PrivateTest_7.jpg": 7,
    "test/happy/PrivateTest_9.jpg": 9,
    "test/sad/extra_11.jpg": 11,  # no prefix: split from its folder (`test`)
}
# Exact duplicates: copy -> original.
KAGGLE_COPIES = {
    "train/happy/Training_4.jpg": "train/happy/Training_3.jpg",  # same split, same label
    "test/happy/PublicTest_8.jpg": "train/happy/Training_2.jpg",  # across splits, same label
    "test/sad/PublicTest_10.jpg": "train/angry/Training_0.jpg",  # across splits, conflicting label
}
KAGGLE_COUNTS = {
    "train": {"angry": 2, "happy": 3, "sad": 1},
    "public_test": {"angry": 1, "happy": 1, "sad": 1},
    "private_test": {"angry": 1, "happy": 1},
    "test": {"sad": 1},
}
KAGGLE_DUPLICATES = {"groups": 3, "extra_copies": 3, "cross_split_groups": 2, "conflicting_label_groups": 1}


def build_kaggle(root: Path) -> Path:
    for rel, seed in KAGGLE_FILES.items():
        save_image(root / rel, noise(seed), quality=95)
    for rel, original in KAGGLE_COPIES.items():
        shutil.copyfile(root / original, root / rel)
    return root


@pytest.fixture
def kaggle_dir(tmp_path) -> Path:
    """FER2013 in the Kaggle layout: 12 images, 4 splits, 3 classes, 3 exact-duplicate groups."""
    return build_kaggle(tmp_path / "fer2013")


# ---------------------------------------------------------------------------------------------------- CSVs


def write_csv(path: Path, rows: list[tuple], header: str = "emotion,pixels,Usage") -> Path:
    lines = [header] + [",".join(str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def fer_csv(tmp_path) -> SimpleNamespace:
    """A FER2013 challenge CSV (`emotion,pixels,Usage`) of 10 rows, every class present."""
    emotions = [0, 1, 2, 3, 4, 5, 6, 3, 0, 6]
    usage = ["Training"] * 6 + ["PublicTest"] * 2 + ["PrivateTest"] * 2
    images = [noise(100 + i) for i in range(len(emotions))]
    path = write_csv(
        tmp_path / "fer2013.csv",
        [(e, pixel_string(im), u) for e, im, u in zip(emotions, images, usage, strict=True)],
    )
    return SimpleNamespace(path=path, emotions=emotions, usage=usage, images=images)


@pytest.fixture
def ck_csv(tmp_path) -> SimpleNamespace:
    """The CK+ variant of the CSV: same columns, 8 classes (ids 0..7)."""
    emotions = [0, 1, 2, 3, 4, 5, 6, 7, 7]
    usage = ["Training"] * 7 + ["PublicTest"] * 2
    images = [noise(200 + i) for i in range(len(emotions))]
    path = write_csv(
        tmp_path / "ckextended.csv",
        [(e, pixel_string(im), u) for e, im, u in zip(emotions, images, usage, strict=True)],
    )
    return SimpleNamespace(path=path, emotions=emotions, usage=usage, images=images)


# ---------------------------------------------------------------------------------------------------- FER+

# label.csv votes, order: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
FERPLUS_TRAIN = {
    "fer0000000.png": [10, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # neutral
    "fer0000001.png": [0, 8, 2, 0, 0, 0, 0, 0, 0, 0],  # happy
    "fer0000002.png": [5, 5, 0, 0, 0, 0, 0, 0, 0, 0],  # tie: majority drops, probability keeps 0.5/0.5
    "fer0000003.png": [1, 0, 0, 0, 0, 0, 0, 0, 9, 0],  # unknown: always dropped
    "fer0000004.png": [0, 0, 0, 0, 0, 0, 0, 0, 0, 10],  # not a face: always dropped
    "fer0000005.png": [4, 3, 3, 0, 0, 0, 0, 0, 0, 0],  # no majority; probability 0.4/0.3/0.3
    "fer0000006.png": [0, 0, 0, 10, 0, 0, 0, 0, 0, 0],  # sad here, angry in fer2013new.csv
    "fer0000007.png": [0, 0, 10, 0, 0, 0, 0, 0, 0, 0],  # listed, but no PNG on disk
}
FERPLUS_VALID = {
    "fer0000100.png": [0, 0, 9, 1, 0, 0, 0, 0, 0, 0],  # surprise
    "fer0000101.png": [5, 5, 0, 0, 0, 0, 0, 0, 0, 0],  # dropped (valid is always majority)
    "fer0000102.png": [0, 0, 0, 0, 0, 0, 0, 7, 3, 0],  # contempt
}
FERPLUS_NEW_VOTES = {"fer0000006.png": [0, 0, 0, 0, 10, 0, 0, 0, 0, 0]}


def ferplus_pixel(name: str) -> int:
    """Every FER+ fixture image is one grey level, derived from its number (so images can be matched to rows)."""
    number = int(name[3:10])
    return number % 100 * 10 + (5 if number < 100 else 150)


def build_ferplus(root: Path, new_csv: bool = True) -> Path:
    for folder, rows in (("FER2013Train", FERPLUS_TRAIN), ("FER2013Valid", FERPLUS_VALID)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        lines = [f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, votes)) for name, votes in rows.items()]
        (root / folder / "label.csv").write_text("\n".join(lines) + "\n")
        for name in rows:
            if name != "fer0000007.png":
                save_image(root / folder / name, np.full((48, 48), ferplus_pixel(name), np.uint8))
    # On disk but not in label.csv: ignored.
    save_image(root / "FER2013Train" / "fer0000099.png", np.zeros((48, 48), np.uint8))
    if new_csv:
        empty = "Training,," + ",".join(["0"] * 9 + ["10"])  # an image FER+ dropped: no name
        rows = [
            f"Training,{n},{','.join(map(str, FERPLUS_NEW_VOTES.get(n, v)))}"
            for n, v in FERPLUS_TRAIN.items()
        ]
        rows = rows[::-1]  # another order than label.csv: joined on name, not on row number
        rows.insert(3, empty)
        rows += [f"PublicTest,{n},{','.join(map(str, v))}" for n, v in FERPLUS_VALID.items()]
        (root / "fer2013new.csv").write_text("\n".join([FERPLUS_HEADER, *rows]) + "\n")
    return root


@pytest.fixture
def ferplus_dir(tmp_path) -> Path:
    """FER+ folders with label.csv files and a fer2013new.csv that changes fer0000006's votes."""
    return build_ferplus(tmp_path / "ferplus")


# ---------------------------------------------------------------------------------------------------- CK+48

CKPLUS_FILES = {
    "anger/S005_001_00000009.png": 5,
    "anger/S005_001_00000010.png": 5,
    "anger/S005_001_00000011.png": 5,
    "anger/S010_004_00000017.png": 10,
    "contempt/S022_002_00000005.png": 22,
    "happy/S010_006_00000012.png": 10,
    "happy/S010_006_00000013.png": 10,
    "sadness/S999_003_00000001.png": 999,
    "surprise/S005_002_00000020.png": 5,
}
CKPLUS_COUNTS = {"angry": 4, "contempt": 1, "disgust": 0, "fear": 0, "happy": 2, "sad": 1, "surprise": 1}


@pytest.fixture
def ckplus_dir(tmp_path) -> Path:
    """CK+48 as distributed: ckplus48/CK+48/<emotion>/S<subject>_<sequence>_<frame>.png, next to a README."""
    outer = tmp_path / "ckplus48"
    inner = outer / "CK+48"
    for i, rel in enumerate(CKPLUS_FILES):
        save_image(inner / rel, noise(300 + i))
    (outer / "README.md").write_text("CK+48 crops\n")
    return outer


# ---------------------------------------------------------------------------------------------------- image folder


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """<class>/<images> with every size and mode a user may have: RGB, RGBA, 16-bit, CMYK, palette."""
    root = tmp_path / "faces"
    save_image(root / "happiness" / "rgb.jpg", Image.new("RGB", (100, 80), (200, 30, 30)))
    save_image(root / "happiness" / "rgba.png", Image.new("RGBA", (60, 60), (0, 0, 0, 0)))  # transparent
    save_image(root / "anger" / "gray16.png", Image.fromarray(np.full((50, 50), 65535, np.uint16)))
    save_image(root / "anger" / "cmyk.jpg", Image.new("CMYK", (64, 64), (0, 0, 0, 0)))
    save_image(root / "anger" / "palette.gif", Image.new("P", (30, 40), 3))
    return root


# ---------------------------------------------------------------------------------------------------- real data


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (the real datasets), or skip."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data absent: {SHARED_DATA} not found (real-dataset tests need it)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tests run with one PyTorch thread: faster on 2 cores, and kinder to a training job running beside them."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
