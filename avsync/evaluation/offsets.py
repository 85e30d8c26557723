"""The offset benchmark of SyncNet, VocaLiST and Perfect Match, on any corpus.

For every clip the front-end runs once. For the speaking track the scorer's distance matrix is
computed once over offsets ±2×search (±30 frames). Delaying the audio by s frames moves column
k to k - s, so the search over ±search for true shift s reads columns k - s of that one matrix:
no re-decoding and no re-scoring per shift. A prediction is correct within ±``tolerance`` frames.

Accuracy is reported for contexts of L frames (L - W + 1 consecutive windows of the model's W
frames, placed every ``stride`` frames where every window has speech) and for the whole clip. Mismatch detection:
ROC AUC and EER of the whole-clip confidence, a clip's own audio against another clip's audio.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from avsync.config import Settings
from avsync.sources import Clip
from avsync.evaluation.clipset import AnalysisCache, clip_audio, iter_analyses, mismatch_partners
from avsync.pipeline import score_tracks, speaking_track
from avsync.scoring.base import Scorer
from avsync.scoring.protocol import average_curve, search_offset

SCHEMA = "avsync.eval_offsets/2"  # 2: window_frames per model, no longer under protocol
CONTEXTS = (5, 7, 9, 11, 13, 15)


def speech_by_shift(speech_at, times: np.ndarray, frame_dt: float, span_s: float, shifts: np.ndarray) -> np.ndarray:
    """(n_windows, n_shifts) speech mask with the audio delayed by each shift: the sound heard at
    time t is the original sound of t - s frames."""
    return np.stack([speech_at(times - s * frame_dt, span_s) for s in shifts], axis=1)


def offset_predictions(dists: np.ndarray, offsets: np.ndarray, speech: np.ndarray, shifts: np.ndarray,
                       search: int, contexts=CONTEXTS, window: int = 5, stride: int = 5, tolerance: int = 1,
                       min_windows: int = 1) -> dict[str, list[int]]:
    """[correct, total] per context length (keys "5".."15") and for the whole clip (key "whole").

    ``dists`` is (n_windows, len(offsets)) with NaN = masked, ``offsets`` consecutive integers
    covering -search - max|shift| .. search + max|shift|; ``speech`` is (n_windows, len(shifts)).
    """
    offsets = np.asarray(offsets)
    lo = int(offsets[0])
    search_ks = np.arange(-search, search + 1)
    counts = {str(L): [0, 0] for L in contexts}
    counts["whole"] = [0, 0]
    n = len(dists)
    for col_s, s in enumerate(shifts):
        cols = search_ks - int(s) - lo
        if cols.min() < 0 or cols.max() >= len(offsets):
            raise ValueError(f"shift {s} needs offsets beyond the computed ±{len(offsets) // 2}")
        matrix = dists[:, cols]
        mask = speech[:, col_s]
        if mask.sum() >= min_windows:
            curve = search_offset(matrix, search_ks, mask)
            if curve is not None:
                counts["whole"][0] += int(abs(curve.best_k - s) <= tolerance)
                counts["whole"][1] += 1
        run = np.concatenate([[0], np.cumsum(mask)])
        for L in contexts:
            width = L - window + 1
            if width < 1:  # a context shorter than the model's window has no prediction
                continue
            for start in range(0, n - width + 1, stride):
                if run[start + width] - run[start] < width:
                    continue  # the context must be speech throughout
                avg, _ = average_curve(matrix[start:start + width])
                if np.all(np.isnan(avg)):
                    continue
                best = int(search_ks[np.nanargmin(avg)])
                counts[str(L)][0] += int(abs(best - s) <= tolerance)
                counts[str(L)][1] += 1
    return counts


def _add(total: dict[str, list[int]], part: dict[str, list[int]]) -> None:
    for key, (ok, n) in part.items():
        cell = total.setdefault(key, [0, 0])
        cell[0] += ok
        cell[1] += n


def ranking(genuine: list[float], mismatched: list[float]) -> dict:
    """ROC AUC and EER of confidence (higher = genuine), from scikit-learn's ROC curve."""
    from sklearn.metrics import roc_auc_score

    from avsync.evaluation.metrics import eer

    out = {"n_genuine": len(genuine), "n_mismatched": len(mismatched), "roc_auc": None, "eer": None,
           "eer_threshold": None}
    if genuine and mismatched:
        labels = np.r_[np.ones(len(genuine)), np.zeros(len(mismatched))].astype(int)
        scores = np.r_[genuine, mismatched].astype(float)
        out["roc_auc"] = float(roc_auc_score(labels, scores))
        out["eer"], out["eer_threshold"] = eer(labels, scores)
    return out


