"""GPU training tooling end to end on the CPU with tiny data: the joined faces file and the two datasets built
from it (release.joined_faces), teachers' logits standing in for their checkpoints, and several configs trained
side by side within a time budget with their results collected in one folder (release.train_gpu)."""

from __future__ import annotations

import io
import json
import lzma
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


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
    from release.joined_faces import prepare

    from ferkit.data import load_dataset

    fer, plus = prepare(_faces(tmp_path / "faces.npz.xz"), tmp_path / "data")
    fer, plus = load_dataset(fer), load_dataset(plus)
    assert fer.split_names == ("train", "public_test") and len(fer) == 64
    assert plus.split_names == ("train", "valid") and len(plus) < 64 and len(plus.label_space) == 8
    assert plus.soft_targets is not None and np.allclose(plus.soft_targets.sum(1), 1)


def test_teacher_logits_files_stand_in_for_checkpoints(tmp_path):
    from release.joined_faces import prepare
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


def test_configs_train_side_by_side_and_results_are_collected(tmp_path):
    from release.joined_faces import prepare
    from tests._faces_fixtures import tiny_checkpoint

    from ferkit.data import load_dataset
    from ferkit.train.distill import save_teacher_logits

    fer, plus = prepare(_faces(tmp_path / "faces.npz.xz"), tmp_path / "data")
    train = load_dataset(fer).take_split("train")
    logits = save_teacher_logits(
        str(tiny_checkpoint(tmp_path / "t.safetensors")), train.images, tmp_path / "t.logits.npz"
    )
    student = yaml.safe_load((ROOT / "configs/campaign/fernet_default_distill.yaml").read_text())
    student["train"]["distill_from"] = [str(logits)]
    (tmp_path / "fernet_default_distill.yaml").write_text(yaml.safe_dump(student))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "release.train_gpu", "--data", str(fer), "--out", str(out)]
    cmd += ["--budget", "60", "--probe-steps", "1", "--max-epochs", "2"]
    cmd += ["--set", "train.batch_size=16", "--set", "train.eval_batch_size=32"]
    cmd += [
        str(tmp_path / "fernet_default_distill.yaml"),
        f"{ROOT / 'configs/campaign/ferplus_fernet.yaml'}={plus}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "results.json").read_text())
    assert report["epochs"] == 2 and report["exit_codes"] == {
        "fernet_default_distill": 0,
        "ferplus_fernet": 0,
    }
    assert set(report["best"]) == {"fernet_default_distill", "ferplus_fernet"}
    assert (out / "fernet_default_distill" / "history.csv").is_file()
    assert "distilling from" in (out / "fernet_default_distill.log").read_text()
    import ferkit

    rec = ferkit.load(out / "ferplus_fernet" / "best.safetensors", "none")
    assert len(rec.labels) == 8 and "contempt" in rec.labels


def test_a_config_without_data_is_refused(capsys):
    from release.train_gpu import parse_args

    with pytest.raises(SystemExit):
        parse_args(["configs/campaign/ferplus_fernet.yaml"])
    assert "give --data or write CONFIG=DATA" in capsys.readouterr().err


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
