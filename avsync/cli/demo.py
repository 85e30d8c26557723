"""``avsync demo``: make three talking-face clips, check each, and say whether the verdicts are right."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from avsync.cli import options
from avsync.exit_codes import CANT_CREATE, FLAGGED, IO_ERROR, OK

SECONDS = 10.0  # enough words that another voice's chance alignments average out
FACE_SEED = 0
OTHER_VOICE = {"audio_seed": 104, "pitch_hz": 200.0}  # other words, a higher-pitched speaker


@dataclass(frozen=True)
class Variant:
    name: str
    expected: str
    what: str
    clip_options: dict = field(default_factory=dict)


VARIANTS = (
    Variant("genuine", "in_sync", "the face's own voice"),
    Variant("audio_late_300ms", "out_of_sync", "the same voice, 300 ms late", {"audio_delay_s": 0.3}),
    Variant("another_voice", "mismatch", "someone else speaking other words", OTHER_VOICE),
)


def write_clips(out_dir: Path) -> dict[str, Path]:
    from avsync.testing import make_talking_clip

    return {v.name: make_talking_clip(out_dir / f"{v.name}.mp4", seconds=SECONDS, seed=FACE_SEED, voice="vowels",
                                      **v.clip_options)
            for v in VARIANTS}


def line(variant: Variant, report) -> str:
    if report.verdict == "error":
        return f"  {variant.name:<17} error: {report.error['message']}"
    offset = f"{report.av_offset_ms:+5.0f} ms" if report.av_offset_ms is not None else "    - ms"
    numbers = (f"confidence {report.confidence:.3f}  p_sync {report.p_sync:.3f}"
               if report.confidence is not None and report.p_sync is not None else "")
    mark = "ok" if report.verdict == variant.expected else f"expected {variant.expected}"
    return f"  {variant.name:<17} {report.verdict:<12} offset {offset}  {numbers}  {mark}"


@options.command("demo")
@options.common
@options.model()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="avsync-demo", show_default=True,
              help="folder for the three clips (and the pictures with --plot)")
@click.option("--plot", is_flag=True, help="also write each clip's offset curve and timeline as DIR/NAME.png")
def command(out_dir, plot, config_dir, model):
    """Make three talking-face clips (genuine, audio 300 ms late, another voice) and check each.

    Nothing is downloaded: the clips are drawn from a public-domain portrait shipped with avsync.
    Exit code: 0 when all three verdicts are the expected ones, 1 when one differs.
    """
    from avsync.config import Settings
    from avsync.pipeline import check, resolve_scorer

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        options.fail(f"cannot create {out}: {exc.strerror or exc}", CANT_CREATE)
    try:
        clips = write_clips(out)
    except OSError as exc:
        options.fail(f"cannot write the demo clips in {out}: {exc.strerror or exc}", IO_ERROR)
    click.echo(f"{len(VARIANTS)} talking-face clips of {SECONDS:.0f} s in {out}/:")
    for v in VARIANTS:
        click.echo(f"  {v.name + '.mp4':<21} {v.what}")
    settings = Settings.load(config_dir)
    scorer = resolve_scorer(model)  # loaded once for the three checks
    click.echo(f"checked with {scorer.describe().get('name')}:")
    wrong = []
    for v in VARIANTS:
        report = check(clips[v.name], settings=settings, scorer=scorer)
        click.echo(line(v, report))
        if report.verdict != v.expected:
            wrong.append(f"{v.name} ({report.verdict}, expected {v.expected})")
        if plot and report.verdict != "error":
            from avsync.plot import plot_report

            picture = out / f"{v.name}.png"
            try:
                plot_report(report, picture)
            except OSError as exc:
                options.fail(f"cannot write {picture}: {exc.strerror or exc}", IO_ERROR)
    if plot:
        click.echo(f"pictures: {', '.join(str(out / (v.name + '.png')) for v in VARIANTS)}")
    if wrong:
        options.fail(f"demo verdict differs for {'; '.join(wrong)}", FLAGGED)
    click.echo("all three verdicts as expected")
    return OK