def evaluate_offsets(entries: list[Clip], scorers: list[Scorer], settings: Settings | None = None, *,
                     max_shift: int = 15, contexts=CONTEXTS, stride: int = 5, tolerance: int = 1,
                     negatives: int = 3, seed: int = 0, jobs: int | None = None, cache: AnalysisCache | None = None,
                     progress: bool = True, source: str = "") -> dict:
    """Run the benchmark for each scorer over one shared front-end pass per clip; a JSON-ready dict."""
    settings = settings or Settings.load()
    proto = settings.protocol
    search = proto.max_offset_frames
    shifts = np.arange(-max_shift, max_shift + 1)

    audios: list = []
    for entry in entries:  # cheap: audio only, to choose mismatch partners before the slow pass
        try:
            audios.append(clip_audio(entry, settings))
        except Exception:
            audios.append(None)
    pairs = mismatch_partners(audios, negatives, seed)
    partners: dict[int, list[int]] = {}
    for i, j in pairs:
        partners.setdefault(i, []).append(j)

    clips = []
    models = {s.name: {"scorer": s.describe(), "window_frames": s.window_frames, "counts": {}, "by_category": {},
                       "genuine": [], "mismatched": [],
                       "per_clip": [], "pairs": []} for s in scorers}
    for index, entry, analysis, reason in iter_analyses(entries, settings, scorers, jobs, cache, progress,
                                                        desc="eval-offsets"):
        row = {"id": entry.slug, "file": entry.video, "category": entry.category, "split": entry.split,
               "status": "ok" if analysis is not None else "skipped", "reason": reason}
        clips.append(row)
        if analysis is None:
            continue
        row.update(fps=round(analysis.fps, 3), n_frames=analysis.n_frames, n_tracks=len(analysis.tracks))
        if not analysis.tracks:
            row.update(status="skipped", reason="no_face: no face track")
            continue
        for scorer in scorers:
            m = models[scorer.name]
            # the literature's protocol: ±search frames, every offset scored, no interval
            best = speaking_track(score_tracks(analysis, scorer, settings, search=search, margin=max_shift,
                                               min_coverage=0.0, estimate=False))
            if best is None:
                m["per_clip"].append({"id": entry.slug, "status": "no_speech_windows"})
                continue
            speech = speech_by_shift(analysis.audio.speech_at, best.times, analysis.frame_dt, best.window_s, shifts)
            counts = offset_predictions(best.dists, best.offsets, speech, shifts, search, contexts,
                                        scorer.window_frames, stride, tolerance, proto.min_windows)
            _add(m["counts"], counts)
            _add(m["by_category"].setdefault(entry.category or "-", {}), counts)
            m["genuine"].append(best.curve.confidence)
            m["per_clip"].append({
                "id": entry.slug, "status": "ok", "track": best.track.track_id, "confidence": round(best.curve.confidence, 4),
                "own_offset_frames": best.curve.av_offset_frames,
                "accuracy": {k: (round(ok / n, 4) if n else None) for k, (ok, n) in counts.items()}})
            for j in partners.get(index, []):
                other = speaking_track(score_tracks(analysis, scorer, settings, audio=audios[j], search=search,
                                                    min_coverage=0.0, estimate=False))
                curve = None if other is None else other.curve
                if curve is not None:
                    m["mismatched"].append(curve.confidence)
                m["pairs"].append({"video": entry.slug, "audio": entries[j].slug,
                                   "confidence": None if curve is None else round(curve.confidence, 4)})

    result = {
        "schema": SCHEMA, "source": source, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "protocol": {"search_frames": search, "shifts_frames": [int(shifts[0]), int(shifts[-1])],
                     "tolerance_frames": tolerance, "contexts_frames": list(contexts),
                     "stride_frames": stride, "negatives_per_clip": negatives, "seed": seed,
                     "context_rule": "L frames = L-W+1 consecutive W-frame windows (W: each model's window_frames), "
                                     "all with speech"},
        "clips": clips, "models": {}}
    for name, m in models.items():
        result["models"][name] = {"scorer": m["scorer"], "window_frames": m["window_frames"],
                                  "accuracy": _rates(m["counts"]),
                                  "accuracy_by_category": {c: _rates(v) for c, v in sorted(m["by_category"].items())},
                                  "mismatch": ranking(m["genuine"], m["mismatched"]),
                                  "per_clip": m["per_clip"], "mismatched_pairs": m["pairs"]}
    return result


