"""``avsync eval``: manifests, scoring through the cache, exclusions, outputs and the command.

A fake checker stands in for ``avsync.pipeline.check`` so nothing is decoded.
"""
import json

import pytest
from click.testing import CliRunner

from avsync.evaluation import runner
from avsync.evaluation.cache import ReportCache
from avsync.evaluation.config import EvalConfig
from avsync.evaluation.evaluate import evaluate_rows, format_table, write_outputs
from avsync.evaluation.manifest import ManifestError, Row, read_manifest
from avsync.report import SyncReport

SCORER = {"name": "fake", "version": "1"}


class FakeChecker:
    """Reports from a table: name -> (verdict, p_sync, confidence, segments). Counts calls."""

    def __init__(self, table):
        self.table = table
        self.calls = []

    def __call__(self, path, audio=None, model=None):
        self.calls.append(path)
        name = path.rsplit("/", 1)[-1]
        verdict, p_sync, conf, segs = self.table[name]
        if verdict == "error":
            return SyncReport.failure(path, "decode_failed", "broken stream")
        return SyncReport(file=path, verdict=verdict, p_sync=p_sync, confidence=conf, min_dist=7.0,
                          segments=segs or [], scorer=dict(SCORER))


def in_process(checker):
    """Stands in for the worker pool: the fake checker runs in this process."""
    def run_pool(items, batch, on_report):
        for k, (path, audio) in enumerate(items):
            on_report(k, checker(path, audio=audio))
    return run_pool


def _videos(tmp_path, names):
    for n in names:
        (tmp_path / n).write_bytes(b"not really a video")


TABLE = {
    "r1.mp4": ("in_sync", 0.9, 6.0, None),
    "r2.mp4": ("in_sync", 0.8, 5.0, None),
    "r3.mp4": ("mismatch", 0.4, 2.0, None),
    "f1.mp4": ("mismatch", 0.1, 1.0, [{"start_s": 1.0, "end_s": 2.0, "kind": "mismatch", "score": 0.9}]),
    "f2.mp4": ("out_of_sync", 0.2, 3.0, None),
    "f3.mp4": ("in_sync", 0.7, 4.0, None),
    "bad.mp4": ("error", None, None, None),
}


def test_read_csv_and_jsonl_manifests(tmp_path):
    (tmp_path / "m.csv").write_text("path,label,group,audio\nr1.mp4,real,a,\nsub/f1.mp4,FAKE,b,f1.wav\n"
                                    "/abs/x.mp4,1,,\n,,,\n")
    rows = read_manifest(tmp_path / "m.csv")
    assert [r.label for r in rows] == [0, 1, 1]
    assert rows[0].path == str(tmp_path / "r1.mp4") and rows[0].audio is None
    assert rows[1].audio == str(tmp_path / "f1.wav") and rows[1].group == "b"
    assert rows[2].path == "/abs/x.mp4" and rows[2].group is None
    (tmp_path / "m.jsonl").write_text(json.dumps({"path": "a.mp4", "label": 0}) + "\n\n"
                                      + json.dumps({"file": "b.mp4", "label": "fake",
                                                    "fake_periods": [[1, 2]], "speaker": "s1"}) + "\n")
    rows = read_manifest(tmp_path / "m.jsonl")
    assert [r.label for r in rows] == [0, 1]
    assert rows[1].fake_periods == [[1.0, 2.0]] and rows[1].meta == {"speaker": "s1"}


@pytest.mark.parametrize("text, message", [
    ("name,label\na.mp4,real\n", "needs a `path` column"),
    ("path,kind\na.mp4,real\n", r"m.csv:2: empty 'label'"),
    ("path,label\na.mp4,maybe\n", r"m.csv:2: label 'maybe'"),
    ("path,label\na.mp4,\n", r"m.csv:2: empty 'label'"),
    ("path,label\n", "manifest has no rows"),
])
def test_manifest_errors_name_the_place(tmp_path, text, message):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(ManifestError, match=message):
        read_manifest(tmp_path / "m.csv")


