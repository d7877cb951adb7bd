"""Label spaces: aliases, the known orders, choosing a space from folder names, remapping between spaces."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.errors import DataError
from ferkit.labels import (
    CKPLUS7,
    FER7,
    FERPLUS8,
    LabelSpace,
    canonical,
    get_space,
    remap,
    remap_table,
    space_for_names,
)


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("happiness", "happy"),
        ("anger", "angry"),
        ("sadness", "sad"),
        ("Happiness", "happy"),
        (" ANGER ", "angry"),
        ("surprised", "surprise"),
        ("fearful", "fear"),
    ],
)
def test_canonical_maps_aliases(alias, name):
    assert canonical(alias) == name


def test_canonical_lowercases_unknown_names():
    assert canonical("Cats") == "cats"


def test_fer7_order_is_the_challenge_order():
    assert FER7.names == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def test_ferplus8_order_is_the_vote_column_order():
    assert FERPLUS8.names == ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt")


def test_ckplus7_has_contempt_and_no_neutral():
    assert CKPLUS7.names == ("angry", "contempt", "disgust", "fear", "happy", "sad", "surprise")
    assert "neutral" not in CKPLUS7


def test_index_accepts_aliases():
    assert FER7.index("happiness") == 3
    assert FERPLUS8.index("anger") == 4


def test_index_error_names_the_space():
    with pytest.raises(DataError, match="CKPLUS7") as exc:
        CKPLUS7.index("neutral")
    assert "'neutral'" in str(exc.value)


def test_space_for_names_picks_ckplus7_for_ckplus_folders():
    names = ["anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"]
    assert space_for_names(names) is CKPLUS7


def test_space_for_names_picks_fer7_for_fer2013_folders():
    assert space_for_names(["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]) is FER7


def test_space_for_names_picks_fer7_for_a_subset():
    assert space_for_names(["happy", "sad"]) is FER7


def test_space_for_names_picks_ferplus8_when_both_neutral_and_contempt():
    assert space_for_names(["neutral", "contempt", "happiness"]) is FERPLUS8


def test_space_for_names_gives_a_sorted_custom_space_otherwise():
    space = space_for_names(["dogs", "cats", "happy"])
    assert space.name == "custom"
    assert space.names == ("cats", "dogs", "happy")


def test_from_names_recognises_a_known_order_and_keeps_a_custom_one():
    assert LabelSpace.from_names(list(FER7.names)) is FER7
    custom = LabelSpace.from_names(["Sadness", "Happiness"])
    assert custom.name == "custom" and custom.names == ("sad", "happy")


def test_get_space_is_case_insensitive_and_errors_on_unknown():
    assert get_space("ferplus8") is FERPLUS8
    with pytest.raises(DataError, match="FER7"):
        get_space("FER9")


def test_label_space_dict_roundtrip():
    assert LabelSpace.from_dict(CKPLUS7.to_dict()) == CKPLUS7


def test_remap_fer7_to_ferplus8():
    out = remap(np.arange(7), FER7, FERPLUS8)
    assert [FERPLUS8.names[i] for i in out] == list(FER7.names)


def test_remap_ferplus8_contempt_is_missing_in_fer7():
    table = remap_table(FERPLUS8, FER7)
    assert table[FERPLUS8.index("contempt")] == -1
    assert (table[:7] >= 0).all()
    assert remap(np.array([7, 1]), FERPLUS8, FER7).tolist() == [-1, FER7.index("happy")]


def test_remap_fer7_neutral_is_missing_in_ckplus7():
    out = remap(np.array([FER7.index("neutral"), FER7.index("sad"), FER7.index("angry")]), FER7, CKPLUS7)
    assert out.tolist() == [-1, CKPLUS7.index("sad"), CKPLUS7.index("angry")]


def test_remap_ckplus7_to_ferplus8_keeps_contempt():
    out = remap(np.array([CKPLUS7.index("contempt")]), CKPLUS7, FERPLUS8)
    assert out.tolist() == [FERPLUS8.index("contempt")]


def test_remap_returns_int64():
    assert remap([0, 1], FER7, CKPLUS7).dtype == np.int64
