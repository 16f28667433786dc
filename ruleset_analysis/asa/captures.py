"""`show access-list` output as an ASA prints it -> the device's hit counter and hash per ACE
and per expanded element.

Read here: the header per ACL (`access-list NAME; N elements; name hash: 0x…`), ACE lines
(`access-list NAME line N extended … (hitcnt=N) [(inactive)] 0xHASH`), their indented element
lines (same line number, literal addresses), remarks, the `cached ACL log flows` lines, pager
prompts, the CLI prompt (which names the firewall) and `show clock` output (which dates the
capture). Any other line is kept as unread — listed by the caller, never dropped.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .config import config_lines, is_log_word

HEADER_RE = re.compile(r"^access-list (?P<acl>\S+); (?P<count>\d+) elements?; "
                       r"name hash: (?P<hash>0x[0-9a-fA-F]+)\s*$")
ENTRY_RE = re.compile(r"^(?P<indent>\s*)access-list (?P<acl>\S+) line (?P<line>\d+) "
                      r"(?P<text>.*?) \(hitcnt=(?P<hits>\d+)\)(?P<state> \(inactive\))?"
                      r"(?: (?P<hash>0x[0-9a-fA-F]+))?\s*$")
REMARK_RE = re.compile(r"^\s*access-list \S+ line \d+ remark\b")
CACHED_RE = re.compile(r"^access-list cached ACL log flows:|^\s+alert-interval \d+\s*$")
PROMPT_RE = re.compile(r"^(?P<host>[A-Za-z0-9][\w.-]*(?:/[\w.-]+)?)(?:\([\w-]+\))?[#>]"
                       r"\s*(?P<command>.*)$")
# `show clock`: "14:03:52.123 UTC Mon Jun 1 2014" (a leading * or . when NTP is not synced)
CLOCK_RE = re.compile(r"^[*.]?(?P<time>\d{1,2}:\d{2}:\d{2})(?:\.\d+)? \S+ (?:\w{3} )?"
                      r"(?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2}) (?P<year>\d{4})\s*$")
# The time in a file name: 2014-06-01, 20140601, 2014-06-01T1200, 2014-06-01_12-00-00 ...
NAME_TIME_RE = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})-?(?P<month>\d{2})-?(?P<day>\d{2})"
                          r"(?:[T_ -]?(?P<hour>\d{2})[:-]?(?P<minute>\d{2})"
                          r"(?:[:-]?(?P<second>\d{2}))?)?(?!\d)")


class CaptureError(ValueError):
    """A capture that cannot be used: the message is one line, with file:line where it
    applies."""


@dataclass(frozen=True)
class Counter:
    """One ACE or element line: what the device counted for it."""
    acl: str
    line: int
    text: str                 # the ACE as the config writes it (no counter, hash or log options)
    hits: int
    hash: str                 # "0x…", "" when the line has none
    inactive: bool
    where: str                # "file:line"


@dataclass(frozen=True)
class Entry:
    """An ACE line and the element lines below it."""
    ace: Counter
    elements: Tuple[Counter, ...] = ()


@dataclass
class Capture:
    source: str
    firewall: Optional[str]              # from the CLI prompt, if the capture has one
    taken_at: Optional[str]              # ISO date and time, from `show clock` or the name
    entries: List[Entry] = field(default_factory=list)
    headers: dict = field(default_factory=dict)       # acl -> (element count, name hash)
    unread: List[Tuple[str, str]] = field(default_factory=list)   # (file:line, text)
    warnings: List[str] = field(default_factory=list)
    prompts: List[str] = field(default_factory=list)      # every device its prompts name

    def to_json(self) -> dict:
        def counter(c: Counter) -> list:
            return [c.acl, c.line, c.text, c.hits, c.hash, c.inactive, c.where]
        return {"source": self.source, "firewall": self.firewall, "taken_at": self.taken_at,
                "entries": [[counter(e.ace), [counter(x) for x in e.elements]]
                            for e in self.entries],
                "headers": {k: list(v) for k, v in self.headers.items()},
                "unread": [list(u) for u in self.unread]}

    @classmethod
    def from_json(cls, d: dict) -> "Capture":
        return cls(d["source"], d["firewall"], d["taken_at"],
                   [Entry(Counter(*ace), tuple(Counter(*x) for x in elements))
                    for ace, elements in d["entries"]],
                   {k: tuple(v) for k, v in d["headers"].items()},
                   [(u[0], u[1]) for u in d["unread"]])


def ace_text(text: str) -> Tuple[str, bool]:
    """An ACE's text without `access-list NAME [line N]`, its log options and `inactive`, as
    a config and `show access-list` both write it -> (text, inactive). The log clause does not
    change what the ACE matches, and the device prints it in full (`log informational
    interval 300`) where the config may not."""
    tokens = text.split()
    if tokens[:1] == ["access-list"]:
        tokens = tokens[2:]
        if tokens[:1] == ["line"]:
            tokens = tokens[2:]
    inactive = "inactive" in tokens or "(inactive)" in tokens
    # `(inactive)` is the device's state (an inactive ACE, or a time-range out of its hours)
    tokens = [t for t in tokens if t not in ("inactive", "(inactive)")]
    if "log" in tokens:             # the clause as the config parser reads it
        at = end = tokens.index("log")
        while end + 1 < len(tokens) and is_log_word(tokens[end + 1]):
            end += 1
        tokens = tokens[:at] + tokens[end + 1:]
    return " ".join(tokens), inactive


def parse_capture(text: str, source: str) -> Capture:
    capture = Capture(source, None, None)
    clock: Optional[str] = None
    current: Optional[Counter] = None
    elements: List[Counter] = []

    def close() -> None:
        if current is not None:
            capture.entries.append(Entry(current, tuple(elements)))

    for number, line in enumerate(config_lines(text, source, capture.warnings), 1):
        where = f"{source}:{number}"
        if not line.strip():
            continue
        match = ENTRY_RE.match(line)
        if match is not None:
            body, inactive = ace_text(match.group("text"))
            counter = Counter(match.group("acl"), int(match.group("line")), body,
                              int(match.group("hits")), match.group("hash") or "",
                              inactive or bool(match.group("state")), where)
            # An element repeats its ACE's line number below it, indented.
            if current is not None and (match.group("indent") or "") != "" and \
                    (counter.acl, counter.line) == (current.acl, current.line):
                elements.append(counter)
                continue
            close()
            current, elements = counter, []
            continue
        header = HEADER_RE.match(line)
        if header is not None:
            capture.headers[header.group("acl")] = (int(header.group("count")),
                                                    header.group("hash"))
            continue
        if REMARK_RE.match(line) or CACHED_RE.match(line):
            continue
        found = CLOCK_RE.match(line.strip())
        if found is not None:
            clock = _clock(found)
            continue
        prompt = PROMPT_RE.match(line)
        if prompt is not None and " " not in prompt.group("host"):
            capture.firewall = capture.firewall or prompt.group("host")
            if prompt.group("host") not in capture.prompts:
                capture.prompts.append(prompt.group("host"))
            continue
        capture.unread.append((where, line.strip()))
    close()
    capture.taken_at = clock or time_in_name(source)
    return capture


def _clock(match) -> Optional[str]:
    try:
        when = datetime.datetime.strptime(f"{match.group('year')} {match.group('month')} "
                                          f"{match.group('day')} {match.group('time')}",
                                          "%Y %b %d %H:%M:%S")
    except ValueError:
        return None
    return when.isoformat()


def time_in_name(source: str) -> Optional[str]:
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    found = NAME_TIME_RE.search(name)
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(found.group(g) or 0) for g in (
        "year", "month", "day", "hour", "minute", "second"))
    try:
        return datetime.datetime(year, month, day, hour, minute, second).isoformat()
    except ValueError:
        return None


def taken_at(value: str) -> str:
    """--taken-at: YYYY-MM-DD[THH:MM[:SS]] -> ISO."""
    try:
        return datetime.datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise CaptureError(f"--taken-at {value!r} is not YYYY-MM-DD[THH:MM[:SS]]") from None
