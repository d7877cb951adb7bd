"""mtcnn's second look at a photo that is one face: both networks, on the crop and on its mirror image."""

import numpy as np
import pytest

from ferkit.faces import mtcnn_recheck


def _nets(face: float, mirror: float, net: str = "both"):
    """A stand-in for the networks: every crop scores `face`, every mirrored crop `mirror` (only in `net`)."""

    def run(name, x):
        n = len(x) // 2  # crops, then their mirror images
        low = mirror if net in (name, "both") else face
        p = np.r_[np.full(n, face), np.full(n, low)].astype(np.float32)
        prob = np.stack([1 - p, p], 1)
        if name == "rnet":
            return [np.zeros((2 * n, 4), np.float32), prob]
        marks = np.tile(np.r_[0.3, 0.7, 0.5, 0.35, 0.65, 0.35, 0.35, 0.55, 0.75, 0.75], (2 * n, 1))
        return [np.zeros((2 * n, 4), np.float32), marks.astype(np.float32), prob]

    return run


RGB = np.full((200, 200, 3), 128, np.uint8)
PHOTO = (50, 50, 100, 100)  # where the photo lies inside its border
NO_CANDIDATES = np.zeros((0, 9))


def test_a_box_all_four_scores_pass_is_a_face_on_the_photo():
    (face,) = mtcnn_recheck.recheck(RGB, NO_CANDIDATES, PHOTO, 0.06 * 100 * 100, _nets(0.9, 0.9))
    x, y, w, h = face.box
    assert abs(x + w / 2 - 100) <= 1 and abs(y + h / 2 - 100) <= 1  # centred on the photo
    assert w == h >= 0.8 * 100 - 1 and face.score == pytest.approx(0.9)
    left_eye, right_eye, nose, _, _ = face.landmarks
    assert left_eye[0] < nose[0] < right_eye[0] and left_eye[1] < nose[1]


@pytest.mark.parametrize("net", ["rnet", "onet"])
def test_a_box_one_network_rejects_on_the_mirror_image_is_not_a_face(net):
    assert mtcnn_recheck.recheck(RGB, NO_CANDIDATES, PHOTO, 600, _nets(0.95, 0.3, net)) == []


def test_candidates_smaller_than_the_area_asked_for_are_not_scored():
    calls = []

    def run(name, x):
        calls.append(name)
        return _nets(0.9, 0.9)(name, x)

    small = np.array([[90, 90, 100, 100, 0.9, 0, 0, 0, 0]], float)
    whole_side = 1.5 * 0.8 * 100  # the largest box the second look scores
    assert mtcnn_recheck.recheck(RGB, small, PHOTO, whole_side**2 + 1, run) == []
    assert calls == []


def test_the_whole_photo_passes_at_a_lower_score_than_a_candidate_elsewhere():
    corner = np.array([[0, 0, 60, 60, 0.9, 0, 0, 0, 0]], float)
    middling = (mtcnn_recheck.AGREE + mtcnn_recheck.AGREE_WHOLE) / 2
    (face,) = mtcnn_recheck.recheck(RGB, corner, PHOTO, 600, _nets(middling, middling))
    x, y, w, h = face.box
    assert abs(x + w / 2 - 100) <= 1 and abs(y + h / 2 - 100) <= 1  # the photo's box, not the corner's
