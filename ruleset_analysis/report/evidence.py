"""What the logs can prove, per firewall: the coverage model behind every "unused".

A permit ACE can only be called unused where its firewall's logs could have shown its use:
the firewall logged messages that show permitted connections (connection-built lines, or
106100 permits with ``--permits-from acl-log``) on the days the claim is about. This module
turns the job's ``coverage`` records into that evidence and answers, for a firewall, whether
"no hit" means "unused" — and if not, why.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

# A horizon (--unused-since) counts as covered when at most this share of its days has no
# evidence; a longer silence may be missing logs, and a rule used in it would look unused.
MAX_MISSING_SHARE = 0.10
SHORT_WINDOW_DAYS = 30
GAPS_LISTED = 5
# Days at either end of a firewall's logs, this many days away from the rest and holding few
# of its lines (this share, or this many, but never a quarter), are strays (a misdated or
# forged line, a device clock reset): they are not coverage and do not move the period a claim
# is about. Leaving out real days can only make fewer claims.
STRAY_GAP_DAYS = 60
STRAY_SHARE = 0.01
STRAY_LINES = 10


def unread_logs(input_errors: List[Dict[str, str]], ids: Dict[str, str]) -> Dict[str, str]:
    """Firewall -> why its logs cannot show every use: a log that may hold its lines was not
    read whole (left out, gone, cut, broken; not a misnamed one, read whole). Whose a log is,
    its directory or name says (``ids``: device id -> firewall, as the job places lines); a
    log that names none may be any firewall's ("*")."""
    from ..aggregate import firewall_of_path
    from .lines import lost_lines
    found: Dict[str, str] = {}
    for problem in input_errors:
        if lost_lines(problem["error"]):
            whose = firewall_of_path(problem["file"], ids) or "*"
            found.setdefault(whose, "a log that may hold its lines was not read whole ("
                             f"{problem['error']}): a rule used only there would look unused")
    return found


def _date(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text[:10])


@dataclass(frozen=True)
class Horizon:
    """The period an unused claim is about: no hit from ``start`` up to ``as_of``."""
    days: int
    as_of: str               # YYYY-MM-DD
    start: str               # YYYY-MM-DD: as_of - days

    @classmethod
    def of(cls, days: int, as_of: str) -> "Horizon":
        start = _date(as_of) - datetime.timedelta(days=days)
        return cls(days, as_of, start.isoformat())

    @property
    def cutoff(self) -> str:
        """A last hit before this timestamp is outside the horizon."""
        return f"{self.start} 00:00:00"


