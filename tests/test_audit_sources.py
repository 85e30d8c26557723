"""scripts/audit_sources.py: deterministic per-source sample, resumable results, the table."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import audit_sources  # noqa: E402

HEADER = "file,category,split,repo,duration_s,fps\n"


def _manifest(tmp_path):
    rows = [f"real/b{i}.mp4,real,train,Big/Repo,1.2,25" for i in (3, 1, 2)]
    rows += ["real/s.mp4,real,dev,Small/Repo,3,25", "generated/g.mp4,generated,train,Big/Repo,3,25"]
    path = tmp_path / "manifest.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_sample_is_the_first_n_real_clips_by_name(tmp_path):
    rows = audit_sources.real_rows(_manifest(tmp_path), per_source=2, splits=None)
    assert [r["file"] for r in rows] == ["real/b1.mp4", "real/b2.mp4", "real/s.mp4"]
    assert len(audit_sources.real_rows(_manifest(tmp_path), None, None)) == 4  # all real, no generated
    assert [r["file"] for r in audit_sources.real_rows(_manifest(tmp_path), None, {"dev"})] == ["real/s.mp4"]


def test_rerun_skips_finished_clips_and_the_table_sums_them(tmp_path, monkeypatch):
    manifest = _manifest(tmp_path)
    out = tmp_path / "results.jsonl"
    offsets = {"real/b1.mp4": 20.0, "real/b2.mp4": 100.0, "real/b3.mp4": -10.0, "real/s.mp4": None}
    calls = []

    def fake_audit(row, root):
        calls.append(row["file"])
        off = offsets[row["file"]]
        return {"file": row["file"], "repo": row["repo"], "split": row["split"], "av_offset_ms": off,
                "confidence": None if off is None else 0.1, "verdict": "in_sync" if off == 20.0 else "no_face", "seconds": 0.0}

    monkeypatch.setattr(audit_sources, "audit_clip", fake_audit)
    rows = audit_sources.real_rows(manifest, None, None)
    audit_sources.run(rows[:2], manifest.parent, out)
    out.write_text(out.read_text() + '{"file": "real/b3.mp4", "rep')  # a kill mid-line
    audit_sources.run(rows, manifest.parent, out)
    assert calls == ["real/b1.mp4", "real/b2.mp4", "real/b3.mp4", "real/s.mp4"]  # nothing done twice
    assert len([json.loads(line) for line in out.read_text().splitlines()]) == 4
    table = audit_sources.table(out)
    big = next(line for line in table.splitlines() if line.startswith("| Big/Repo"))
    assert "| train | 3 | 3 | +20 | +5…+60 | 67% | 0.10 | 1 |" in big
    assert "| Small/Repo | dev | 1 | 0 | – | – | – | – | 0 |" in table