def _rates(counts: dict[str, list[int]]) -> dict[str, dict]:
    return {k: {"accuracy": (ok / n if n else None), "n": n} for k, (ok, n) in counts.items()}


def format_table(result: dict) -> str:
    """Rows: context lengths and the whole clip; per model: accuracy and number of predictions."""
    names = list(result["models"])
    keys = [str(L) for L in result["protocol"]["contexts_frames"]] + ["whole"]
    header = f"{'context':<12}" + "".join(f"{name[:22]:>24}{'n':>8}" for name in names)
    lines = [header, "-" * len(header)]
    for key in keys:
        label = "whole clip" if key == "whole" else f"{key} frames"
        cells = ""
        for name in names:
            cell = result["models"][name]["accuracy"].get(key, {"accuracy": None, "n": 0})
            acc = "-" if cell["accuracy"] is None else f"{100 * cell['accuracy']:.1f}%"
            cells += f"{acc:>24}{cell['n']:>8}"
        lines.append(f"{label:<12}{cells}")
    lines.append("-" * len(header))
    for name in names:
        mm = result["models"][name]["mismatch"]
        auc = "-" if mm["roc_auc"] is None else f"{mm['roc_auc']:.3f}"
        eer = "-" if mm["eer"] is None else f"{100 * mm['eer']:.1f}%"
        lines.append(f"{name}: mismatch ROC AUC {auc}, EER {eer} "
                     f"({mm['n_genuine']} genuine vs {mm['n_mismatched']} other-audio pairs)")
        by_cat = result["models"][name].get("accuracy_by_category", {})
        if len(by_cat) > 1:
            last = keys[-2]
            for cat, acc in by_cat.items():
                lines.append(f"  {cat}: whole clip {_pct(acc.get('whole'))}, {last} frames {_pct(acc.get(last))}")
    ok = sum(c["status"] == "ok" for c in result["clips"])
    lines.append(f"clips: {ok} scored of {len(result['clips'])}; accuracy = predicted offset within "
                 f"±{result['protocol']['tolerance_frames']} frame of the true shift "
                 f"({result['protocol']['shifts_frames'][0]}..{result['protocol']['shifts_frames'][1]} frames)")
    return "\n".join(lines)


def _pct(cell: dict | None) -> str:
    if not cell or cell["accuracy"] is None:
        return "-"
    return f"{100 * cell['accuracy']:.1f}% (n {cell['n']})"


def plot_accuracy(result: dict, path: str | Path) -> Path:
    """Accuracy against context length, one line per model, whole-clip accuracy as a dashed level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    contexts = result["protocol"]["contexts_frames"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (name, m) in enumerate(result["models"].items()):
        ys = [m["accuracy"].get(str(L), {}).get("accuracy") for L in contexts]
        ys = [np.nan if y is None else 100 * y for y in ys]
        line, = ax.plot(contexts, ys, marker="o", label=name)
        whole = m["accuracy"].get("whole", {}).get("accuracy")
        if whole is not None:
            ax.axhline(100 * whole, color=line.get_color(), ls="--", lw=1, label=f"{name} (whole clip)")
    ax.set_xlabel("context (frames)")
    ax.set_ylabel("offset accuracy within ±1 frame (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
