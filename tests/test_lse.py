"""``avsync lse``: input collection, one number per video, mean ± std, CSV/JSON/Markdown."""
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from avsync.evaluation import lse, runner
from avsync.report import SyncReport, TrackReport
from avsync.sources import read_sources


def _report(path, d, c, tracks=(), speaking=None, verdict="in_sync"):
    return SyncReport(file=path, verdict=verdict, min_dist=d, confidence=c, av_offset_frames=0,
                      speaking_track=speaking, tracks=list(tracks))


def _corpus_like(root):
    (root / "real").mkdir(parents=True)
    (root / "generated").mkdir()
    for name in ("real/a.mp4", "real/b.mp4", "generated/c.mp4"):
        (root / name).write_bytes(b"x")
    (root / "manifest.csv").write_text("file,category,split\nreal/a.mp4,real,train\n"
                                       "real/b.mp4,real,dev\ngenerated/c.mp4,generated,dev\n")


def test_one_number_per_video_and_sample_std():
    tracks = [TrackReport(track_id=0, frame_start=0, frame_end=50, verdict="in_sync", min_dist=9.0, confidence=1.0),
              TrackReport(track_id=1, frame_start=0, frame_end=200, verdict="in_sync", min_dist=6.0, confidence=8.0)]
    # "e": check named no speaker (inconclusive), but its tracks were scored.
    reports = [_report("a", 6.0, 8.0, tracks, speaking=1), _report("b", 8.0, 4.0),
               SyncReport.failure("c", "decode_failed", "broken"), _report("d", None, None, verdict="no_face"),
               _report("e", None, None, tracks, verdict="inconclusive")]
    rows = lse.lse_rows(["a", "b", "c", "d", "e"], reports)
    assert [(r["video"], r["lse_d"], r["lse_c"]) for r in rows] == [
        ("a", 6.0, 8.0), ("b", 8.0, 4.0), ("c", None, None), ("d", None, None), ("e", 6.0, 8.0)]
    assert rows[0]["track"] == "headline (track 1)" and rows[4]["track"] == "most confident (track 1)"
    s = lse.summary(reports)
    assert s["n"] == 3 and s["n_missing"] == 2
    assert s["lse_d"]["mean"] == pytest.approx(20 / 3)
    assert s["lse_d"]["std"] == pytest.approx(np.std([6.0, 8.0, 6.0], ddof=1))
    assert s["lse_c"]["mean"] == pytest.approx(20 / 3)
    every = lse.lse_rows(["a"], reports[:1], all_tracks=True)
    assert [r["track"] for r in every] == ["headline (track 1)", "track 0", "track 1 (speaking)"]
    assert every[1]["lse_d"] == 9.0


def test_formats():
    reports = [_report("a", 6.0, 8.0), _report("b", 8.0, 4.0)]
    rows = lse.lse_rows(["a", "b|c"], reports)
    s = lse.summary(reports)
    md = lse.to_markdown(rows, s)
    assert md.splitlines()[0].startswith("| video | LSE-D")
    assert "b\\|c" in md and "7.000 ± 1.414" in md and "(n=2)" in md
    parsed = list(csv.DictReader(io.StringIO(lse.to_csv(rows, s))))
    assert parsed[0]["lse_d"] == "6.0" and parsed[-2]["video"] == "__mean__" and parsed[-2]["lse_c"] == "6.0"
    data = json.loads(lse.to_json(rows, s))
    assert data["summary"]["lse_c"]["std"] == pytest.approx(8 ** 0.5) and len(data["videos"]) == 2


def test_lse_command(tmp_path, monkeypatch):
    from avsync.cli.lse import command

    _corpus_like(tmp_path / "corpus")
    values = {"a.mp4": (6.5, 7.0), "b.mp4": (7.5, 5.0), "c.mp4": (9.0, 2.0)}
    calls = []

    def checker(path, audio=None, model=None, protocol_search=False):
        assert protocol_search  # lse keeps the literature's ±15-frame search, not check's ±2 s
        calls.append(path)
        d, c = values[Path(path).name]
        return _report(path, d, c)

    def run_pool(items, batch, on_report):  # the fake checker in this process, not in pool workers
        for k, (path, audio) in enumerate(items):
            on_report(k, checker(path, audio=audio, protocol_search=batch.protocol_search))

    monkeypatch.setattr(runner, "_run_pool", run_pool)
    monkeypatch.setattr(runner, "scorer_identity", lambda model=None, config_dir=None: {"name": "fake", "version": "1"})
    base = [str(tmp_path / "corpus"), "--report-cache", str(tmp_path / "cache"), "-q"]
    res = CliRunner().invoke(command, base + ["--category", "real"])
    assert res.exit_code == 0, res.output
    assert "real/a.mp4" in res.output and "generated/c.mp4" not in res.output
    assert "7.000 ± 0.707" in res.output and "6.000 ± 1.414" in res.output

    res = CliRunner().invoke(command, base + ["--out", str(tmp_path / "gen.json")])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "gen.json").read_text())
    assert data["summary"]["n"] == 3 and "| video |" in res.output
    assert len(calls) == 3  # the real clips came from the cache

    res = CliRunner().invoke(command, base + ["--format", "csv", "--category", "generated"])
    assert res.output.splitlines()[0] == "video,track,lse_d,lse_c,offset_frames,verdict,error"

    res = CliRunner().invoke(command, [str(tmp_path / "corpus" / "real"), "--category", "real"])
    assert res.exit_code == 3 and "--category needs" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(command, [str(tmp_path / "nope.mp4")])
    assert res.exit_code == 3 and "no such file or folder" in res.output


@pytest.mark.corpus
def test_corpus_categories_resolve_to_files(corpus_dir):
    CORPUS = corpus_dir
    with open(CORPUS / "manifest.csv", newline="") as fh:
        categories = [r["category"] for r in csv.DictReader(fh)]
    expected = {c: categories.count(c) for c in ("real", "generated")}
    for category, n in expected.items():
        clips = read_sources([CORPUS], category=[category])
        assert len(clips) == n > 0
        assert all(Path(c.video).is_file() for c in clips)
