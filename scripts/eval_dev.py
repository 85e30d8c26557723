#!/usr/bin/env python
"""`avsync check` on the dev real clips: as they are, with shifted audio, and with another clip's audio.

Variants: as is; audio delayed by 80, 200, 400 and 1000 ms; audio advanced by 200 and 600 ms;
another dev clip's audio. The face front-end runs once per clip; each variant re-times (or swaps)
the audio features of that one analysis and measures it exactly as `check` does (the pipeline's
`measure`: ±2 s search, block-bootstrap interval), so every variant costs only scoring.

Verdicts are out of fold: the clips are grouped by source (the manifest's repo column) and each
source is judged by a calibration fitted (`avsync.calibration.cross_fit`, as `avsync calibrate`
does) on the genuine and other-audio measurements of the other sources only. The shipped
calibration, fitted on all of them, is never used here.

Prints per variant: verdict accuracy against the expected verdict (in_sync for the original and
the 80 ms delay, inside the 125 ms late tolerance; out_of_sync for the other shifts; mismatch for
another clip's audio), the verdict counts, and the mean / median absolute error of the corrected
offset in ms against the applied shift and against the clip's own measured offset plus the shift
(real clips can carry a real offset of their own). Then the share of genuine clips read within
40 ms of 0, and ROC AUC and EER of `confidence`, genuine against another clip's audio. Then whether
the reported uncertainty holds out of fold: per shifted variant, how often `av_offset_ci_ms`
contains the applied shift (nominally `ci_level`, 95%), and p_sync's Brier score, expected
calibration error and reliability by bin (`avsync/evaluation/uncertainty.py`; `--plot PNG` draws both).

    python scripts/eval_dev.py --model baseline [--json OUT] [--manifest ../shared/corpus/manifest.csv]
    python scripts/eval_dev.py --split train --source filby89/spectre ...   # train sources a model never saw
    python scripts/eval_dev.py --cut-audio   # shifted audio cut to the picture, as an edited file keeps it
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

DEFAULT_MANIFEST = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "manifest.csv"
# (name, audio delay in s (> 0 = audio late), expected verdict); "other" = another clip's audio.
VARIANTS = [
    ("as is", 0.0, "in_sync"),
    ("delay 80 ms", 0.08, "in_sync"),
    ("delay 200 ms", 0.2, "out_of_sync"),
    ("delay 400 ms", 0.4, "out_of_sync"),
    ("delay 1000 ms", 1.0, "out_of_sync"),
    ("advance 200 ms", -0.2, "out_of_sync"),
    ("advance 600 ms", -0.6, "out_of_sync"),
    ("other audio", None, "mismatch"),
]
TARGET_FLAG_RATE = 0.02  # as `avsync calibrate`'s default
WITHIN_MS = 40.0  # the "genuine offsets within 40 ms of 0"


def variant_rows(entry, group, analysis, others, scorer, settings, cut_audio: bool = False) -> list[dict]:
    """One measurement row per variant (several for other audio) of one analysed clip."""
    from avsync.calibration import measurement_row
    from avsync.pipeline import measure

    rows = []
    audio = analysis.audio
    for name, delay, _ in VARIANTS:
        if delay is None:
            pairs = [(audio_of, measure(analysis, scorer, settings, audio=a)) for audio_of, a in others]
        else:
            shifted = dataclasses.replace(audio, t0_s=audio.t0_s + delay)
            if cut_audio:
                shifted = within_video(shifted, analysis.n_frames * analysis.frame_dt)
            pairs = [(entry.slug, measure(analysis, scorer, settings, audio=shifted))]
        for audio_of, m in pairs:
            rows.append({"variant": name, **measurement_row(entry, audio_of, group, m)})
    return rows


def within_video(audio, duration_s: float):
    """The audio rows that fall inside the video's span: what a file whose audio was shifted on an
    editor's timeline and cut to the picture keeps (the shift then loses the audio's far end)."""
    times = audio.t0_s + audio.hop_s * np.arange(len(audio))
    lo, hi = np.searchsorted(times, 0.0), np.searchsorted(times, duration_s)
    return dataclasses.replace(audio, mfcc=audio.mfcc[lo:hi], log_energy=audio.log_energy[lo:hi],
                               speech=audio.speech[lo:hi], t0_s=audio.t0_s + audio.hop_s * lo)


def judge(rows: list[dict], settings) -> dict:
    """Out-of-fold verdict, corrected offset and interval of every row (added in place); the folds."""
    from avsync.calibration import cross_fit
    from avsync.verdict import OffsetEstimate, decide

    scores = {"genuine": [r for r in rows if r["variant"] == "as is"],
              "mismatched": [r for r in rows if r["variant"] == "other audio"]}
    folds = cross_fit(scores, settings.verdict, TARGET_FLAG_RATE, "out-of-fold")
    for r in rows:
        r.update(verdict_oof=r["verdict"], av_offset_ms=None, ci_ms=None, confidence=None, p_sync=None)
        if r["estimate"] is not None:
            d = decide(OffsetEstimate(**r["estimate"]), folds[r["group"]], settings.verdict)
            r.update(verdict_oof=d.verdict, reason=d.reason, av_offset_ms=d.offset_ms, ci_ms=d.ci_ms,
                     confidence=r["estimate"]["confidence"], p_sync=d.p_sync)
    return {g: c.to_dict() for g, c in folds.items()}


def summarise(rows: list[dict]) -> dict:
    """Per variant: verdict accuracy, verdict counts, offset errors, interval coverage; plus the
    mismatch AUC and p_sync's reliability."""
    from avsync.evaluation.offsets import ranking
    from avsync.evaluation.uncertainty import interval_coverage, p_sync_reliability

    own = {r["id"]: r["av_offset_ms"] for r in rows if r["variant"] == "as is"}
    table = {}
    for name, delay, expected in VARIANTS:
        sel = [r for r in rows if r["variant"] == name]
        verdicts = [r["verdict_oof"] for r in sel]
        entry = {"expected": expected, "n": len(sel),
                 "accuracy": (sum(v == expected for v in verdicts) / len(sel)) if sel else None,
                 "verdicts": {v: verdicts.count(v) for v in sorted(set(verdicts))}}
        if delay is not None:
            target = -1000.0 * delay  # av_offset_ms > 0 means audio early
            err = [abs(r["av_offset_ms"] - target) for r in sel if r["av_offset_ms"] is not None]
            rel = [abs(r["av_offset_ms"] - (own[r["id"]] + target)) for r in sel
                   if r["av_offset_ms"] is not None and own.get(r["id"]) is not None]
            entry.update(expected_offset_ms=target, n_offsets=len(err),
                         abs_error_ms={"mean": _stat(np.mean, err), "median": _stat(np.median, err)},
                         abs_error_vs_own_ms={"mean": _stat(np.mean, rel), "median": _stat(np.median, rel)},
                         interval_coverage=interval_coverage([r["ci_ms"] for r in sel], [target] * len(sel)))
        table[name] = entry
    genuine = [r["confidence"] for r in rows if r["variant"] == "as is" and r["confidence"] is not None]
    other = [r["confidence"] for r in rows if r["variant"] == "other audio" and r["confidence"] is not None]
    as_is = [r for r in rows if r["variant"] == "as is"]
    within = sum(r["av_offset_ms"] is not None and abs(r["av_offset_ms"]) <= WITHIN_MS for r in as_is)
    by_source = {}
    for group in sorted({r["group"] for r in as_is}):
        read = [r["av_offset_ms"] for r in as_is if r["group"] == group and r["av_offset_ms"] is not None]
        by_source[group] = {"n": sum(r["group"] == group for r in as_is), "n_offsets": len(read),
                            "median_offset_ms": _stat(np.median, read),
                            "within": sum(abs(v) <= WITHIN_MS for v in read),
                            "in_sync": sum(r["group"] == group and r["verdict_oof"] == "in_sync" for r in as_is)}
    p_sync = [[r["p_sync"] for r in rows if r["variant"] == kind and r["p_sync"] is not None]
              for kind in ("as is", "other audio")]
    return {"variants": table, "mismatch": ranking(genuine, other),
            "p_sync_reliability": p_sync_reliability(*p_sync), "p_sync_ranking": ranking(*p_sync),
            "genuine_within_ms": {"ms": WITHIN_MS, "n": len(as_is), "within": within,
                                  "rate": within / len(as_is) if as_is else None},
            "genuine_by_source": by_source}