@dataclass
class Evidence:
    """One firewall's evidence in the results."""
    firewall: str
    matched: bool                       # the results were matched against this firewall
    days: Dict[str, int] = field(default_factory=dict)   # day -> lines showing permits
    deny_days: Dict[str, int] = field(default_factory=dict)     # day -> deny messages
    untimed: int = 0                    # permit-showing lines without a time
    deny_untimed: int = 0
    lines: Dict[str, int] = field(default_factory=dict)     # category -> its lines
    # tcp | udp | icmp -> days its permitted connections were seen (a firewall may log some
    # protocols' built messages and not others: `no logging message 302015`)
    protocols: Dict[str, Dict[str, int]] = field(default_factory=dict)
    # days with 106100 permits (--permits-from acl-log): they show ACEs with `log` only
    acl_log_days: Dict[str, int] = field(default_factory=dict)
    # --permits-from acl-log: an ACE with `log` (`event-log`) is counted by those messages only
    acl_log_mode: bool = False
    strays: Dict[str, int] = field(default_factory=dict)    # stray day -> its lines
    # with a config history: when its first revision took effect, and the lines dated before
    # it (matched against it all the same)
    first_revision: Optional[str] = None
    before_first: int = 0
    # results matched before the revision that took effect at this time was added: lines
    # from then on met the revision before it, so the evidence ends the day before
    matched_until: Optional[str] = None
    # answers already given: the evidence does not change while a report is built, and every
    # ACE of the firewall asks the same few questions
    answers: Dict[Tuple[Any, ...], Optional[str]] = field(default_factory=dict, repr=False,
                                                        compare=False)

    @property
    def first(self) -> Optional[str]:
        return min(self.days) if self.days else None

    @property
    def last(self) -> Optional[str]:
        return max(self.days) if self.days else None

    @property
    def span_days(self) -> int:
        if not self.days:
            return 0
        return (_date(max(self.days)) - _date(min(self.days))).days + 1

    def gaps(self, start: Optional[str] = None, end: Optional[str] = None) -> List[List[Any]]:
        """[first missing day, last missing day, days] of every run of days without
        evidence between ``start`` and ``end`` (default: the firewall's own first and last)."""
        if not self.days:
            return []
        day, stop = _date(start or min(self.days)), _date(end or max(self.days))
        found, run = [], None
        while day <= stop:
            if day.isoformat() not in self.days:
                run = [day, day] if run is None else [run[0], day]
            elif run is not None:
                found.append(run)
                run = None
            day += datetime.timedelta(days=1)
        if run is not None:
            found.append(run)
        return [[a.isoformat(), b.isoformat(), (b - a).days + 1] for a, b in found]

    def no_data_reason(self) -> Optional[str]:
        """Why no permit ACE of this firewall can be judged at all, or None."""
        if not self.matched:
            return ("the results were not matched against this firewall (it was added to the "
                    "database after the run?)")
        if self.days:
            return None
        if self.untimed:
            return (f"its {self.untimed} connection lines have no time: they show which ACEs "
                    "are used, not which are unused")
        seen = sum(n for k, n in self.lines.items() if k != "lines")
        if not seen:
            return ("no log line of it was read (logs left out, another device id, or "
                    "--since/--until outside the data?)")
        if self.deny_days or self.lines.get("acl_log_permit"):
            return (f"its {seen} lines include no connection-built message (logging level "
                    "below 6, or only ACL-log lines: see --permits-from acl-log), so "
                    "permitted traffic is not visible")
        return f"none of its {seen} lines shows a permitted connection"

    def protocol_reason(self, needed: List[str], horizon: Optional[Horizon],
                        logged: bool = False) -> Optional[str]:
        """Why the logs cannot show an ACE's use of one of the ``needed`` protocols (none of
        its permitted connections logged, in the horizon if there is one), or None. An ACE
        with ``log`` (``logged``) is shown by 106100 permits too, when they are counted."""
        key = ("protocols", tuple(needed), horizon, logged)
        if key not in self.answers:
            self.answers[key] = self._protocol_reason(needed, horizon, logged)
        return self.answers[key]

    def _protocol_reason(self, needed: List[str], horizon: Optional[Horizon],
                         logged: bool) -> Optional[str]:
        if logged and any(horizon is None or horizon.start <= d <= horizon.as_of
                          for d in self.acl_log_days):
            return None
        if logged and self.acl_log_mode:
            where = f" in {horizon.start} .. {horizon.as_of}" if horizon else ""
            return (f"with --permits-from acl-log this ACE's connections count only through "
                    f"its ACL-log messages (106100, FTD connection events), and the logs of "
                    f"{self.firewall} show none{where}")
        missing = []
        for protocol in needed:
            days = self.protocols.get(protocol, {})
            if horizon is not None:
                days = {d: n for d, n in days.items() if horizon.start <= d <= horizon.as_of}
            if not days:
                missing.append(protocol.upper())
        if not missing:
            return None
        where = f" in {horizon.start} .. {horizon.as_of}" if horizon else ""
        return (f"the logs of {self.firewall} show no {' or '.join(missing)} connection"
                f"{where} (its connection-built messages may be off, e.g. `no logging message "
                "302015`): this ACE's traffic would not be visible")

    def horizon_reason(self, horizon: Horizon) -> Optional[str]:
        """Why the logs do not cover ``horizon`` well enough for "no hit since", or None."""
        key = ("horizon", horizon)
        if key not in self.answers:
            self.answers[key] = self._horizon_reason(horizon)
        return self.answers[key]

    def _horizon_reason(self, horizon: Horizon) -> Optional[str]:
        if self.first is None or self.last is None:
            return "no log lines"
        if self.first > horizon.start or self.last < horizon.as_of:
            return (f"the claim is about {horizon.start} .. {horizon.as_of}, the logs cover "
                    f"{self.first} .. {self.last}")
        missing = sum(g[2] for g in self.gaps(horizon.start, horizon.as_of))
        total = horizon.days + 1
        if missing > MAX_MISSING_SHARE * total:
            return (f"{missing} of the {total} days {horizon.start} .. {horizon.as_of} have no "
                    "log lines")
        return None

    def notes(self) -> List[str]:
        """What a reader should know about this firewall's evidence, one sentence each."""
        found = []
        gaps = self.gaps()
        if gaps:
            listed = ", ".join(f"{a} .. {b} ({n} days)" if n > 1 else a
                               for a, b, n in sorted(gaps, key=lambda g: -g[2])[:GAPS_LISTED])
            found.append(f"{sum(g[2] for g in gaps)} day(s) without log lines: {listed}"
                         + (" ..." if len(gaps) > GAPS_LISTED else ""))
        if self.days and self.span_days < SHORT_WINDOW_DAYS:
            found.append(f"only {self.span_days} day(s) of logs: rules used monthly, "
                         "quarterly or yearly look unused")
        if self.untimed:
            found.append(f"{self.untimed} connection line(s) without a time: their hits "
                         "count, their time is unknown" + (
                             " (matched against the newest revision of the config)"
                             if self.first_revision else ""))
        if self.matched_until:
            found.append(f"the results were matched before the config revision of "
                         f"{self.matched_until} was added: later lines met the revision before "
                         "it, so the evidence for unused claims ends the day before (hits after "
                         "it still count)")
        if self.before_first:
            found.append(f"{self.before_first} line(s) dated before the first revision of the "
                         f"config ({self.first_revision}): matched against it, which may not "
                         "be the ruleset then in force")
        if self.strays:
            days = sorted(self.strays)
            found.append(f"{sum(self.strays.values())} line(s) on {len(days)} day(s) more than "
                         f"{STRAY_GAP_DAYS} days apart from the rest of its logs ({days[0]}"
                         f"{' .. ' + days[-1] if len(days) > 1 else ''}): misdated or forged? "
                         "Not counted as days with logs; hits on them still count")
        return found

    def to_json(self, no_data: Optional[str]) -> Dict[str, Any]:
        return {"firewall": self.firewall, "status": "no data" if no_data else "ok",
                "reason": no_data or "", "first": self.first, "last": self.last,
                "days": self.span_days, "days_with_logs": len(self.days),
                "gaps": self.gaps(), "untimed": self.untimed,
                "deny_days_with_logs": len(self.deny_days), "lines": self.lines,
                "notes": self.notes(),
                "protocols": {p: len(days) for p, days in sorted(self.protocols.items())},
                "before_first": self.before_first}


