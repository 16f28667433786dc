"""The typed report: what ``build.build_report`` makes and every renderer renders.

``Report.to_json()`` is the JSON contract (fields are only ever added; their order is the
order of the fields here). Renderers read attributes; none decides what a judgement is
(``judgement.py``) or what the logs can prove (``evidence.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Dict, List, Mapping, Optional


@dataclass
class ConnectionUse:
    """A distinct connection an ACE carried: its count and first/last time (None: unknown)."""
    protocol: str
    source: str
    destination: str
    port: int
    count: int
    first_seen: Optional[str]
    last_seen: Optional[str]


@dataclass
class ServiceUse:
    """The connections of one service (protocol, destination, port) that an ACE's connection
    list leaves out: their hits, first and last time together."""
    protocol: str
    destination: str
    port: int
    hits: int
    first_seen: Optional[str]
    last_seen: Optional[str]


@dataclass
class DeviceReading:
    taken_at: str
    hits: int


@dataclass
class DeviceInterval:
    """What the device's counter did between two captures: ``grew`` hits, or None when it
    went down (a reload or `clear access-list counters`; then at least ``since_reset``)."""
    start: str
    end: str
    grew: Optional[int]
    since_reset: int


@dataclass
class DeviceCounts:
    """An ACE's or element's hit counter as `show access-list` captures read it, oldest first."""
    readings: List[DeviceReading]
    intervals: List[DeviceInterval]

    @property
    def summary(self) -> str:
        """Its latest reading and what it did since the one before: "2210 (+412 since
        2014-06-01)", "5 (reset since 2014-06-01)"."""
        latest = self.readings[-1]
        if not self.intervals:
            return str(latest.hits)
        last = self.intervals[-1]
        change = f"+{last.grew}" if last.grew is not None else "reset"
        return f"{latest.hits} ({change} since {last.start[:10]})"


@dataclass
class RuleUse:
    """One expanded rule of an ACE (an ``objects`` entry) and its hits."""
    index: int
    protocol: str
    source: str
    source_port: str
    destination: str
    destination_port: str
    hits: int
    first_seen: Optional[str]
    last_seen: Optional[str]
    members: Dict[str, List[str]]
    device: Optional[DeviceCounts] = None    # its element's counter (`hitcounts` captures)
    # with a config history: when it began its present life, if after the first revision
    since: Optional[str] = None


@dataclass
class Tightening:
    """A broad ACE's observed traffic as a few specific ACE lines."""
    lines: List[str]
    widened: List[str]
    complete: bool
    connections: int


@dataclass
class AceReport:
    """One ACE: what it is, how it was used, and the judgement."""
    firewall: str
    acl: str
    line: int
    text: str
    remarks: List[str]
    action: str
    inactive: bool
    hits: int
    untimed_hits: int
    first_seen: Optional[str]
    last_seen: Optional[str]
    objects: List[RuleUse]
    connections: List[ConnectionUse]
    daily: Dict[str, int]
    connections_truncated: bool
    omitted_connections: int          # estimated when connections_sampled
    omitted_hits: int
    kind: str
    bindings: List[str]
    time_range: Optional[str]
    log: Optional[str]
    error: Optional[str]
    visibility: str
    unseen_protocols: List[str]
    # more distinct connections than a list keeps: the list is a hash sample, each count exact
    connections_sampled: bool = False
    # the hits of the connections not listed, per service (most used first); more services
    # than are kept: those listed are a hash sample, each exact, the rest in omitted_hits only
    services: List[ServiceUse] = field(default_factory=list)
    services_sampled: bool = False
    event_log: Optional[str] = None   # FTD: which connection events (flow-start|end|both)
    disagreements: int = 0
    # ACL messages this ACE matches first that the device's hashes give to another ACE
    hash_disagreements: int = 0
    judgement: str = ""          # why it cannot be evaluated ('' when it can): a short code
    status: str = ""             # judgement.Status value
    reason: str = ""
    unused: bool = False         # a pruning candidate
    tightening: Optional[Tightening] = None
    shadowed_by: List[Any] = field(default_factory=list)
    redundant_with: List[Any] = field(default_factory=list)
    shadowing_not_analysed: Optional[str] = None
    device: Optional[DeviceCounts] = None       # from `hitcounts` captures, when given
    # with a config history: when it began its present life, if after the first revision
    # (its ACL name and text, log options aside, unchanged since; its line may have moved)
    since: Optional[str] = None
    removed_member_hits: int = 0     # hits of members older revisions had and it has not
    # removed and written again: every period it was in force ([[since, until]...], the last
    # until "" for now); empty when it had one life
    periods: List[List[str]] = field(default_factory=list)

    @property
    def other_service_hits(self) -> int:
        """Hits of connections neither listed nor in a kept service (services sampled)."""
        return self.omitted_hits - sum(s.hits for s in self.services)


def periods_text(periods: List[List[str]]) -> str:
    """[[since, until]...] (until "" for now) as a reader reads it."""
    return ", ".join(f"{since} .. {until or 'now'}" for since, until in periods)


@dataclass
class RemovedAce:
    """An ACE of older revisions that the newest one lacks, and its hits while in force."""
    firewall: str
    acl: str
    line: int                        # in the last revision that had it
    text: str
    periods: List[List[str]]         # [[since, until]...] it was in force
    hits: int
    first_seen: Optional[str]
    last_seen: Optional[str]
    connections: List[ConnectionUse]
    daily: Dict[str, int]
    # the connections a full list leaves out, per service (as AceReport.services)
    services: List[ServiceUse] = field(default_factory=list)