def _stat(fn, values):
    return round(float(fn(values)), 1) if values else None


def format_summary(name: str, summary: dict) -> str:
    head = f"{'variant':<16}{'expected':<13}{'accuracy':>9}{'n':>4}  {'|err| mean/median ms':>21}  " \
           f"{'vs own offset':>14}  verdicts"
    lines = [f"scorer {name}", head, "-" * len(head)]
    for variant, e in summary["variants"].items():
        acc = "-" if e["accuracy"] is None else f"{100 * e['accuracy']:.0f}%"
        err = rel = ""
        if "abs_error_ms" in e:
            err = _pair(e["abs_error_ms"])
            rel = _pair(e["abs_error_vs_own_ms"])
        verdicts = ", ".join(f"{k} {v}" for k, v in e["verdicts"].items())
        lines.append(f"{variant:<16}{e['expected']:<13}{acc:>9}{e['n']:>4}  {err:>21}  {rel:>14}  {verdicts}")
    w = summary["genuine_within_ms"]
    if w["rate"] is not None:
        lines.append(f"genuine clips whose corrected offset is within {w['ms']:.0f} ms of 0: {100 * w['rate']:.0f}% "
                     f"({w['within']} of {w['n']}; no offset counts as outside)")
    lines.append("genuine clips by source (corrected offset, out of fold): median ms, within "
                 f"{WITHIN_MS:.0f} ms, in_sync")
    for group, g in summary["genuine_by_source"].items():
        med = "-" if g["median_offset_ms"] is None else f"{g['median_offset_ms']:+.0f}"
        lines.append(f"  {group:<56}{g['n']:>3} clips  {med:>6}  {g['within']:>3}  {g['in_sync']:>3}")
    m = summary["mismatch"]
    auc = "-" if m["roc_auc"] is None else f"{m['roc_auc']:.3f}"
    eer = "-" if m["eer"] is None else f"{100 * m['eer']:.1f}%"
    lines.append(f"confidence, genuine vs another clip's audio: ROC AUC {auc}, EER {eer} "
                 f"({m['n_genuine']} vs {m['n_mismatched']})")
    lines.append("av_offset_ci_ms contains the applied shift (out of fold): " + ", ".join(
        f"{name} {_share(c)}" for name, c in coverage_by_variant(summary).items()))
    rel = summary["p_sync_reliability"]
    if rel["brier"] is not None:
        lines.append(f"p_sync, genuine vs another clip's audio: ROC AUC {summary['p_sync_ranking']['roc_auc']:.3f}; "
                     f"weighted equally, Brier {rel['brier']:.3f}, "
                     f"ECE {rel['ece']:.3f}; by bin, mean p_sync -> genuine share: " + ", ".join(
                         f"{b['mean_p']:.2f} -> {b['observed']:.2f}" for b in rel["table"]))
    return "\n".join(lines)


