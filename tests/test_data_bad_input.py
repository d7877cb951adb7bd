"""Bad input gives a DataError naming the file or row (Python), and a short message without a traceback (CLI)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from conftest import (
    build_ferplus,
    build_kaggle,
    noise,
    pixel_string,
    png_bomb_bytes,
    run_ferkit,
    save_image,
    write_csv,
)
from ferkit.data import load_dataset
from ferkit.errors import DataError
from ferkit.imageio import ImageReadError, open_image

PIXELS = pixel_string(noise(0))
FORMAT_NAMES = ("fer2013_csv", "ferplus", "fer2013", "ckplus", "imagefolder")


def assert_cli_error(res, *needles: str, max_lines: int = 3) -> None:
    """Non-zero exit, 'ferkit: error: ...' naming every needle, no traceback, a few lines at most."""
    assert res.returncode != 0, res.stdout
    assert "Traceback" not in res.stderr
    assert "ferkit: error: " in res.stderr, res.stderr
    message = res.stderr[res.stderr.index("ferkit: error: ") :]  # after any progress bar
    for needle in needles:
        assert needle in message
    assert len(message.strip().splitlines()) <= max_lines, res.stderr


# ---------------------------------------------------------------------------------------------------- bad files


def corrupt_jpeg(path):
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4)


def truncated_png(path):
    save_image(path, noise(7), format="PNG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def zero_byte(path):
    path.write_bytes(b"")


BAD_FILES = {
    "corrupt_jpeg": ("train/happy/Training_90.jpg", corrupt_jpeg),
    "truncated_png": ("train/sad/Training_91.png", truncated_png),
    "zero_byte": ("test/angry/PublicTest_92.jpg", zero_byte),
}


@pytest.fixture
def kaggle_with_bad_files(tmp_path):
    root = build_kaggle(tmp_path / "fer2013")
    for rel, make in BAD_FILES.values():
        make(root / rel)
    return root


@pytest.fixture(params=list(BAD_FILES))
def kaggle_with_one_bad_file(request, tmp_path):
    rel, make = BAD_FILES[request.param]
    root = build_kaggle(tmp_path / "fer2013")
    make(root / rel)
    return root, rel


def test_unreadable_images_are_skipped_and_listed(kaggle_with_bad_files):
    ds = load_dataset(kaggle_with_bad_files)
    assert len(ds) == 12
    listed = sorted(p.replace(str(kaggle_with_bad_files) + "/", "") for p, _ in ds.unreadable)
    assert listed == sorted(rel for rel, _ in BAD_FILES.values())


def test_skipped_images_are_reported_on_every_load(kaggle_with_bad_files, tmp_path):
    for _ in range(2):  # the second load comes from the cache and still says so
        with pytest.warns(UserWarning, match=r"skipped 3 unreadable image\(s\).*ferkit data stats"):
            load_dataset(kaggle_with_bad_files)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        load_dataset(build_kaggle(tmp_path / "clean"))  # a clean folder: no warning


def test_unreadable_reasons_are_given(kaggle_with_bad_files):
    reasons = {p.rsplit("/", 1)[-1]: r for p, r in load_dataset(kaggle_with_bad_files).unreadable}
    assert "zero-byte" in reasons["PublicTest_92.jpg"]
    assert "truncated" in reasons["Training_91.png"]
    assert reasons["Training_90.jpg"]


def test_strict_raises_naming_the_file(kaggle_with_one_bad_file):
    root, rel = kaggle_with_one_bad_file
    with pytest.raises(DataError, match=rel.rsplit("/", 1)[-1]):
        load_dataset(root, strict=True)


def test_strict_ignores_a_cached_load(kaggle_with_one_bad_file):
    root, rel = kaggle_with_one_bad_file
    load_dataset(root)  # cached, with the bad file listed
    with pytest.raises(DataError, match=rel.rsplit("/", 1)[-1]):
        load_dataset(root, strict=True)


def test_cli_lists_unreadable_files(kaggle_with_bad_files):
    res = run_ferkit("data", "stats", kaggle_with_bad_files, "--no-cache")
    assert res.returncode == 0, res.stderr
    assert "unreadable: 3" in res.stdout
    for rel, _ in BAD_FILES.values():
        assert rel.rsplit("/", 1)[-1] in res.stdout
    assert "ferkit: warning: " in res.stderr and "skipped 3 unreadable" in res.stderr
    assert "UserWarning" not in res.stderr and "warnings.warn" not in res.stderr


def test_cli_strict_fails_naming_the_file(kaggle_with_one_bad_file):
    root, rel = kaggle_with_one_bad_file
    assert_cli_error(run_ferkit("data", "stats", root, "--strict"), rel.rsplit("/", 1)[-1])


def test_only_unreadable_images_is_an_error(tmp_path):
    zero_byte(save_image(tmp_path / "fer2013/train/happy/Training_1.jpg", noise(1)))
    with pytest.raises(DataError, match="no readable images.*1 unreadable"):
        load_dataset(tmp_path / "fer2013")


# ---------------------------------------------------------------------------------------------------- non-images


def test_non_image_files_are_ignored_and_counted(kaggle_dir):
    (kaggle_dir / "train/happy/notes.txt").write_text("labelled by hand\n")
    (kaggle_dir / "test/sad/.DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: skipped, not counted
    ds = load_dataset(kaggle_dir)
    assert len(ds) == 12
    assert ds.ignored == 1
    assert ds.unreadable == []


def test_image_outside_a_class_folder_is_ignored(kaggle_dir):
    save_image(kaggle_dir / "train/Training_70.jpg", noise(70))
    ds = load_dataset(kaggle_dir)
    assert len(ds) == 12 and ds.ignored == 1


def test_cli_reports_ignored_files(kaggle_dir):
    (kaggle_dir / "train/happy/notes.txt").write_text("x\n")
    res = run_ferkit("data", "stats", kaggle_dir)
    assert res.returncode == 0, res.stderr
    assert "ignored non-image files: 1" in res.stdout


# ---------------------------------------------------------------------------------------------------- paths


def test_nonexistent_path(tmp_path):
    with pytest.raises(DataError, match="no_such_dir: no such file or directory"):
        load_dataset(tmp_path / "no_such_dir")


def test_nonexistent_path_with_explicit_format(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "no_such_dir", format="fer2013")


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".DS_Store").write_bytes(b"x")
    with pytest.raises(DataError, match="empty"):
        load_dataset(tmp_path / "empty")


def test_folder_matching_no_layout_lists_layouts(tmp_path):
    (tmp_path / "misc").mkdir()
    (tmp_path / "misc" / "a.txt").write_text("a")
    (tmp_path / "misc" / "b.pdf").write_bytes(b"%PDF")
    with pytest.raises(DataError, match="matches no known dataset layout") as exc:
        load_dataset(tmp_path / "misc")
    for name in FORMAT_NAMES:
        assert f"- {name}:" in str(exc.value)


def test_explicit_format_with_no_files(tmp_path):
    (tmp_path / "d" / "other").mkdir(parents=True)
    with pytest.raises(DataError, match="no files found for format fer2013"):
        load_dataset(tmp_path / "d", format="fer2013")


# ---------------------------------------------------------------------------------------------------- CSV


def csv_error(tmp_path, rows, header="emotion,pixels,Usage", **kwargs) -> str:
    path = write_csv(tmp_path / "bad.csv", rows, header=header)
    with pytest.raises(DataError) as exc:
        load_dataset(path, **kwargs)
    return str(exc.value)


def test_csv_missing_pixels_column_is_named(tmp_path):
    msg = csv_error(tmp_path, [(0, "Training")], header="emotion,Usage")
    assert "missing column 'pixels'" in msg and "bad.csv" in msg


def test_csv_missing_emotion_column_is_named(tmp_path):
    assert "missing column 'emotion'" in csv_error(tmp_path, [(PIXELS, "Training")], header="pixels,Usage")


def test_csv_pixel_string_of_wrong_length_names_the_line(tmp_path):
    msg = csv_error(tmp_path, [(0, PIXELS, "Training"), (1, PIXELS + " 9", "Training")])
    assert "line 3" in msg and "2305 values" in msg and "2304" in msg


def test_csv_first_row_not_square_names_the_line(tmp_path):
    assert "line 2" in csv_error(tmp_path, [(0, PIXELS[:-4], "Training")])


def test_csv_non_number_pixel_names_the_line(tmp_path):
    bad = PIXELS.replace(" ", " x ", 1)
    msg = csv_error(tmp_path, [(0, PIXELS, "Training"), (1, PIXELS, "Training"), (1, bad, "Training")])
    assert "line 4" in msg and "'x'" in msg


def test_csv_pixel_out_of_range_names_the_line(tmp_path):
    msg = csv_error(tmp_path, [(0, "300 " + PIXELS.split(" ", 1)[1], "Training")])
    assert "line 2" in msg and "0..255" in msg


def test_csv_emotion_not_an_integer_names_the_line(tmp_path):
    msg = csv_error(tmp_path, [(0, PIXELS, "Training"), ("happy", PIXELS, "Training")])
    assert "line 3" in msg and "'happy'" in msg


def test_csv_negative_emotion_names_the_line(tmp_path):
    assert "line 2" in csv_error(tmp_path, [(-1, PIXELS, "Training")])


def test_csv_row_with_too_few_columns_names_the_line(tmp_path):
    assert "line 3" in csv_error(tmp_path, [(0, PIXELS, "Training"), (1, PIXELS)])


def test_csv_header_only(tmp_path):
    assert "no rows" in csv_error(tmp_path, [])


def test_csv_emotion_outside_the_label_space_names_the_line(tmp_path):
    msg = csv_error(
        tmp_path, [(0, PIXELS, "Training"), (9, PIXELS, "Training"), (2, PIXELS, "Training")], labels="FER7"
    )
    assert "bad.csv line 3" in msg and "emotion 9" in msg and "FER7" in msg


def test_csv_more_labels_than_names_is_an_error(tmp_path):
    assert "custom" in csv_error(
        tmp_path, [(0, PIXELS, "Training"), (2, PIXELS, "Training")], labels=["a", "b"]
    )


def test_csv_unknown_label_space_name(tmp_path):
    assert "unknown label space 'FER9'" in csv_error(tmp_path, [(0, PIXELS, "Training")], labels="FER9")


CSV_CLI_CASES = {
    "missing_column": ("emotion,Usage", [(0, "Training")], "missing column 'pixels'"),
    "wrong_length": ("emotion,pixels,Usage", [(0, PIXELS, "Training"), (0, "1 2 3", "Training")], "line 3"),
    "non_number": ("emotion,pixels,Usage", [(0, PIXELS.replace("1", "a"), "Training")], "line 2"),
    "emotion_not_int": (
        "emotion,pixels,Usage",
        [(0, PIXELS, "Training"), ("x", PIXELS, "Training")],
        "line 3",
    ),
}


@pytest.mark.parametrize("case", list(CSV_CLI_CASES))
def test_cli_csv_error_names_the_row(tmp_path, case):
    header, rows, needle = CSV_CLI_CASES[case]
    path = write_csv(tmp_path / "bad.csv", rows, header=header)
    assert_cli_error(run_ferkit("data", "stats", path), "bad.csv", needle)


# ---------------------------------------------------------------------------------------------------- labels


def test_kaggle_unknown_class_folder_gives_a_custom_space(kaggle_dir):
    save_image(kaggle_dir / "train" / "cats" / "Training_80.jpg", noise(80))
    ds = load_dataset(kaggle_dir)
    assert "cats" in ds.label_space.names and ds.label_space.name == "custom"


# ---------------------------------------------------------------------------------------------------- huge images


@pytest.fixture(scope="module")
def bombs():
    return {"pillow_limit": png_bomb_bytes(20000, 20000), "ferkit_limit": png_bomb_bytes(8500, 8500)}


@pytest.mark.parametrize("kind", ["pillow_limit", "ferkit_limit"])
def test_huge_image_is_refused_without_decoding(tmp_path, bombs, kind):
    path = tmp_path / "bomb.png"
    path.write_bytes(bombs[kind])
    assert path.stat().st_size < 200_000
    start = time.perf_counter()
    with pytest.raises(ImageReadError, match="bomb.png.*(refused|too large)"):
        open_image(path)
    assert time.perf_counter() - start < 1.0


def test_huge_image_in_a_dataset_is_listed_unreadable(image_folder, bombs):
    (image_folder / "anger" / "bomb.png").write_bytes(bombs["pillow_limit"])
    ds = load_dataset(image_folder)
    assert len(ds) == 5
    ((path, reason),) = ds.unreadable
    assert path.endswith("anger/bomb.png") and "refused" in reason


def test_cli_strict_refuses_a_huge_image(image_folder, bombs):
    (image_folder / "anger" / "bomb.png").write_bytes(bombs["ferkit_limit"])
    assert_cli_error(run_ferkit("data", "stats", image_folder, "--strict"), "bomb.png", "refused")


# ---------------------------------------------------------------------------------------------------- options


def test_unknown_option_suggests_the_close_name(ferplus_dir):
    with pytest.raises(DataError, match="unknown option 'label_mod'.*did you mean 'label_mode'"):
        load_dataset(ferplus_dir, label_mod="probability")


def test_unknown_format_suggests_the_close_name(fer_csv):
    with pytest.raises(DataError, match="did you mean 'fer2013_csv'"):
        load_dataset(fer_csv.path, format="fer2013csv")


def test_unknown_ferplus_label_mode_lists_modes(ferplus_dir):
    with pytest.raises(DataError, match="'probabilty'.*majority, probability, crossentropy, multi_target"):
        load_dataset(ferplus_dir, label_mode="probabilty")


def test_unknown_ferplus_votes_source_suggests_the_close_name(ferplus_dir):
    with pytest.raises(DataError, match="did you mean 'label_csv'"):
        load_dataset(ferplus_dir, votes="label.csv")


def test_cli_unknown_format_suggests_the_close_name(fer_csv):
    assert_cli_error(run_ferkit("data", "stats", fer_csv.path, "--format", "fer2013csv"), "'fer2013_csv'")


def test_cli_label_mode_on_a_format_without_it(kaggle_dir):
    assert_cli_error(
        run_ferkit("data", "stats", kaggle_dir, "--label-mode", "probability"), "'label_mode'", "fer2013"
    )


# ---------------------------------------------------------------------------------------------------- FER+ files


def test_ferplus_non_number_vote_names_file_and_line(ferplus_dir):
    path = ferplus_dir / "FER2013Valid" / "label.csv"
    path.write_text(path.read_text().replace(',"(0, 0, 48, 48)",0,0,9', ',"(0, 0, 48, 48)",0,0,nine', 1))
    with pytest.raises(DataError, match="FER2013Valid/label.csv line 1: vote counts must be numbers"):
        load_dataset(ferplus_dir)


def test_ferplus_new_csv_with_wrong_header(ferplus_dir):
    path = ferplus_dir / "fer2013new.csv"
    path.write_text("a,b,c\n" + "".join(path.read_text().splitlines(keepends=True)[1:]))
    with pytest.raises(DataError, match="fer2013new.csv: expected header"):
        load_dataset(ferplus_dir)


def test_ferplus_images_of_different_sizes(tmp_path):
    root = build_ferplus(tmp_path / "fp")
    save_image(root / "FER2013Train" / "fer0000001.png", np.zeros((64, 64), np.uint8))
    with pytest.raises(DataError, match="different sizes"):
        load_dataset(root)


def test_image_folder_mixed_sizes_without_resizing(image_folder):
    with pytest.raises(DataError, match="different sizes"):
        load_dataset(image_folder, size=0)


def test_ckplus_bad_file_name_is_named(ckplus_dir):
    save_image(ckplus_dir / "CK+48" / "anger" / "face.png", noise(1))
    with pytest.raises(DataError, match="face.png"):
        load_dataset(ckplus_dir)


# ---------------------------------------------------------------------------------------------------- CLI paths


def test_cli_nonexistent_path(tmp_path):
    assert_cli_error(run_ferkit("data", "stats", tmp_path / "no_such_dir"), "no_such_dir", "no such file")


def test_cli_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_cli_error(run_ferkit("data", "stats", tmp_path / "empty"), "empty")


def test_cli_folder_matching_no_layout(tmp_path):
    (tmp_path / "misc").mkdir()
    (tmp_path / "misc" / "a.txt").write_text("a")
    res = run_ferkit("data", "stats", tmp_path / "misc")
    assert_cli_error(res, "misc", "Layouts tried", *FORMAT_NAMES, max_lines=2 + len(FORMAT_NAMES))


def test_cli_unwritable_grid_output(kaggle_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_cli_error(run_ferkit("data", "grid", kaggle_dir, "--out", blocker / "g.png"), "g.png")


def test_cli_json_into_a_folder(kaggle_dir, tmp_path):
    assert_cli_error(run_ferkit("data", "stats", kaggle_dir, "--json", tmp_path), str(tmp_path))


def test_cli_missing_split_for_grid(kaggle_dir, tmp_path):
    assert_cli_error(
        run_ferkit("data", "grid", kaggle_dir, "--out", tmp_path / "g.png", "--split", "valid"),
        "'valid'",
        "public_test",
    )
