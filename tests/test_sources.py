"""The one reader of inputs: files, folders, globs, CSV and JSONL manifests, the driving-audio rule."""
from __future__ import annotations

import csv
import json
import os
from dataclasses import astuple
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avsync.sources import Clip, SourceError, read_sources


def test_folder_is_searched_recursively_for_video_extensions(tmp_path, write_files):
    write_files(tmp_path, ["a.mp4", "B.MOV", "sub/deeper/c.mkv", "sub/e.mpg", "notes.txt", "sub/d.wav", ".hidden.mp4"])
    clips = read_sources([tmp_path])
    assert [c.name for c in clips] == ["B.MOV", "a.mp4", "sub/e.mpg", "sub/deeper/c.mkv"]
    assert all(c.id == c.video and os.path.isabs(c.video) for c in clips)
    assert clips[3].slug == "sub__deeper__c"


def test_globs_files_and_overlaps_give_each_video_once(tmp_path, write_files):
    write_files(tmp_path, ["x/a.mp4", "x/b.mp4", "y/c.mp4"])
    clips = read_sources([tmp_path / "x" / "*.mp4", tmp_path / "x", tmp_path / "y" / "c.mp4",
                          tmp_path / "**" / "c.mp4"])
    assert sorted(Path(c.video).name for c in clips) == ["a.mp4", "b.mp4", "c.mp4"]
    with pytest.raises(SourceError, match="no files match"):
        read_sources([tmp_path / "*.avi"])
    with pytest.raises(SourceError, match="no such file or folder"):
        read_sources([tmp_path / "missing"])


def test_csv_and_jsonl_manifests_with_audio_and_id(tmp_path, write_files):
    write_files(tmp_path, ["v/a.mp4", "v/b.mp4", "v/a.wav"])
    (tmp_path / "list.csv").write_text("path,audio,id\nv/a.mp4,v/a.wav,clip-a\nv/b.mp4,,\n")
    clips = read_sources([tmp_path / "list.csv"])
    assert clips[0] == Clip("clip-a", str(tmp_path / "v/a.mp4"), str(tmp_path / "v/a.wav"), name="v/a.mp4",
                            slug="clip-a")
    assert clips[1] == Clip(str(tmp_path / "v/b.mp4"), str(tmp_path / "v/b.mp4"), None, name="v/b.mp4", slug="v__b")
    (tmp_path / "list.jsonl").write_text(json.dumps({"path": "v/a.mp4", "id": 7}) + "\n\n"
                                         + json.dumps({"path": str(tmp_path / "v/b.mp4")}) + "\n")
    assert [c.id for c in read_sources([tmp_path / "list.jsonl"])] == ["7", str(tmp_path / "v/b.mp4")]
    (tmp_path / "pairs.csv").write_text("video,audio,notes\nv/a.mp4,v/a.wav,x\n")  # like generated_noaudio_pairs.csv
    [clip] = read_sources([tmp_path / "pairs.csv"])
    assert (clip.video, clip.audio, clip.extra) == (str(tmp_path / "v/a.mp4"), str(tmp_path / "v/a.wav"), {"notes": "x"})
    (tmp_path / "dup.csv").write_text("path,id\nv/a.mp4,same\nv/b.mp4,same\n")
    with pytest.raises(SourceError, match="names two different inputs"):
        read_sources([tmp_path / "dup.csv"])


@pytest.mark.parametrize("name, text, message", [
    ("bad.csv", "name\nv/a.mp4\n", r"bad\.csv: needs a `path` column"),
    ("bad.jsonl", '{"path": "a.mp4"}\n{"path": "b.mp4"\n', r"bad\.jsonl:2: not valid JSON"),
    ("list.jsonl", '{"path": "a.mp4"}\n[1, 2]\n', r"list\.jsonl:2: each line needs a JSON object"),
    ("empty.csv", "path,label\na.mp4,real\n,fake\n", r"empty\.csv:3: empty `path`"),
    ("label.csv", "path,label\na.mp4,real\nb.mp4,maybe\n", r"label\.csv:3: label 'maybe'"),
    ("bytes.csv", b"path\n\xff\xfe.mp4\n", r"bytes\.csv: not UTF-8"),
])
def test_bad_manifests_name_the_file_and_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(SourceError, match=message) as info:
        read_sources([path])
    assert "\n" not in str(info.value)


