"""graph_output skips SolutionBase.process's namedtuple; it must return what process returns."""
import numpy as np
import pytest

from avsync.frontend.mediapipe_solutions import face_detection, face_mesh, graph_output, native_stderr_hidden
from avsync.testing.synthetic import _face


def _landmarks(faces):
    return np.array([(m.x, m.y, m.z) for m in faces[0].landmark])


@pytest.fixture(scope="module")
def face():
    image, _ = _face()
    return np.ascontiguousarray(image)


def test_facemesh_output_equals_process(face):
    with native_stderr_hidden():
        made = [face_mesh().FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True) for _ in range(2)]
        try:
            by_process = [_landmarks(made[0].process(face).multi_face_landmarks) for _ in range(3)]
            by_graph = [_landmarks(graph_output(made[1], face, "multi_face_landmarks")) for _ in range(3)]
        finally:
            for mesh in made:
                mesh.close()
    assert by_graph[0].shape == (478, 3)
    for a, b in zip(by_process, by_graph):  # tracking mode: the timestamps must advance as process's do
        np.testing.assert_array_equal(a, b)


def test_detector_output_equals_process_and_none_without_a_face(face):
    with native_stderr_hidden():
        detector = face_detection().FaceDetection(model_selection=1, min_detection_confidence=0.5)
        try:
            expected = detector.process(face).detections
            got = graph_output(detector, face, "detections")
            blank = graph_output(detector, np.zeros_like(face), "detections")
        finally:
            detector.close()
    assert len(got) == len(expected) == 1
    assert got[0].location_data.relative_bounding_box == expected[0].location_data.relative_bounding_box
    assert blank is None
