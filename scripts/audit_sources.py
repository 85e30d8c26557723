"""Per-source audit of the real clips: what the shipped model reads on genuine footage.

Runs `check` (default scorer) over the corpus' real clips and reports, per source repository
(the manifest's `repo`), the measured offset (median, IQR, share within +-40 ms of 0) and the
confidence. A source whose clips all sit at the same non-zero offset needs a look before
training (docs/data.md).

Results go to a JSONL file, one line per clip as it finishes; a rerun skips the clips already
there, so an interrupted run loses nothing.

    nice -n 10 python scripts/audit_sources.py ../shared/corpus/manifest.csv \
        --out runs/audit_sources.jsonl --per-source 12
    python scripts/audit_sources.py ../shared/corpus/manifest.csv --out runs/audit_sources.jsonl --table-only
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


WITHIN_MS = 40.0


def real_rows(manifest: Path, per_source: int | None, splits: set[str] | None) -> list[dict]:
    """Real clips, grouped by repo; the first ``per_source`` of each by file name (deterministic)."""
    by_repo: dict[str, list[dict]] = defaultdict(list)
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["category"] == "real" and (not splits or row["split"] in splits):
                by_repo[row["repo"]].append(row)
    picked = []
    for repo in sorted(by_repo):
        rows = sorted(by_repo[repo], key=lambda r: r["file"])
        picked.extend(rows if per_source is None else rows[:per_source])
    return picked


def done_files(out: Path) -> set[str]:
    if not out.exists():
        return set()
    done = set()
    for line in out.read_text().splitlines():
        try:
            done.add(json.loads(line)["file"])
        except (json.JSONDecodeError, KeyError):
            continue  # a torn last line from a kill: that clip is redone
    return done


def audit_clip(row: dict, root: Path) -> dict:
    from avsync.pipeline import check

    tick = time.perf_counter()
    report = check(str(root / row["file"]), jobs=1)
    return {"file": row["file"], "repo": row["repo"], "split": row["split"], "duration_s": float(row["duration_s"]),
            "fps": float(row["fps"]), "verdict": report.verdict, "av_offset_ms": report.av_offset_ms,
            "av_offset_ms_subframe": report.av_offset_ms_subframe, "av_offset_frames": report.av_offset_frames,
            "confidence": report.confidence, "error": (report.error or {}).get("code"),
            "seconds": round(time.perf_counter() - tick, 2)}


def run(rows: list[dict], root: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    data = out.read_bytes() if out.exists() else b""
    if data and not data.endswith(b"\n"):
        out.write_bytes(data[: data.rfind(b"\n") + 1])
    done = done_files(out)
    todo = [r for r in rows if r["file"] not in done]
    print(f"{len(rows) - len(todo)} clips done before, {len(todo)} to go", file=sys.stderr)
    with out.open("a") as fh:
        for i, row in enumerate(todo, 1):
            result = audit_clip(row, root)
            fh.write(json.dumps(result) + "\n")
            fh.flush()
            print(f"[{i}/{len(todo)}] {result['seconds']:.1f}s {row['repo']} {Path(row['file']).name}: "
                  f"{result['verdict']} {result['av_offset_ms']} ms conf {result['confidence']}", file=sys.stderr)


def table(out: Path, wanted: set[str] | None = None) -> str:
    """The per-source markdown table from the results file (only ``wanted`` files when given)."""
    by_repo: dict[str, list[dict]] = defaultdict(list)
    for line in out.read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if wanted is None or r["file"] in wanted:
            by_repo[r["repo"]].append(r)
    lines = ["| source (repo) | split | clips | offset measured | median ms | IQR ms | within ±40 ms | "
             "median confidence | in_sync |",
             "|---|---|---|---|---|---|---|---|---|"]
    for repo in sorted(by_repo, key=lambda k: (-len(by_repo[k]), k)):
        rs = by_repo[repo]
        offs = np.array([r["av_offset_ms"] for r in rs if r["av_offset_ms"] is not None], float)
        conf = np.array([r["confidence"] for r in rs if r["confidence"] is not None], float)
        split = "/".join(sorted({r["split"] for r in rs}))
        in_sync = sum(r["verdict"] == "in_sync" for r in rs)
        if len(offs):
            q1, med, q3 = np.percentile(offs, [25, 50, 75])
            within = np.mean(np.abs(offs) <= WITHIN_MS)
            cells = [f"{med:+.0f}", f"{q1:+.0f}…{q3:+.0f}", f"{100 * within:.0f}%"]
        else:
            cells = ["–", "–", "–"]
        conf_cell = f"{np.median(conf):.2f}" if len(conf) else "–"
        lines.append(f"| {repo} | {split} | {len(rs)} | {len(offs)} | " + " | ".join(cells)
                     + f" | {conf_cell} | {in_sync} |")
    all_offs = np.array([r["av_offset_ms"] for rs in by_repo.values() for r in rs if r["av_offset_ms"] is not None])
    if len(all_offs):
        lines.append(f"\nAll: {sum(map(len, by_repo.values()))} clips, {len(all_offs)} with an offset, "
                     f"median {np.median(all_offs):+.0f} ms, {100 * np.mean(np.abs(all_offs) <= WITHIN_MS):.0f}% "
                     f"within ±{WITHIN_MS:.0f} ms.")
    return "\n".join(lines)


def per_source_arg(value: str) -> int | None:
    if value == "all":
        return None
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number or 'all', not {value!r}")
    return int(value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--out", type=Path, default=Path("runs/audit_sources.jsonl"), help="per-clip results (JSONL)")
    ap.add_argument("--per-source", type=per_source_arg, default=None, metavar="N|all",
                    help="real clips per source repository, the first N by file name (default: all)")
    ap.add_argument("--split", action="append", help="only these manifest splits (repeatable)")
    ap.add_argument("--jobs", type=int, default=1, help="only 1: clips run one after another in this process")
    ap.add_argument("--table-only", action="store_true", help="print the table from --out without running")
    args = ap.parse_args()
    if args.jobs != 1:
        ap.error("--jobs: only 1 is supported (the audit is meant to run beside other work)")
    if not args.manifest.is_file():
        ap.error(f"no such manifest: {args.manifest}")
    rows = real_rows(args.manifest, args.per_source, set(args.split) if args.split else None)
    if args.table_only and not args.out.is_file():
        ap.error(f"--table-only: no results file {args.out}")
    if not args.table_only:
        run(rows, args.manifest.parent, args.out)
    print(table(args.out, {r["file"] for r in rows}))


if __name__ == "__main__":
    main()
