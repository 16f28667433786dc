"""A report in a format: results + database -> text, JSON, CSV, HTML or a prune script.

What ``report``, ``prune`` and ``analyze`` print; the warnings a user must see even when the
report goes to a file are returned with it.
"""
from __future__ import annotations

import time
from typing import Iterator, List, Optional, TextIO, Tuple

from ..records import Results
from . import csv_report, html_report, json_report, prune, text
from .build import Filters, make_report

FORMATS = ("text", "json", "csv", "html")
RENDERERS = {"text": text, "json": json_report, "csv": csv_report, "html": html_report,
             "prune": prune}


def render_report(firewalls: dict, results: Results, fmt: str, top: int,
                  filters: Filters, progress: Optional[TextIO] = None,
                  captures: Optional[dict] = None, started: Optional[float] = None
                  ) -> Tuple[Iterator[str], List[str]]:
    """-> (the rendered report, in pieces made as they are taken: a JSON report's, an ACE
    at a time; warnings for standard error). ``progress``: where the report's time is written
    (a terminal), once its last piece is taken, counted from ``started`` (time.monotonic;
    default: now — a caller that loaded ``firewalls`` and ``results`` for it counts that
    too); ``captures``: the database's `show access-list` captures."""
    started = time.monotonic() if started is None else started
    filters.check(firewalls)
    report = make_report(firewalls, results, top, filters, captures)
    warnings = [f"warning: {entry.firewall}: no data: {entry.reason}; none of its ACEs "
                "is judged unused" for entry in report.firewalls if entry.status == "no data"]
    if report.unknown_results:
        warnings.append(f"warning: {len(report.unknown_results)} ACE(s) in the results are "
                        "not in the database; the report lists them under unknown_results")
    return _rendered(report, fmt, progress, started), warnings


def _rendered(report, fmt: str, progress: Optional[TextIO], started: float) -> Iterator[str]:
    if fmt == "json":
        yield from json_report.pieces(report)
    else:
        yield RENDERERS[fmt].render(report)
    if progress is not None:
        progress.write(f"report: {time.monotonic() - started:.1f} s (shadowing "
                       f"{report.seconds['shadowing']:.1f} s)\n")
