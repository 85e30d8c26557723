"""`check` searches ±2 s: 1 s and 2 s offsets are found and flagged; presets and the interval in the summary."""
import json

import pytest
from click.testing import CliRunner

import avsync

FRAME_MS = 40.0


@pytest.fixture(scope="module")
def shifted(tmp_path_factory):
    from avsync.testing import make_talking_clip

    root = tmp_path_factory.mktemp("wide")
    return {delay: make_talking_clip(root / f"d{delay}.mp4", seconds=10.0, seed=1, audio_delay_s=delay)
            for delay in (0.0, 1.0, 2.0)}


@pytest.fixture(scope="module")
def reports(shifted):
    return {d: avsync.check(p, scorer="baseline", jobs=1) for d, p in shifted.items()}


@pytest.mark.parametrize("delay", [1.0, 2.0])
def test_a_long_delay_is_found_and_out_of_sync(reports, delay):
    r, zero = reports[delay], reports[0.0]
    assert r.av_offset_ms - zero.av_offset_ms == pytest.approx(-1000 * delay, abs=FRAME_MS)
    assert r.verdict == "out_of_sync"
    lo, hi = r.av_offset_ci_ms
    assert lo <= r.av_offset_ms <= hi and hi < -125
    assert r.search_ms[0] <= -2000 + abs(r.offset_bias_ms) and r.search_ms[1] >= 2000 - abs(r.offset_bias_ms)


def test_the_search_range_bounds_the_offset(shifted):
    r = avsync.check(shifted[1.0], scorer="baseline", jobs=1, max_offset_ms=600)
    assert r.search_ms[1] < 1000
    assert r.verdict != "in_sync"  # the true offset lies beyond the search: never passed
    assert r.av_offset_ms is None or r.search_ms[0] <= r.av_offset_ms <= r.search_ms[1]


def test_protocol_search_keeps_15_frames(shifted):
    r = avsync.check(shifted[0.0], scorer="baseline", jobs=1, protocol_search=True)
    assert len(r.offset_curve) == 31


def test_summary_shows_the_interval_and_presets_change_the_verdict(shifted):
    from avsync.cli.main import cli

    base = ["check", str(shifted[0.0]), "--model", "baseline", "--jobs", "1", "--no-progress"]
    out = CliRunner().invoke(cli, base)
    assert "…" in out.output and "offset" in out.output
    default = avsync.check(shifted[0.0], scorer="baseline", jobs=1)
    lo, hi = default.av_offset_ci_ms
    assert f"({lo:+.0f}…{hi:+.0f})" in out.output
    strict = CliRunner().invoke(cli, base + ["--tolerance", "atsc-is191", "--json"])
    assert json.loads(strict.output)["tolerance"] == {"preset": "atsc-is191", "audio_early_ms": 15.0,
                                                      "audio_late_ms": 45.0}
    edge = CliRunner().invoke(cli, base + ["--tolerance", "ebu-r37", "--late-ms", "70", "--json"])
    assert json.loads(edge.output)["tolerance"] == {"preset": "ebu-r37", "audio_early_ms": 40.0, "audio_late_ms": 70.0}
    bad = CliRunner().invoke(cli, base + ["--tolerance", "nope"])
    assert bad.exit_code != 0 and "nope" in bad.output


def test_low_frame_rate_is_inconclusive(tmp_path):
    from avsync.testing import make_talking_clip

    clip = make_talking_clip(tmp_path / "slow.mp4", seconds=6.0, fps=5.0, seed=1)
    r = avsync.check(clip, scorer="baseline", jobs=1)
    assert r.verdict == "inconclusive" and r.verdict_reason == "low_frame_rate"
    assert r.av_offset_ms is None


@pytest.mark.parametrize("seconds", [0.3, 0.6])
def test_a_clip_shorter_than_min_duration_is_too_short_not_faceless(tmp_path, seconds):
    # 0.3 s gives no track of min_track_frames, 0.6 s too few speech windows: both were misreported
    from avsync.testing import make_talking_clip

    clip = make_talking_clip(tmp_path / "short.mp4", seconds=seconds, seed=1)
    r = avsync.check(clip, scorer="baseline", jobs=1)
    assert r.verdict == "inconclusive" and r.verdict_reason == "too_short"
    # its face tracks are not judged either (a 0.6 s track read `mismatch` beside the clip's too_short)
    assert all((t.verdict, t.verdict_reason) == ("inconclusive", "too_short") for t in r.tracks)


@pytest.mark.parametrize("delay", [0.6, -0.6])
def test_a_short_clip_with_its_audio_cut_to_the_picture_still_reads_its_shift(tmp_path, delay):
    # the shifted audio loses its far end, so the true offset is compared on about 80% of the
    # speech windows: the search must not require more of a clip this short
    from avsync.testing import make_talking_clip

    zero = avsync.check(make_talking_clip(tmp_path / "z.mp4", seconds=3.0, seed=2), scorer="baseline", jobs=1)
    moved = avsync.check(make_talking_clip(tmp_path / "m.mp4", seconds=3.0, seed=2, audio_delay_s=delay),
                         scorer="baseline", jobs=1)
    assert moved.av_offset_ms - zero.av_offset_ms == pytest.approx(-1000 * delay, abs=FRAME_MS)
