"""MediaPipe's face detection and FaceMesh solutions, imported alone and quietly.

``import mediapipe`` runs ``mediapipe/__init__.py``, which imports every solution, the drawing
utilities and through them matplotlib (about 1 s at start-up). The two solution modules the
front-end uses are imported here with the two package ``__init__`` files skipped; the stand-in
packages are removed again afterwards, so a later ``import mediapipe`` elsewhere gets the real one.

MediaPipe's native code logs through glog, absl and TensorFlow Lite straight to file
descriptor 2 ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires a model
with a single signature"), and protobuf warns about a deprecated call on every ``process``.
None of it is the user's business, so it is hidden unless ``AVSYNC_VERBOSE=1``.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import os
import re
import sys
import threading
import types
import warnings

import numpy as np

from avsync.native_logs import NATIVE_LOG_LEVELS, VERBOSE_ENV


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


# What MediaPipe's native code writes: absl/glog lines ("W0000 00:00:17.. 123 file.cc:114] ..."),
# TensorFlow Lite's delegate notice and absl's note about its own initialisation.
_NOISE_TEXT = (b"INFO: Created TensorFlow Lite", b"WARNING: All log messages before absl::InitializeLog")
NATIVE_NOISE = re.compile(rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d|" + b"|".join(map(re.escape, _NOISE_TEXT)) + b")")
_GLOG_START = re.compile(rb"[IWEF][\d :.]{0,20}")


def _may_become_noise(partial: bytes) -> bool:
    """A line begun but not ended that could still turn out to be native noise."""
    return bool(NATIVE_NOISE.match(partial) or _GLOG_START.fullmatch(partial)
                or any(text.startswith(partial) for text in _NOISE_TEXT))


@contextlib.contextmanager
def native_stderr_hidden():
    """Drop MediaPipe's native log lines from file descriptor 2 while its graphs live.

    The graphs log from their own threads, some of it after ``process`` has returned, so fd 2
    goes through a pipe for the whole time and a thread passes on every other line (Python
    warnings, progress bars) as it comes."""
    if verbose():
        yield
        return
    _hide_protobuf_warning()  # again: test runners reset warning filters between tests
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    relay = threading.Thread(target=_relay, args=(read_end, saved), daemon=True)
    relay.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the relay reads to the end and stops
        relay.join(timeout=5)
        os.close(saved)


def _hide_protobuf_warning() -> None:
    # protobuf's message factory warns on every FaceMesh.process call in mediapipe 0.10.14
    warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated", category=UserWarning)


def _relay(read_end: int, out: int) -> None:
    pending = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            chunk = pipe.read(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            keep = b"".join(line + b"\n" for line in lines if not NATIVE_NOISE.match(line))
            if pending and not _may_become_noise(pending):
                keep, pending = keep + pending, b""  # a partial line such as a progress bar's
            if keep:
                os.write(out, keep)
    if pending and not NATIVE_NOISE.match(pending):
        os.write(out, pending)


@functools.cache
def _solutions() -> tuple[types.ModuleType, types.ModuleType]:
    if not verbose():
        for var, level in NATIVE_LOG_LEVELS.items():
            os.environ.setdefault(var, level)
        _hide_protobuf_warning()
    stand_ins = []
    for name in ("mediapipe", "mediapipe.python.solutions"):
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise ImportError(f"{name} is not installed")
        package = types.ModuleType(name)
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules[name] = package
        stand_ins.append(name)
        if name == "mediapipe":
            importlib.import_module("mediapipe.python")  # the native bindings, before the solutions
    try:
        with native_stderr_hidden():
            detection = importlib.import_module("mediapipe.python.solutions.face_detection")
            mesh = importlib.import_module("mediapipe.python.solutions.face_mesh")
    finally:
        for name in stand_ins:
            sys.modules.pop(name, None)
    return detection, mesh


def face_detection() -> types.ModuleType:
    return _solutions()[0]


def face_mesh() -> types.ModuleType:
    return _solutions()[1]


def graph_output(solution, image, stream: str):
    """``solution.process(image).<stream>`` for a one-image solution, without the namedtuple class
    that ``SolutionBase.process`` builds on every call (about a fifth of a ms, 720 times in a
    60 s check). Uses SolutionBase's attributes as mediapipe 0.10.14, the pinned version, has them;
    tests/test_mediapipe_output.py compares it with ``process``."""
    packet = _run_graph(solution, image, stream)
    return None if packet is None else solution._get_packet_content(solution._output_stream_type_info[stream], packet)


def _run_graph(solution, image, stream: str):
    solution._graph_outputs.clear()
    solution._simulated_timestamp += 33333  # what process() advances by: a 30 fps clock
    (name, kind), = solution._input_stream_type_info.items()
    solution._graph.add_packet_to_input_stream(
        stream=name, packet=solution._make_packet(kind, image).at(solution._simulated_timestamp))
    solution._graph.wait_until_idle()
    packet = solution._graph_outputs.get(stream)
    return None if packet is None or packet.is_empty() else packet


# One NormalizedLandmark as FaceMesh serialises it: field 1 of the list (tag 0x0a, 15 bytes long)
# holding x, y and z as fixed32 fields (tags 0x0d, 0x15, 0x1d).
_LANDMARK = np.dtype([("tag", "u1"), ("size", "u1"), ("tx", "u1"), ("x", "<f4"), ("ty", "u1"), ("y", "<f4"),
                      ("tz", "u1"), ("z", "<f4")])
_LANDMARK_TAGS = {"tag": 0x0A, "size": 15, "tx": 0x0D, "ty": 0x15, "tz": 0x1D}


def first_face_landmarks(mesh, image) -> np.ndarray | None:
    """FaceMesh's (N, 2) normalised x, y of the first face in ``image``, or None without a face.

    Read from the serialised landmark list as an array: building N protobuf objects and reading
    them back point by point costs more than the rest of the call's Python side. A list laid out
    in any other way (a field left out or added) is parsed by protobuf instead."""
    from mediapipe.python._framework_bindings import _packet_getter

    packet = _run_graph(mesh, image, "multi_face_landmarks")
    faces = None if packet is None else _packet_getter._get_serialized_proto_list(packet)
    if not faces:
        return None
    xy = landmarks_xy(faces[0])
    if xy is None:
        marks = mesh._get_packet_content(mesh._output_stream_type_info["multi_face_landmarks"], packet)[0].landmark
        xy = np.array([(m.x, m.y) for m in marks], np.float32)
    return xy


def landmarks_xy(data: bytes) -> np.ndarray | None:
    """(N, 2) x, y of a serialised NormalizedLandmarkList laid out as FaceMesh writes it, else None."""
    if len(data) % _LANDMARK.itemsize:
        return None
    rows = np.frombuffer(data, _LANDMARK)
    if not all(np.all(rows[key] == value) for key, value in _LANDMARK_TAGS.items()):
        return None
    return np.stack([rows["x"], rows["y"]], axis=1)