@dataclass
class MemberReport:
    member: str
    line: Optional[str]
    hits: int
    first_seen: Optional[str]
    last_seen: Optional[str]
    unused: bool

    @property
    def status(self) -> str:
        return "unused" if self.unused else "used" if self.hits else "not evaluated"


@dataclass
class GroupReport:
    """An object-group: its members' use across every ACE that uses it."""
    firewall: str
    group: str
    header: Optional[str]
    members: List[MemberReport]
    unused: List[str]
    used_by: List[str]
    not_evaluated: List[str]


@dataclass
class Horizon:
    start: str
    as_of: str
    days: int
    covered: bool
    reason: str


@dataclass
class FirewallReport:
    """What one firewall's logs can prove (``evidence.py``)."""
    firewall: str
    status: str                  # "ok" | "no data"
    reason: str
    first: Optional[str]
    last: Optional[str]
    days: int
    days_with_logs: int
    gaps: List[List[Any]]
    untimed: int
    deny_days_with_logs: int
    lines: Dict[str, int]
    notes: List[str]
    protocols: Dict[str, int] = field(default_factory=dict)    # days with logs, per protocol
    horizon: Optional[Horizon] = None
    # its config history: [{"since", "source"}], oldest first (empty: one undated config)
    revisions: List[Dict[str, str]] = field(default_factory=list)
    before_first: int = 0            # lines dated before the first revision, matched to it

    @property
    def evidence(self) -> str:
        """"ok", "no data", or "not enough data" for the --unused-since horizon."""
        if self.status == "ok" and self.horizon is not None and not self.horizon.covered:
            return "not enough data"
        return self.status

    @property
    def why(self) -> str:
        return self.reason or (self.horizon.reason if self.horizon else "")


@dataclass
class Disagreement:
    """Messages whose verdict the ACE that matches them first contradicts."""
    firewall: str
    acl: str
    line: int
    text: str
    action: str
    messages: str                # "deny" | "permit": what the firewall logged
    count: int
    first_seen: Optional[str]
    last_seen: Optional[str]
    connections: List[ConnectionUse]
    # the connections a full list leaves out, per service (as AceReport.services)
    services: List[ServiceUse] = field(default_factory=list)


@dataclass
class CaptureUse:
    """One `show access-list` capture and how it matched the ruleset."""
    firewall: str
    source: str
    taken_at: Optional[str]
    aces: int                    # ACE lines matched
    elements: int                # element lines matched
    unmatched: List[Dict[str, str]]      # {"where", "text", "why"}


@dataclass
class Rehashed:
    """ACL messages whose hashes name this ACE (the device's) while another is their first
    match: ``first_matches`` [{"line" (0: none), "count"}]."""
    firewall: str
    acl: str
    line: int
    text: str
    count: int
    first_seen: Optional[str]
    last_seen: Optional[str]
    first_matches: List[Dict[str, int]]


@dataclass
class Report:
    counters: Dict[str, int]
    window: Dict[str, Any]
    unused_rule: Optional[Dict[str, Any]]
    rules: List[AceReport]
    groups: List[GroupReport]
    unknown_results: List[Dict[str, Any]]
    input_errors: List[Dict[str, str]]
    firewalls: List[FirewallReport]
    disagreements: List[Disagreement]
    unknown_devices: Dict[str, Any]
    results_format: int
    identity_conflicts: List[str] = field(default_factory=list)
    captures: List[CaptureUse] = field(default_factory=list)
    rehashed: List[Rehashed] = field(default_factory=list)
    removed: List[RemovedAce] = field(default_factory=list)    # ACEs of older revisions
    seconds: Dict[str, float] = field(default_factory=dict)    # how long parts took

    def json_fields(self) -> Dict[str, Any]:
        """The contract's fields, their values as they are (dataclasses within): what orjson
        writes as it writes to_json(). ``seconds`` is not a property of the firewalls."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "seconds"}

    def to_json(self) -> Dict[str, Any]:
        return plain(self.json_fields())

    def firewall(self, name: str) -> Optional[FirewallReport]:
        return next((f for f in self.firewalls if f.firewall == name), None)


_FIELDS: Dict[type, Optional[tuple]] = {}       # class -> its field names, None: no dataclass
_LEAVES = frozenset((str, int, float, bool, type(None)))


def _field_names(cls: type) -> Optional[tuple]:
    names = _FIELDS.get(cls, ())
    if names == ():
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls)) \
            if is_dataclass(cls) else None
    return names


def dataclass_fields(value) -> Mapping[str, Any]:
    """A dataclass's fields by name, in their order (one level: their values as they are),
    to be read, not changed: its own attribute dict where that holds just them, in their
    order, as __init__ makes it (a 1.2M-rule JSON report made 1.2 million of them: 1 s)."""
    names = _field_names(value.__class__)
    if names is None:
        raise TypeError(f"{value.__class__.__name__} is not a dataclass")
    own: Any = getattr(value, "__dict__", ())      # none where slotted
    if tuple(own) == names:
        return own
    return {name: getattr(value, name) for name in names}


def plain(value):
    """The report as JSON sees it — what dataclasses.asdict makes of it, without its deep
    copy of every leaf: dataclasses become dicts in field order, lists and tuples lists.
    asdict took a second of a 10,000-rule report; this a quarter of that."""
    cls = value.__class__
    if cls in _LEAVES:
        return value
    names = _field_names(cls)
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if cls is list or cls is tuple:
        return [plain(item) for item in value]
    if cls is dict:
        return {key: plain(item) for key, item in value.items()}
    return value                 # json.dumps decides (a str enum, ...)
