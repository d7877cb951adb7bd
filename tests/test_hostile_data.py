"""Hostile datasets: absurd class ids, endless rows, symlink loops, damaged cache entries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from conftest import noise, pixel_string, run_ferkit, save_image, write_csv
from ferkit.data import load_dataset
from ferkit.errors import DataError, SourceError
from ferkit.predict import parse_source


def test_an_absurd_class_id_is_an_error_naming_the_line(tmp_path):
    rows = [(0, pixel_string(noise(1)), "Training"), (9999999999, pixel_string(noise(2)), "Training")]
    path = write_csv(tmp_path / "big.csv", rows)
    with pytest.raises(DataError, match=r"big.csv line 3: emotion 9999999999 is not a class id"):
        load_dataset(path)
    out = run_ferkit("data", "stats", path)
    assert out.returncode == 2 and "line 3" in out.stderr and "Traceback" not in out.stderr


def test_a_csv_without_line_breaks_is_refused_not_read_forever(tmp_path):
    link = tmp_path / "zero.csv"
    os.symlink("/dev/zero", link)
    code = (
        "import sys\nfrom ferkit.data import load_dataset\nfrom ferkit.errors import DataError\n"
        f"try:\n    load_dataset({str(link)!r}, format='fer2013_csv', cache=False)\n"
        "except DataError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "line 1: over" in out.stdout, out.stderr[-2000:]


def test_symlink_loops_in_a_dataset_folder_are_skipped_and_counted(kaggle_dir):
    os.symlink("loop", kaggle_dir / "train" / "happy" / "loop")  # a link to itself: ELOOP
    os.symlink("..", kaggle_dir / "train" / "angry" / "up")  # a folder loop
    with pytest.warns(UserWarning, match=r"skipped 1 link"):
        ds = load_dataset(kaggle_dir, cache=False)
    assert len(ds) == 12
    out = run_ferkit("data", "stats", kaggle_dir)
    assert out.returncode == 0, out.stderr
    assert "skipped 1 link" in out.stderr and "Traceback" not in out.stderr


def test_a_recursive_glob_over_self_links_ends(tmp_path):
    (tmp_path / "sub").mkdir()
    for i in range(3):
        save_image(tmp_path / f"{i}.png", noise(i))
    save_image(tmp_path / "sub" / "s.png", noise(9))
    os.symlink(".", tmp_path / "self1")
    os.symlink(".", tmp_path / "self2")
    code = (
        "from ferkit.predict import parse_source\n"
        f"print(len(parse_source({str(tmp_path / '**' / '*.png')!r})))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the glob did not end")
    assert out.strip() == "4"


def test_empty_paths_are_refused(kaggle_dir, monkeypatch):
    monkeypatch.chdir(kaggle_dir)  # "" must not mean the current folder, even when it holds a dataset
    with pytest.raises(DataError, match="the dataset path is empty"):
        load_dataset("")
    with pytest.raises(SourceError, match="empty"):
        parse_source("")


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_a_damaged_cache_entry_is_discarded_and_rebuilt(fer_csv, cache_dir, damage):
    first = load_dataset(fer_csv.path)
    (entry,) = cache_dir.glob("*.npz")
    entry.write_bytes(b"" if damage == "empty" else entry.read_bytes()[: entry.stat().st_size // 2])
    with pytest.warns(UserWarning, match="discarded a damaged dataset cache entry"):
        again = load_dataset(fer_csv.path)
    assert (again.images == first.images).all() and (again.labels == first.labels).all()
    (rebuilt,) = cache_dir.glob("*.npz")
    third = load_dataset(fer_csv.path)  # read from the rebuilt entry, silently
    assert rebuilt.stat().st_size > 1000 and (third.images == first.images).all()


def test_atomic_writes_are_flushed_before_the_rename(tmp_path, monkeypatch):
    import ferkit._atomic as atomic

    order = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (order.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (order.append("replace"), real_replace(a, b))[1])
    with atomic.atomic_path(tmp_path / "f.bin") as tmp:
        tmp.write_bytes(b"data")
    assert order[:2] == ["fsync", "replace"] and (tmp_path / "f.bin").read_bytes() == b"data"
