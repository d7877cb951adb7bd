"""The real datasets in ../shared/data (skipped when absent): exact counts from its README.

Each dataset is loaded once per module, into a module-wide temporary cache (so the load is cold, and ~/.cache is
never touched).
"""

from __future__ import annotations

import csv

import pytest

from ferkit.data import load_dataset
from ferkit.data.ckplus import sequence_of
from ferkit.labels import CKPLUS7, FER7, FERPLUS8

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FERKIT_CACHE_DIR", str(tmp_path_factory.mktemp("shared-data-cache")))
        yield


def _load(shared_data, name, **kwargs):
    path = shared_data / name
    if not path.is_dir():
        pytest.skip(f"../shared/data/{name} absent")
    return load_dataset(path, **kwargs)


@pytest.fixture(scope="module")
def fer2013(shared_data, module_cache):
    return _load(shared_data, "fer2013")


@pytest.fixture(scope="module")
def ferplus(shared_data, module_cache):
    return _load(shared_data, "ferplus")


@pytest.fixture(scope="module")
def ckplus(shared_data, module_cache):
    return _load(shared_data, "ckplus48")


# ---------------------------------------------------------------------------------------------------- FER2013

FER2013_TRAIN = {
    "angry": 3995,
    "disgust": 436,
    "fear": 4097,
    "happy": 7215,
    "neutral": 4965,
    "sad": 4830,
    "surprise": 3171,
}
FER2013_PUBLIC = {
    "angry": 467,
    "disgust": 56,
    "fear": 496,
    "happy": 895,
    "neutral": 607,
    "sad": 653,
    "surprise": 415,
}


def test_fer2013_format_space_and_splits(fer2013):
    assert fer2013.format == "fer2013"
    assert fer2013.label_space == FER7
    assert fer2013.splits == ["train", "public_test"]
    assert fer2013.images.shape[1:] == (48, 48)


def test_fer2013_train_counts(fer2013):
    assert fer2013.counts_per_split()["train"] == FER2013_TRAIN
    assert sum(FER2013_TRAIN.values()) == 28709


def test_fer2013_public_test_counts(fer2013):
    assert fer2013.counts_per_split()["public_test"] == FER2013_PUBLIC
    assert sum(FER2013_PUBLIC.values()) == 3589


def test_fer2013_every_file_read(fer2013):
    assert fer2013.unreadable == [] and fer2013.ignored == 0
    assert fer2013.image_info["sizes"] == {"48x48": len(fer2013)}


def test_fer2013_has_many_exact_duplicates(fer2013):
    from ferkit.data.duplicates import duplicate_summary

    dup = duplicate_summary(fer2013.images, fer2013.labels, fer2013.split_ids)
    assert 1000 < dup["groups"] < 2500
    assert dup["cross_split_groups"] > 100
    assert dup["conflicting_label_groups"] > 0


# ---------------------------------------------------------------------------------------------------- FER+


def _label_csv_rows(path) -> int:
    with open(path, newline="") as fh:
        return sum(1 for row in csv.reader(fh) if row and row[0].strip())


@pytest.mark.parametrize(
    ("split", "folder", "rows"), [("train", "FER2013Train", 28558), ("valid", "FER2013Valid", 3579)]
)
def test_ferplus_every_row_accounted_for(ferplus, shared_data, split, folder, rows):
    assert _label_csv_rows(shared_data / "ferplus" / folder / "label.csv") == rows
    kept = ferplus.split_counts()[split]
    dropped = ferplus.notes[f"{split}_dropped_by_majority"]
    unreadable = sum(1 for p, _ in ferplus.unreadable if f"/{folder}/" in p)
    assert kept + dropped + unreadable == rows


def test_ferplus_space_splits_and_votes(ferplus):
    assert ferplus.format == "ferplus"
    assert ferplus.label_space == FERPLUS8
    assert ferplus.splits == ["train", "valid"]
    assert ferplus.notes["votes"] == "fer2013new.csv"
    assert ferplus.ignored == 0


def test_ferplus_majority_keeps_most_images(ferplus):
    counts = ferplus.class_counts()
    assert all(n > 0 for n in counts.values())
    assert max(counts, key=counts.get) in ("neutral", "happy")
    assert len(ferplus) > 0.85 * (28558 + 3579)


# ---------------------------------------------------------------------------------------------------- CK+


def test_ckplus_count_and_space(ckplus):
    assert ckplus.format == "ckplus"
    assert len(ckplus) == 981
    assert ckplus.label_space == CKPLUS7
    assert ckplus.splits == ["train"]


def test_ckplus_per_class_counts(ckplus):
    assert ckplus.class_counts() == {
        "angry": 135,
        "contempt": 54,
        "disgust": 177,
        "fear": 75,
        "happy": 207,
        "sad": 84,
        "surprise": 249,
    }


def test_ckplus_groups_are_118_subjects(ckplus):
    assert len(set(ckplus.groups.tolist())) == 118


def test_ckplus_has_327_sequences(ckplus):
    assert len({sequence_of(s) for s in ckplus.sources}) == 327
