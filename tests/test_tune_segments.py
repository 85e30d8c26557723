"""scripts/tune_segments.py: the grid ranks settings by segment AP, and a wrong folder or broken metadata is one line."""
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import tune_segments  # noqa: E402

OFFSETS = np.arange(-15, 16)


def _scored(seed, start=100, stop=150):
    rng = np.random.default_rng(seed)
    n = 250  # 10 s at 25 fps
    d = 1.0 + 0.05 * rng.standard_normal((n, len(OFFSETS)))
    d[:, 15] -= 0.2  # offset 0 fits ...
    d[start:stop, 15] += 0.2  # ... except there
    ts = SimpleNamespace(dists=d, offsets=OFFSETS, times=np.arange(n) * 0.04, speech=np.ones(n, bool),
                         curve=SimpleNamespace(best_k=0))
    return ts, 0.2, [[start * 0.04, stop * 0.04]]


def test_grid_finds_a_planted_stretch_and_sorts_by_ap():
    # 2 s of another voice in two clips, 0.8 s in a third: a 1.5 s window smooths that one away
    rows = tune_segments.grid([_scored(0), _scored(1), _scored(2, 100, 120)])
    assert len(rows) == len(tune_segments.FLOORS) * len(tune_segments.WINDOWS_S) * len(
        tune_segments.RATIOS) * len(tune_segments.MIN_LENGTHS_S)
    aps = [r[0] for r in rows]
    assert aps == sorted(aps, reverse=True)
    assert aps[-1] < aps[0]
    assert rows[0][5] == min(tune_segments.WINDOWS_S)


def test_settings_that_flag_untouched_originals_rank_after_those_that_do_not():
    ts, length, _ = _scored(3, 100, 150)
    ts.dists[100:150, 15] -= 0.12  # an original whose fit only sags there: no true period
    clips = [_scored(0), _scored(1), (ts, length, [])]
    rows = tune_segments.grid(clips, max_genuine_flagged=0.0)
    flagged = [r[4] for r in rows]
    assert 0.0 < max(flagged) and flagged[0] == 0.0
    assert flagged == sorted(flagged, key=lambda f: f > 0.0)  # every clean setting before any that flags
    clean = [r[0] for r in rows if r[4] == 0.0]
    assert clean == sorted(clean, reverse=True) and rows[0][0] > 0


def test_a_folder_without_metadata_or_with_broken_metadata_is_a_one_line_error(tmp_path, capsys):
    assert tune_segments.main([str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip()
    assert "metadata.json" in err and "\n" not in err
    (tmp_path / "metadata.json").write_text("[{")
    assert tune_segments.main([str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip()
    assert "not valid JSON" in err and "\n" not in err
