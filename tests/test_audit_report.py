"""report.html (checked in headless Chromium), summary.csv and `avsync merge`."""
from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audit_helpers  # noqa: E402

from avsync.audit import AuditOptions, run_audit  # noqa: E402
from avsync.audit.store import read_records  # noqa: E402
from avsync.cli.audit import merge as merge_cmd  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NAMES = ["ok_1.mp4", "ok_2.mp4", "flag_a.mp4", "flag_<b>&'c.mp4", "mismatch_d.mp4", "boom.mp4", "ok_3.mp4"]


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    (root / "in").mkdir()
    for name in NAMES:
        (root / "in" / name).write_bytes(name.encode())
    mp = pytest.MonkeyPatch()
    mp.setenv("AVSYNC_AUDIT_CHECKER", audit_helpers.FAKE)
    try:
        run_audit(AuditOptions([str(root / "in")], str(root / "out"), workers=2, quiet=True), log=lambda s: None)
    finally:
        mp.undo()
    return root


class _Tables(HTMLParser):
    """Rows of each <table id=...> as lists of cell texts, plus <img> sources inside cells."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.attrs: dict[str, dict] = {}
        self.images: list[str] = []
        self._table = self._cell = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
            self.attrs[self._table] = attrs
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            if "data-sort" in attrs:  # the full id; the cell shows file name and folder apart
                self._cell.append(attrs["data-sort"])
                self._cell.append("\0")
        elif tag == "img":
            self.images.append(attrs.get("src", ""))

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell)
            self._row.append((text.split("\0")[0] if "\0" in text else text).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    return parser


def test_report_is_self_contained_and_lists_what_it_should(audited):
    html = (audited / "out" / "report.html").read_text()
    # offline: no external resources of any kind
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script src" not in html and "<link" not in html
    assert html.count("<svg") >= 2 + 3  # two plots, one offset curve per flagged video
    page = _parse(html)
    counts = {row[0]: int(row[1]) for row in page.tables["counts"][1:]}
    assert counts["in_sync"] == 3 and counts["out_of_sync"] == 2 and counts["mismatch"] == 1 and counts["error"] == 1
    errors = page.tables["errors"][1:]
    assert [(Path(r[0]).name, r[1]) for r in errors] == [("boom.mp4", "internal")]
    # a flagged row says why, and how sure its offset is
    assert "low_confidence</span>" in html and "+180…+220 ms</span>" in html
    assert all(src.startswith("data:image/png;base64,") for src in page.images) and len(page.images) == 3


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_report_table_in_headless_chromium_has_every_flagged_file(audited, tmp_path):
    report = audited / "out" / "report.html"
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", report.resolve().as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    page = _parse(dom)
    assert "flagged" in page.tables, dom[:500]
    flagged = {r["id"] for r in read_records(audited / "out" / "results.jsonl")
               if r["verdict"] in ("out_of_sync", "mismatch")}
    rows = page.tables["flagged"][1:]
    assert sorted(row[0] for row in rows) == sorted(flagged)
    assert len(flagged) == 3
    # the page's script ran: it sorted the table by confidence, highest first
    assert page.attrs["flagged"].get("data-sorted-by", "").startswith("Confidence")
    column = page.tables["flagged"][0].index("Confidence")
    confidences = [float(row[column]) for row in rows]
    assert confidences == sorted(confidences, reverse=True)


def test_summary_csv_has_one_row_per_video(audited):
    with open(audited / "out" / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(Path(r["file"]).name for r in rows) == sorted(NAMES)
    boom = next(r for r in rows if r["file"].endswith("boom.mp4"))
    assert boom["verdict"] == "error" and boom["error_code"] == "internal"
    flag = next(r for r in rows if r["file"].endswith("flag_a.mp4"))
    assert float(flag["av_offset_ms"]) == 200.0 and flag["scorer"] == "fake 0"
    assert (float(flag["av_offset_ci_lo_ms"]), float(flag["av_offset_ci_hi_ms"])) == (180.0, 220.0)
    assert flag["drift_ci_lo_ms_per_min"] == "" and flag["verdict_reason"] == ""
    assert {r["verdict_reason"] for r in rows if r["verdict"] == "mismatch"} == {"low_confidence"}


def test_merge_combines_shards_and_dedupes(tmp_path, monkeypatch):
    monkeypatch.setenv("AVSYNC_AUDIT_CHECKER", audit_helpers.FAKE)
    (tmp_path / "in").mkdir()
    names = [f"v{i}.mp4" for i in range(6)] + ["flag_z.mp4"]
    for name in names:
        (tmp_path / "in" / name).write_bytes(b"")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,id\n" + "".join(f"in/{n},{n}\n" for n in names))
    for k in range(2):
        run_audit(AuditOptions([str(manifest)], str(tmp_path / f"s{k}"), workers=1, shard=(k, 2), quiet=True),
                  log=lambda s: None)
    # a third folder repeats shard 0 (an accidental rerun elsewhere): no duplicates in the merge
    shutil.copytree(tmp_path / "s0", tmp_path / "again")
    res = CliRunner().invoke(merge_cmd, [str(tmp_path / "s0"), str(tmp_path / "s1"), str(tmp_path / "again"),
                                         "--out", str(tmp_path / "all")])
    assert res.exit_code == 1, res.output  # flag_z.mp4 is out_of_sync
    merged = read_records(tmp_path / "all" / "results.jsonl")
    assert sorted(r["id"] for r in merged) == sorted(names)
    html = (tmp_path / "all" / "report.html").read_text()
    assert "flag_z.mp4" in _parse(html).tables["flagged"][1][0]
    res = CliRunner().invoke(merge_cmd, [str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "all"),
                                         "--fail-on", "mismatch"])
    assert res.exit_code == 0
    res = CliRunner().invoke(merge_cmd, [str(tmp_path / "in"), "--out", str(tmp_path / "x")])
    assert res.exit_code == 3 and "holds no results.jsonl" in res.output


def test_merge_prefers_a_verdict_over_an_error(tmp_path):
    from avsync.audit.merge import merge_dirs
    from avsync.audit.store import write_records

    for d, verdict, when in (("a", "in_sync", "2026-01-01T00:00:00+00:00"), ("b", "error", "2026-02-01T00:00:00+00:00")):
        (tmp_path / d).mkdir()
        write_records(tmp_path / d / "results.jsonl", [{"id": "x", "file": "x.mp4", "verdict": verdict,
                                                        "audit": {"finished_at": when}}])
    merge_dirs([str(tmp_path / "a"), str(tmp_path / "b")], str(tmp_path / "m"))
    assert [r["verdict"] for r in read_records(tmp_path / "m" / "results.jsonl")] == ["in_sync"]
