"""graph_output skips SolutionBase.process's namedtuple, and first_face_landmarks its protobuf
objects; both must return what process returns."""
import contextlib

import numpy as np
import pytest

from avsync.frontend.mediapipe_solutions import face_detection, face_mesh, graph_output, native_stderr_hidden
from avsync.testing.synthetic import _face


def _landmarks(faces):
    return np.array([(m.x, m.y, m.z) for m in faces[0].landmark])


@contextlib.contextmanager
def _tracking_mesh():
    with native_stderr_hidden():
        mesh = face_mesh().FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True)
        try:
            yield mesh
        finally:
            mesh.close()


@pytest.fixture(scope="module")
def face():
    image, _ = _face()
    return np.ascontiguousarray(image)


def test_facemesh_output_equals_process(face):
    with _tracking_mesh() as first, _tracking_mesh() as second:
        by_process = [_landmarks(first.process(face).multi_face_landmarks) for _ in range(3)]
        by_graph = [_landmarks(graph_output(second, face, "multi_face_landmarks")) for _ in range(3)]
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



def test_first_face_landmarks_equal_the_protobuf_ones(face, monkeypatch):
    from avsync.frontend import mediapipe_solutions as mps

    def run():
        with _tracking_mesh() as mesh:
            return [mps.first_face_landmarks(mesh, face) for _ in range(2)], mps.first_face_landmarks(
                mesh, np.zeros_like(face))

    with _tracking_mesh() as mesh:
        faces = [graph_output(mesh, face, "multi_face_landmarks") for _ in range(2)]
    expected = [_landmarks(f)[:, :2].astype(np.float32) for f in faces]
    assert mps.landmarks_xy(faces[0][0].SerializeToString()) is not None  # the array reader is the one used
    fast = run()
    monkeypatch.setattr(mps, "landmarks_xy", lambda data: None)  # a layout it does not know: protobuf reads it
    slow = run()
    for got, blank in (fast, slow):
        assert blank is None
        for a, b in zip(got, expected):
            assert a.dtype == np.float32 and a.shape == (478, 2)
            np.testing.assert_array_equal(a, b)


def test_landmarks_xy_refuses_other_layouts():
    from avsync.frontend.mediapipe_solutions import landmarks_xy

    one = bytes([0x0A, 15, 0x0D]) + np.float32(0.25).tobytes() + b"\x15" + np.float32(0.5).tobytes() + b"\x1d" + bytes(4)
    np.testing.assert_array_equal(landmarks_xy(one * 3), [[0.25, 0.5]] * 3)
    assert landmarks_xy(one[:-1]) is None  # not a whole number of landmarks
    visibility_not_z = one[:12] + b"\x25" + bytes(4)  # same length, another field
    assert landmarks_xy(visibility_not_z * 3) is None