def test_fake_score_prefers_p_sync():
    assert runner.fake_score(SyncReport(file="a", verdict="in_sync", p_sync=0.8, confidence=5.0)) \
        == (pytest.approx(0.2), "1-p_sync")
    assert runner.fake_score(SyncReport(file="a", verdict="in_sync", confidence=5.0)) == (-5.0, "-confidence")
    assert runner.fake_score(SyncReport(file="a", verdict="no_face")) == (None, None)
    assert runner.fake_score(SyncReport.failure("a", "x", "y")) == (None, None)


def _rows(tmp_path, labels=None):
    labels = labels or {"r": 0, "f": 1}
    return [Row(path=str(tmp_path / n), label=labels[n[0]] if n != "bad.mp4" else 1,
                group="real" if n[0] == "r" else "fake", fake_periods=[] if n[0] == "r" else [[1.0, 2.0]])
            for n in TABLE]


def test_errors_are_listed_and_left_out(tmp_path):
    _videos(tmp_path, TABLE)
    rows = _rows(tmp_path) + [Row(path=str(tmp_path / "absent.mp4"), label=0)]
    cfg = EvalConfig(bootstrap=50)
    result = evaluate_rows(rows, cfg, checker=FakeChecker(TABLE), progress=False)
    assert result["n_videos"] == 8 and result["n_used"] == 6
    assert result["n_errors"] == 2 and result["n_excluded"] == 2
    reasons = {e["path"].rsplit("/", 1)[-1]: e["reason"] for e in result["excluded"]}
    assert "decode_failed" in reasons["bad.mp4"] and "not_found" in reasons["absent.mp4"]
    o = result["overall"]
    # fake scores 0.9, 0.8, 0.3 vs real 0.1, 0.2, 0.6: 8 of 9 pairs ordered right.
    assert o["roc_auc"] == pytest.approx(8 / 9)
    assert o["at_threshold"]["tp"] == 2 and o["at_threshold"]["fp"] == 1
    assert result["confusion"]["error"] == {"real": 1, "fake": 1}
    assert result["confusion"]["mismatch"] == {"real": 1, "fake": 1}
    assert result["groups"]["fake"]["ranked_against"] == "all_real"
    # Segment AP over the scored fakes: one of three true periods found.
    loc = result["localisation"]
    assert loc["n_truth_segments"] == 3 and loc["ap_from_zero"]["0.5"] == pytest.approx(1 / 3)
    assert "ROC AUC" in format_table(result)


def test_unlabelled_rows_are_scored_but_not_counted(tmp_path):
    _videos(tmp_path, TABLE)
    rows = _rows(tmp_path)
    rows[5].label = None  # f3
    rows[5].group = "consistent"
    result = evaluate_rows(rows, EvalConfig(bootstrap=0), checker=FakeChecker(TABLE), progress=False)
    assert result["n_used"] == 5 and result["n_unlabelled"] == 1
    assert result["overall"]["roc_auc"] == pytest.approx(1.0)
    assert result["groups"]["consistent"]["unlabelled"]["n"] == 1


def test_confidence_scores_use_the_confidence_threshold(tmp_path):
    _videos(tmp_path, TABLE)
    no_p = {k: (v[0], None, v[2], v[3]) for k, v in TABLE.items()}
    result = evaluate_rows(_rows(tmp_path), EvalConfig(bootstrap=0, confidence_threshold=2.5),
                           checker=FakeChecker(no_p), progress=False)
    assert result["score_kinds"] == {"-confidence": 6}
    assert result["threshold"]["score"] == -2.5 and "confidence <= 2.5" in result["threshold"]["rule"]
    # confidence <= 2.5: r3 (2.0) and f1 (1.0) are called fake.
    t = result["overall"]["at_threshold"]
    assert (t["tp"], t["fp"], t["fn"], t["tn"]) == (1, 1, 2, 2)
    # Verdict-based: mismatch/out_of_sync = fake -> r3, f1, f2.
    v = result["by_verdict"]
    assert (v["tp"], v["fp"], v["fn"], v["tn"]) == (2, 1, 1, 2)


