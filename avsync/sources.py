"""The one reader of "a list of videos": files, folders, globs, CSV and JSONL manifests -> :class:`Clip`.

Every command that takes many videos (audit, eval, lse, eval-offsets, calibrate, prepare) reads
its inputs here, so they accept the same columns, formats and video extensions, pair a corpus
generator's driving audio the same way, and name the file and line of a bad row.
"""
from __future__ import annotations

import csv
import glob
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

# File name endings a folder or glob is searched for (case-insensitive).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
                    ".flv", ".wmv", ".3gp", ".ogv")
CSV_SUFFIXES = (".csv",)
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
PATH_COLUMNS = ("path", "video", "file")  # the first one a manifest has names the videos
FOLDER_MANIFEST = "manifest.csv"  # a folder holding this file is read through it (the corpus layout)
# The corpus's generator outputs without an audio stream keep the audio that drove them beside
# them as <video stem>__driving_audio.wav (shared/corpus/README.md, generated_noaudio_pairs.csv).
DRIVING_AUDIO_SUFFIX = "__driving_audio.wav"
FAKE_WORDS = {"fake", "1", "true", "yes", "spoof", "manipulated"}
REAL_WORDS = {"real", "0", "false", "no", "bonafide", "bona-fide", "genuine", "pristine"}
_GLOB_CHARS = set("*?[")
_KNOWN = {*PATH_COLUMNS, "id", "audio", "split", "category", "label", "group"}


class SourceError(ValueError):
    """An input that cannot be read; the message is one line and names the file (and line)."""


@dataclass(frozen=True)
class Clip:
    """One video to process.

    ``id`` names it in results: the manifest's ``id``, else the video's absolute path. ``name``
    is the video as its input named it (the manifest's path as written, the path inside a given
    folder, or the argument); ``slug`` is a file-name-safe id (the manifest's ``id``, else
    ``name`` without its extension, ``/`` as ``__``). ``label`` is 1 fake, 0 real, None unlabelled.
    """

    id: str
    video: str
    audio: str | None = None
    split: str = ""
    category: str = ""
    label: int | None = None
    group: str | None = None
    name: str = ""
    slug: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def source(self) -> str:
        """The manifest's ``repo``: training weighs sources by it."""
        return str(self.extra.get("repo") or "")


def parse_label(value: Any) -> int:
    """real/fake, 0/1, true/false (any case) -> 0/1; anything else raises ValueError."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower()
    if text in FAKE_WORDS:
        return 1
    if text in REAL_WORDS:
        return 0
    raise ValueError(f"label {value!r} is not real/fake or 0/1")


def is_manifest(path: str | Path) -> bool:
    return Path(path).suffix.lower() in CSV_SUFFIXES + JSONL_SUFFIXES


def read_sources(inputs: Sequence[str | os.PathLike], *, split: Iterable[str] = (), category: Iterable[str] = (),
                 require: Iterable[str] = ()) -> list[Clip]:
    """Clips for INPUT arguments, in order, each id once.

    An input is a video, a folder (searched recursively for :data:`VIDEO_EXTENSIONS`; one holding
    ``manifest.csv`` is read through it), a glob, or a CSV/JSONL manifest. ``split`` and
    ``category`` keep only manifest rows with one of those values; ``require`` names columns every
    row must fill (e.g. ``label``). Relative paths in a manifest are relative to its folder.
    """
    wanted = {"split": set(split), "category": set(category)}
    clips: list[Clip] = []
    for given in inputs:
        clips.extend(_expand(str(given), wanted, tuple(require)))
    return _dedupe(clips)


def clip_for(video: str | os.PathLike, audio: str | os.PathLike | None = None, name: str | None = None) -> Clip:
    """The clip of one video given by path (the pairing rule applies when ``audio`` is None)."""
    full = os.path.abspath(os.path.expanduser(str(video)))
    name = name or str(video)
    paired = os.path.abspath(os.path.expanduser(str(audio))) if audio else driving_audio(full)
    return Clip(id=full, video=full, audio=paired, name=name, slug=_slug(name))


def driving_audio(video: str) -> str | None:
    """The corpus's driving audio beside ``video`` (``<stem>__driving_audio.wav``), if there is one."""
    candidate = os.path.splitext(video)[0] + DRIVING_AUDIO_SUFFIX
    return candidate if os.path.isfile(candidate) else None


