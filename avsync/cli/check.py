"""``avsync check``: one file to a verdict."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from avsync.cli import options
from avsync.cli.resources import load_settings
from avsync.exit_codes import CANT_CREATE
from avsync.report import SyncReport


def _interval(ci: list[float] | None) -> str:
    return f" ({ci[0]:+.0f}…{ci[1]:+.0f})" if ci else ""


def summary(report: SyncReport, searched_ms: float | None = None) -> str:
    """The text a person reads; ``searched_ms``: how far either way the offset was sought."""
    name = Path(report.file).name
    if report.verdict == "error":
        return f"{name}: error ({report.error['code']}): {report.error['message']}"
    lines = [f"{name}: {report.verdict}" + (f" ({report.verdict_reason})" if report.verdict_reason else "")
             + ("" if report.calibrated is not False else " [uncalibrated model]")]
    if report.av_offset_ms is not None:
        side = "audio early" if report.av_offset_ms > 0 else "audio late" if report.av_offset_ms < 0 else "aligned"
        lines.append(f"  offset      {report.av_offset_ms:+.0f} ms{_interval(report.av_offset_ci_ms)} = "
                     f"{report.av_offset_frames:+d} frames at {report.fps:.2f} fps ({side})")
        lines.append(f"  confidence  {report.confidence:.3f} (LSE-C)   min_dist {report.min_dist:.3f} (LSE-D)"
                     + (f"   p_sync {report.p_sync:.2f}" if report.p_sync is not None else ""))
    if report.verdict == "mismatch" and searched_ms:
        lines.append(f"  note        another voice, or audio more than {searched_ms:.0f} ms off: --max-offset-ms "
                     "searches further")
    if report.drift_ms_per_min is not None:
        lines.append(f"  drift       {report.drift_ms_per_min:+.1f} ms/min{_interval(report.drift_ci_ms_per_min)}")
    for seg in report.segments:
        lines.append(f"  segment     {seg['start_s']:.1f}-{seg['end_s']:.1f} s {seg['kind']}")
    lines.append(f"  faces       {len(report.tracks)} track(s)"
                 + (f", speaking: #{report.speaking_track}" if report.speaking_track is not None else ""))
    for t in report.tracks:
        extra = f" offset {t.av_offset_ms:+.0f} ms conf {t.confidence:.3f}" if t.av_offset_ms is not None else ""
        lines.append(f"    #{t.track_id} frames {t.frame_start}-{t.frame_end}: {t.verdict}{extra}")
    where = [f"stream {report.audio_stream}"] if report.audio_stream is not None else []
    if report.audio_channel is not None:
        where.append(f"channel {report.audio_channel} alone: the mono downmix cancels the speech, channels in "
                     "opposite phase?")
    stream = f" ({', '.join(where)})" if where else ""
    if report.field_order:
        from avsync.media.scan import field_delay_s  # not at import: it brings PyAV and numpy to every command

        first = "top" if report.field_order == "tff" else "bottom"
        lines.append(f"  video       interlaced, {first} field first: each frame is timed between its two fields, "
                     f"{1000 * field_delay_s(report.field_order, report.fps):.0f} ms after its timestamp")
    lines.append(f"  speech      {100 * (report.speech_fraction or 0):.0f}% of the audio{stream}; "
                 f"{report.duration_s:.1f} s; scorer {report.scorer.get('name')} {report.scorer.get('version')}")
    return "\n".join(lines)


@options.command("check", extra_argument_hint="check reads one file: `avsync audit FILE...` checks many, with a report")
@click.argument("path", type=click.Path())
@click.option("--audio", type=click.Path(), help="pair this audio file (wav, mp3, m4a, flac) with the video")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object (schema avsync.report/1)")
@click.option("--plot", "plot_path", type=click.Path(), help="write the offset curve and timeline to this PNG")
@options.model()
@options.jobs
@click.option("--audio-stream", type=click.IntRange(min=0), default=None, metavar="N",
              help="analyse audio stream N, counted from 0 among the audio streams (default: the default stream)")
@click.option("--early-ms", type=float, help="tolerance: audio at most this early (default from configs)")
@click.option("--late-ms", type=float, help="tolerance: audio at most this late (default from configs)")
@click.option("--tolerance", type=click.Choice(["itu-bt1359", "ebu-r37", "atsc-is191"]), default=None,
              help="tolerance preset (default: itu-bt1359, audio <= 45 ms early, <= 125 ms late)")
@click.option("--max-offset-ms", type=click.FloatRange(min=40.0), default=None,
              help="search offsets up to this far either way (default from configs: 2000)")
@options.progress
@options.common
def command(path, audio, as_json, plot_path, model, jobs, audio_stream, early_ms, late_ms, tolerance, max_offset_ms,
            progress, config_dir):
    """Check whether the speech in PATH belongs to the visible mouth, and the audio-video offset.

    Exit code: 0 in_sync, 1 out_of_sync/mismatch, 2 no_face/no_speech/inconclusive, 3 error.
    """
    from avsync.pipeline import check

    settings = load_settings(config_dir)
    if tolerance is not None:
        settings.verdict.use_tolerance(tolerance)
    if early_ms is not None:
        settings.verdict.audio_early_tolerance_ms = early_ms
    if late_ms is not None:
        settings.verdict.audio_late_tolerance_ms = late_ms
    report = check(path, audio=audio, settings=settings, scorer=model, jobs=jobs,
                   progress=options.show_progress(progress) and not as_json, max_offset_ms=max_offset_ms,
                   audio_stream=audio_stream)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    elif report.verdict != "error":
        click.echo(summary(report, max_offset_ms or settings.protocol.check_max_offset_ms))
    if report.verdict == "error":
        click.echo(f"avsync: error: {report.error['message']}", err=True)
    elif damage_warning(report):
        click.echo(f"avsync: warning: {damage_warning(report)}", err=True)
    if plot_path and report.verdict != "error":
        from avsync.plot import plot_report

        try:
            plot_report(report, plot_path)
        except (OSError, ValueError) as exc:  # ValueError: matplotlib does not know the file extension
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
            click.echo(f"avsync: error: cannot write the plot {plot_path}: {reason}", err=True)
            sys.exit(CANT_CREATE)
    sys.exit(report.exit_code)


def damage_warning(report: SyncReport) -> str | None:
    """One line when part of the input did not decode and the verdict rests on the rest."""
    parts = []
    if report.audio_decode_errors:
        where = f" of {Path(report.audio).name}" if report.audio else ""
        parts.append(f"{report.audio_decode_errors} audio packet(s){where} do not decode")
    if report.decode_errors:
        parts.append(f"{report.decode_errors} video packet(s) do not decode")
    if report.truncated:
        parts.append(f"the video is cut off after {report.duration_s:.1f} s")
    return f"{Path(report.file).name}: " + "; ".join(parts) + "; checked what decodes" if parts else None
