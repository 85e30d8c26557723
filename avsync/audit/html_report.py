"""``report.html``: one self-contained page for people who will not read JSON.

Everything is inline (CSS, a few lines of JavaScript for sorting, SVG plots, PNG thumbnails as
data URIs), so the file opens offline and can be mailed around.
"""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from avsync import __version__
from avsync.audit.store import write_text_atomic
from avsync.audit.summary import record_id, verdict_counts

COLORS = {"in_sync": "#2e7d32", "out_of_sync": "#c62828", "mismatch": "#6a1b9a", "no_face": "#757575",
          "no_speech": "#9e9e9e", "inconclusive": "#f9a825", "error": "#37474f"}
_B64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def write_report(path: str | Path, records: list[dict], flagged: set[str], title: str = "avsync audit") -> None:
    write_text_atomic(Path(path), render(records, flagged, title))


def render(records: list[dict], flagged: set[str], title: str = "avsync audit") -> str:
    counts = verdict_counts(records)
    flagged_rows = sorted((r for r in records if r.get("verdict") in flagged and r.get("verdict") != "error"),
                          key=lambda r: -(r.get("confidence") or 0.0))
    errors = sorted((r for r in records if r.get("verdict") == "error"), key=record_id)
    scorers = sorted({" ".join(str(v) for v in (r.get("scorer") or {}).values()) for r in records} - {""})
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='meta'>{len(records)} videos &middot; generated {now} by avsync {escape(__version__)}"
        f"{' &middot; scorer ' + escape(', '.join(scorers)) if scorers else ''}"
        f" &middot; flagged verdicts: {escape(', '.join(sorted(flagged - {'error'})) or 'none')}</p>",
        "<h2>Verdicts</h2>", _counts_table(counts, len(records)),
        "<div class='plots'>",
        "<figure><figcaption>Audio-video offset (ms; &gt; 0 = audio early)</figcaption>",
        _offset_histogram(records), "</figure>",
        "<figure><figcaption>Confidence (LSE-C) by verdict</figcaption>", _confidence_plot(records), "</figure>",
        "</div>",
        f"<h2>Flagged videos ({len(flagged_rows)})</h2>", _flagged_table(flagged_rows),
        f"<h2>Errors ({len(errors)})</h2>", _errors_table(errors),
        f"<script>{JS}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _counts_table(counts: dict[str, int], total: int) -> str:
    rows = []
    for verdict, n in counts.items():
        share = f"{100.0 * n / total:.1f}%" if total else "-"
        rows.append(f"<tr><td>{_badge(verdict)}</td><td class='num'>{n}</td><td class='num'>{share}</td></tr>")
    return ("<table id='counts'><thead><tr><th>Verdict</th><th>Videos</th><th>Share</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _flagged_table(records: list[dict]) -> str:
    if not records:
        return "<p class='none'>No flagged videos.</p><table id='flagged' class='sortable'><tbody></tbody></table>"
    head = ("<thead><tr><th data-type='text'>Video</th><th data-type='text'>Verdict</th>"
            "<th data-type='num'>Offset</th>"
            "<th data-type='num' data-key='confidence'>Confidence</th><th data-type='num'>Min dist</th>"
            "<th data-type='num'>p(sync)</th><th data-type='num'>Duration (s)</th>"
            "<th data-type='none'>Mouth</th><th data-type='none'>Offset curve</th></tr></thead>")
    rows = []
    for r in records:
        rid = record_id(r)
        cells = [
            f"<td class='video' data-sort='{escape(rid)}' title='{escape(str(r.get('file') or ''))}'>{_video_name(rid)}</td>",
            f"<td data-sort='{escape(str(r.get('verdict')))}'>"
            f"{_badge(str(r.get('verdict')))}{_reason(r.get('verdict_reason'))}</td>",
            _offset(r.get("av_offset_ms"), r.get("av_offset_frames"), r.get("av_offset_ci_ms")),
            _num(r.get("confidence"), "{:.2f}"), _num(r.get("min_dist"), "{:.2f}"), _num(r.get("p_sync"), "{:.2f}"),
            _num(r.get("duration_s"), "{:.1f}"),
            f"<td>{_thumbnail(r.get('mouth_strip_png_b64'))}</td>",
            f"<td>{_sparkline(r.get('offsets_frames'), r.get('offset_curve'), r.get('av_offset_frames'))}</td>",
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table id='flagged' class='sortable'>{head}<tbody>{''.join(rows)}</tbody></table>"


def _errors_table(records: list[dict]) -> str:
    if not records:
        return "<p class='none'>No errors.</p><table id='errors' class='sortable'><tbody></tbody></table>"
    rows = []
    for r in records:
        error = r.get("error") or {}
        rows.append(f"<tr><td class='video' data-sort='{escape(record_id(r))}' title='{escape(str(r.get('file') or ''))}'>"
                    f"{_video_name(record_id(r))}</td>"
                    f"<td><code>{escape(str(error.get('code') or 'unknown'))}</code></td>"
                    f"<td>{escape(str(error.get('message') or ''))}</td></tr>")
    return ("<table id='errors' class='sortable'><thead><tr><th data-type='text'>Video</th>"
            "<th data-type='text'>Code</th><th data-type='text'>Reason</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _video_name(rid: str) -> str:
    """File name first, its folder below in grey: long absolute paths stay readable."""
    folder, sep, name = rid.rpartition("/")
    if not sep or not name:
        return f"<span class='name'>{escape(rid)}</span>"
    return f"<span class='name'>{escape(name)}</span><span class='dir'>{escape(folder + sep)}</span>"


def _badge(verdict: str) -> str:
    color = COLORS.get(verdict, "#455a64")
    return f"<span class='badge' style='background:{color}'>{escape(verdict)}</span>"


def _num(value, fmt: str) -> str:
    if value is None:
        return "<td class='num' data-sort=''>&ndash;</td>"
    try:
        text = fmt.format(int(value) if "d" in fmt else float(value))
    except (TypeError, ValueError):
        return "<td class='num' data-sort=''>&ndash;</td>"
    return f"<td class='num' data-sort='{float(value)!r}'>{escape(text)}</td>"


def _reason(reason) -> str:
    return f"<span class='sub'>{escape(str(reason))}</span>" if reason else ""


def _offset(ms, frames, ci=None) -> str:
    if not isinstance(ms, (int, float)):
        return "<td class='num' data-sort=''>&ndash;</td>"
    below = ""
    if isinstance(ci, list) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci):
        below += f"<span class='sub'>{float(ci[0]):+.0f}…{float(ci[1]):+.0f} ms</span>"
    if isinstance(frames, (int, float)):
        below += f"<span class='sub'>{int(frames):+d} frames</span>"
    return f"<td class='num' data-sort='{float(ms)!r}'>{float(ms):+.0f} ms{below}</td>"


def _thumbnail(b64) -> str:
    if not isinstance(b64, str) or not _B64.match(b64):
        return "<span class='none'>no thumbnail</span>"
    return (f"<div class='stripbox' title='mouth crops over time; scroll sideways for more'>"
            f"<img class='strip' alt='mouth crops' src='data:image/png;base64,{b64}'></div>")


def _sparkline(offsets, curve, best, width: int = 160, height: int = 44) -> str:
    """Distance per candidate offset as a tiny inline SVG; the dip marks the detected offset."""
    if not offsets or not curve or len(offsets) != len(curve):
        return "<span class='none'>no curve</span>"
    points = [(float(x), float(y)) for x, y in zip(offsets, curve) if isinstance(y, (int, float))]
    if len(points) < 2:
        return "<span class='none'>no curve</span>"
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    pad = 4

    def sx(x):
        return pad + (x - x0) / ((x1 - x0) or 1) * (width - 2 * pad)

    def sy(y):
        return height - pad - (y - y0) / ((y1 - y0) or 1) * (height - 2 * pad)

    segments, current = [], []
    for x, y in zip(offsets, curve):
        if isinstance(y, (int, float)):
            current.append(f"{sx(float(x)):.1f},{sy(float(y)):.1f}")
        elif current:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    lines = "".join(f"<polyline fill='none' stroke='#1565c0' stroke-width='1.5' points='{' '.join(s)}'/>"
                    for s in segments)
    zero = f"<line x1='{sx(0):.1f}' x2='{sx(0):.1f}' y1='0' y2='{height}' stroke='#999' stroke-dasharray='2,2'/>" \
        if x0 <= 0 <= x1 else ""
    low = min(points, key=lambda p: p[1])
    dot = f"<circle cx='{sx(low[0]):.1f}' cy='{sy(low[1]):.1f}' r='3' fill='#c62828'/>"
    tip = f"distance by offset, {x0:+.0f} to {x1:+.0f} frames; best {best if best is not None else low[0]:+} frames"
    return (f"<svg class='curve' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
            f"xmlns='http://www.w3.org/2000/svg'><title>{escape(tip)}</title>{zero}{lines}{dot}</svg>")


def _offset_histogram(records: list[dict]) -> str:
    groups = _by_verdict(records, "av_offset_ms")
    if not groups:
        return "<p class='none'>No offsets to plot.</p>"
    return _histogram(groups, "offset (ms)", "offsets", zero_line=True)


def _confidence_plot(records: list[dict]) -> str:
    groups = _by_verdict(records, "confidence")
    if not groups:
        return "<p class='none'>No confidences to plot.</p>"
    return _histogram(groups, "confidence (LSE-C)", "confidence", zero_line=False)


def _by_verdict(records: list[dict], field: str) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = {}
    for r in records:
        value = r.get(field)
        if isinstance(value, (int, float)) and r.get("verdict") != "error":
            groups.setdefault(str(r.get("verdict")), []).append(float(value))
    return groups


def _histogram(groups: dict[str, list[float]], xlabel: str, salt: str, zero_line: bool) -> str:
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    values = [v for vs in groups.values() for v in vs]
    lo, hi = min(values), max(values)
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    bins = min(40, max(10, int(len(values) ** 0.5) * 2))
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt, "font.size": 9}):
        fig = Figure(figsize=(5.2, 2.8))
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        names = [v for v in COLORS if v in groups] + sorted(set(groups) - set(COLORS))
        ax.hist([groups[n] for n in names], bins=bins, range=(lo, hi), stacked=True,
                color=[COLORS.get(n, "#455a64") for n in names], label=names)
        if zero_line and lo <= 0 <= hi:
            ax.axvline(0, color="#999", lw=0.8, ls="--")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("videos")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout(rect=(0, 0, 1, 0.9))
        fig.legend(loc="upper center", ncol=len(names), fontsize=8, frameon=False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em 2em;color:#212121}
h1{margin-bottom:.2em}.meta{color:#616161}.none{color:#9e9e9e;font-style:italic}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border-bottom:1px solid #e0e0e0;padding:4px 8px;
text-align:left;vertical-align:middle}th{background:#fafafa;position:sticky;top:0}
table.sortable th[data-type]:not([data-type=none]){cursor:pointer;user-select:none}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.video{min-width:220px;max-width:420px;word-break:break-all}
td.video .name{display:block;font-weight:600}td.video .dir{display:block;color:#757575;font-size:.8em}
.badge{color:#fff;border-radius:3px;padding:1px 6px;font-size:.85em;white-space:nowrap}
.plots{display:flex;flex-wrap:wrap;gap:2em}figure{margin:0}figcaption{font-weight:600;margin-bottom:.3em}
.stripbox{max-width:420px;overflow-x:auto}img.strip{height:40px;max-width:none;display:block}
td.num{white-space:nowrap}td .sub{display:block;color:#757575;font-size:.8em}
"""

JS = """
(function(){
  function key(cell, type){
    var raw = cell.getAttribute('data-sort'); if (raw === null) raw = cell.textContent;
    if (type === 'num') { var v = parseFloat(raw); return isNaN(v) ? null : v; }
    return raw.toLowerCase();
  }
  function sortBy(table, col, type, dir){
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function(a, b){
      var x = key(a.cells[col], type), y = key(b.cells[col], type);
      if (x === y) return 0; if (x === null) return 1; if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    rows.forEach(function(r){ body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function(th){ th.classList.remove('asc', 'desc'); });
    var th = table.tHead.rows[0].cells[col];
    th.classList.add(dir > 0 ? 'asc' : 'desc');
    table.setAttribute('data-sorted-by', th.textContent + (dir > 0 ? ' asc' : ' desc'));
  }
  document.querySelectorAll('table.sortable').forEach(function(table){
    if (!table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function(th, col){
      var type = th.getAttribute('data-type'); if (!type || type === 'none') return;
      th.addEventListener('click', function(){
        sortBy(table, col, type, th.classList.contains('asc') ? -1 : 1);
      });
      if (th.getAttribute('data-key') === 'confidence') sortBy(table, col, type, -1);
    });
  });
})();
"""
