"""INPUT expansion (folders, globs, manifests), ids, resume keys and shards."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audit_helpers  # noqa: E402

from avsync.audit import AuditOptions, run_audit  # noqa: E402
from avsync.audit.inputs import InputError, collect, file_key  # noqa: E402
from avsync.audit.shard import parse_shard, shard, shard_of  # noqa: E402
from avsync.audit.inputs import Item  # noqa: E402
from avsync.audit.store import read_records  # noqa: E402

EXTS = ["mp4", "mov", "mkv"]


def _files(root: Path, names: list[str]) -> None:
    for name in names:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(name.encode())


def test_folder_is_searched_recursively_for_video_extensions(tmp_path):
    _files(tmp_path, ["a.mp4", "B.MOV", "sub/deeper/c.mkv", "notes.txt", "sub/d.wav", ".hidden.mp4"])
    items = collect([str(tmp_path)], EXTS)
    assert [Path(i.path).relative_to(tmp_path).as_posix() for i in items] == ["B.MOV", "a.mp4", "sub/deeper/c.mkv"]
    assert all(i.id == i.path and os.path.isabs(i.path) for i in items)


def test_globs_files_and_overlaps_give_each_video_once(tmp_path):
    _files(tmp_path, ["x/a.mp4", "x/b.mp4", "y/c.mp4"])
    items = collect([str(tmp_path / "x" / "*.mp4"), str(tmp_path / "x"), str(tmp_path / "y" / "c.mp4"),
                     str(tmp_path / "**" / "c.mp4")], EXTS)
    assert sorted(Path(i.path).name for i in items) == ["a.mp4", "b.mp4", "c.mp4"]
    with pytest.raises(InputError, match="no files match"):
        collect([str(tmp_path / "*.avi")], EXTS)
    with pytest.raises(InputError, match="no such file or folder"):
        collect([str(tmp_path / "missing")], EXTS)


def test_csv_and_jsonl_manifests_with_audio_and_id(tmp_path):
    _files(tmp_path, ["v/a.mp4", "v/b.mp4", "v/a.wav"])
    (tmp_path / "list.csv").write_text("path,audio,id\nv/a.mp4,v/a.wav,clip-a\nv/b.mp4,,\n")
    items = collect([str(tmp_path / "list.csv")], EXTS)
    assert items[0] == Item("clip-a", str(tmp_path / "v/a.mp4"), str(tmp_path / "v/a.wav"))
    assert items[1] == Item(str(tmp_path / "v/b.mp4"), str(tmp_path / "v/b.mp4"), None)
    (tmp_path / "list.jsonl").write_text(json.dumps({"path": "v/a.mp4", "id": 7}) + "\n\n"
                                         + json.dumps({"path": str(tmp_path / "v/b.mp4")}) + "\n")
    items = collect([str(tmp_path / "list.jsonl")], EXTS)
    assert [i.id for i in items] == ["7", str(tmp_path / "v/b.mp4")]
    (tmp_path / "pairs.csv").write_text("video,audio,notes\nv/a.mp4,v/a.wav,x\n")  # like generated_noaudio_pairs.csv
    assert collect([str(tmp_path / "pairs.csv")], EXTS) == [
        Item(str(tmp_path / "v/a.mp4"), str(tmp_path / "v/a.mp4"), str(tmp_path / "v/a.wav"))]
    (tmp_path / "bad.csv").write_text("name\nv/a.mp4\n")
    with pytest.raises(InputError, match="no `path` column"):
        collect([str(tmp_path / "bad.csv")], EXTS)
    (tmp_path / "dup.csv").write_text("path,id\nv/a.mp4,same\nv/b.mp4,same\n")
    with pytest.raises(InputError, match="names two different inputs"):
        collect([str(tmp_path / "dup.csv")], EXTS)


def test_keys_follow_path_size_mtime_or_content(tmp_path):
    _files(tmp_path, ["a.mp4", "b.mp4"])
    a, b = Item(str(tmp_path / "a.mp4"), str(tmp_path / "a.mp4")), Item(str(tmp_path / "b.mp4"), str(tmp_path / "b.mp4"))
    stat_key = file_key(a, False)
    os.utime(a.path, ns=(1, 10**18))
    assert file_key(a, False) != stat_key
    (tmp_path / "b.mp4").write_bytes(b"a.mp4")  # same content as a.mp4
    assert file_key(a, True) == file_key(b, True)
    assert file_key(Item("m", str(tmp_path / "missing.mp4")), True).startswith("missing:")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=60, unique=True), st.integers(1, 7))
def test_shards_partition_any_id_set(ids, count):
    items = [Item(i, i) for i in ids]
    parts = [shard(items, k, count) for k in range(count)]
    assert sorted(i.id for p in parts for i in p) == sorted(ids)  # union is everything, no overlap
    assert all(shard_of(i, count) == shard_of(i, count) for i in ids)


def test_shard_argument_is_checked():
    assert parse_shard("2/5") == (2, 5)
    for bad in ("5/5", "-1/3", "1", "a/b", "0/0"):
        with pytest.raises(InputError):
            parse_shard(bad)


def test_sharded_audits_cover_the_unsharded_set_disjointly(tmp_path, monkeypatch):
    monkeypatch.setenv("AVSYNC_AUDIT_CHECKER", audit_helpers.FAKE)
    names = [f"v{i:02d}.mp4" for i in range(12)]
    _files(tmp_path / "in", names)
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
