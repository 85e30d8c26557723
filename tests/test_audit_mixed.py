"""The issue's mixed folder: good clips, corrupt, 0-byte, text renamed .mp4, no audio."""
from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audit_helpers  # noqa: E402

from avsync.audit import AuditOptions, run_audit  # noqa: E402
from avsync.audit.store import read_records  # noqa: E402

HAVE_PIPELINE = importlib.util.find_spec("avsync.pipeline") is not None


def _records_by_name(out: Path, root: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for r in read_records(out / "results.jsonl"):
        found.setdefault(Path(r["file"]).relative_to(root).as_posix(), []).append(r)
    return found


def test_mixed_folder_with_a_checker_that_reads_the_container(tmp_path, monkeypatch):
    monkeypatch.setenv("AVSYNC_AUDIT_CHECKER", audit_helpers.MEDIA_FAKE)
    expected = audit_helpers.make_mixed_folder(tmp_path / "mixed")
    result = run_audit(AuditOptions([str(tmp_path / "mixed")], str(tmp_path / "out"), workers=2, quiet=True),
                       log=lambda s: None)
    found = _records_by_name(tmp_path / "out", tmp_path / "mixed")
    assert sorted(found) == sorted(expected)  # readme.txt is not a video: not audited
    assert all(len(v) == 1 for v in found.values())
    for name, code in expected.items():
        record = found[name][0]
        if code is None:
            assert record["verdict"] in ("in_sync", "out_of_sync"), name
        else:
            assert record["verdict"] == "error" and record["error"]["code"] == code, (name, record["error"])
    assert found["sub/flag_offset.mp4"][0]["verdict"] == "out_of_sync"
    assert result.exit_code == 1
    html = (tmp_path / "out" / "report.html").read_text()
    for name, code in expected.items():
        listed = code is not None or found[name][0]["verdict"] == "out_of_sync"  # errors table or flagged table
        assert (Path(name).name in html) == listed, name


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_PIPELINE, reason="avsync.pipeline not available yet")
def test_mixed_folder_with_the_real_pipeline(tmp_path, monkeypatch):
    from avsync.testing import make_talking_clip

    monkeypatch.delenv("AVSYNC_AUDIT_CHECKER", raising=False)
    root = tmp_path / "mixed"
    root.mkdir()
    make_talking_clip(root / "matched.mp4", seconds=6.0, seed=1)
    # 400 ms: unambiguous for any shipped calibration (at 200 ms the interval's edge sits at the
    # tolerance's 125 ms when the model's offset error is ~100 ms); this test is about the audit
    make_talking_clip(root / "delayed.mp4", seconds=6.0, seed=1, audio_delay_s=0.4)
    make_talking_clip(root / "silent.mp4", seconds=2.0, seed=1, with_audio=False)
    whole = (root / "matched.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(whole[: len(whole) // 3])
    (root / "empty.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("a text file renamed .mp4\n" * 10)
    result = run_audit(AuditOptions([str(root)], str(tmp_path / "out"), workers=2, time_limit_s=300, quiet=True),
                       log=lambda s: None)
    found = _records_by_name(tmp_path / "out", root)
    assert Counter({k: len(v) for k, v in found.items()}) == Counter(
        {n: 1 for n in ("matched.mp4", "delayed.mp4", "silent.mp4", "truncated.mp4", "empty.mp4", "notes.mp4")})
    r = {k: v[0] for k, v in found.items()}
    assert r["matched.mp4"]["verdict"] == "in_sync"
    assert r["delayed.mp4"]["verdict"] == "out_of_sync"
    assert r["delayed.mp4"]["mouth_strip_png_b64"]  # thumbnails were asked for
    assert r["silent.mp4"]["error"]["code"] == "no_audio"
    assert r["empty.mp4"]["error"]["code"] == "empty_file"
    assert r["notes.mp4"]["error"]["code"] == "not_media"
    assert r["truncated.mp4"]["error"]["code"] in ("corrupt", "not_media")
    assert all(rec["schema"] == "avsync.report/1" for rec in r.values())
    assert result.exit_code == 1
    assert r["delayed.mp4"]["id"] in result.failing and r["matched.mp4"]["id"] not in result.failing
