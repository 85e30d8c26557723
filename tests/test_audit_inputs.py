"""Resume keys and shards of audit inputs (reading the inputs: tests/test_sources.py)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audit_helpers  # noqa: E402

from avsync.audit import AuditOptions, run_audit  # noqa: E402
from avsync.audit.keys import file_key  # noqa: E402
from avsync.audit.shard import parse_shard, shard, shard_of  # noqa: E402
from avsync.audit.store import read_records  # noqa: E402
from avsync.sources import Clip  # noqa: E402


def test_keys_follow_path_size_mtime_or_content(tmp_path, write_files):
    write_files(tmp_path, ["a.mp4", "b.mp4"])
    a, b = Clip(str(tmp_path / "a.mp4"), str(tmp_path / "a.mp4")), Clip(str(tmp_path / "b.mp4"), str(tmp_path / "b.mp4"))
    stat_key = file_key(a, False)
    os.utime(a.video, ns=(1, 10**18))
    assert file_key(a, False) != stat_key
    (tmp_path / "b.mp4").write_bytes(b"a.mp4")  # same content as a.mp4
    assert file_key(a, True) == file_key(b, True)
    assert file_key(Clip("m", str(tmp_path / "missing.mp4")), True).startswith("missing:")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=60, unique=True), st.integers(1, 7))
def test_shards_partition_any_id_set(ids, count):
    items = [Clip(i, i) for i in ids]
    parts = [shard(items, k, count) for k in range(count)]
    assert sorted(i.id for p in parts for i in p) == sorted(ids)  # union is everything, no overlap
    assert all(shard_of(i, count) == shard_of(i, count) for i in ids)


def test_shard_argument_is_checked():
    assert parse_shard("2/5") == (2, 5)
    for bad in ("5/5", "-1/3", "1", "a/b", "0/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_sharded_audits_cover_the_unsharded_set_disjointly(tmp_path, write_files, monkeypatch):
    monkeypatch.setenv("AVSYNC_AUDIT_CHECKER", audit_helpers.FAKE)
    names = [f"v{i:02d}.mp4" for i in range(12)]
    write_files(tmp_path / "in", names)
    manifest = tmp_path / "in.csv"  # fixed ids, so the split below is the same on every machine
    manifest.write_text("path,id\n" + "".join(f"in/{n},{n}\n" for n in names))
    ids = []
    for k in range(3):
        run_audit(AuditOptions([str(manifest)], str(tmp_path / f"s{k}"), workers=1, shard=(k, 3), quiet=True),
                  log=lambda s: None)
        ids.append([r["id"] for r in read_records(tmp_path / f"s{k}" / "results.jsonl")])
    assert sorted(i for part in ids for i in part) == names
    assert [len(part) for part in ids] == [sum(shard_of(n, 3) == k for n in names) for k in range(3)]
    assert all(part for part in ids)


def test_file_names_that_are_not_utf8_are_audited_and_resumed(tmp_path, monkeypatch):
    """An old archive's Latin-1 name reaches Python with lone surrogates, which UTF-8 cannot hold:
    writing its record raised UnicodeEncodeError and ended the audit with a traceback."""
    monkeypatch.setenv("AVSYNC_AUDIT_CHECKER", audit_helpers.FAKE)
    folder = tmp_path / "in"
    folder.mkdir()
    names = [b"caf\xe9.mp4", b"flag \xff\xfe.mp4", "new\nline \u00fc.mp4".encode()]
    for name in names:
        (folder / os.fsdecode(name)).write_bytes(name)
    out = tmp_path / "out"
    logged = []
    first = run_audit(AuditOptions([str(folder)], str(out), workers=1, quiet=True), log=logged.append)
    assert first.checked == 3
    progress = [line for line in logged if line.startswith("[")]
    assert len(progress) == 3 and not any("\n" in line for line in progress)  # one line per video
    for kept in ("results.jsonl", "summary.csv", "report.html"):
        (out / kept).read_bytes().decode("utf-8")  # strict: the files stay UTF-8
    files = sorted(os.fsencode(r["file"]) for r in read_records(out / "results.jsonl"))
    assert files == sorted(os.fsencode(folder / os.fsdecode(n)) for n in names)  # the exact names come back
    again = run_audit(AuditOptions([str(folder)], str(out), workers=1, quiet=True), log=lambda s: None)
    assert again.checked == 0 and again.skipped == 3
