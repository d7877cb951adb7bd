"""Every dataset format: detection, splits, counts, label space, image arrays, format options and the cache."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import (
    CKPLUS_COUNTS,
    CKPLUS_FILES,
    FER7_ORDER,
    KAGGLE_COUNTS,
    build_ferplus,
    ferplus_pixel,
    noise,
    pixel_string,
    save_image,
    write_csv,
)
from ferkit.data import detect_format, list_formats, load_dataset
from ferkit.data import formats as formats_mod
from ferkit.data.ferplus_votes import process_votes
from ferkit.errors import DataError
from ferkit.labels import CKPLUS7, FER7, FERPLUS8


def assert_images_ok(ds, n):
    assert ds.images.dtype == np.uint8
    assert ds.images.shape == (n, 48, 48)
    assert ds.labels.dtype == np.int64 and ds.labels.shape == (n,)
    assert len(ds.sources) == n


def per_split(ds):
    """{split: {class: count}} without the zero entries."""
    return {s: {k: v for k, v in c.items() if v} for s, c in ds.counts_per_split().items()}


def test_list_formats_in_detection_order():
    assert list_formats() == ["packed", "fer2013_csv", "ferplus", "fer2013", "ckplus", "imagefolder"]


def test_detection_order_does_not_depend_on_import_order(ckplus_dir):
    # ferkit.data.imagefolder imported first, in a fresh interpreter: the package still registers every format
    # in detection order, so CK+ is not read as a plain image folder.
    code = (
        "import ferkit.data.imagefolder, sys; from ferkit.data import detect_format, list_formats; "
        "print(list_formats()); print(detect_format(__import__('pathlib').Path(sys.argv[1]))[0].name)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ckplus_dir)], capture_output=True, text=True, check=True
    )
    order, found = out.stdout.splitlines()
    assert order == str(["packed", "fer2013_csv", "ferplus", "fer2013", "ckplus", "imagefolder"])
    assert found == "ckplus"


# ---------------------------------------------------------------------------------------------------- Kaggle


def test_kaggle_is_detected(kaggle_dir):
    fmt, root = detect_format(kaggle_dir)
    assert fmt.name == "fer2013" and root == kaggle_dir


def test_kaggle_splits_follow_file_prefixes(kaggle_dir):
    ds = load_dataset(kaggle_dir)
    assert ds.format == "fer2013"
    assert ds.splits == ["train", "public_test", "private_test", "test"]


def test_kaggle_counts_per_split_and_class(kaggle_dir):
    assert per_split(load_dataset(kaggle_dir)) == KAGGLE_COUNTS


def test_kaggle_label_space_is_fer7(kaggle_dir):
    ds = load_dataset(kaggle_dir)
    assert ds.label_space is FER7 or ds.label_space == FER7


def test_kaggle_images_are_uint8_48x48(kaggle_dir):
    assert_images_ok(load_dataset(kaggle_dir), 12)


def test_kaggle_labels_follow_class_folders(kaggle_dir):
    ds = load_dataset(kaggle_dir)
    for source, label in zip(ds.sources, ds.labels, strict=True):
        assert FER7.names[label] == source.split("/")[1]


def test_kaggle_file_without_prefix_takes_split_from_folder(kaggle_dir):
    ds = load_dataset(kaggle_dir)
    assert ds.take_split("test").sources.tolist() == ["test/sad/extra_11.jpg"]


def test_kaggle_image_pixels_match_the_file(kaggle_dir):
    ds = load_dataset(kaggle_dir)
    i = ds.sources.tolist().index("train/angry/Training_1.jpg")
    decoded = np.asarray(Image.open(kaggle_dir / "train/angry/Training_1.jpg"))
    assert np.array_equal(ds.images[i], decoded)


def test_kaggle_take_split(kaggle_dir):
    test = load_dataset(kaggle_dir).take_split("public_test")
    assert len(test) == 3
    assert test.splits == ["public_test"]
    assert sorted(FER7.names[i] for i in test.labels) == ["angry", "happy", "sad"]


def test_take_split_missing_lists_present_splits(kaggle_dir):
    with pytest.raises(DataError, match="'valid' not found.*train, public_test, private_test, test"):
        load_dataset(kaggle_dir).take_split("valid")


def test_kaggle_explicit_format(kaggle_dir):
    ds = load_dataset(kaggle_dir, format="fer2013")
    assert ds.format == "fer2013" and len(ds) == 12


def test_kaggle_only_test_folder_is_valid(kaggle_dir):
    import shutil

    shutil.rmtree(kaggle_dir / "train")
    assert load_dataset(kaggle_dir).splits == ["public_test", "private_test", "test"]


def test_kaggle_custom_class_folder_gives_custom_space(kaggle_dir):
    save_image(kaggle_dir / "train" / "cats" / "Training_50.jpg", noise(50))
    ds = load_dataset(kaggle_dir)
    assert ds.label_space.name == "custom"
    assert ds.label_space.names == ("angry", "cats", "happy", "sad")
    assert ds.class_counts()["cats"] == 1


def test_kaggle_size_option_resizes(kaggle_dir):
    assert load_dataset(kaggle_dir, size=32).images.shape == (12, 32, 32)


# ---------------------------------------------------------------------------------------------------- CSV


def test_csv_is_detected(fer_csv):
    fmt, root = detect_format(fer_csv.path)
    assert fmt.name == "fer2013_csv" and root == fer_csv.path


def test_csv_splits_from_usage(fer_csv):
    ds = load_dataset(fer_csv.path)
    assert ds.format == "fer2013_csv"
    assert ds.splits == ["train", "public_test", "private_test"]
    assert ds.split_counts() == {"train": 6, "public_test": 2, "private_test": 2}


def test_csv_labels_use_fer2013_order(fer_csv):
    ds = load_dataset(fer_csv.path)
    assert ds.label_space == FER7
    assert ds.labels.tolist() == fer_csv.emotions
    assert ds.counts_per_split()["train"] == dict(zip(FER7_ORDER, [1] * 6 + [0], strict=True))


def test_csv_images_are_the_pixel_rows(fer_csv):
    ds = load_dataset(fer_csv.path)
    assert_images_ok(ds, 10)
    for got, want in zip(ds.images, fer_csv.images, strict=True):
        assert np.array_equal(got, want)


def test_csv_sources_name_the_line(fer_csv):
    ds = load_dataset(fer_csv.path)
    assert ds.sources[0] == "fer2013.csv:2" and ds.sources[-1] == "fer2013.csv:11"


def test_csv_take_split(fer_csv):
    private = load_dataset(fer_csv.path).take_split("private_test")
    assert private.labels.tolist() == [0, 6]


def test_csv_explicit_format(fer_csv):
    assert load_dataset(fer_csv.path, format="fer2013_csv").format == "fer2013_csv"


def test_csv_without_usage_is_all_train(tmp_path):
    path = write_csv(tmp_path / "x.csv", [(3, pixel_string(noise(1)))], header="emotion,pixels")
    assert load_dataset(path).split_counts() == {"train": 1}


def test_csv_with_utf8_bom_header(tmp_path, fer_csv):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + fer_csv.path.read_bytes())
    assert len(load_dataset(path)) == 10


def test_ck_csv_has_eight_generic_classes(ck_csv):
    ds = load_dataset(ck_csv.path)
    assert ds.label_space.names == tuple(f"class_{i}" for i in range(8))
    assert ds.labels.tolist() == ck_csv.emotions
    assert ds.splits == ["train", "public_test"]


def test_ck_csv_labels_option_names_the_classes(ck_csv):
    names = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral", "contempt"]
    ds = load_dataset(ck_csv.path, labels=names)
    assert ds.label_space.names == (
        "angry",
        "disgust",
        "fear",
        "happy",
        "sad",
        "surprise",
        "neutral",
        "contempt",
    )
    assert ds.class_counts()["contempt"] == 2


def test_one_stray_id_past_fer2013s_seven_is_flagged_not_silently_made_a_class(tmp_path):
    rows = [(i % 7, pixel_string(noise(i)), "Training") for i in range(14)] + [
        (9, pixel_string(noise(99)), "Training")
    ]
    path = write_csv(tmp_path / "stray.csv", rows)
    with pytest.warns(
        UserWarning, match=r"ids run to 9 \(line 16\) but ids 7, 8 have no rows.*labels='fer7'"
    ):
        ds = load_dataset(path, cache=False)
    assert len(ds.label_space) == 10
    with pytest.raises(DataError, match="stray.csv line 16: emotion 9 is outside"):
        load_dataset(path, labels="fer7", cache=False)


def test_csv_labels_option_accepts_a_known_space_name(fer_csv):
    assert load_dataset(fer_csv.path, labels="FER7").label_space == FER7


def test_csv_streams_two_thousand_rows(tmp_path):
    templates = [noise(400 + i) for i in range(16)]
    strings = [pixel_string(t) for t in templates]
    usages = ("Training", "PublicTest", "PrivateTest")
    rows = [(i % 7, strings[i % 16], usages[i % 3]) for i in range(2000)]
    ds = load_dataset(write_csv(tmp_path / "big.csv", rows))
    assert_images_ok(ds, 2000)
    assert ds.labels.tolist() == [i % 7 for i in range(2000)]
    assert ds.split_counts() == {"train": 667, "public_test": 667, "private_test": 666}
    for i in (0, 17, 1999):
        assert np.array_equal(ds.images[i], templates[i % 16])


# ---------------------------------------------------------------------------------------------------- FER+


def test_ferplus_is_detected(ferplus_dir):
    fmt, _ = detect_format(ferplus_dir)
    assert fmt.name == "ferplus"


def test_ferplus_majority_splits_and_space(ferplus_dir):
    ds = load_dataset(ferplus_dir)
    assert ds.format == "ferplus"
    assert ds.label_space == FERPLUS8
    assert ds.splits == ["train", "valid"]
    assert_images_ok(ds, 5)
    assert ds.soft_targets is None


def test_ferplus_majority_keeps_only_clear_majorities(ferplus_dir):
    ds = load_dataset(ferplus_dir)
    got = {src: FERPLUS8.names[lab] for src, lab in zip(ds.sources, ds.labels, strict=True)}
    assert got == {
        "FER2013Train/fer0000000.png": "neutral",
        "FER2013Train/fer0000001.png": "happy",
        "FER2013Train/fer0000006.png": "angry",
        "FER2013Valid/fer0000100.png": "surprise",
        "FER2013Valid/fer0000102.png": "contempt",
    }


def test_ferplus_majority_counts_drops_in_notes(ferplus_dir):
    notes = load_dataset(ferplus_dir).notes
    assert notes["label_mode"] == "majority"
    assert notes["train_dropped_by_majority"] == 4  # tie, unknown, NF, no majority
    assert notes["valid_dropped_by_majority"] == 1


def test_ferplus_listed_but_missing_image_is_unreadable(ferplus_dir):
    ds = load_dataset(ferplus_dir)
    assert [os.path.basename(p) for p, _ in ds.unreadable] == ["fer0000007.png"]
    assert "missing" in ds.unreadable[0][1]


def test_ferplus_unlisted_png_is_ignored(ferplus_dir):
    assert load_dataset(ferplus_dir).ignored == 1


def test_ferplus_images_match_their_rows(ferplus_dir):
    ds = load_dataset(ferplus_dir)
    for src, im in zip(ds.sources, ds.images, strict=True):
        assert (im == ferplus_pixel(src.split("/")[1])).all()


def test_ferplus_probability_keeps_soft_targets(ferplus_dir):
    ds = load_dataset(ferplus_dir, label_mode="probability")
    assert ds.soft_targets.shape == (7, 8)
    assert ds.soft_targets.dtype == np.float32
    np.testing.assert_allclose(ds.soft_targets.sum(1), 1.0, rtol=1e-6)
    rows = dict(zip(ds.sources.tolist(), ds.soft_targets, strict=True))
    np.testing.assert_allclose(rows["FER2013Train/fer0000002.png"], [0.5, 0.5, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(rows["FER2013Train/fer0000005.png"], [0.4, 0.3, 0.3, 0, 0, 0, 0, 0], rtol=1e-6)


def test_ferplus_probability_applies_to_train_only(ferplus_dir):
    ds = load_dataset(ferplus_dir, label_mode="probability")
    assert ds.split_counts() == {"train": 5, "valid": 2}
    assert ds.notes["train_dropped_by_probability"] == 2
    assert ds.notes["valid_dropped_by_majority"] == 1
    valid = ds.take_split("valid")
    assert set(valid.soft_targets.max(1).tolist()) == {1.0}  # majority: one-hot


def test_ferplus_probability_labels_are_the_argmax(ferplus_dir):
    ds = load_dataset(ferplus_dir, label_mode="probability")
    assert np.array_equal(ds.labels, ds.soft_targets.argmax(1))


def test_ferplus_new_csv_votes_override_label_csv(ferplus_dir):
    ds = load_dataset(ferplus_dir)
    assert ds.notes["votes"] == "fer2013new.csv"
    i = ds.sources.tolist().index("FER2013Train/fer0000006.png")
    assert FERPLUS8.names[ds.labels[i]] == "angry"
    assert not any(
        k.endswith("_not_in_fer2013new.csv") for k in ds.notes
    )  # every name joined, blank row skipped


def test_ferplus_votes_label_csv_ignores_new_csv(ferplus_dir):
    ds = load_dataset(ferplus_dir, votes="label_csv")
    assert ds.notes["votes"] == "label.csv"
    i = ds.sources.tolist().index("FER2013Train/fer0000006.png")
    assert FERPLUS8.names[ds.labels[i]] == "sad"


def test_ferplus_without_new_csv_uses_label_csv(tmp_path):
    ds = load_dataset(build_ferplus(tmp_path / "fp", new_csv=False))
    assert ds.notes["votes"] == "label.csv"


def test_ferplus_votes_fer2013new_requires_the_file(tmp_path):
    with pytest.raises(DataError, match="fer2013new.csv"):
        load_dataset(build_ferplus(tmp_path / "fp", new_csv=False), votes="fer2013new")


def test_ferplus_name_missing_from_new_csv_is_noted(ferplus_dir):
    path = ferplus_dir / "fer2013new.csv"
    path.write_text("".join(line for line in path.open() if "fer0000000.png" not in line))
    ds = load_dataset(ferplus_dir)
    assert ds.notes["train_not_in_fer2013new.csv"] == 1
    assert "FER2013Train/fer0000000.png" in ds.sources  # label.csv votes are used for it


def test_ferplus_take_split_valid(ferplus_dir):
    assert load_dataset(ferplus_dir).take_split("valid").sources.tolist() == [
        "FER2013Valid/fer0000100.png",
        "FER2013Valid/fer0000102.png",
    ]


def test_ferplus_explicit_format(ferplus_dir):
    assert load_dataset(ferplus_dir, format="ferplus").format == "ferplus"


# ---------------------------------------------------------------------------------------------------- FER+ vote rules


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([5, 1, 1, 1, 1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0]),  # single votes removed: 5 of 5
        ([2, 0, 0, 0, 0, 0, 0, 8, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1]),
        ([4, 4, 2, 0, 0, 0, 0, 0, 0, 0], None),  # 4 of 10 is no majority
        ([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], None),  # exactly half is not more than half
        ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], None),  # only single votes
        ([0, 0, 0, 0, 0, 0, 0, 0, 6, 4], None),  # unknown
        ([3, 0, 0, 0, 0, 0, 0, 0, 0, 7], None),  # not a face
    ],
)
def test_process_votes_majority(votes, expected):
    out = process_votes(np.array(votes, dtype=float), "majority")
    assert out is None if expected is None else np.allclose(out, expected)


@pytest.mark.parametrize("mode", ["probability", "crossentropy"])
@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([4, 3, 3, 0, 0, 0, 0, 0, 0, 0], [0.4, 0.3, 0.3, 0, 0, 0, 0, 0]),
        ([6, 2, 2, 0, 0, 0, 0, 0, 0, 0], [0.6, 0.2, 0.2, 0, 0, 0, 0, 0]),
        ([8, 2, 0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0]),  # 8 of 10 already covers 75 %
        ([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0, 0, 0, 0]),
        ([7, 1, 1, 1, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0]),  # single votes removed
        ([3, 3, 2, 2, 0, 0, 0, 0, 0, 0], None),  # would need 4 emotions
        ([6, 0, 0, 0, 0, 0, 0, 0, 4, 0], [1, 0, 0, 0, 0, 0, 0, 0]),  # unknown behind an emotion is cut
        ([4, 0, 0, 0, 0, 0, 0, 0, 4, 2], None),  # unknown ties the top: 4 of 10 left, not over half
        ([0, 0, 0, 0, 0, 0, 0, 0, 9, 1], None),
    ],
)
def test_process_votes_probability(mode, votes, expected):
    out = process_votes(np.array(votes, dtype=float), mode)
    if expected is None:
        assert out is None
    else:
        np.testing.assert_allclose(out, expected)


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([5, 3, 2, 0, 0, 0, 0, 0, 0, 0], [0.625, 0.375, 0, 0, 0, 0, 0, 0]),  # 2 < 30 % of the 10 votes
        (
            [4, 0, 0, 1, 3, 2, 0, 0, 0, 0],
            [4 / 7, 0, 0, 0, 3 / 7, 0, 0, 0],
        ),  # of 9 votes (the 1 is an outlier)
        ([3, 2, 2, 2, 0, 0, 0, 0, 0, 0], None),  # the kept 3 votes are not more than half of 9
        ([8, 2, 0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0]),
        ([6, 0, 0, 1, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0]),  # single vote removed
        ([2, 0, 0, 0, 0, 0, 0, 0, 8, 0], None),  # peaks on unknown
    ],
)
def test_process_votes_multi_target(votes, expected):
    out = process_votes(np.array(votes, dtype=float), "multi_target")
    if expected is None:
        assert out is None
    else:
        np.testing.assert_allclose(out, expected)


def test_process_votes_returns_eight_values_summing_to_one():
    out = process_votes(np.array([4, 3, 0, 0, 0, 0, 0, 0, 3, 0], dtype=float), "multi_target")
    assert out.shape == (8,)
    assert out.sum() == pytest.approx(1.0)


def test_process_votes_unknown_mode_raises():
    with pytest.raises(ValueError, match="majority"):
        process_votes(np.array([10, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float), "mean")


# ---------------------------------------------------------------------------------------------------- CK+


def test_ckplus_is_detected_through_the_wrapper_folder(ckplus_dir):
    fmt, root = detect_format(ckplus_dir)
    assert fmt.name == "ckplus"
    assert root == ckplus_dir / "CK+48"


def test_ckplus_one_train_split_and_ckplus7_space(ckplus_dir):
    ds = load_dataset(ckplus_dir)
    assert ds.format == "ckplus"
    assert ds.splits == ["train"]
    assert ds.label_space == CKPLUS7  # even without disgust/fear folders
    assert_images_ok(ds, 9)


def test_ckplus_counts_map_folder_names(ckplus_dir):
    assert load_dataset(ckplus_dir).counts_per_split() == {"train": CKPLUS_COUNTS}


def test_ckplus_groups_are_subject_numbers(ckplus_dir):
    ds = load_dataset(ckplus_dir)
    assert ds.groups is not None and ds.groups.dtype == np.int64
    assert dict(zip(ds.sources.tolist(), ds.groups.tolist(), strict=True)) == CKPLUS_FILES
    assert sorted(set(ds.groups.tolist())) == [5, 10, 22, 999]


def test_ckplus_take_split(ckplus_dir):
    assert len(load_dataset(ckplus_dir).take_split("train")) == 9


def test_ckplus_explicit_format_on_inner_folder(ckplus_dir):
    assert load_dataset(ckplus_dir / "CK+48", format="ckplus").groups is not None


def test_ckplus_explicit_format_descends_the_wrapper_folder(ckplus_dir):
    ds = load_dataset(ckplus_dir, format="ckplus")
    assert ds.label_space == CKPLUS7  # not one class named after the wrapper folder "CK+48"
    assert ds.counts_per_split() == {"train": CKPLUS_COUNTS}


def test_ckplus_all_folders_give_ckplus7(tmp_path):
    for i, name in enumerate(["anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"]):
        save_image(tmp_path / "ck" / name / f"S{i:03d}_001_00000001.png", noise(i))
    ds = load_dataset(tmp_path / "ck")
    assert ds.label_space == CKPLUS7
    assert ds.groups.tolist() == list(range(7))


# ---------------------------------------------------------------------------------------------------- image folder


def test_image_folder_is_detected(image_folder):
    fmt, _ = detect_format(image_folder)
    assert fmt.name == "imagefolder"


def test_image_folder_single_split_all(image_folder):
    ds = load_dataset(image_folder)
    assert ds.format == "imagefolder"
    assert ds.splits == ["all"]


def test_image_folder_aliases_give_fer7(image_folder):
    ds = load_dataset(image_folder)
    assert ds.label_space == FER7
    assert {k: v for k, v in ds.class_counts().items() if v} == {"angry": 3, "happy": 2}


def test_image_folder_any_size_and_mode_becomes_48x48_gray(image_folder):
    ds = load_dataset(image_folder)
    assert_images_ok(ds, 5)
    assert ds.image_info["modes"] == {"RGB": 1, "RGBA": 1, "I;16": 1, "CMYK": 1, "P": 1}
    assert ds.image_info["sizes"] == {"100x80": 1, "60x60": 1, "50x50": 1, "64x64": 1, "30x40": 1}


def test_image_folder_converts_16bit_and_alpha(image_folder):
    ds = load_dataset(image_folder)
    by_name = dict(zip(ds.sources.tolist(), ds.images, strict=True))
    assert (by_name["anger/gray16.png"] == 255).all()  # 65535 of 65535
    assert (by_name["happiness/rgba.png"] == 255).all()  # transparent: composited on white
    assert (by_name["anger/cmyk.jpg"] >= 250).all()  # CMYK (0,0,0,0) is white


def test_image_folder_size_option(image_folder):
    assert load_dataset(image_folder, size=64).images.shape == (5, 64, 64)


def test_image_folder_explicit_format(image_folder):
    assert load_dataset(image_folder, format="imagefolder").format == "imagefolder"


# ---------------------------------------------------------------------------------------------------- cache


def test_cache_file_is_written(kaggle_dir, cache_dir):
    load_dataset(kaggle_dir)
    assert len(list(cache_dir.glob("*.npz"))) == 1


def test_cache_disabled_writes_nothing(kaggle_dir, cache_dir):
    load_dataset(kaggle_dir, cache=False)
    assert list(cache_dir.glob("*.npz")) == []


def _failing(monkeypatch, name):
    def boom(*args, **kwargs):
        raise AssertionError("decoded again instead of using the cache")

    fmt = formats_mod.get_format(name)
    monkeypatch.setitem(formats_mod.FORMATS, name, dataclasses.replace(fmt, load=boom))


def test_second_load_is_served_from_cache(kaggle_dir, monkeypatch):
    first = load_dataset(kaggle_dir)
    _failing(monkeypatch, "fer2013")
    second = load_dataset(kaggle_dir)
    assert np.array_equal(first.images, second.images)
    assert np.array_equal(first.labels, second.labels)
    assert second.sources.tolist() == first.sources.tolist()
    assert second.split_names == first.split_names
    assert second.label_space == first.label_space


def test_cache_keeps_soft_targets_groups_and_notes(ferplus_dir, ckplus_dir, monkeypatch):
    fp = load_dataset(ferplus_dir, label_mode="probability")
    ck = load_dataset(ckplus_dir)
    _failing(monkeypatch, "ferplus")
    _failing(monkeypatch, "ckplus")
    fp2, ck2 = load_dataset(ferplus_dir, label_mode="probability"), load_dataset(ckplus_dir)
    np.testing.assert_array_equal(fp2.soft_targets, fp.soft_targets)
    assert fp2.notes == fp.notes and fp2.unreadable == fp.unreadable
    np.testing.assert_array_equal(ck2.groups, ck.groups)


def test_cache_key_depends_on_options(ferplus_dir, monkeypatch):
    load_dataset(ferplus_dir)
    _failing(monkeypatch, "ferplus")
    with pytest.raises(AssertionError, match="decoded again"):
        load_dataset(ferplus_dir, label_mode="probability")


def test_modified_file_is_read_again(kaggle_dir, cache_dir):
    rel = "train/angry/Training_1.jpg"
    first = load_dataset(kaggle_dir)
    new = np.full((48, 48), 77, np.uint8)
    save_image(kaggle_dir / rel, new)
    st = os.stat(kaggle_dir / rel)
    os.utime(kaggle_dir / rel, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    second = load_dataset(kaggle_dir)
    i = second.sources.tolist().index(rel)
    assert not np.array_equal(first.images[i], second.images[i])
    assert np.abs(second.images[i].astype(int) - 77).max() <= 2
    assert len(list(cache_dir.glob("*.npz"))) == 1  # the stale entry is replaced, not kept beside the new one


def test_recopied_dataset_replaces_its_cache_entry_and_keeps_others(kaggle_dir, ferplus_dir, cache_dir):
    load_dataset(ferplus_dir)
    load_dataset(kaggle_dir)
    before = sorted(p.name for p in cache_dir.glob("*.npz"))
    for path in kaggle_dir.rglob("*.jpg"):  # a fresh copy of the folder: every mtime changes
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    load_dataset(kaggle_dir)
    after = sorted(p.name for p in cache_dir.glob("*.npz"))
    assert len(before) == len(after) == 2
    assert len(set(before) & set(after)) == 1  # the FER+ entry is untouched; the FER2013 one was replaced
    load_dataset(kaggle_dir, cache=True)
    assert sorted(p.name for p in cache_dir.glob("*.npz")) == after


def test_unreachable_entries_of_older_versions_are_removed(kaggle_dir, cache_dir):
    cache_dir.mkdir(parents=True, exist_ok=True)
    legacy = cache_dir / ("0123456789abcdef" * 2 + ".npz")
    legacy.write_bytes(b"x")
    kept = cache_dir / "teacher-0123.npy"
    kept.write_bytes(b"x")
    load_dataset(kaggle_dir)
    assert not legacy.exists() and kept.exists()
    assert len(list(cache_dir.glob("*.npz"))) == 1


def test_touched_file_changes_the_key(kaggle_dir, cache_dir, monkeypatch):
    load_dataset(kaggle_dir)
    path = kaggle_dir / "test/sad/extra_11.jpg"
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    _failing(monkeypatch, "fer2013")
    with pytest.raises(AssertionError, match="decoded again"):
        load_dataset(kaggle_dir)


def test_added_file_is_seen(kaggle_dir):
    load_dataset(kaggle_dir)
    save_image(kaggle_dir / "train/sad/Training_60.jpg", noise(60))
    assert len(load_dataset(kaggle_dir)) == 13


def test_corrupt_cache_file_is_ignored_with_a_warning(kaggle_dir, cache_dir):
    load_dataset(kaggle_dir)
    (cached,) = cache_dir.glob("*.npz")
    cached.write_bytes(b"not a zip")
    with pytest.warns(UserWarning, match="cache"):
        ds = load_dataset(kaggle_dir)
    assert len(ds) == 12


def test_macos_zip_leftovers_and_empty_folders_are_not_classes(tmp_path):
    root = tmp_path / "faces"
    for i, name in enumerate(("angry", "happy", "sad")):
        save_image(root / name / f"{i}.png", noise(i))
    save_image(root / "__MACOSX" / "happy" / "._0.png", noise(9))  # what unzipping a macOS archive leaves
    (root / "surprise").mkdir()  # an empty class folder
    ds = load_dataset(root, cache=False)
    assert ds.label_space == FER7 and len(ds) == 3
    assert not any("MACOSX" in s for s in ds.sources)


def test_two_folders_read_as_one_class_are_merged_with_a_warning(tmp_path):
    root = tmp_path / "faces"
    save_image(root / "happy" / "a.png", noise(1))
    save_image(root / "Happiness" / "b.png", noise(2))
    save_image(root / "sad" / "c.png", noise(3))
    with pytest.warns(UserWarning, match=r"'Happiness' and 'happy' are both read as class 'happy'"):
        ds = load_dataset(root, cache=False)
    assert ds.class_counts()["happy"] == 2
