"""The GPU campaign (release/gpu/campaign.py) end to end on the CPU with tiny data: what runs on the H200 in one
device call is exercised here first, so GPU minutes go to training, not debugging."""

from __future__ import annotations

import io
import json
import lzma
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = ROOT / "release" / "gpu" / "campaign.py"
sys.path.insert(0, str(CAMPAIGN.parent))


def _faces(path: Path, n_train: int = 48, n_test: int = 16) -> Path:
    rng = np.random.default_rng(0)
    n = n_train + n_test
    fer7 = rng.integers(0, 7, n).astype(np.int8)
    images = rng.integers(0, 256, (n, 48, 48), dtype=np.uint8)
    images[:, :8, :8] = (fer7 * 36)[:, None, None]  # a learnable corner
    votes = np.zeros((n, 10), np.uint8)
    votes[np.arange(n), rng.integers(0, 8, n)] = 8
    votes[:, 0] += 2
    arrays = {
        "images": images,
        "fer7": fer7,
        "split": np.array([0] * n_train + [1] * n_test, np.uint8),
        "votes": votes,
        "matched": np.arange(n) % 9 != 0,  # some faces have no FER+ twin
    }
    with lzma.open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def test_prepare_builds_both_datasets(tmp_path):
    from campaign import prepare

    from ferkit.data import load_dataset

    fer, plus = prepare(_faces(tmp_path / "faces.npz.xz"), tmp_path / "data")
    fer, plus = load_dataset(fer), load_dataset(plus)
    assert fer.split_names == ("train", "public_test") and len(fer) == 64
    assert plus.split_names == ("train", "valid") and len(plus) < 64 and len(plus.label_space) == 8
    assert plus.soft_targets is not None and np.allclose(plus.soft_targets.sum(1), 1)


def test_teacher_logits_files_stand_in_for_checkpoints(tmp_path):
    from campaign import prepare
    from tests._faces_fixtures import tiny_checkpoint

    from ferkit.data import load_dataset
    from ferkit.errors import ModelError
    from ferkit.train.distill import save_teacher_logits, teacher_probs

    fer, _ = prepare(_faces(tmp_path / "faces.npz.xz"), tmp_path / "data")
    train = load_dataset(fer).take_split("train")
    ckpt = tiny_checkpoint(tmp_path / "t.safetensors")
    saved = save_teacher_logits(str(ckpt), train.images, tmp_path / "t.logits.npz")
    a = teacher_probs(str(saved), train.images, train.label_space, 2.0, "cpu", False)
    b = teacher_probs(str(ckpt), train.images, train.label_space, 2.0, "cpu", False)
    assert np.allclose(a, b, atol=1e-6)
    with pytest.raises(ModelError, match="other training images"):
        teacher_probs(str(saved), train.images[:-1], train.label_space, 2.0, "cpu", False)


def test_the_campaign_runs_end_to_end_on_the_cpu(tmp_path):
    from campaign import prepare
    from tests._faces_fixtures import tiny_checkpoint

    from ferkit.data import load_dataset
    from ferkit.train.distill import save_teacher_logits

    faces = _faces(tmp_path / "faces.npz.xz")
    fer, _ = prepare(faces, tmp_path / "probe-data")
    teachers = tmp_path / "teachers"
    teachers.mkdir()
    train = load_dataset(fer).take_split("train")
    save_teacher_logits(
        str(tiny_checkpoint(tmp_path / "t.safetensors")), train.images, teachers / "t.logits.npz"
    )
    out = tmp_path / "OUT"
    cmd = [
        sys.executable,
        str(CAMPAIGN),
        "run",
        "--faces",
        str(faces),
        "--teachers",
        str(teachers),
        "--budget",
        "60",
        "--out",
        str(out),
        "--work",
        str(tmp_path / "work"),
        "--probe-steps",
        "1",
        "--max-epochs",
        "2",
        "--every",
        "2",
        "--set",
        "train.batch_size=16",
        "--set",
        "train.eval_batch_size=32",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "campaign.json").read_text())
    assert report["epochs"] == 2 and set(report["exit_codes"].values()) == {0}, report
    # most important first, as many as fit the device's 64 MiB return: the teacher's 22 MB weights do not
    assert report["weights_sent"] == list(report["exit_codes"])[:3]
    with tarfile.open(out / "progress.tar.gz") as tar:
        names = tar.getnames()
    assert "fernet_default_distill/history.csv" in names and "ferplus_fernet.log" in names
    assert (
        "resnet18_teacher_long/resnet18_teacher_long.logits.npz" in names
    )  # the teacher comes back as logits
    assert sum(p.stat().st_size for p in out.iterdir()) <= 64 * 2**20
    assert "distilling from" in (tmp_path / "work" / "fernet_default_distill.log").read_text()
    parts = sorted(out.glob("weights.tar.part-*"))
    assert len(list(out.iterdir())) <= 8  # what the device returns
    with tarfile.open(fileobj=io.BytesIO(b"".join(p.read_bytes() for p in parts))) as tar:
        assert "ferplus_fernet.safetensors" in tar.getnames()
        tar.extract("ferplus_fernet.safetensors", tmp_path / "back", filter="data")
    import ferkit

    rec = ferkit.load(tmp_path / "back" / "ferplus_fernet.safetensors", "none")
    assert len(rec.labels) == 8 and "contempt" in rec.labels


def test_faces_are_matched_across_copies_by_pixels():
    from PIL import Image

    from ferkit.data.join import match_faces

    rng = np.random.default_rng(1)
    smooth = np.kron(rng.integers(0, 256, (40, 12, 12)), np.ones((4, 4))).astype(np.uint8)
    b = smooth[rng.permutation(40)]  # the same faces in another order, and one face more
    b = np.concatenate([b, rng.integers(0, 256, (1, 48, 48), dtype=np.uint8)])

    def jpeg(x):
        buf = io.BytesIO()
        Image.fromarray(x).save(buf, "JPEG", quality=90)
        return np.asarray(Image.open(buf))

    a = np.stack([jpeg(x) for x in smooth[:30]] + [rng.integers(0, 256, (48, 48), dtype=np.uint8)])
    index, diff = match_faces(a, b)
    assert (index[:30] >= 0).all() and np.array_equal(b[index[:30]], smooth[:30])
    assert index[30] == -1 and np.isinf(diff[30])  # a face with no twin
    assert diff[:30].max() < 4
