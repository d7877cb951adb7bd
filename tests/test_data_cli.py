"""`ferkit data stats` and `ferkit data grid` end to end, in a subprocess."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import KAGGLE_COUNTS, KAGGLE_DUPLICATES, build_kaggle, noise, run_ferkit, save_image
from ferkit.data import load_dataset
from ferkit.data.duplicates import duplicate_summary
from ferkit.data.stats import dataset_stats, format_stats
from ferkit.labels import FER7


@pytest.fixture(scope="module")
def kaggle_stats(tmp_path_factory):
    """(dataset root, parsed --json output, completed process) of one `ferkit data stats` run, shared by tests."""
    tmp = tmp_path_factory.mktemp("kaggle-stats")
    root = build_kaggle(tmp / "fer2013")
    out = tmp / "stats.json"
    res = run_ferkit("data", "stats", root, "--json", out, "--quiet", "--no-cache")
    assert res.returncode == 0, res.stderr
    return root, json.loads(out.read_text()), res


@pytest.fixture
def stats_json(kaggle_stats):
    return kaggle_stats[1:]


def test_stats_json_top_level_keys(stats_json):
    stats, _ = stats_json
    assert {"format", "splits", "duplicates", "unreadable", "label_space", "ignored_files"} <= set(stats)
    assert stats["format"] == "fer2013"
    assert stats["label_space"]["name"] == "FER7"


def test_stats_json_split_totals_and_per_class(stats_json):
    stats, _ = stats_json
    assert list(stats["splits"]) == ["train", "public_test", "private_test", "test"]
    for split, counts in KAGGLE_COUNTS.items():
        entry = stats["splits"][split]
        assert entry["total"] == sum(counts.values())
        assert entry["per_class"] == {name: counts.get(name, 0) for name in FER7.names}


def test_stats_json_exact_duplicates(stats_json):
    stats, _ = stats_json
    assert stats["duplicates"] == KAGGLE_DUPLICATES


def test_stats_json_unreadable_is_a_list_of_paths(kaggle_dir, tmp_path):
    (kaggle_dir / "train/happy/Training_99.jpg").write_bytes(b"")
    out = tmp_path / "s.json"
    res = run_ferkit("data", "stats", kaggle_dir, "--json", out, "--quiet")
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text())["unreadable"] == [str(kaggle_dir / "train/happy/Training_99.jpg")]


def test_stats_json_unreadable_empty_for_a_clean_folder(stats_json):
    assert stats_json[0]["unreadable"] == []


def test_stats_table_shows_classes_and_totals(stats_json):
    _, res = stats_json
    out = res.stdout
    assert "format=fer2013" in out
    for name in FER7.names:
        assert name in out
    total_line = next(line for line in out.splitlines() if line.startswith("total"))
    assert total_line.split() == ["total", "6", "3", "2", "1"]
    header = next(line for line in out.splitlines() if line.startswith("class"))
    assert header.split() == ["class", "train", "public_test", "private_test", "test"]


def test_stats_table_reports_duplicates(stats_json):
    _, res = stats_json
    assert (
        "exact duplicates: 3 groups, 3 extra copies, 2 groups span two splits, 1 with conflicting labels"
        in (res.stdout)
    )


def test_stats_function_matches_the_cli(kaggle_stats):
    root, stats, _ = kaggle_stats
    assert dataset_stats(load_dataset(root)) == stats
    assert "total" in format_stats(stats)


def test_duplicate_summary_without_duplicates():
    images = np.stack([noise(i) for i in range(3)])
    got = duplicate_summary(images, np.array([0, 1, 2]), np.array([0, 0, 1], np.int8))
    assert got == {"groups": 0, "extra_copies": 0, "cross_split_groups": 0, "conflicting_label_groups": 0}


def test_duplicate_summary_counts_a_triple_once():
    a, b = noise(1), noise(2)
    images = np.stack([a, a, a, b])
    got = duplicate_summary(images, np.array([0, 0, 1, 0]), np.array([0, 1, 1, 0], np.int8))
    assert got == {"groups": 1, "extra_copies": 2, "cross_split_groups": 1, "conflicting_label_groups": 1}


def test_stats_ckplus_reports_subject_groups(ckplus_dir):
    res = run_ferkit("data", "stats", ckplus_dir, "--quiet")
    assert res.returncode == 0, res.stderr
    assert "format=ckplus" in res.stdout and "groups (subjects): 4" in res.stdout


def test_stats_ferplus_label_mode_option(ferplus_dir, tmp_path):
    out = tmp_path / "fp.json"
    res = run_ferkit("data", "stats", ferplus_dir, "--label-mode", "probability", "--json", out, "--quiet")
    assert res.returncode == 0, res.stderr
    stats = json.loads(out.read_text())
    assert stats["notes"]["label_mode"] == "probability"
    assert stats["splits"]["train"]["total"] == 5


# ---------------------------------------------------------------------------------------------------- grid


def make_class_folder(root, classes):
    for c, name in enumerate(classes):
        for i in range(3):
            save_image(root / name / f"{i}.png", noise(10 * c + i))
    return root


def grid_size(tmp_path, classes) -> tuple[int, int]:
    data = make_class_folder(tmp_path / f"data{len(classes)}", classes)
    out = tmp_path / f"grid{len(classes)}.png"
    res = run_ferkit("data", "grid", data, "--out", out, "--per-class", "4", "--quiet")
    assert res.returncode == 0, res.stderr
    assert str(out) in res.stdout
    with Image.open(out) as im:
        assert im.format == "PNG"
        return im.size


def test_grid_writes_a_png(kaggle_dir, tmp_path):
    out = tmp_path / "sub" / "g.png"
    res = run_ferkit("data", "grid", kaggle_dir, "--out", out, "--quiet")
    assert res.returncode == 0, res.stderr
    with Image.open(out) as im:
        assert im.format == "PNG" and im.height > 0


def test_grid_height_grows_with_the_number_of_classes(tmp_path):
    w2, h2 = grid_size(tmp_path, ["cats", "dogs"])
    w3, h3 = grid_size(tmp_path, ["birds", "cats", "dogs"])
    assert h3 > h2
    assert w3 == w2
    assert (h3 - 3 * (h3 - h2)) == (h2 - 2 * (h3 - h2))  # one fixed-height row per class


def test_grid_of_one_split(kaggle_dir, tmp_path):
    out = tmp_path / "g.png"
    res = run_ferkit("data", "grid", kaggle_dir, "--out", out, "--split", "public_test", "--quiet")
    assert res.returncode == 0, res.stderr
    assert out.is_file()


def test_grid_refuses_a_name_without_image_suffix_and_empty_rows(kaggle_dir, tmp_path):
    from ferkit.data import load_dataset
    from ferkit.data.grid import sample_grid
    from ferkit.errors import DataError

    ds = load_dataset(kaggle_dir)
    with pytest.raises(DataError, match="image suffix"):
        sample_grid(ds, tmp_path / "g6")
    with pytest.raises(DataError, match="at least 1"):
        sample_grid(ds, tmp_path / "g.png", per_class=0)
    assert sample_grid(ds, tmp_path / "g.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert not (tmp_path / "g6").exists() and not (tmp_path / "g.png").exists()
