"""Real MTCNN on real faces, through our `Faces` container."""

from __future__ import annotations

import numpy as np
import pytest

from classpulse.faces.detections import Faces, box_iou
from tests.helpers.faces import canvas_with


def test_finds_each_face_with_landmarks_inside_its_box(detector, face_photos) -> None:
    offsets = [(100, 200), (540, 260), (980, 180)]
    faces = detector.detect([canvas_with(face_photos, offsets)])[0]
    assert len(faces) == 3
    assert (faces.confidence > 0.95).all()
    order = np.argsort(faces.centers[:, 0])
    for (x, y), box, pts in zip(offsets, faces.xyxy[order], faces.landmarks[order], strict=True):
        assert box_iou(box[None], np.array([[x, y, x + 200, y + 200]], np.float32))[0, 0] > 0.3
        assert (pts[:, 0] > box[0]).all() and (pts[:, 0] < box[2]).all()
        assert pts[0, 0] < pts[1, 0], "left eye is left of right eye"


def test_no_face_gives_an_empty_container(detector) -> None:
    faces = detector.detect([np.full((360, 640, 3), 90, np.uint8)])[0]
    assert len(faces) == 0
    assert faces.xyxy.shape == (0, 4) and faces.landmarks.shape == (0, 5, 2)


def test_faces_container_indexing_and_merge() -> None:
    faces = Faces(np.array([[0, 0, 10, 10], [5, 5, 25, 45]]), np.array([0.9, 0.99]), np.zeros((2, 5, 2)))
    assert faces.sizes == pytest.approx([10.0, np.sqrt(20 * 40)])
    assert len(faces[faces.confidence > 0.95]) == 1
    assert faces[1].xyxy.shape == (1, 4)
    merged = Faces.merge([faces, Faces.empty(), faces[0]])
    assert len(merged) == 3 and merged.track_id.tolist() == [-1, -1, -1]


@pytest.mark.parametrize("shape", [(1, 1), (10, 10), (11, 30), (5, 400), (12, 12)])
def test_frames_smaller_than_the_smallest_face_give_no_faces(detector, shape: tuple[int, int]) -> None:
    # MTCNN's pyramid is empty below 12 px on the short side; it used to crash in torch.cat (issue 17).
    frames = [np.zeros((*shape, 3), np.uint8)] * 2
    assert [len(faces) for faces in detector.detect(frames)] == [0, 0]