def _expand(arg: str, wanted: dict[str, set[str]], require: tuple[str, ...]) -> list[Clip]:
    path = Path(arg).expanduser()
    if path.is_dir() and (path / FOLDER_MANIFEST).is_file():
        return read_manifest(path / FOLDER_MANIFEST, wanted, require)
    if path.is_file() and is_manifest(path):
        return read_manifest(path, wanted, require)
    if not (path.exists() or _GLOB_CHARS & set(arg)):
        raise SourceError(f"no such file or folder: {arg}")
    _no_columns(arg, wanted, require)
    if path.is_dir():
        return [clip_for(p, name=p.relative_to(path).as_posix()) for p in _walk(path)]
    if path.is_file() or (path.exists() and not _GLOB_CHARS & set(arg)):
        # a FIFO or a device is an item too: the checker gives it a not_a_regular_file record
        return [clip_for(path, name=arg)]
    if _GLOB_CHARS & set(arg):
        matches = sorted(glob.glob(os.path.expanduser(arg), recursive=True))
        if not matches:
            raise SourceError(f"no files match {arg!r}")
        out: list[Clip] = []
        for match in matches:
            m = Path(match)
            out.extend([clip_for(p, name=p.relative_to(m).as_posix()) for p in _walk(m)] if m.is_dir()
                       else [clip_for(m, name=match)])
        return out
    raise SourceError(f"{arg}: not a file or folder")


def _no_columns(arg: str, wanted: dict[str, set[str]], require: tuple[str, ...]) -> None:
    """Selecting by column, or requiring one, needs a manifest."""
    asked = [f"--{k}" for k, v in wanted.items() if v] + [f"a {c!r} column" for c in require]
    if asked:
        raise SourceError(f"{arg}: {' and '.join(asked)} needs a manifest (CSV/JSONL, or a folder holding "
                          f"{FOLDER_MANIFEST}), not a plain video or folder")


def _walk(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(VIDEO_EXTENSIONS) and not name.startswith("."):
                found.append(Path(folder) / name)
    return found


def read_manifest(path: Path, wanted: dict[str, set[str]] | None = None, require: tuple[str, ...] = ()) -> list[Clip]:
    """The clips of one CSV or JSONL manifest."""
    wanted = wanted or {}
    rows = _read_rows(path)
    columns = set().union(*(r for _, r in rows)) if rows else set()
    for key, values in wanted.items():
        if values and key not in columns:
            raise SourceError(f"{path}: --{key} needs a {key!r} column")
    base = path.parent
    clips = []
    for where, row in rows:
        for column in require:
            if _text(row.get(column)) is None:
                raise SourceError(f"{where}: empty {column!r}")
        if any(values and _text(row.get(key)) not in values for key, values in wanted.items()):
            continue
        clips.append(_clip(row, where, base))
    return clips


def _read_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(file:line, row)`` with lower-case column names; blank lines and rows are skipped."""
    try:
        if path.suffix.lower() in CSV_SUFFIXES:
            return _csv_rows(path)
        return _jsonl_rows(path)
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise SourceError(f"{path}: not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _csv_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = [(f or "").strip().lower() for f in reader.fieldnames or []]
        if not set(PATH_COLUMNS) & set(fields):
            raise SourceError(f"{path}: needs a `path` column (or `video` / `file`); found: "
                              f"{', '.join(fields) or 'nothing'}")
        out = []
        for record in reader:
            row = {(k or "").strip().lower(): v.strip() if isinstance(v, str) else v
                   for k, v in record.items() if k is not None}
            if any(row.values()):
                out.append((f"{path}:{reader.line_num}", row))
        return out


def _jsonl_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SourceError(f"{path}:{line}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict) or not set(PATH_COLUMNS) & {str(k).lower() for k in record}:
                raise SourceError(f"{path}:{line}: each line needs a JSON object with a `path` key")
            out.append((f"{path}:{line}", {str(k).strip().lower(): v for k, v in record.items()}))
    return out


def _clip(row: dict[str, Any], where: str, base: Path) -> Clip:
    column = next(c for c in PATH_COLUMNS if c in row)
    video = _text(row.get(column))
    if video is None:
        raise SourceError(f"{where}: empty `{column}`")
    label = None
    if _text(row.get("label")) is not None:
        try:
            label = parse_label(row["label"])
        except ValueError as exc:
            raise SourceError(f"{where}: {exc}") from None
    full = _resolve(video, base)
    audio = _text(row.get("audio"))
    id_ = _text(row.get("id"))
    return Clip(id=id_ or full, video=full, audio=_resolve(audio, base) if audio else driving_audio(full),
                split=_text(row.get("split")) or "", category=_text(row.get("category")) or "", label=label,
                group=_text(row.get("group")), name=video, slug=id_ or _slug(video),
                extra={k: v for k, v in row.items() if k not in _KNOWN})


def _text(value: Any) -> str | None:
    """A cell as text, None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _resolve(value: str, base: Path) -> str:
    p = Path(value).expanduser()
    return os.path.abspath(p if p.is_absolute() else base / p)


def _slug(name: str) -> str:
    stem = str(Path(name).with_suffix("")).lstrip("/")
    return stem.replace("/", "__").replace(" ", "_")


def _dedupe(clips: list[Clip]) -> list[Clip]:
    seen: dict[str, Clip] = {}
    for clip in clips:
        prior = seen.get(clip.id)
        if prior is None:
            seen[clip.id] = clip
        elif (prior.video, prior.audio) != (clip.video, clip.audio):
            raise SourceError(f"id {clip.id!r} names two different inputs: {prior.video} and {clip.video}")
    return list(seen.values())
