"""A non-editable install works like the editable one: the wheel carries the configs and weights,
and ``check --json`` gives the same report from outside the source tree, ``p_sync`` included."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from avsync.testing import make_talking_clip

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DATA = ["avsync/configs/verdict.yaml", "avsync/configs/audit.yaml", "avsync/configs/evaluation.yaml",
                "avsync/configs/features.yaml", "avsync/configs/frontend.yaml", "avsync/configs/protocol.yaml",
                "avsync/configs/train/default.yaml", "avsync/weights/syncnet_lite.safetensors",
                "avsync/weights/syncnet_lite.json"]
VARYING = ("timings_s",)  # wall-clock seconds differ between any two runs


def _pip(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _check_json(clip: Path, cwd: Path, pythonpath: str) -> dict:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    proc = subprocess.run([sys.executable, "-m", "avsync", "check", str(clip), "--json"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1, 2), proc.stderr
    report = json.loads(proc.stdout)
    return {k: v for k, v in report.items() if k not in VARYING}


def test_the_wheel_carries_package_data_and_checks_like_the_editable_install(tmp_path):
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    src = tmp_path / "src"
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "runs", "cache"))
    # --no-build-isolation: the build uses the installed setuptools, so it works offline.
    _pip("wheel", "--no-deps", "--no-build-isolation", ".", "-w", str(tmp_path / "wheels"), "-q", cwd=src)
    [wheel] = (tmp_path / "wheels").glob("avsync-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [n for n in PACKAGE_DATA if n not in names] == []
    _pip("install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel), "-q")

    clip = make_talking_clip(tmp_path / "clip.mp4", seed=1)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = subprocess.run([sys.executable, "-c", "import avsync; print(avsync.__file__)"], cwd=outside,
                           env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}, capture_output=True, text=True)
    assert where.stdout.strip() == str(tmp_path / "site" / "avsync" / "__init__.py")

    installed = _check_json(clip, outside, str(tmp_path / "site"))
    editable = _check_json(clip, REPO, str(REPO))
    assert installed["p_sync"] is not None and installed["verdict"] == editable["verdict"]
    assert installed == editable
