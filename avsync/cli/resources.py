"""What commands load before they start: inputs, configs, scorers and caches; a bad one fails (exit 3)."""
from __future__ import annotations

from avsync.cli.options import fail


def read_inputs(inputs, split=(), category=(), require=()):
    """The clips of INPUT arguments (:func:`avsync.sources.read_sources`); none found fails."""
    from avsync.sources import SourceError, read_sources

    try:
        clips = read_sources(list(inputs), split=split, category=category, require=require)
    except SourceError as exc:
        fail(str(exc))
    if not clips:
        where = ", ".join(f"{k} {'/'.join(v)}" for k, v in (("split", split), ("category", category)) if v)
        fail(f"no videos found in {' '.join(map(str, inputs))}" + (f" with {where}" if where else ""))
    return clips


def load_settings(config_dir):
    from avsync.config import ConfigError, Settings

    try:
        return Settings.load(config_dir)
    except ConfigError as exc:
        fail(f"cannot read configs: {exc}")


def load_scorers(models: tuple[str, ...]):
    """Scorers for the ``--model`` values (default: the default model)."""
    from avsync.pipeline import resolve_scorer

    scorers = []
    for spec in models or ("default",):
        try:
            scorers.append(resolve_scorer(spec))
        except Exception as exc:  # unknown name, missing or unreadable checkpoint
            fail(f"cannot load model {spec!r}: {exc}")
    names = [s.name for s in scorers]
    if len(set(names)) != len(names):
        # results are keyed by scorer name; two checkpoints of one architecture are compared in two runs
        fail(f"two --model values give the same scorer name: {', '.join(names)} (run once per checkpoint)")
    return scorers


def scorer_identity(model, config_dir=None) -> dict:
    """The report cache's scorer key; loading the model here makes a bad ``--model`` fail early."""
    from avsync.evaluation import runner

    try:
        return runner.scorer_identity(model, config_dir)
    except Exception as exc:  # unknown name, missing or unreadable checkpoint
        fail(f"cannot load model {model or 'default'!r}: {exc}")


def open_analysis_cache(cache_dir):
    """The front-end analysis cache in ``cache_dir``, or None."""
    from avsync.evaluation.clipset import AnalysisCache

    try:
        return AnalysisCache(cache_dir) if cache_dir else None
    except OSError as exc:
        fail(f"cannot use cache folder {cache_dir}: {exc}")


def open_report_cache(cache_dir, no_cache: bool, scorer: dict):
    """The report cache (``--report-cache``), or None with ``--no-report-cache``."""
    from avsync.evaluation.cache import ReportCache, default_cache_dir

    if no_cache:
        return None
    try:
        return ReportCache(cache_dir or default_cache_dir(), scorer)
    except OSError as exc:
        fail(f"cannot use cache folder {cache_dir or default_cache_dir()}: {exc}")
