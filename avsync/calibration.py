"""``avsync calibrate``: verdict thresholds and the p_sync map, fitted on a labelled split.

Genuine = a clip with its own audio; mismatched = a clip with another clip's audio (never one that
carries the same recording). Per scorer:

- ``min_confidence``: the largest threshold that flags at most ``target_flag_rate`` of the genuine
  clips as ``mismatch`` (confidence below it);
- ``p_sync``: a logistic regression of genuine-vs-mismatched on confidence (scikit-learn), stored as
  slope and intercept in raw confidence units for ``avsync.verdict.p_sync``.

- ``offset_margin``: the smallest tolerance gap under which at most ``target_flag_rate`` of the
  genuine clips are flagged in all, ``out_of_sync`` included (see ``choose_offset_margin``).

Results go into ``verdict.yaml`` in place: only the ``min_confidence``, ``offset_margin``, ``p_sync``
and ``fitted_on`` blocks are rewritten, every other line (comments included) is kept.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import re
from pathlib import Path

import numpy as np
import yaml

from avsync.config import Settings, VerdictConfig
from avsync.sources import Clip
from avsync.evaluation.clipset import AnalysisCache, iter_analyses, partner_audio
from avsync.pipeline import build_report
from avsync.scoring.base import Scorer
from avsync.verdict import sync_verdict

FLAGGED = ("out_of_sync", "mismatch")


def collect(entries: list[Clip], scorers: list[Scorer], settings: Settings, negatives: int = 3, seed: int = 0,
            jobs: int | None = None, cache: AnalysisCache | None = None, progress: bool = True) -> dict:
    """Per scorer: the genuine clips' and the mismatched pairs' reports (as ``check`` gives them),
    from one front-end pass per clip."""
    audios, partners = partner_audio(entries, settings, negatives, seed)
    out = {s.name: {"genuine": [], "mismatched": []} for s in scorers}
    skipped = []
    for index, entry, analysis, reason in iter_analyses(entries, settings, scorers, jobs, cache, progress,
                                                        desc="calibrate"):
        if analysis is None:
            skipped.append({"id": entry.id, "reason": reason})
            continue
        for scorer in scorers:
            rep = build_report(analysis, scorer, settings)
            out[scorer.name]["genuine"].append(_row(entry.id, None, entry.category, rep))
            for j in partners.get(index, []):
                other = build_report(dataclasses.replace(analysis, audio=audios[j]), scorer, settings)
                out[scorer.name]["mismatched"].append(_row(entry.id, entries[j].id, entry.category, other))
    return {"scores": out, "skipped": skipped}


def _row(video: str, audio: str | None, category: str, report) -> dict:
    return {"id": video, "audio_of": audio, "category": category, "verdict": report.verdict,
            "confidence": report.confidence, "av_offset_ms": report.av_offset_ms, "tolerance_gap": report.tolerance_gap}


def choose_threshold(genuine: list[float], target_flag_rate: float) -> float:
    """The largest threshold (4 decimals) that leaves at most ``target_flag_rate`` of the genuine
    confidences below it. Confidences arrive rounded to 4 decimals, so the threshold stays half a
    unit below the first unflagged value to keep that clip unflagged."""
    values = np.sort(np.asarray(genuine, float))
    if not len(values):
        raise ValueError("no genuine clip was scored")
    allowed = int(np.floor(target_flag_rate * len(values) + 1e-9))
    return float(np.floor(values[min(allowed, len(values) - 1)] * 1e4 - 0.5) / 1e4)


def fit_p_sync(genuine: list[float], mismatched: list[float]) -> dict[str, float]:
    """Logistic map confidence -> P(audio belongs to the face), in raw confidence units. The
    feature is standardised for the fit so that the default L2 penalty means the same for every
    scorer's confidence scale; classes are weighted equally whatever their counts."""
    from sklearn.linear_model import LogisticRegression

    x = np.r_[genuine, mismatched].astype(float)
    y = np.r_[np.ones(len(genuine)), np.zeros(len(mismatched))].astype(int)
    if len(np.unique(y)) < 2:
        raise ValueError("p_sync needs both genuine and mismatched scores")
    mu, sigma = float(x.mean()), float(x.std()) or 1.0
    model = LogisticRegression(class_weight="balanced").fit(((x - mu) / sigma)[:, None], y)
    w, b = float(model.coef_[0, 0]), float(model.intercept_[0])
    return {"slope": round(w / sigma, 6), "intercept": round(b - w * mu / sigma, 6)}


