"""Interlaced video, as broadcast carries it: a frame's two fields taken 20 ms apart show a mouth
between them, so the frame is timed a quarter frame after its timestamp. Film carried as
interlaced fields (PsF: both from one moment) is flagged interlaced and is not moved.

The copies are cut from one 50 fps synthetic clip with ffmpeg: every other frame (25p), its fields
woven (25i, top field first in H.264, bottom first in MPEG-2), and the 25p copy stored as
interlaced (PsF)."""
import shutil
import subprocess

import pytest

from avsync.audit.summary import summary_rows
from avsync.cli.check import summary
from avsync.media.scan import field_order
from avsync.pipeline import check
from avsync.testing.synthetic import make_talking_clip

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command")

VIDEO = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18"]
H264 = [*VIDEO, "-c:a", "copy"]
INTERLACED = ["-flags", "+ilme+ildct"]


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    root = tmp_path_factory.mktemp("interlaced")
    fifty = make_talking_clip(root / "p50.mp4", seconds=6.0, fps=50.0, seed=0)

    def ffmpeg(src, name, *options):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *options, str(root / name)], check=True)
        return root / name

    out = {"25p": ffmpeg(fifty, "p25.mp4", "-vf", "fps=25", *H264)}
    out["tff"] = ffmpeg(fifty, "tff.mp4", "-vf", "tinterlace=mode=interleave_top,setfield=tff", *H264, *INTERLACED,
                        "-x264opts", "tff=1")
    out["bff"] = ffmpeg(fifty, "bff.ts", "-vf", "tinterlace=mode=interleave_bottom,setfield=bff",
                        "-c:v", "mpeg2video", "-q:v", "2", *INTERLACED, "-top", "0", "-c:a", "mp2")
    out["psf"] = ffmpeg(out["25p"], "psf.mp4", *H264, *INTERLACED, "-x264opts", "tff=1")
    return out


def test_the_field_order_comes_from_the_pictures_not_the_flag(copies):
    assert field_order(copies["tff"]) == "tff"
    assert field_order(copies["bff"]) == "bff"
    assert field_order(copies["psf"]) is None  # flagged interlaced, both fields from one moment
    assert field_order(copies["25p"]) is None


def test_an_interlaced_copy_reads_as_the_progressive_one(copies):
    """Timed at their timestamps, both woven copies read 12 ms more audio-late than the 25p copy."""
    progressive = check(copies["25p"])
    assert progressive.verdict == "in_sync" and progressive.field_order is None
    for name in ("tff", "bff"):
        woven = check(copies[name])
        assert woven.verdict == "in_sync" and woven.field_order == name
        assert woven.av_offset_ms_subframe == pytest.approx(progressive.av_offset_ms_subframe, abs=5)
    assert "interlaced, bottom field first" in summary(woven)
    assert "interlaced" not in summary(progressive)
    assert [row["field_order"] for row in summary_rows([woven.to_dict(), progressive.to_dict()])] == ["bff", None]


def test_a_master_that_opens_on_a_still_slate_is_looked_at_inside(tmp_path):
    """Bars, a slate and black open a broadcast master, and idet calls still frames progressive (or
    nothing): 8 s of a frozen frame, then 24 s of woven talk. Its first 150 frames decide nothing."""
    talk = make_talking_clip(tmp_path / "talk50.mp4", seconds=24.0, fps=50.0, seed=1)
    master = tmp_path / "master.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(talk), "-filter_complex",
                    "[0:v]trim=end_frame=1,loop=loop=399:size=1,setpts=N/50/TB[still];[still][0:v]concat=n=2:v=1:a=0,"
                    "tinterlace=mode=interleave_top,setfield=tff[v];[0:a]adelay=8000:all=1[a]",
                    "-map", "[v]", "-map", "[a]", *VIDEO, *INTERLACED, "-x264opts", "tff=1", str(master)],
                   check=True)
    assert field_order(master) == "tff"