def test_second_evaluation_with_other_labels_decodes_nothing(tmp_path):
    _videos(tmp_path, TABLE)
    checker = FakeChecker(TABLE)
    cache = ReportCache(tmp_path / "cache", SCORER)
    first = evaluate_rows(_rows(tmp_path), EvalConfig(bootstrap=0), checker=checker, cache=cache, progress=False)
    assert len(checker.calls) == 7
    flipped = evaluate_rows(_rows(tmp_path, {"r": 1, "f": 0}), EvalConfig(bootstrap=0), checker=checker,
                            cache=ReportCache(tmp_path / "cache", SCORER), progress=False)
    # Only the error report is retried; everything else comes from the cache.
    assert len(checker.calls) == 8 and checker.calls[-1].endswith("bad.mp4")
    assert flipped["overall"]["roc_auc"] == pytest.approx(1 - first["overall"]["roc_auc"])
    assert sum(v["from_cache"] for v in flipped["videos"]) == 6
    # A changed file, or another scorer version, is a miss.
    (tmp_path / "r1.mp4").write_bytes(b"edited, longer content")
    assert ReportCache(tmp_path / "cache", SCORER).get(str(tmp_path / "r1.mp4")) is None
    assert ReportCache(tmp_path / "cache", {"name": "fake", "version": "2"}).get(str(tmp_path / "r2.mp4")) is None
    assert ReportCache(tmp_path / "cache", SCORER).get(str(tmp_path / "r2.mp4")).p_sync == 0.8


def test_checker_exception_becomes_an_error_report(tmp_path):
    _videos(tmp_path, ["a.mp4"])

    def boom(path, audio=None):
        raise RuntimeError("model exploded")

    [scored] = runner.score_videos([(str(tmp_path / "a.mp4"), None)], checker=boom, progress=False)
    assert scored.report.verdict == "error" and "model exploded" in scored.report.error["message"]