def stray_days(days: Dict[str, int]) -> Set[str]:
    """The days at either end of ``days`` (day -> lines) that are strays (STRAY_GAP_DAYS)."""
    ordered = sorted(days)
    total = sum(days.values())
    limit = min(max(STRAY_SHARE * total, STRAY_LINES), total / 4)
    found: Set[str] = set()
    for run in (ordered, ordered[::-1]):
        cut, count = 0, 0
        for i in range(1, len(run)):
            count += days[run[i - 1]]
            if count > limit:
                break
            if abs((_date(run[i]) - _date(run[i - 1])).days) > STRAY_GAP_DAYS:
                cut = i
        found.update(run[:cut])
    return found


def evidence_of(firewall: str, coverage: Optional[Dict[str, Any]], matched: bool,
                first_revision: Optional[str] = None,
                matched_until: Optional[str] = None) -> Evidence:
    coverage = dict(coverage or {})
    if matched_until:
        end = matched_until[:10]
        for part in ("days", "deny_days", "acl_log_days"):
            coverage[part] = {d: n for d, n in coverage.get(part, {}).items() if d < end}
        coverage["protocols"] = {p: {d: n for d, n in found.items() if d < end}
                                 for p, found in coverage.get("protocols", {}).items()}
    days = dict(coverage.get("days", {}))
    strays = stray_days(days)

    def kept(found: Dict[str, int]) -> Dict[str, int]:
        return {d: n for d, n in found.items() if d not in strays}
    deny_days = dict(coverage.get("deny_days", {}))
    deny_strays = stray_days(deny_days)
    return Evidence(firewall, matched, kept(days),
                    {d: n for d, n in deny_days.items() if d not in deny_strays},
                    coverage.get("untimed", 0), coverage.get("deny_untimed", 0),
                    dict(coverage.get("lines", {})),
                    {p: kept(found) for p, found in coverage.get("protocols", {}).items()},
                    kept(coverage.get("acl_log_days", {})),
                    coverage.get("acl_log_mode", 0) > 0,
                    {d: n for d, n in days.items() if d in strays}, first_revision,
                    coverage.get("before_first", 0), matched_until)