def choose_offset_margin(genuine: list[dict], cfg: VerdictConfig, name: str, target_flag_rate: float) -> float:
    """The smallest margin that flags at most ``target_flag_rate`` of the genuine clips in all
    (mismatch or out_of_sync), given the other thresholds in ``cfg``.

    A genuine clip whose best offset lies outside the tolerance is still in sync when an offset
    inside the tolerance fits nearly as well; the margin says how nearly, in the scorer's distance.
    """
    gaps = sorted({r["tolerance_gap"] for r in genuine if r.get("tolerance_gap") is not None} | {0.0})

    def flagged(margin: float) -> int:
        trial = dataclasses.replace(cfg, offset_margin={**cfg.offset_margin, name: margin})
        return sum(_reverdict(r, trial, name) in FLAGGED for r in genuine)

    # clips flagged as mismatch stay flagged whatever the margin: aim for the fewest reachable
    allowed = max(int(np.floor(target_flag_rate * len(genuine) + 1e-9)), flagged(gaps[-1]))
    return float(next(m for m in gaps if flagged(m) <= allowed))


def calibrate_scorer(name: str, scores: dict, cfg: VerdictConfig, target_flag_rate: float) -> dict:
    """Threshold, p_sync and what the new verdicts flag, for one scorer's collected scores."""
    genuine = [r["confidence"] for r in scores["genuine"] if r["confidence"] is not None]
    mismatched = [r["confidence"] for r in scores["mismatched"] if r["confidence"] is not None]
    threshold = choose_threshold(genuine, target_flag_rate)
    params = fit_p_sync(genuine, mismatched)
    new_cfg = dataclasses.replace(cfg, min_confidence={**cfg.min_confidence, name: threshold},
                                  p_sync={**cfg.p_sync, name: params})
    margin = choose_offset_margin(scores["genuine"], new_cfg, name, target_flag_rate)
    new_cfg = dataclasses.replace(new_cfg, offset_margin={**cfg.offset_margin, name: margin})
    verdicts = [_reverdict(r, new_cfg, name) for r in scores["genuine"]]
    counts = {v: verdicts.count(v) for v in sorted(set(verdicts))}
    n_gen = len(scores["genuine"])
    caught = sum(_reverdict(r, new_cfg, name) == "mismatch" for r in scores["mismatched"] if r["confidence"] is not None)
    return {
        "scorer": name, "min_confidence": threshold, "p_sync": params, "offset_margin": margin,
        "n_genuine": n_gen, "n_genuine_scored": len(genuine), "n_mismatched": len(scores["mismatched"]),
        "n_mismatched_scored": len(mismatched),
        "genuine_mismatch_rate": sum(c < threshold for c in genuine) / len(genuine),
        "genuine_flag_rate": sum(counts.get(v, 0) for v in FLAGGED) / n_gen if n_gen else None,
        "genuine_verdicts": counts,
        "genuine_flagged_by_category": _by_category(scores["genuine"], verdicts),
        "mismatch_detection_rate": caught / len(mismatched) if mismatched else None,
    }


def _reverdict(row: dict, cfg: VerdictConfig, name: str) -> str:
    if row["confidence"] is None or row["av_offset_ms"] is None:
        return row["verdict"]  # no_face / no_speech / inconclusive / error: thresholds do not apply
    return sync_verdict(row["av_offset_ms"], row["confidence"], cfg, name, row.get("tolerance_gap"))


def _by_category(rows: list[dict], verdicts: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row, verdict in zip(rows, verdicts):
        cell = out.setdefault(row["category"] or "-", {"n": 0, "out_of_sync": 0, "mismatch": 0})
        cell["n"] += 1
        if verdict in FLAGGED:
            cell[verdict] += 1
    return out


# --- writing verdict.yaml -------------------------------------------------------------------------

HEADER = ("# Verdict thresholds. `avsync calibrate` rewrites min_confidence / p_sync / fitted_on per scorer.\n"
          "# Tolerance: ITU-R BT.1359 detectability window (audio early <= 45 ms, late <= 125 ms).\n")


def replace_top_level(text: str, key: str, value, comment: str = "") -> str:
    """``text`` with the top-level YAML block ``key:`` (its line and its indented continuation)
    replaced by ``value``; appended when absent. Other lines, comments included, are untouched.
    ``comment`` goes above the block unless a comment line is there already."""
    lines = text.splitlines(keepends=True)
    block = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False, allow_unicode=True)
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    at = next((i for i, line in enumerate(lines) if pattern.match(line)), None)
    if comment and not (at and lines[at - 1].lstrip().startswith("#")):
        block = f"# {comment}\n" + block
    if at is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        return "".join(lines) + block
    end = at + 1
    while end < len(lines) and (lines[end][:1] in (" ", "\t", "-") or
                                (not lines[end].strip() and _indented_after(lines, end))):
        end += 1
    lines[at:end] = [block]
    return "".join(lines)