def test_write_outputs(tmp_path):
    _videos(tmp_path, TABLE)
    result = evaluate_rows(_rows(tmp_path), EvalConfig(bootstrap=20), checker=FakeChecker(TABLE), progress=False)
    paths = write_outputs(result, tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    assert data["schema"] == "avsync.eval/1" and len(data["videos"]) == 7
    assert data["overall"]["ci"]["n_bootstrap"] == 20 and len(data["overall"]["ci"]["roc_auc"]) == 2
    assert paths["roc"].read_bytes()[:4] == b"\x89PNG"
    assert paths["csv"].read_text().splitlines()[0].startswith("path,label,group,verdict,score")


def test_eval_command_on_a_manifest(tmp_path, monkeypatch):
    from avsync.cli.evaluate import command

    _videos(tmp_path, TABLE)
    lines = ["path,label,group"] + [f"{n},{'real' if n[0] == 'r' else 'fake'},{n[0]}" for n in TABLE]
    (tmp_path / "set.csv").write_text("\n".join(lines) + "\n")
    checker = FakeChecker(TABLE)
    monkeypatch.setattr(runner, "_run_pool", in_process(checker))
    monkeypatch.setattr(runner, "scorer_identity", lambda model=None, config_dir=None: SCORER)
    args = [str(tmp_path / "set.csv"), "--out", str(tmp_path / "out"), "--bootstrap", "30",
            "--report-cache", str(tmp_path / "cache"), "--no-progress", "--threshold", "0.75"]
    res = CliRunner().invoke(command, args)
    assert res.exit_code == 0, res.output
    assert "ROC AUC" in res.output and "bad.mp4" in res.output
    data = json.loads((tmp_path / "out/metrics.json").read_text())
    assert data["overall"]["at_threshold"]["threshold"] == 0.75
    assert data["settings"]["bootstrap"] == 30
    assert (tmp_path / "out/roc.png").is_file()
    n = len(checker.calls)
    assert CliRunner().invoke(command, args).exit_code == 0
    assert len(checker.calls) == n + 1  # only bad.mp4 again


def test_eval_command_on_a_dataset_and_bad_input(tmp_path, monkeypatch):
    from avsync.cli.evaluate import command

    def entry(i, video, audio, periods):
        return {"file": f"test/00000{i}.mp4", "n_fakes": len(periods), "fake_periods": periods, "duration": 4.2,
                "original": None, "modify_video": video, "modify_audio": audio, "split": "test",
                "video_frames": 105, "audio_channels": 1, "audio_frames": 67200}

    lavdf = [entry(1, False, False, []), entry(2, False, True, [[1.36, 1.92]]),
             entry(3, True, False, [[0.4, 0.88], [2.0, 2.6]]), entry(4, True, True, [[3.0, 3.5]])]
    (tmp_path / "metadata.json").write_text(json.dumps(lavdf))
    table = {"000001.mp4": ("in_sync", 0.9, 6.0, None),
             "000002.mp4": ("mismatch", 0.2, 1.0, [{"start_s": 1.3, "end_s": 1.9, "kind": "mismatch", "score": 0.8}]),
             "000003.mp4": ("mismatch", 0.3, 1.0, None), "000004.mp4": ("in_sync", 0.9, 6.0, None)}
    (tmp_path / "test").mkdir()
    _videos(tmp_path / "test", table)
    monkeypatch.setattr(runner, "_run_pool", in_process(FakeChecker(table)))
    monkeypatch.setattr(runner, "scorer_identity", lambda model=None, config_dir=None: SCORER)
    res = CliRunner().invoke(command, [str(tmp_path), "--dataset", "lavdf", "--split", "test", "--no-report-cache",
                                       "--out", str(tmp_path / "out"), "--bootstrap", "0", "-q"])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "out/metrics.json").read_text())
    assert data["n_used"] == 3 and data["n_unlabelled"] == 1
    assert data["localisation"]["n_truth_segments"] == 3
    assert "AP@0.5" in res.output

    res = CliRunner().invoke(command, [str(tmp_path / "nope.csv")])
    assert res.exit_code == 3 and "no such file or folder" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(command, [str(tmp_path), "--dataset", "lavdf", "--split", "val"])
    assert res.exit_code == 3 and "unknown split" in res.output


def _table_checker(path, audio=None, model=None):
    return FakeChecker(TABLE)(path, audio)


def test_scoring_keeps_input_order_and_caches_as_it_goes(tmp_path):
    names = ["f1.mp4", "r1.mp4", "bad.mp4", "r2.mp4"]
    _videos(tmp_path, names)
    cache = ReportCache(tmp_path / "cache", SCORER)
    out = runner.score_videos([(str(tmp_path / n), None) for n in names], checker=_table_checker,
                              cache=cache, progress=False)
    assert [s.path.rsplit("/", 1)[-1] for s in out] == names
    assert [s.report.verdict for s in out] == ["mismatch", "in_sync", "error", "in_sync"]
    assert ReportCache(tmp_path / "cache", SCORER).get(str(tmp_path / "r2.mp4")).p_sync == 0.8


@pytest.mark.slow
def test_the_worker_pool_stops_a_hung_video_and_goes_on(tmp_path, monkeypatch):
    """eval and lse run on the audit's pool: a video past the time limit ends as an error, in order."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import audit_helpers

    monkeypatch.setenv("AVSYNC_AUDIT_CHECKER", audit_helpers.FAKE)
    names = ["a.mp4", "hang.mp4", "flag.mp4", "crash.mp4", "b.mp4"]
    _videos(tmp_path, names)
    batch = runner.BatchOptions(workers=2, time_limit_s=3)
    out = runner.score_videos([(str(tmp_path / n), None) for n in names], batch=batch, progress=False)
    assert [s.report.verdict for s in out] == ["in_sync", "error", "out_of_sync", "error", "in_sync"]
    assert out[1].report.error["code"] == "timeout" and out[3].report.error["code"] == "worker_crashed"
    assert out[2].report.av_offset_ms == 200.0 and out[0].report.scorer == {"name": "fake", "version": "0"}
