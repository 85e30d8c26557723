"""Benchmark adapters read fixture metadata written in each dataset's published format."""
import json

import pytest

from avsync.evaluation.adapters import ADAPTERS
from avsync.evaluation.manifest import ManifestError

# FakeAVCeleb v1.2 meta_data.csv: nine header names and a trailing comma, ten values per row
# (file name, then folder under a leading "FakeAVCeleb/").
FAKEAVCELEB_CSV = """source,target1,target2,method,category,type,race,gender,path,
id00076,-,-,real,A,RealVideo-RealAudio,African,men,00109.mp4,FakeAVCeleb/RealVideo-RealAudio/African/men/id00076
id00076,-,-,rtvc,B,RealVideo-FakeAudio,African,men,00109_fake.mp4,FakeAVCeleb/RealVideo-FakeAudio/African/men/id00076
id00076,id01096,-,faceswap,C,FakeVideo-RealAudio,African,men,00109_id01096_faceswap.mp4,FakeAVCeleb/FakeVideo-RealAudio/African/men/id00076
id00076,id01096,-,fsgan,C,FakeVideo-RealAudio,African,men,00109_id01096_fsgan.mp4,FakeAVCeleb/FakeVideo-RealAudio/African/men/id00076
id00076,-,-,wav2lip,C,FakeVideo-RealAudio,African,men,00109_wavtolip.mp4,FakeAVCeleb/FakeVideo-RealAudio/African/men/id00076
id00076,id01096,10,fsgan-wav2lip,D,FakeVideo-FakeAudio,African,men,00109_10_id01096_wavtolip.mp4,FakeAVCeleb/FakeVideo-FakeAudio/African/men/id00076
id00166,id00478,3,faceswap-wav2lip,D,FakeVideo-FakeAudio,Asian (East),women,00010_3_id00478_wavtolip.mp4,FakeAVCeleb/FakeVideo-FakeAudio/Asian (East)/women/id00166
"""


def test_fakeavceleb_rows(tmp_path):
    root = tmp_path / "FakeAVCeleb_v1.2"
    root.mkdir()
    (root / "meta_data.csv").write_text(FAKEAVCELEB_CSV)
    # One video present on disk, in the unpacked layout (no leading "FakeAVCeleb/").
    present = root / "RealVideo-RealAudio/African/men/id00076/00109.mp4"
    present.parent.mkdir(parents=True)
    present.write_bytes(b"x")

    rows = ADAPTERS["fakeavceleb"].load(root)
    assert len(rows) == 7
    assert rows[0].path == str(present)
    assert rows[1].path == str(root / "RealVideo-FakeAudio/African/men/id00076/00109_fake.mp4")
    assert rows[6].path.endswith("FakeVideo-FakeAudio/Asian (East)/women/id00166/00010_3_id00478_wavtolip.mp4")
    assert [r.group for r in rows[:3]] == ["RealVideo-RealAudio:real", "RealVideo-FakeAudio:rtvc",
                                          "FakeVideo-RealAudio:faceswap"]
    # Lip-sync labels: cloned voice on a real mouth is fake; face swap with its own audio is not;
    # Wav2Lip mouths are driven by the shipped audio and left out.
    assert [r.label for r in rows] == [0, 1, 0, 0, None, None, None]
    assert rows[2].meta["target1"] == "id01096" and rows[6].meta["race"] == "Asian (East)"
    official = ADAPTERS["fakeavceleb"].load(root / "meta_data.csv", labels="official")
    assert [r.label for r in official] == [0, 1, 1, 1, 1, 1, 1]


def test_fakeavceleb_rejects_other_csv_and_splits(tmp_path):
    (tmp_path / "meta_data.csv").write_text("path,label\na.mp4,real\n")
    with pytest.raises(ManifestError, match="not FakeAVCeleb"):
        ADAPTERS["fakeavceleb"].load(tmp_path)
    with pytest.raises(ManifestError, match="publishes no split"):
        ADAPTERS["fakeavceleb"].load(tmp_path, split="test")


LAVDF = [
    {"file": "test/000001.mp4", "n_fakes": 0, "fake_periods": [], "duration": 4.2, "original": None,
     "modify_video": False, "modify_audio": False, "split": "test", "video_frames": 105,
     "audio_channels": 1, "audio_frames": 67200},
    {"file": "test/000002.mp4", "n_fakes": 1, "fake_periods": [[1.36, 1.92]], "duration": 4.2,
     "original": "test/000001.mp4", "modify_video": False, "modify_audio": True, "split": "test",
     "video_frames": 105, "audio_channels": 1, "audio_frames": 67200},
    {"file": "test/000003.mp4", "n_fakes": 2, "fake_periods": [[0.4, 0.88], [2.0, 2.6]], "duration": 4.2,
     "original": "test/000001.mp4", "modify_video": True, "modify_audio": False, "split": "test",
     "video_frames": 105, "audio_channels": 1, "audio_frames": 67200},
    {"file": "test/000004.mp4", "n_fakes": 1, "fake_periods": [[3.0, 3.5]], "duration": 4.2,
     "original": "test/000001.mp4", "modify_video": True, "modify_audio": True, "split": "test",
     "video_frames": 105, "audio_channels": 1, "audio_frames": 67200},
    {"file": "train/000005.mp4", "n_fakes": 0, "fake_periods": [], "duration": 3.0, "original": None,
     "modify_video": False, "modify_audio": False, "split": "train", "video_frames": 75,
     "audio_channels": 1, "audio_frames": 48000},
]