def test_split_category_and_required_columns_select_manifest_rows(tmp_path, write_files):
    write_files(tmp_path, ["real/a.mp4", "real/b.mp4", "generated/c.mp4"])
    (tmp_path / "manifest.csv").write_text("file,category,split,label\nreal/a.mp4,real,train,real\n"
                                           "real/b.mp4,real,dev,\ngenerated/c.mp4,generated,dev,fake\n")
    assert [c.name for c in read_sources([tmp_path], category=["real"])] == ["real/a.mp4", "real/b.mp4"]
    assert [c.name for c in read_sources([tmp_path], split=["dev"], category=["real", "generated"])] == [
        "real/b.mp4", "generated/c.mp4"]
    assert [c.label for c in read_sources([tmp_path])] == [0, None, 1]
    with pytest.raises(SourceError, match=r"manifest\.csv:3: empty 'label'"):
        read_sources([tmp_path], require=["label"])
    with pytest.raises(SourceError, match="--category needs a manifest"):
        read_sources([tmp_path / "real"], category=["real"])
    (tmp_path / "plain.csv").write_text("path\nreal/a.mp4\n")
    with pytest.raises(SourceError, match="--split needs a 'split' column"):
        read_sources([tmp_path / "plain.csv"], split=["dev"])


def test_driving_audio_beside_a_video_is_paired(tmp_path, write_files):
    write_files(tmp_path, ["gen/x.avi", "gen/x__driving_audio.wav", "gen/y.mp4", "gen/z.mp4", "gen/z.wav"])
    (tmp_path / "m.csv").write_text("file,audio\ngen/x.avi,\ngen/y.mp4,\ngen/z.mp4,gen/z.wav\n")

    def audio(clips):
        return {Path(c.video).name: c.audio and Path(c.audio).name for c in clips}

    assert audio(read_sources([tmp_path / "m.csv"])) == {"x.avi": "x__driving_audio.wav", "y.mp4": None,
                                                         "z.mp4": "z.wav"}
    assert audio(read_sources([tmp_path / "gen"])) == {"x.avi": "x__driving_audio.wav", "y.mp4": None, "z.mp4": None}
    assert audio(read_sources([tmp_path / "gen" / "x.avi"])) == {"x.avi": "x__driving_audio.wav"}


_cell = st.text(st.characters(min_codepoint=48, max_codepoint=122, blacklist_characters="\\`[]^"), min_size=1,
                max_size=12)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(_cell, st.sampled_from(["real", "generated"]), st.sampled_from(["train", "dev"]),
                          st.sampled_from(["real", "fake", ""]), _cell), min_size=1, max_size=8,
                unique_by=lambda r: r[0]))
def test_the_same_manifest_in_csv_and_jsonl_gives_the_same_clips(tmp_path_factory, rows):
    root = tmp_path_factory.mktemp("m")
    header = ["file", "category", "split", "label", "group"]
    with open(root / "m.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([(f"v/{r[0]}.mp4", *r[1:]) for r in rows])
    with open(root / "m.jsonl", "w") as fh:
        for r in rows:
            fh.write(json.dumps(dict(zip(header, (f"v/{r[0]}.mp4", *r[1:])))) + "\n")
    for selection in ({}, {"split": ["dev"]}, {"category": ["real"], "split": ["train", "dev"]}):
        from_csv = read_sources([root / "m.csv"], **selection)
        from_jsonl = read_sources([root / "m.jsonl"], **selection)
        assert [astuple(c)[:-1] for c in from_csv] == [astuple(c)[:-1] for c in from_jsonl]
    assert len(read_sources([root / "m.csv"])) == len(rows)


@pytest.mark.corpus
def test_corpus_generator_outputs_without_audio_get_their_driving_audio(corpus_dir):
    CORPUS = corpus_dir
    clips = read_sources([CORPUS / "manifest.csv"])
    noaudio = [c for c in clips if c.name.startswith("generated_noaudio/")]
    with open(CORPUS / "generated_noaudio_pairs.csv", newline="") as fh:
        pairs = {str(CORPUS / r["video"]): str(CORPUS / r["audio"]) for r in csv.DictReader(fh)}
    assert noaudio and {c.video: c.audio for c in noaudio} == {v: pairs[v] for v in (c.video for c in noaudio)}
    assert all(Path(c.audio).is_file() for c in noaudio)
    assert read_sources([CORPUS]) == clips  # the folder is read through its manifest.csv
    assert not [c for c in clips if not c.name.startswith("generated_noaudio/") and c.audio]
