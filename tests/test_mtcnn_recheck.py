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


def test_the_mirror_image_is_the_crop_of_the_mirrored_photo():
    """Crops are transposed (N×W×H×3): the mirror must flip left and right, not up and down."""
    from ferkit.faces.mtcnn_cascade import _crops

    rgb = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    seen = {}

    def run(name, x):
        seen[name] = x
        return _nets(0.9, 0.9)(name, x)

    mtcnn_recheck._agreement(rgb, np.array([[40.0, 50.0, 119.0, 129.0]]), run)
    mirrored = _crops(
        np.ascontiguousarray(rgb[:, ::-1]), np.array([[200 - 1 - 119.0, 50.0, 200 - 1 - 40.0, 129.0]]), 48
    )
    np.testing.assert_allclose(seen["onet"][1], mirrored[0], atol=1e-5)
    assert not np.allclose(seen["onet"][1], seen["onet"][0])


def test_the_second_look_runs_only_when_no_face_of_the_cascade_would_be_kept(monkeypatch):
    """A cascade box lying mostly in the border is not kept once cut to the photo: the second look runs, and its
    faces come back instead of (not beside) the cascade's."""
    from ferkit.faces import mtcnn
    from ferkit.faces.face import Face

    det = mtcnn.MtcnnDetector()
    photo = (50, 50, 100, 100)
    looked = Face((60, 60, 80, 80), 0.8)
    monkeypatch.setattr(det, "_run", lambda: None)
    monkeypatch.setattr(mtcnn, "recheck", lambda *a: [looked])
    in_border = Face((0, 0, 60, 60), 0.95)  # 10×10 px of it on the photo: under 6 % of its area
    monkeypatch.setattr(det, "_cascade", lambda rgb, run, pnet: ([in_border], np.zeros((0, 9))))
    assert det._detect_framed(RGB, photo) == [looked]
    on_photo = Face((70, 70, 60, 60), 0.95)
    monkeypatch.setattr(det, "_cascade", lambda rgb, run, pnet: ([on_photo], np.zeros((0, 9))))
    assert det._detect_framed(RGB, photo) == [on_photo]
