"""Pictures of why: the offset-distance curve and the per-second offset/confidence timeline."""
from __future__ import annotations

from pathlib import Path

from avsync.report import SyncReport


def plot_report(report: SyncReport, out_path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_curve, ax_time) = plt.subplots(2, 1, figsize=(8, 6.5), constrained_layout=True)
    # a file name that is not UTF-8 holds lone surrogates, which no font can draw: shown as \udcXX
    name = Path(report.file).name.encode("utf-8", "backslashreplace").decode("utf-8")
    title = f"{name}: {report.verdict}"
    if report.av_offset_ms is not None:
        title += f", offset {report.av_offset_ms:+.0f} ms, confidence {report.confidence:.2f}"
    fig.suptitle(title, fontsize=11)

    ms_per_frame = 1000.0 / report.fps if report.fps else 40.0
    for track in report.tracks:
        if track.offset_curve is None:
            continue
        n = len(track.offset_curve)
        frames = report.offsets_frames or [n // 2 - i for i in range(n)]
        bias = report.offset_bias_ms or 0.0  # the curve is drawn in corrected ms, like the estimate
        ms = [f * ms_per_frame - bias for f in frames]
        values = [float("nan") if v is None else v for v in track.offset_curve]
        style = "-o" if track.track_id == report.speaking_track else ":"
        ax_curve.plot(ms, values, style, ms=3, label=f"track {track.track_id}")
    if report.av_offset_ms is not None:
        ax_curve.axvline(report.av_offset_ms, color="tab:red", lw=1, label="estimate")
    if report.av_offset_ci_ms:
        ax_curve.axvspan(*report.av_offset_ci_ms, color="tab:red", alpha=0.12, label="interval")
    tol = report.tolerance or {"audio_early_ms": 45.0, "audio_late_ms": 125.0}
    ax_curve.axvspan(-tol["audio_late_ms"], tol["audio_early_ms"], color="tab:green", alpha=0.12, label="tolerance")
    ax_curve.set_xlabel("audio-video offset, ms (> 0: audio early)")
    ax_curve.set_ylabel("mean distance (lower = better)")
    ax_curve.legend(fontsize=8)

    rows = [r for r in report.timeline if r.get("av_offset_ms") is not None]
    if rows:
        mid = [(r["start_s"] + r["end_s"]) / 2 for r in rows]
        ax_time.plot(mid, [r["av_offset_ms"] for r in rows], "o-", color="tab:blue", ms=3)
        ax_conf = ax_time.twinx()
        ax_conf.plot(mid, [r["confidence"] for r in rows], "s--", color="tab:orange", ms=3)
        ax_conf.set_ylabel("confidence", color="tab:orange")
        for seg in report.segments:
            ax_time.axvspan(seg["start_s"], seg["end_s"], color="tab:red", alpha=0.15)
    ax_time.set_xlabel("time, s")
    ax_time.set_ylabel("offset, ms", color="tab:blue")
    ax_time.set_title("per-window offset (red: flagged segments)", fontsize=9)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
