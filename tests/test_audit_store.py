"""results.jsonl: append, torn-line repair, atomic drops, the folder lock and key mode."""
from __future__ import annotations

import json

import pytest

from avsync.audit.store import ResultStore, StoreError, read_records


def test_append_and_torn_last_line_is_cut_on_open(tmp_path):
    store = ResultStore(tmp_path)
    store.open("stat")
    store.append({"id": "a", "verdict": "in_sync", "confidence": float("nan")})
    store.append({"id": "b", "verdict": "error"})
    store.close()
    path = tmp_path / "results.jsonl"
    whole = path.read_bytes()
    assert json.loads(whole.splitlines()[0])["confidence"] is None  # strict JSON, NaN -> null
    path.write_bytes(whole + b'{"id": "c", "verd')  # kill -9 in the middle of a write
    assert [r["id"] for r in read_records(path)] == ["a", "b"]
    store = ResultStore(tmp_path)
    store.open("stat")
    assert path.read_bytes() == whole
    store.append({"id": "c", "verdict": "in_sync"})
    store.close()
    assert [r["id"] for r in read_records(path)] == ["a", "b", "c"]


def test_garbage_in_the_middle_is_reported_not_silently_dropped(tmp_path):
    (tmp_path / "results.jsonl").write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(StoreError, match="not a JSON record"):
        read_records(tmp_path / "results.jsonl")


def test_drop_keeps_other_lines_byte_identical(tmp_path):
    store = ResultStore(tmp_path)
    store.open("stat")
    for rid in "abc":
        store.append({"id": rid, "verdict": "error" if rid == "b" else "in_sync", "x": [1.5, None]})
    before = (tmp_path / "results.jsonl").read_bytes().splitlines(keepends=True)
    assert store.drop(lambda r: r["verdict"] == "error") == 1
    store.append({"id": "b", "verdict": "in_sync"})
    store.close()
    after = (tmp_path / "results.jsonl").read_bytes().splitlines(keepends=True)
    assert after[:2] == [before[0], before[2]]
    assert [r["id"] for r in read_records(tmp_path / "results.jsonl")] == ["a", "c", "b"]


def test_one_writer_at_a_time_and_key_mode_is_kept(tmp_path):
    first = ResultStore(tmp_path)
    first.open("stat")
    with pytest.raises(StoreError, match="another audit"):
        ResultStore(tmp_path).open("stat")
    first.close()
    with pytest.raises(StoreError, match="without --hash"):
        ResultStore(tmp_path).open("sha256")
