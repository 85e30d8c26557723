"""The exit codes of every ``avsync`` command, in one table (documented in the README).

0-3 are verdicts (``check``) or their batch summary (``audit``); codes from 64 follow BSD
sysexits.h so that no failure of the tool itself reads as a verdict.
"""
from __future__ import annotations

OK = 0  # in_sync; a batch command that finished with nothing flagged
FLAGGED = 1  # out_of_sync or mismatch; a batch with flagged videos
UNDECIDED = 2  # no_face, no_speech or inconclusive
BAD_INPUT = 3  # unreadable input, bad manifest, bad model, bad config folder
USAGE = 64  # bad option value, unknown option, missing argument (EX_USAGE)
CANT_CREATE = 73  # an output path cannot be created: read-only, missing folder, not a folder (EX_CANTCREAT)
IO_ERROR = 74  # writing an output failed part way, e.g. the disk is full (EX_IOERR)
INTERRUPTED = 130  # SIGINT or SIGTERM; a batch rerun finishes the work

VERDICT_EXIT_CODES = {
    "in_sync": OK,
    "out_of_sync": FLAGGED,
    "mismatch": FLAGGED,
    "no_face": UNDECIDED,
    "no_speech": UNDECIDED,
    "inconclusive": UNDECIDED,
    "error": BAD_INPUT,
}
