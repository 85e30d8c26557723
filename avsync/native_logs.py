"""How loud MediaPipe's native libraries may be (a leaf module: the CLI imports it cheaply).

Quiet unless ``AVSYNC_VERBOSE=1`` (``--verbose``); the levels are set before MediaPipe's first
graph starts (avsync/frontend/mediapipe_solutions.py).
"""
VERBOSE_ENV = "AVSYNC_VERBOSE"
NATIVE_LOG_LEVELS = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