def _indented_after(lines: list[str], j: int) -> bool:
    for line in lines[j + 1:]:
        if line.strip():
            return line[:1] in (" ", "\t")
    return False


def write_verdict_config(config_dir: str | Path, results: list[dict], fitted_on: dict[str, dict]) -> Path:
    """Merge each scorer's threshold, p_sync and provenance into ``config_dir/verdict.yaml``."""
    path = Path(config_dir) / "verdict.yaml"
    if path.exists():
        text = path.read_text()
        current = yaml.safe_load(text) or {}
    else:
        text = HEADER + yaml.safe_dump(VerdictConfig().to_dict(), sort_keys=False)
        current = {}
    min_conf = dict(current.get("min_confidence") or {})
    margins = dict(current.get("offset_margin") or {})
    p_sync = dict(current.get("p_sync") or {})
    provenance = current.get("fitted_on")
    provenance = dict(provenance) if isinstance(provenance, dict) else {}
    for res in results:
        min_conf[res["scorer"]] = res["min_confidence"]
        margins[res["scorer"]] = res["offset_margin"]
        p_sync[res["scorer"]] = res["p_sync"]
        provenance[res["scorer"]] = fitted_on[res["scorer"]]
    notes = {
        "fitted_on": "Where each scorer's min_confidence and p_sync came from (written by avsync calibrate).",
        "offset_margin": ("Outside the tolerance, a clip is still in_sync when the best offset inside it fits within this\n"
                          "# margin (scorer distance) of the best offset: the report's tolerance_gap <= margin."),
    }
    for key, value in (("min_confidence", min_conf), ("offset_margin", margins), ("p_sync", p_sync),
                       ("fitted_on", provenance)):
        text = replace_top_level(text, key, value, notes.get(key, ""))
    VerdictConfig.from_dict(yaml.safe_load(text))  # refuse to write a file the loader would reject
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def provenance(result: dict, manifest: str, split: list[str], categories: list[str], negatives: int, seed: int,
               target_flag_rate: float) -> dict:
    return {
        "date": _dt.date.today().isoformat(), "manifest": str(manifest), "split": split, "categories": categories,
        "genuine_clips": result["n_genuine_scored"], "mismatched_pairs": result["n_mismatched_scored"],
        "negatives_per_clip": negatives, "seed": seed, "target_flag_rate": target_flag_rate,
        "genuine_flag_rate": round(result["genuine_flag_rate"], 4) if result["genuine_flag_rate"] is not None else None,
        "mismatch_detection_rate": (round(result["mismatch_detection_rate"], 4)
                                    if result["mismatch_detection_rate"] is not None else None),
    }


def format_summary(results: list[dict], skipped: list[dict]) -> str:
    lines = []
    for r in results:
        lines.append(f"{r['scorer']}: min_confidence {r['min_confidence']:.4f}   "
                     f"p_sync = 1 / (1 + exp(-({r['p_sync']['slope']:.3f} * confidence + {r['p_sync']['intercept']:.3f})))")
        lines.append(f"  offset_margin {r['offset_margin']:.4f} (a best offset outside the tolerance is in_sync when one inside "
                     "fits within this distance of it)")
        lines.append(f"  genuine clips scored {r['n_genuine_scored']}/{r['n_genuine']}; flagged as mismatch "
                     f"{100 * r['genuine_mismatch_rate']:.1f}%; other-audio pairs caught as mismatch "
                     + ("-" if r["mismatch_detection_rate"] is None else f"{100 * r['mismatch_detection_rate']:.1f}%")
                     + f" of {r['n_mismatched_scored']}")
        verdicts = ", ".join(f"{k} {v}" for k, v in r["genuine_verdicts"].items())
        rate = "-" if r["genuine_flag_rate"] is None else f"{100 * r['genuine_flag_rate']:.1f}%"
        lines.append(f"  genuine verdicts with the new thresholds: {verdicts}; flagged overall {rate} "
                     "(out_of_sync included: real clips can carry a real offset)")
        for cat, cell in r["genuine_flagged_by_category"].items():
            lines.append(f"    {cat:<10} n={cell['n']:<4} out_of_sync {cell['out_of_sync']}  mismatch {cell['mismatch']}")
    for s in skipped:
        lines.append(f"skipped {s['id']}: {s['reason']}")
    return "\n".join(lines)