def coverage_by_variant(summary: dict) -> dict[str, dict]:
    """The interval coverage of each variant with a known shift (every one but another clip's audio)."""
    return {name: e["interval_coverage"] for name, e in summary["variants"].items() if "interval_coverage" in e}


def _share(count: dict) -> str:
    if count["rate"] is None:
        return "-"
    return f"{100 * count['rate']:.0f}% ({count['covered']}/{count['n']})"


def _pair(stats: dict) -> str:
    if stats["mean"] is None:
        return "-"
    return f"{stats['mean']:.0f} / {stats['median']:.0f}"


def plot_summary(summary: dict, level: float, path: Path, title: str) -> None:
    from avsync.evaluation.uncertainty import plot_uncertainty

    print(f"plot: {plot_uncertainty(coverage_by_variant(summary), level, summary['p_sync_reliability'], path, title)}")


def _numbered(path: str, i: int) -> Path:
    p = Path(path)
    return p if i == 0 else p.with_name(f"{p.stem}-{i}{p.suffix}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default=str(DEFAULT_MANIFEST), help="corpus manifest.csv (default: %(default)s)")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--category", default="real")
    parser.add_argument("--source", action="append", metavar="REPO",
                        help="only clips of this source repository (repeatable), e.g. train sources no model saw")
    parser.add_argument("--model", action="append", help="scorer, repeatable (default: the default model)")
    parser.add_argument("--json", dest="json_out", help="write per-clip rows and the summary to this JSON file")
    parser.add_argument("--plot", metavar="PNG", help="plot interval coverage and p_sync reliability (one file per "
                                                     "model: PNG, or PNG with -N before the suffix for the N-th)")
    parser.add_argument("--cut-audio", action="store_true",
                        help="cut each shifted audio to the video's span, as an edit shifted on a timeline would "
                             "(default: the audio keeps its far end past the picture)")
    parser.add_argument("--negatives", type=int, default=3, help="other clips' audio per clip (default 3, as calibrate)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=None, help="processes for the face front-end")
    parser.add_argument("--cache", help="folder to keep front-end analyses in and reuse")
    parser.add_argument("--config-dir", help="read YAML configs from this folder")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from avsync.config import Settings
    from avsync.sources import read_sources
    from avsync.evaluation.clipset import AnalysisCache, iter_analyses, partner_audio
    from avsync.calibration import clip_groups
    from avsync.pipeline import resolve_scorer

    if not Path(args.manifest).exists():
        print(f"eval_dev: error: no manifest at {args.manifest}", file=sys.stderr)
        return 3
    entries = read_sources([args.manifest], split=[args.split], category=[args.category])
    entries = [e for e in entries if not args.source or e.source in args.source]
    if not entries:
        print(f"eval_dev: error: no {args.split}/{args.category} clips{' of ' + ', '.join(args.source) if args.source else ''}"
              f" in {args.manifest}", file=sys.stderr)
        return 3
    if args.plot and not Path(args.plot).resolve().parent.is_dir():
        print(f"eval_dev: error: no folder for --plot {args.plot}", file=sys.stderr)
        return 3
    settings = Settings.load(args.config_dir)
    try:
        scorers = [resolve_scorer(m) for m in (args.model or ["default"])]
    except Exception as exc:
        print(f"eval_dev: error: cannot load model: {exc}", file=sys.stderr)
        return 3
    audios, partners = partner_audio(entries, settings, args.negatives, args.seed)

    groups = clip_groups(entries)
    rows: list[list[dict]] = [[] for _ in scorers]  # by position: two checkpoints share a scorer name
    skipped = []
    cache = AnalysisCache(args.cache) if args.cache else None
    for index, entry, analysis, reason in iter_analyses(entries, settings, scorers, args.jobs, cache,
                                                        not args.no_progress, desc="eval_dev"):
        if analysis is None:
            skipped.append({"id": entry.slug, "reason": reason})
            continue
        others = [(entries[j].slug, audios[j]) for j in partners.get(index, [])]
        for i, scorer in enumerate(scorers):
            rows[i] += variant_rows(entry, groups[entry.slug], analysis, others, scorer, settings, args.cut_audio)

    print(f"{len(entries) - len(skipped)} {args.split} {args.category} clips from {args.manifest}"
          + (f" ({len(skipped)} could not be analysed)" if skipped else ""))
    for s in skipped:
        print(f"  skipped {s['id']}: {s['reason']}")
    out = {"manifest": args.manifest, "split": args.split, "category": args.category, "skipped": skipped,
           "scorers": {}}
    failed = 0
    for i, (given, scorer) in enumerate(zip(args.model or ["default"], scorers)):
        folds = judge(rows[i], settings)
        summary = summarise(rows[i])
        print()
        print(format_summary(f"{scorer.name} {scorer.version} ({given})", summary))
        out["scorers"][f"{i}:{given}"] = {"scorer": scorer.describe(), "summary": summary, "folds": folds,
                                          "rows": rows[i]}
        if args.plot:
            try:
                plot_summary(summary, settings.verdict.ci_level, _numbered(args.plot, i),
                             f"{scorer.name} {scorer.version} ({given}), {args.split} {args.category}, out of fold")
            except OSError as exc:  # the figures above are printed; --json is still written below
                print(f"eval_dev: error: cannot write the plot: {exc.strerror or exc}", file=sys.stderr)
                failed = 3
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(out, indent=1))
    return failed


if __name__ == "__main__":
    sys.exit(main())
