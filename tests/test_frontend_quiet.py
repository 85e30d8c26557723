"""`check` is quiet by default: MediaPipe's native logging is dropped, Python's own output is not."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avsync.frontend.mediapipe_solutions import native_stderr_hidden

REPO = Path(__file__).resolve().parents[1]


def _check(path, **env):
    """``check --json`` in a fresh process, with none of the logging switches set unless given."""
    clean = {k: v for k, v in os.environ.items() if k not in ("AVSYNC_VERBOSE", "GLOG_minloglevel", "TF_CPP_MIN_LOG_LEVEL")}
    return subprocess.run([sys.executable, "-m", "avsync", "check", str(path), "--json"], cwd=REPO,
                          capture_output=True, text=True, env={**clean, **env}, timeout=300)


@pytest.mark.slow
def test_check_json_writes_nothing_to_stderr(synthetic_clips):
    done = _check(synthetic_clips["matched"])
    assert done.stdout.lstrip().startswith("{")
    assert done.stderr == ""


@pytest.mark.slow
def test_verbose_shows_native_logging(synthetic_clips):
    done = _check(synthetic_clips["matched"], AVSYNC_VERBOSE="1")
    assert "TensorFlow Lite" in done.stderr or "inference_feedback_manager" in done.stderr


def test_relay_drops_native_lines_and_keeps_the_rest(capfd, monkeypatch):
    monkeypatch.delenv("AVSYNC_VERBOSE", raising=False)
    with native_stderr_hidden():
        os.write(2, b"W0000 00:00:1796163666.481316   12740 inference_feedback_manager.cc:114] Feedback\n")
        os.write(2, b"INFO: Created TensorFlow ")
        os.write(2, b"Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"\r 45%|####  | 9/20")
        print("a real warning", file=sys.stderr)
    err = capfd.readouterr().err
    assert "Feedback" not in err and "XNNPACK" not in err
    assert "45%|####  | 9/20" in err and "a real warning" in err