def test_lavdf_rows(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps(LAVDF))
    rows = ADAPTERS["lavdf"].load(tmp_path, split="test")
    assert [r.path for r in rows] == [str(tmp_path / f"test/00000{i}.mp4") for i in range(1, 5)]
    assert [r.group for r in rows] == ["real", "audio_modified", "visual_modified", "both_modified"]
    assert [r.label for r in rows] == [0, 1, 1, None]
    assert rows[2].fake_periods == [[0.4, 0.88], [2.0, 2.6]]
    assert rows[0].fake_periods == []
    assert [r.label for r in ADAPTERS["lavdf"].load(tmp_path, split="test", labels="official")] == [0, 1, 1, 1]
    assert len(ADAPTERS["lavdf"].load(tmp_path)) == 5


def test_lavdf_min_json_and_errors(tmp_path):
    (tmp_path / "metadata.min.json").write_text(json.dumps(LAVDF[:2]))
    assert len(ADAPTERS["lavdf"].load(tmp_path)) == 2
    with pytest.raises(ManifestError, match="unknown split"):
        ADAPTERS["lavdf"].load(tmp_path, split="val")
    (tmp_path / "metadata.json").write_text(json.dumps([{"file": "x.mp4", "split": "test"}]))
    with pytest.raises(ManifestError, match="x.mp4"):
        ADAPTERS["lavdf"].load(tmp_path)


def _av1m(file, kind, segs, split="val"):
    vis = segs if kind in ("visual_modified", "both_modified") else []
    aud = segs if kind in ("audio_modified", "both_modified") else []
    return {"file": file, "original": None if kind == "real" else file.rsplit("/", 1)[0] + "/real.mp4",
            "split": split, "modify_type": kind, "audio_model": "" if kind == "real" else "YourTTS",
            "fake_segments": segs, "audio_fake_segments": aud, "visual_fake_segments": vis,
            "video_frames": 132, "audio_frames": 84480}


def test_avdeepfake1m_rows(tmp_path):
    val = [_av1m("id00012/21Uxsk56VDQ/00001/real.mp4", "real", []),
           _av1m("id00012/21Uxsk56VDQ/00001/fake_video_real_audio.mp4", "visual_modified", [[0.48, 0.86]]),
           _av1m("id00012/21Uxsk56VDQ/00001/real_video_fake_audio.mp4", "audio_modified", [[1.0, 1.4]]),
           _av1m("id00012/21Uxsk56VDQ/00001/fake_video_fake_audio.mp4", "both_modified", [[2.1, 2.5], [3.0, 3.3]])]
    train = [_av1m("id00099/abc/00002/real.mp4", "real", [], split="train")]
    (tmp_path / "val_metadata.json").write_text(json.dumps(val))
    (tmp_path / "train_metadata.json").write_text(json.dumps(train))

    rows = ADAPTERS["avdeepfake1m"].load(tmp_path, split="val")
    assert rows[1].path == str(tmp_path / "val/id00012/21Uxsk56VDQ/00001/fake_video_real_audio.mp4")
    assert [r.group for r in rows] == ["real", "visual_modified", "audio_modified", "both_modified"]
    assert [r.label for r in rows] == [0, 1, 1, None]
    assert rows[3].fake_periods == [[2.1, 2.5], [3.0, 3.3]]
    assert [r.label for r in ADAPTERS["avdeepfake1m"].load(tmp_path, "val", labels="official")] == [0, 1, 1, 1]
    both = ADAPTERS["avdeepfake1m"].load(tmp_path)
    assert len(both) == 5 and both[0].path == str(tmp_path / "train/id00099/abc/00002/real.mp4")
    with pytest.raises(ManifestError, match="test_metadata.json|unknown split"):
        ADAPTERS["avdeepfake1m"].load(tmp_path, split="test")


def test_dfdc_rows_over_parts(tmp_path):
    part0 = tmp_path / "dfdc_train_part_0"
    part1 = tmp_path / "dfdc_train_part_1"
    part0.mkdir()
    part1.mkdir()
    (part0 / "metadata.json").write_text(json.dumps({
        "aagfhgtpmv.mp4": {"label": "FAKE", "split": "train", "original": "vudstovrck.mp4"},
        "vudstovrck.mp4": {"label": "REAL", "split": "train", "original": None}}))
    (part1 / "metadata.json").write_text(json.dumps({
        "abarnvbtwb.mp4": {"label": "REAL", "split": "train", "original": None}}))

    rows = ADAPTERS["dfdc"].load(tmp_path)
    assert [(r.path, r.label, r.group) for r in rows] == [
        (str(part0 / "aagfhgtpmv.mp4"), 1, "dfdc_train_part_0"),
        (str(part0 / "vudstovrck.mp4"), 0, "dfdc_train_part_0"),
        (str(part1 / "abarnvbtwb.mp4"), 0, "dfdc_train_part_1"),
    ]
    assert rows[0].meta["original"] == "vudstovrck.mp4"
    assert len(ADAPTERS["dfdc"].load(part1)) == 1
    assert ADAPTERS["dfdc"].load(part0 / "metadata.json", labels="official")[0].label == 1
    (part1 / "metadata.json").write_text(json.dumps({"x.mp4": {"label": "MAYBE"}}))
    with pytest.raises(ManifestError, match="FAKE or REAL"):
        ADAPTERS["dfdc"].load(part1)


def test_missing_root_and_unknown_label_mode(tmp_path):
    with pytest.raises(ManifestError, match="no such"):
        ADAPTERS["lavdf"].load(tmp_path / "absent")
    with pytest.raises(ManifestError, match="labels must be"):
        ADAPTERS["dfdc"].load(tmp_path, labels="strict")
