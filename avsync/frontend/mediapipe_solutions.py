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
import sys
import types
import warnings


def verbose() -> bool:
    return os.environ.get("AVSYNC_VERBOSE", "") not in ("", "0")


@contextlib.contextmanager
def native_stderr_hidden():
    """Point file descriptor 2 at /dev/null while MediaPipe's native code starts up."""
    if verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@functools.cache
def _solutions() -> tuple[types.ModuleType, types.ModuleType]:
    if not verbose():
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        # protobuf's message factory warns on every FaceMesh.process call in mediapipe 0.10.14
        warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated",
                                category=UserWarning)
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
