"""Training targets from two label sets of the same faces (FER+ votes and FER2013 labels), matched by pixels."""

import dataclasses

import numpy as np
import pytest

from ferkit.config import load_config
from ferkit.data.dataset import build_dataset
from ferkit.errors import ConfigError, DataError, ModelError
from ferkit.labels import FER7, FERPLUS8
from ferkit.train.second_labels import join_second_labels


def _faces(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48), dtype=np.uint8)


def _ferplus(images, soft):
    soft = np.asarray(soft, np.float32)
    return build_dataset(
        images=images, labels=soft.argmax(1), label_space=FERPLUS8, splits=["train"] * len(images),
        split_order=("train",), sources=[f"FER2013Train/fer{i:07d}.png" for i in range(len(images))],
        format="ferplus", root="ferplus", soft_targets=soft,
    )  # fmt: skip


def _fer2013(images, names):
    labels = [FER7.index(n) for n in names]
    return build_dataset(
        images=images, labels=labels, label_space=FER7, splits=["train"] * len(images), split_order=("train",),
        sources=[f"train/{n}/Training_{i}.jpg" for i, n in enumerate(names)], format="fer2013_folders",
        root="fer2013",
    )  # fmt: skip


def _onehot(i, n=8):
    v = np.zeros(n, np.float32)
    v[i] = 1
    return v


@pytest.fixture
def pair():
    """FER+ holds faces 0-3 (face 3 unknown to FER2013); FER2013 holds faces 0-2 plus face 4, which FER+ dropped.
    FER2013's copy is JPEG-like: a grey level off here and there, and in another order."""
    faces = _faces(5, 0)
    happy, neutral = FERPLUS8.index("happy"), FERPLUS8.index("neutral")
    votes = [_onehot(happy), 0.6 * _onehot(neutral) + 0.4 * _onehot(happy), _onehot(neutral), _onehot(happy)]
    fp = _ferplus(faces[:4], votes)
    noisy = np.clip(faces.astype(int) + np.random.default_rng(1).integers(-1, 2, faces.shape), 0, 255)
    order = [2, 4, 0, 1]
    second = _fer2013(noisy[order].astype(np.uint8), ["sad", "fear", "happy", "angry"])
    return fp, second


def test_matched_faces_blend_both_labels_and_unmatched_keep_their_own(pair):
    fp, second = pair
    joined, stats = join_second_labels(fp, second, weight=0.25)
    sad, angry, happy = (FERPLUS8.index(n) for n in ("sad", "angry", "happy"))
    assert len(joined) == 4 and stats.matched == 3 and stats.added == 0
    np.testing.assert_allclose(joined.soft_targets[0], _onehot(happy))  # both say happy
    np.testing.assert_allclose(joined.soft_targets[1], 0.75 * fp.soft_targets[1] + 0.25 * _onehot(angry))
    np.testing.assert_allclose(joined.soft_targets[2], 0.75 * fp.soft_targets[2] + 0.25 * _onehot(sad))
    np.testing.assert_allclose(joined.soft_targets[3], fp.soft_targets[3])  # FER2013 lacks it: votes alone
    np.testing.assert_allclose(joined.soft_targets.sum(1), 1, rtol=1e-6)
    assert stats.agree == 1  # face 0: happy in both
    assert joined.labels.tolist() == joined.soft_targets.argmax(1).tolist()


def test_faces_ferplus_dropped_are_left_out_or_added_on_their_second_label(pair):
    fp, second = pair
    skipped, _ = join_second_labels(fp, second, weight=0.5)
    assert len(skipped) == 4
    added, stats = join_second_labels(fp, second, weight=0.5, unmatched="add")
    assert stats.added == 1 and len(added) == 5
    np.testing.assert_array_equal(added.images[4], second.images[1])  # the face FER+ dropped
    np.testing.assert_allclose(added.soft_targets[4], _onehot(FERPLUS8.index("fear")))
    assert added.sources[4].endswith("Training_1.jpg") and added.split_ids[4] == added.split_ids[0]


def test_weight_zero_keeps_the_votes_and_one_takes_the_second_label(pair):
    fp, second = pair
    same, _ = join_second_labels(fp, second, weight=0.0)
    np.testing.assert_allclose(same.soft_targets, fp.soft_targets)
    only, _ = join_second_labels(fp, second, weight=1.0)
    assert only.labels[:3].tolist() == [FERPLUS8.index(n) for n in ("happy", "angry", "sad")]


def test_faces_of_another_size_are_refused(pair):
    fp, second = pair
    small = dataclasses.replace(second, images=second.images[:, :40, :40])
    with pytest.raises(DataError, match="same faces at the same size"):
        join_second_labels(fp, small, weight=0.3)


def test_config_checks_the_second_label_keys(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("data:\n  second_labels: x\n  second_unmatched: addd\n")
    with pytest.raises(ConfigError, match="second_unmatched.*did you mean"):
        load_config(bad)
    with pytest.raises(ConfigError, match="second_weight"):
        load_config(None, ["data.second_weight=1.5"])
    with pytest.raises(ConfigError, match="multi_target"):
        load_config(None, ["data.second_labels=x", "data.label_mode=multi_target", "augment.mixup=0"])


def test_prior_adjustment_shifts_each_logit_by_tau_log_prior():
    import torch

    from ferkit.models import create_model
    from ferkit.train.prior import fold_prior_adjustment

    model = create_model("seed_keras_cnn", labels=FER7).eval()
    x = torch.rand(3, 1, 48, 48)
    before = model(x).detach()
    prior = np.array([0.3, 0.01, 0.05, 0.3, 0.14, 0.1, 0.1])
    fold_prior_adjustment(model, prior, 0.5)
    expected = before - 0.5 * torch.log(torch.as_tensor(prior, dtype=torch.float32))
    torch.testing.assert_close(model(x).detach(), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ModelError, match="above 0"):
        fold_prior_adjustment(model, np.array([0.5, 0.5, 0, 0, 0, 0, 0]), 0.5)


def test_add_never_brings_a_held_out_face_into_training(pair):
    """Face 4 (dropped by FER+) is a validation face here: `add` must leave it out."""
    fp, second = pair
    held_out = second.images[1:2]  # face 4, as the validation split holds it
    added, stats = join_second_labels(fp, second, weight=0.5, unmatched="add", held_out=held_out)
    assert stats.added == 0 and len(added) == 4


def test_a_second_set_of_other_faces_is_refused(pair):
    fp, _ = pair
    other = _fer2013(_faces(3, 7), ["sad", "happy", "angry"])
    with pytest.raises(DataError, match="none of the 4 training faces matches"):
        join_second_labels(fp, other, weight=0.3)


def test_a_missing_second_labels_folder_names_the_key(pair, tmp_path):
    from ferkit.config import load_config
    from ferkit.train.second_labels import with_second_labels

    fp, _ = pair
    cfg = load_config(None, [f"data.second_labels={tmp_path / 'nowhere'}"])
    with pytest.raises(DataError, match="data.second_labels: .*nowhere"):
        with_second_labels(fp, cfg.data, print)


def test_a_face_with_exact_duplicates_in_the_other_copy_matches_the_lowest_index():
    from ferkit.data.join import match_faces

    faces = _faces(4, 3)
    other = np.stack([faces[1], faces[0], faces[2], faces[0], faces[0], faces[3]])  # face 0 three times
    index, diff = match_faces(faces, other)
    assert index.tolist() == [1, 0, 2, 5] and np.all(diff == 0)
