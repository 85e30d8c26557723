"""Batch audits: many videos, worker processes, resumable results, a readable report.

``run_audit`` is ``avsync audit``; ``merge_dirs`` is ``avsync merge``. See docs/audit.md.
"""
from avsync.audit.job import AuditOptions, AuditResult, run_audit
from avsync.audit.merge import merge_dirs

__all__ = ["AuditOptions", "AuditResult", "run_audit", "merge_dirs"]
