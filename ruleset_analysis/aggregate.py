"""Connection facts per ACE, and their exact merge (counts add, first = min, last = max).

The mapper aggregates in memory (``LineAnalyzer``) and emits little; the combiner, the reducer
and the report merge records with ``merge_ace`` — the same function everywhere, so every runner
and the cat-pipe give the same numbers. Only the reducer truncates connection lists
(``finish_ace``), because only it sees everything a rule got. ``records.py`` owns the record
kinds and how they are read back.

A connection whose line has no time still proves its rule is used: it is counted in ``hits``
and ``untimed`` and leaves first/last at the sentinels NO_FIRST/NO_LAST, which sort after and
before every timestamp, so min/max merging needs no special case.

Four paths for a TCP/UDP connection-built line whose header was seen, the first three
through one lookup of the flow's *shape* (the flow but for the initiator's address and port):
a shape no ACL's first match depends on the initiator for (a web server's ever new clients)
decides the flow, and the connection's fact is counted; else the shape holds its flows by
initiator, and one seen before is counted (a second lookup, by the initiator's address alone);
else, where no flow holds it, the flow's *reach* (the flow but for the destination): one no
ACL's first match depends on the destination for, outside the few ranges rules ahead name
(inside users to ever new internet servers), decides it too; else the general path
(``classify``), which teaches the others. A firewall whose ACLs match mapped addresses (before
ASA 8.3) adds the mapped destination to the shape, for the initiators NAT leaves as they are
(both chains then see the logged one); it keeps the flows of those NAT maps by every group of
the line but the initiator's port instead; its reaches add the mapped initiator and hold the
destinations NAT leaves as they are.
"""
from __future__ import annotations

import datetime
import gc
import os
import socket
import sys
import time
from array import array
from bisect import bisect_right
from itertools import compress, repeat
from operator import not_
from socket import AF_INET, AF_INET6, inet_pton
from sys import intern
from typing import Iterable, Iterator, Optional, Sequence
from zlib import crc32

from .asa.syslog import (
    ACL_LOG_RE,
    BOX_INTERFACES,
    BUILT_RE,
    DENY_RE,
    DIRECTION_UNKNOWN,
    FOR_PORT,
    FTD_CONNECTION_EVENT,
    HEADER_CACHE_LENGTH,
    ICMP_WITHOUT_TYPE,
    MALFORMED,
    MESSAGE_RE,
    NO_TIMESTAMP,
    TO_PORT,
    TO_THE_BOX,
    LogParser,
    no_connection,
)
from .matcher import FirewallMatcher, Timeline
from .model import Connection
from .options import DEFAULT_MAX_CONNECTIONS, PERMIT_SOURCES
from .records import (
    ACE,
    COUNTER,
    COVERAGE,
    DEVICE,
    DISAGREEMENT,
    NO_FIRST,
    NO_LAST,
    REHASHED,
    RESULTS_FORMAT,
    RETIRED,
    RULESET,
    SAMPLE_SPACE,
    HashSample,
    _span,
    connection_hash,
    empty_coverage,
    service_hash,
)

UNKNOWN_FIREWALL = "unknown_firewall"
ACL_LOG_PERMIT = "acl_log_permit"      # a 106100 permit whose connection-built line counts it
FTD_KINDS = ("ftd_start", "ftd_end")
# Messages that show a permitted connection only for ACEs that log it (`log`, FTD
# `event-log`): with --permits-from acl-log they, not the built line, count it.
ACL_LOG_PERMITS = ("acl_permit",) + FTD_KINDS
OUTSIDE_PERIOD = "outside_period"      # a connection before --since or after --until
TIME_OUTLIER = "time_outlier"          # dated after today: a forged or misdated line
# Where lines take the general path (a pre-8.3 firewall's initiators mapped by NAT, IPv6 or
# initiator-dependent verdicts, ACL messages), each new flow's verdict is cached (~1.4 KB:
# its key, the connection's strings, the verdict) and a taught flow kept: on all-distinct
# traffic to a pre-8.3 firewall (before its shapes) 300k lines held 530 MB at 1,000,000
# entries, 160 MB at 30,000.
FLOW_CACHE_LIMIT = 50_000
# A flush keeps the shapes learnt (rebind_shapes), so it costs little: at 1.2M rules on
# all-distinct traffic (every line a fact) 100k facts peak at 289 MB and 0.90-0.93 of the
# speed of 500k (496 MB), the output 14% larger (317 against 529 MB on 90% distinct). The
# benchmark's other logs do not reach the bound. Below a task's working set (each ACE's
# listed connections and the facts of its services, which every flush emits again) each
# flush re-emits it: at 120k rules on all-distinct traffic (~60k facts) a 50k bound gave 27%
# output and 1.37x the time, against 1.6%. So, reached, the bound grows rather than flush
# (grow) toward twice the working set of the busy ACEs, up to FACTS_CEILING_FACTOR times
# where it started and while the task's memory stays within MEMORY_BUDGET (a fact takes
# 0.2-0.3 KB): distinct clients to 3,000 single-service ACEs gave 60% output at 100k facts
# (105 MB) and 3.8% growing to 400k (163 MB; 6.5% when it grew at the first flush instead
# of it); at 1.2M rules the budget keeps it where it is.
FACTS_FLUSH_LIMIT = 100_000
FACTS_CEILING_FACTOR = 4
# the 300 MB target less room for what grows after a flush (the index's subtrees: 262 -> 283
# MB over the 1.2M-rule 90% distinct log); a fact measured 0.2 KB of the resident memory
# (distinct clients of 3,000 services: 66.6 MB at 50k facts, 137.1 at 400k) and 0.27 KB
# traced at 1.2M rules (0.55 KB before 2cc753f), counted with a margin. Behind a pre-8.3
# firewall, whose flow caches take their share, that task grew to 267k facts at 400 (3.8%
# output over 3M lines, 290 MB), to 211k at 600 (58% over 1M lines, 255 MB).
MEMORY_BUDGET = 256 * 2**20
FACT_BYTES = 400
# An ACE's hits per day (``daily``) leave at a flush too, which the facts alone may never
# call for (traffic that repeats): a year of logs in one task, or a local worker's daily files,
# held ACEs met x days met of them. Flushed beyond this many ACE-days (that product, which
# bounds them: ~80 bytes each).
DAYS_LIMIT = 500_000
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
HEADS_LIMIT = 65_536
# A shared shape's lines wait in its buffer (at most SHAPE_BATCH, of one day) and are counted
# a batch at a time, their hashes computed in C (settle_shape); when the buffers hold
# SHAPE_LINES lines (~85 bytes each) all are counted, so memory stays bounded however many
# shapes. A bound on the buffers instead (2,048) counted them a line or two at a time where
# more shapes were busy: distinct clients to 3,000 ACEs, 3M lines, 33.1 s against 27.3 s.
# A shape's first line in an epoch (SHAPE_EPOCH such lines) is counted at once (queue_shape).
SHAPE_BATCH = 128
SHAPE_LINES = 65_536
SHAPE_EPOCH = 2048
# general-path ACL messages a table's ACL-message shapes are judged on (learn_message)
MESSAGE_TRIAL = 16_384
# The ACL messages whose ever new sources share a shape (message_key): denies and ACL-log lines
SHAPED_MESSAGES = {"106023": DENY_RE, "106100": ACL_LOG_RE}
COLLECT_SHARE = 0.02                   # of a map task's CPU time, at most, for collections
UNSAMPLED = (SAMPLE_SPACE, SAMPLE_SPACE)
IPV6 = (6,)     # a shape's key + IPV6: its entry for IPv6 initiators (no key holds an int)
IPV4_BASE, IPV6_BASE = 4 << 128, 6 << 128   # an address's version, as the matcher's bounds
DEVICES_LIMIT = 1_000                  # unknown device ids counted by name; the rest together
OTHER_DEVICES = "(other device ids)"


def resident_bytes() -> Optional[int]:
    """This process's resident memory now (Linux), else its peak (ru_maxrss; a forked
    child's starts at its parent's, an overestimate), or None where neither is known."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def quiet_collector() -> bool:
    """For a map task whose ruleset is loaded: the ruleset frozen out of the cyclic garbage
    collector's sight (it lives as long as the task: rescanning it took a third of the time at
    100,000 rules) and automatic collection off until the caller turns it on again. The
    mapper makes no reference cycles (none over the benchmark's logs, the corpus and 50,000
    mutated lines), yet the collector kept rescanning every fact and cache entry it holds:
    a tenth of an all-distinct task at 120,000 rules. A flush (``emit``) collects once, so
    a cycle some rare line might make cannot pile up. Returns whether collection was on."""
    gc.freeze()
    enabled = gc.isenabled()
    gc.disable()
    return enabled


class LineAnalyzer:
    """The mapper's state: parse a line, match its flow once (cached), aggregate in memory.

    ``permits_from`` decides which message counts a permitted connection, so that none is
    counted twice: "built" (connection-built messages; ACL-log permits are only counted as
    lines) or "acl-log" (106100 permits, for logs without built messages; a built line is then
    not credited to an ACE with `log`, whose 106100 line counts it).

    Besides the facts per ACE it keeps the evidence per firewall (``coverage``): the days on
    which the firewall logged messages that can show a permitted connection (``days``) or a
    denied one (``deny_days``), such lines without a time, and its lines per category. Only
    that evidence lets a report call a rule unused.
    """

    def __init__(self, firewalls: dict, year: Optional[str] = None,
                 firewall: Optional[str] = None, path: Optional[str] = None,
                 permits_from: str = "built", facts_limit: int = FACTS_FLUSH_LIMIT,
                 flows_limit: int = FLOW_CACHE_LIMIT, facts_ceiling: Optional[int] = None,
                 since: Optional[str] = None,
                 until: Optional[str] = None, max_connections: int = DEFAULT_MAX_CONNECTIONS):
        self.parser = LogParser(year)
        self.bound = max_connections       # connections (and services) listed per ACE
        self.firewalls = firewalls
        self.matchers = {name: FirewallMatcher(fw) for name, fw in firewalls.items()}
        # Firewalls with older revisions: a line meets the revision in force at its time.
        self.timelines = {name: Timeline(fw, self.matchers[name])
                          for name, fw in firewalls.items() if fw.history is not None}
        if firewall is not None and firewall not in self.matchers:
            raise ValueError(f"firewall '{firewall}' is not in the database "
                             f"(it has: {', '.join(self.matchers) or 'none'})")
        if permits_from not in PERMIT_SOURCES:
            raise ValueError(f"permits come from {' or '.join(PERMIT_SOURCES)}, "
                             f"not {permits_from!r}")
        self.assumed = firewall
        self.device_ids = device_ids(firewalls)
        # Lines with an unknown device id may still be placed by the directory they were
        # stored in (read_from, below); the database's only firewall takes only lines that
        # name no device.
        self.by_path: Optional[str] = None
        self.only = next(iter(self.matchers)) if len(self.matchers) == 1 else None
        self.from_acl_log = permits_from == "acl-log"
        # Only connections from `since` to `until` (days, inclusive) are analysed; a line
        # without a time cannot be placed in such a period.
        self.bounded = bool(since or until)
        self.period = (f"{since} 00:00:00" if since else "",
                       f"{until} 23:59:59" if until else "9999")
        # A line dated after today (a day's slack for time zones) cannot be evidence: one
        # forged line would otherwise move a firewall's window and every "unused since".
        self.latest = f"{datetime.date.today() + datetime.timedelta(days=1)} 23:59:59"
        # Memory stays bounded: facts are flushed (emitted) at facts_limit, which may grow
        # to facts_ceiling (default FACTS_CEILING_FACTOR times it), and the flow caches are
        # dropped when they reach flows_limit entries.
        self.facts_limit, self.flows_limit = facts_limit, flows_limit
        self.facts_ceiling = max(facts_limit, facts_ceiling if facts_ceiling is not None
                                 else FACTS_CEILING_FACTOR * facts_limit)
        self.flows: dict = {}
        self.facts: dict = {}
        self.daily: dict = {}         # (kind, firewall, acl, line) -> {YYYY-MM-DD: hits}
        self.days: set = set()        # the days of the lines read since the last flush
        self.untimed: dict = {}       # (kind, firewall, acl, line) -> hits without a time
        self.coverage: dict = {}      # firewall -> {"days", "deny_days", "untimed"...}
        self.devices: dict = {}       # unknown device id -> lines
        # The fast paths for TCP/UDP connection-built lines, filled by the slow one:
        # header text -> (timestamp, day, the firewall's flow table (ACLs on mapped
        # addresses) or None, whether source ports matter, the firewall's evidence cell for
        # that day, its shape table, what its shapes and what its flows inherit from the
        # revision before: inheritance()).
        # A flow: [day, lines, first, last, counter cell, [(fact, that ACE's days)], its
        # protocol's days in the evidence], its lines that day counted when the day changes
        # (settle_flow).
        # Flow table (ACLs on mapped addresses): regex groups minus the initiator's port -> flow.
        self.heads: dict = {}
        self.fast_flows: dict = {}
        # Shape table: shape_key -> either a shared entry, ([day, its initiators, their
        # times] buffered till settle_shape (for a shape that credits nothing: [day, None,
        # lines]), [(fact key prefix, that ACE's days, its sample, its service's hash, [its
        # left-out connections' fact once known: left_out_fact])], _Others: {initiator: flow}
        # of initiators not IPv4, counter cell, the firewall's evidence days: its lines count
        # there when settled, as in its cell; before that only the learning rule of another
        # revision reads them, a choice of path, not of result; and its protocol's days
        # there, marked when settled; the evidence's ACL-log days or None: an ACL-log shape's
        # lines count there too), or {initiator's address: flow} (a _ByInitiator once
        # the verdict was found to depend on it; a plain dict before that was asked).
        self.shapes: dict = {}
        # Reach table: reach_key -> how often the general path met it (not asked yet), None
        # (its verdict depends on the destination), or a shared entry: (its credits: [(fact
        # key prefix to the rule index, protocol, port, the source credited, its bytes, that
        # ACE's days, its sample, the CRC of "protocol " and the bytes of " port" (of its
        # service_hash), [its rule's left-out fact, once found])], counter cell, its
        # protocol's days in the evidence, the starts and ends of the destination ranges it
        # does not decide). For an initiator reaching ever new destinations (inside users
        # to the internet) under a verdict no destination outside a few rules' changes: each
        # line counted at once (add_reach), no shape to learn per destination. Dropped with
        # the flows (a flush, their bound).
        self.reaches: dict = {}
        self.reach_repeats: dict = {}   # flow cache table -> known reaches the general path met
        # ACL messages that credit (SHAPED_MESSAGES: 106023 denies; 106100 first hits, denied,
        # or permitted where they count, --permits-from acl-log): header text -> (day,
        # timestamp, the table's message shapes, the ACLs that filter on source ports);
        # message shapes: table -> {message_key: how often the general path met it (not
        # asked yet), None (its first match depends on the source), or a shared shape entry
        # (as above; its days the evidence's deny days, or its days and ACL-log days; no
        # protocol marked: an ACL message shows which rules matched, not which connections
        # are logged)}. For ever new sources of a denied service (internet scanners), or of
        # a permitted one where 106100 lines are the evidence: counted as a shape's lines
        # (queue_shape). Dropped with the flows (a flush, their bound).
        self.message_heads: dict = {}
        self.message_shapes: dict = {}
        # ACL-log permits where their connection-built lines count (--permits-from built):
        # a line's category (acl_log_permit) is its header's (a known firewall, a time in the
        # period) unless its count is 0; header text -> that category's cell (add_message).
        # Dropped with the flows.
        self.logged_heads: dict = {}
        # Learning them costs the general path a fifth more where no shape repeats (sources
        # and destinations all new: a sweep): per table, [ACL messages it met, of known
        # shapes, message_fast when they began]; after MESSAGE_TRIAL of them, if those of
        # known shapes and the lines the shared ones took (message_fast, of every table) are
        # fewer than a 16th of them, it is turned off till the next flush.
        self.message_trials: dict = {}
        self.message_off: set = set()
        self.message_fast = 0
        self.buffered: list = []      # shared entries whose buffer holds lines (or held)
        self.held = 0                 # lines in those buffers (within a chunk, about)
        # A shared shape's first line in an epoch (SHAPE_EPOCH such lines) is counted at
        # once, its entry marked with the epoch (queue_shape): only a shape met again is
        # buffered.
        self.epoch = 0
        self.lone = 0
        self.fast_size = 0
        # facts: ((kind, firewall, acl, line, rule index, proto, destination, port), source)
        # -> [count, first, last]; (that prefix, None): the hits of that service's
        # connections left out of a sampled list; ((kind, firewall, acl, line, rule index),
        # None): those of services left out too. samples: ACE -> [connections listed,
        # sample_below, their fact keys, HashSample of its services, their hashes (an
        # array, 4 bytes each: a (hash, key) tuple and its int took 104)] (records.py:
        # "Connection lists"). pinned: the keys of connection facts a cached flow counts
        # into directly; stale: [(key, sample)] of those a lowered threshold left out, which
        # stay until emit() moves their hits to their services. Any other fact left out
        # moves at once: an ACE holds about --max-connections facts however many clients.
        self.samples: dict = {}
        # ACE -> (sample_below, service_below) its last reached, before a flush
        self.thresholds: dict = {}
        self.pinned: set = set()
        self.stale: list = []
        # Learning shapes needs a second index of each ACL (matcher.first_match_any_source):
        # its top node, over the compiled rules, costs about as much as the general path on
        # a 90th as many flows, and its subtrees are built as lookups reach them. Learning
        # starts once the general path has handled that many flows if at least half the
        # firewall's connection-built lines were new flows (they will go on coming: buy),
        # else a 30th as many as the expanded rules (rent, then buy, with room for the
        # subtrees), per revision of the config. 300k all-distinct lines at 1.2M rules:
        # 11.5-11.9 s with the 30th alone, 8.4-9.3 s with a 90th of the expanded rules, then
        # 63k -> 71k lines/s and 304 -> 282 MB with a 90th of the compiled ones (a fifth as
        # many). A zipf log (its new flows a minority by then) learns nothing at 120k rules,
        # as it should not (with a 30th of the compiled rules a 300k-line one would: -10%).
        self.shapes_after = {}
        for name, m in self.matchers.items():
            rules = sum(acl.size for acl in m.acls.values())
            compiled = sum(len(acl.rules) for acl in m.acls.values())
            self.shapes_after[name] = (compiled // 90, rules // 30)
        self.general: dict = {}      # flow cache table -> general-path flows it has taught
        self.learning: set = set()   # flow cache tables that learn shapes
        self.cells: dict = {}         # (firewall or "", category) -> [lines]
        self.full = False         # the facts (or ACE-days) reached their bound: emit() them
        self.started = time.process_time()
        self.collecting = 0.0         # CPU seconds its flushes' collections took
        self.read_from(path)

    def read_from(self, path: Optional[str]) -> None:
        """The lines to come are a file's at ``path`` (a worker's next task): its directory
        may name their firewall (firewall_of). Where it names another than the last file's,
        the headers cached through that one are dropped, to be learnt again; nothing else
        cached depends on the file."""
        by_path = firewall_of_path(path, self.device_ids) if path else None
        if by_path != self.by_path:
            self.by_path = by_path
            self.heads.clear()
            self.message_heads.clear()
            self.logged_heads.clear()

    def firewall_of(self, connection: Connection) -> Optional[str]:
        """The device id in the line if the database knows it; else --assume-firewall, the
        input's directory, or (for a line that names no device) the database's only
        firewall. A line naming a device the database does not know is never given to the
        only firewall: it may be any other device."""
        device = connection.firewall
        name = self.device_ids.get(device) if device is not None else None
        if name is not None:
            return name
        if self.assumed is not None:
            return self.assumed
        if self.by_path is not None:
            return self.by_path
        return self.only if device is None else None

    def classify(self, line: str, match=None) -> tuple:
        """What the job makes of one line: (category, Connection or None, firewall or None,
        Verdict or None). Every line gets exactly one category. ``match``: its BUILT_RE,
        DENY_RE or ACL_LOG_RE match, if made."""
        connection = self.parser.parse(line, match)
        if isinstance(connection, str):
            return connection, None, None, None
        name = self.firewall_of(connection)
        when = connection.timestamp
        if when is None:
            if self.bounded:
                return NO_TIMESTAMP, connection, name, None
        elif when > self.latest:
            return TIME_OUTLIER, connection, name, None
        elif not self.period[0] <= when <= self.period[1]:
            return OUTSIDE_PERIOD, connection, name, None
        if name is None:
            return UNKNOWN_FIREWALL, connection, None, None
        kind = connection.kind
        if kind == "icmp_untyped":
            return ICMP_WITHOUT_TYPE, connection, name, None
        if kind == "undirected":
            return DIRECTION_UNKNOWN, connection, name, None
        if kind == "built" and (connection.ingress in BOX_INTERFACES or
                                connection.egress in BOX_INTERFACES):
            return TO_THE_BOX, connection, name, None
        if kind == "acl_permit" and not self.from_acl_log:
            return ACL_LOG_PERMIT, connection, name, None   # its built line counts it
        if kind in FTD_KINDS and not self.from_acl_log:
            return FTD_CONNECTION_EVENT, connection, name, None      # LINA's built line
        matcher = self.matcher_for(name, when)
        # A source port only matters to rulesets that filter on it: leaving it out of the key
        # lets one cache entry serve every connection of the same flow. An ACL message is
        # matched against the ACL it names, bound or not.
        sport_matters = matcher.uses_source_port if kind == "built" \
            else connection.acl in matcher.source_port_acls
        flow: tuple = (self.table(name, when), connection.ingress, connection.egress,
                       connection.protocol, connection.source,
                       connection.source_port if sport_matters else 0,
                       connection.destination, connection.destination_port,
                       connection.icmp_code, kind, connection.acl, connection.ace_hash,
                       connection.element_hash)
        if matcher.uses_mapped:
            flow += (connection.mapped_source, connection.mapped_destination)
        verdict = self.flows.get(flow, False)
        if verdict is False:
            if len(self.flows) >= self.flows_limit:
                self.flows.clear()
            verdict = self.flows[flow] = (
                matcher.evaluate(connection) if kind == "built" else
                matcher.evaluate_rule(connection) if kind in FTD_KINDS else
                matcher.evaluate_named(connection))
        if verdict is None:
            return MALFORMED, connection, name, None
        return verdict.category, connection, name, verdict

    def matcher_for(self, name: str, when: Optional[str]):
        """The matcher of the firewall's revision in force at ``when``."""
        timeline = self.timelines.get(name)
        return self.matchers[name] if timeline is None else \
            timeline.matcher(timeline.revision(when))

    def revision(self, name: str, when: Optional[str]) -> int:
        timeline = self.timelines.get(name)
        return 0 if timeline is None else timeline.revision(when)

    def inheritance(self, name: str, when: Optional[str], by_shape: bool) -> Optional[tuple]:
        """For the fast path of a firewall with older revisions: the flow table (``by_shape``:
        the shape table) of the revision before the one in force at ``when``, and the
        interfaces through which its verdicts hold in this one (``Timeline.inherited``); None:
        nothing to inherit."""
        timeline = self.timelines.get(name)
        if timeline is None:
            return None
        revision = timeline.revision(when)
        through = timeline.inherited(revision)
        if through is None or not (through[0] and through[1]):
            return None
        tables = self.shapes if by_shape else self.fast_flows
        return (tables.setdefault((name, revision - 1), {}),) + through

    def table(self, name: str, when: Optional[str]):
        """Which cache a firewall's flow at a time belongs to: its name, and with older
        revisions the revision in force then (one verdict per flow and revision)."""
        return name if name not in self.timelines else (name, self.revision(name, when))

    def credited(self, connection: Connection, verdict) -> list:
        """The hits a classified connection credits: (Hit, source, destination)."""
        if connection.kind == "built" and self.from_acl_log:
            return [h for h in verdict.hits if not h[0].logged]   # its 106100 line counts it
        return verdict.hits

    def add(self, line: str) -> None:
        """Account for one line (add_lines)."""
        self.add_lines((line,))

    def add_lines(self, lines: Iterable[str]) -> None:
        """Account for lines (a reader's chunk: log_chunks), the hot path: a TCP/UDP
        connection-built line whose header and shape were seen before costs one regex and
        two or three dictionary lookups. A loop here, not a call per line (6-10% of the
        mapper); the caller checks ``full`` after a chunk (the facts may pass their bound
        by a chunk's)."""
        heads, search, message_heads = self.heads, BUILT_RE.search, self.message_heads
        logged_heads = self.logged_heads
        held = 0                      # lines buffered (self.held)
        for line in lines:
            match = search(line) if "Built" in line else None
            if match is not None:
                head = heads.get(line[:match.start()])
                if head is not None:
                    (when, day, flows, keep_port, evidence, shapes, inherit, inherit_flows,
                     reaches) = head
                    groups = match.groups()
                    # (named by unpacking: 45 ns a line less than indexing the tuple)
                    (direction, proto, if1, real1, port1, mapped1, if2, real2, port2,
                     mapped2) = groups
                    inbound = direction == "inbound"
                    port = port1 if inbound else port2
                    if len(port) == 5 and port > "65535":      # not in the keys: read it
                        self.slow_add(line, match)
                        continue
                    # Before 8.3 (flows) a shape holds the initiators NAT leaves as they are
                    # (inbound internet clients): the others' flows by every group.
                    if flows is None or ((real1 == mapped1) if inbound else (real2 == mapped2)):
                        # The flow's shape (shape_key, inline), then its initiator: a known shape
                        # may decide the flow whatever its initiator (no key to build and miss on
                        # traffic whose flows are ever new), else it holds the flows by initiator.
                        key: tuple
                        if inbound:
                            source = real1
                            key = (proto, if1, if2, real2, port2)
                        else:
                            source = real2
                            key = (proto, if2, if1, real1, port1)
                        if keep_port:
                            key += (port,)
                        if flows is not None:
                            key += (mapped2 if inbound else mapped1,)
                        entry = shapes.get(key)
                        if entry is not None and entry.__class__ is not tuple:
                            entry = entry.get(source)
                        elif entry is not None:
                            try:
                                inet_pton(AF_INET, source)   # _ipv4, inline: every such line
                            except (OSError, ValueError):
                                # decided for IPv4 initiators only: another's own flow
                                entry = entry[2].get(source)
                            else:
                                # its initiator and time buffered (its lines, evidence, facts
                                # and days counted a batch at a time: settle_shape); queue_shape
                                # inline, as far as a line the buffer takes (a call a line)
                                pending = entry[0]
                                if pending[0] is day:
                                    sources = pending[1]
                                    if sources is None:         # it credits nothing
                                        pending[2] += 1
                                        continue
                                    if len(sources) < SHAPE_BATCH:
                                        sources.append(source)
                                        pending[2].append(when)
                                        held += 1
                                        continue
                                self.queue_shape(entry, day, source, when)
                                continue
                        if entry is None:
                            # (an IPv6 address has a colon: an IPv4 one asks no IPv6 entry)
                            if ":" in source and self.add_ipv6(shapes, key, day, source, when):
                                continue
                            if inherit is not None:
                                entry = _inherit_initiator(key, source, shapes, inherit)
                    else:           # ACLs that match mapped addresses: every group but one
                        key = flow_key(groups, keep_port)
                        entry = flows.get(key)
                        if entry is None and inherit_flows is not None:
                            entry = _inherit(key, groups, inbound, flows, inherit_flows)
                    # a new destination of a known reach (a call: met on a miss only)
                    if entry is None and reaches and self.add_reach(
                            reaches, groups, inbound, keep_port, flows is not None, evidence,
                            day, when):
                        continue
                    if entry is not None:
                        evidence[day] += 1
                        # counted into its facts and days when the day changes: settle_flow
                        if entry[0] is day:
                            entry[1] += 1
                            if when > entry[3]:
                                entry[3] = when
                            elif when < entry[2]:
                                entry[2] = when
                        else:
                            settle_flow(entry)
                            entry[0], entry[1], entry[2], entry[3] = day, 1, when, when
                        continue
            else:
                message = MESSAGE_RE.search(line)
                category = no_connection(message)
                if category is not None:          # teardowns and the like: settled at once
                    cell = self.cells.get(("", category)) or self.cell("", category)
                    cell[0] += 1
                    continue
                # an ACL message (a deny, an ACL-log line) of a known header and shape (a
                # call: met where the general path was); else its match saves the parser
                # and slow_add a second one
                if message is not None:
                    shaped = SHAPED_MESSAGES.get(message.group(1))
                    if shaped is not None:
                        match = shaped.match(line, message.start())
                        if match is not None and (message_heads or logged_heads) and \
                                self.add_message(line, match):
                            continue
            self.slow_add(line, match)
        self.held += held
        if self.held >= SHAPE_LINES:
            self.settle_buffers()

    def count_connection(self, prefix: tuple, source: str, count: int, first: str, last: str,
                         sample: list, hashed: Optional[int] = None) -> None:
        """Count hits of a connection into its fact, or a new one (new_fact)."""
        fact = self.facts.get((prefix, source))
        if fact is None:
            self.new_fact(prefix, source, count, first, last, sample, hashed)
        else:
            fact[0] += count
            _span(first, last, fact)

    def new_fact(self, prefix: tuple, source: str, count: int, first: str, last: str,
                 sample: list, hashed: Optional[int] = None) -> None:
        """Count a connection its ACE has not listed yet: listed while the list is within
        the bound or the connection is in the sample; else its hits join its service's
        (``live_fact`` finds which). ``hashed``: its connection_hash, if known."""
        if hashed is None:
            hashed = connection_hash(prefix[5], source, prefix[6], prefix[7])
        if hashed >= sample[1]:
            self.leave_out(prefix, count, first, last, sample)
            return
        key = (prefix, source)
        self.facts[key] = [count, first, last]
        sample[0] += 1
        sample[2].append(key)
        sample[4].append(hashed)
        if sample[0] > self.bound:
            self.halve(sample)
        if len(self.facts) >= self.facts_limit and not self.full:
            self.full = not self.grow()

    def leave_out(self, prefix: tuple, count: int, first: str, last: str,
                  sample: list, hashed: Optional[int] = None) -> None:
        """Count a connection the list does not hold: in its service, while the ACE's
        services are within the bound or this one is in their sample; else in the rule's.
        ``hashed``: its service_hash, if known."""
        fact = self.facts.get((prefix, None))
        if fact is None:
            service, services = prefix[5:], sample[3]
            if service not in services.kept:
                services.add(service, service_hash(*service) if hashed is None else hashed)
                if service not in services.kept:
                    self.omit(prefix[:5], count, first, last)
                    return
            self.facts[(prefix, None)] = [count, first, last]
        else:
            fact[0] += count
            _span(first, last, fact)

    def left_out_fact(self, prefix: tuple) -> list:
        """The fact counting a service's connections its ACE does not list, once one was
        left out: the service's, or (the service not in its ACE's sample) the rule's. It stays
        that fact till emit(): a service fact is only removed there, and a service left out
        of the sample is never taken into it again (its threshold only falls)."""
        facts = self.facts
        return facts.get((prefix, None)) or facts[(prefix[:5], None)]

    def live_fact(self, prefix: tuple, source: str) -> list:
        """The fact counting a connection now: its own, its service's, or its rule's."""
        facts = self.facts
        return facts.get((prefix, source)) or facts.get((prefix, None)) or \
            facts[(prefix[:5], None)]

    def omit(self, rule: tuple, count: int, first: str, last: str) -> list:
        fact = self.facts.get((rule, None))
        if fact is None:
            fact = self.facts[(rule, None)] = [count, first, last]
        else:
            fact[0] += count
            _span(first, last, fact)
        return fact

    def halve(self, sample: list) -> None:
        """Halve an ACE's threshold until its list is within the bound, as records.HashSample
        does (kept apart here, on the path of every new connection: the keys listed and an
        array of their hashes, no dictionary per listed connection — 9 % of the
        all-distinct mapper when shared).
        The connections it leaves out join their services now, but for those a cached flow
        still counts into (``pinned``): emit() moves theirs."""
        facts, pinned, stale = self.facts, self.pinned, self.stale
        while sample[0] > self.bound:
            below = sample[1] = sample[1] // 2
            keys, hashes = sample[2], sample[4]
            kept = [hashed < below for hashed in hashes]
            sample[2] = list(compress(keys, kept))
            sample[4] = array("I", compress(hashes, kept))
            sample[0] = len(sample[2])
            moved: dict = {}        # prefix -> the hits of its connections dropped
            for key in compress(keys, map(not_, kept)):
                if key in pinned:
                    stale.append((key, sample))
                    continue
                # an ACE's dropped connections mostly share a service: summed here (into
                # the first one's fact, popped), they join it (or their rule) once
                fact = facts.pop(key)
                held = moved.get(key[0])
                if held is None:
                    moved[key[0]] = fact
                else:
                    held[0] += fact[0]
                    _span(fact[1], fact[2], held)
            for prefix, (count, first, last) in moved.items():
                self.leave_out(prefix, count, first, last, sample)

    def queue_shape(self, entry: tuple, day: str, source: str, when: str) -> None:
        """A shared shape's line (an IPv4 initiator's that its buffer does not take as it is
        in add_lines, inline: of another day, or full; an IPv6 one's): in the buffer if it
        takes it, else the buffer counted, then this line in it."""
        pending = entry[0]
        if pending[0] is day:
            sources = pending[1]
            if sources is None:                 # it credits nothing
                pending[2] += 1
                return
            if len(sources) < SHAPE_BATCH:
                sources.append(source)
                pending[2].append(when)
                self.held += 1
                return
        if pending[1] is None:
            settle_count(entry)
            pending[0], pending[2] = day, 1
            return
        if pending[1]:
            self.settle_shape(entry)
        elif pending[0] != self.epoch:
            # Its first line since the epoch began: counted at once, no buffer. Where shapes
            # are many and each rare (a million rules) a buffer would mostly hold this line
            # alone when settled; a shape met again within the epoch is buffered.
            self.count_shape_line(entry, day, source, when)
            pending[0] = self.epoch
            self.lone += 1
            if self.lone >= SHAPE_EPOCH:
                self.lone = 0
                self.epoch += 1
            return
        if self.held >= SHAPE_LINES:
            self.settle_buffers()
        self.held += 1
        self.buffered.append(entry)
        pending[0] = day
        pending[1].append(source)
        pending[2].append(when)

    def settle_shape(self, entry: tuple) -> None:
        """Count a shared shape's buffered lines (one day's, IPv4 initiators) as the hot path
        would have one by one: in its cell, the firewall's evidence and its ACEs' days, and
        per credit in the facts. The connection hashes are computed in C; a connection at or
        above its ACE's threshold is not listed and counts where its service's left-out
        connections do, all of them at once; those below are counted one by one, in order
        (listing one may halve the threshold, leaving the next ones out)."""
        pending = entry[0]
        sources = pending[1]
        if sources is None:
            settle_count(entry)
            return
        lines = len(sources)
        if not lines:
            return
        self.held -= lines
        times = pending[2]
        day = pending[0]
        # emptied, and of no day: its next line registers it again (queue_shape)
        pending[0], pending[1], pending[2] = None, [], []
        if lines == 1:      # the batch's lists cost more than one line
            self.count_shape_line(entry, day, sources[0], times[0])
            return
        count_lines(entry, day, lines)
        encoded = list(map(str.encode, sources))      # (a shape with a buffer credits)
        facts = self.facts
        for prefix, days, sample, seed, out in entry[1]:
            days[day] = days.get(day, 0) + lines
            hashes = list(map(crc32, encoded, repeat(seed, lines)))   # connection_hash
            listed = list(compress(range(lines), map(sample[1].__gt__, hashes)))
            rest = times
            if listed:
                left = [True] * lines
                for i in listed:
                    hashed = hashes[i]
                    if hashed >= sample[1]:
                        continue                # left out by a halving since
                    left[i] = False
                    when = times[i]
                    # count_connection, inline (on ever new clients, half the lines)
                    key = (prefix, sources[i])
                    fact = facts.get(key)
                    if fact is not None:
                        fact[0] += 1
                        if when < fact[1]:
                            fact[1] = when
                        elif when > fact[2]:
                            fact[2] = when
                        continue
                    facts[key] = [1, when, when]      # new_fact, below the threshold
                    sample[0] += 1
                    sample[2].append(key)
                    sample[4].append(hashed)
                    if sample[0] > self.bound:
                        self.halve(sample)
                    if len(facts) >= self.facts_limit and not self.full:
                        self.full = not self.grow()
                rest = list(compress(times, left))
                if not rest:
                    continue
            self.count_left_out(prefix, len(rest), min(rest), max(rest), sample, out)

    def count_shape_line(self, entry: tuple, day: str, source: str, when: str,
                         flows: int = 1) -> None:
        """Count one line of a shared shape (an IPv4 initiator; of ``flows`` flows: an
        ACL-log line's) as settle_shape counts a batch."""
        count_lines(entry, day, 1)
        raw = source.encode()
        for prefix, days, sample, seed, out in entry[1]:
            days[day] = days.get(day, 0) + flows
            hashed = crc32(raw, seed)                       # connection_hash
            if hashed < sample[1]:
                self.count_connection(prefix, source, flows, when, when, sample, hashed)
            else:
                self.count_left_out(prefix, flows, when, when, sample, out)

    def count_left_out(self, prefix: tuple, count: int, first: str, last: str, sample: list,
                       out: list) -> None:
        """Count a shared shape's connections its ACE does not list into the fact of its
        service's left-out connections, found once (``out``: left_out_fact)."""
        fact = out[0]
        if fact is None:
            self.leave_out(prefix, count, first, last, sample)
            out[0] = self.left_out_fact(prefix)
        else:
            fact[0] += count
            _span(first, last, fact)

    def new_sample(self, ace: tuple) -> list:
        """An ACE's sample, empty, at the thresholds its last one (before a flush) reached."""
        below, service_below = self.thresholds.get(ace, UNSAMPLED)
        services = HashSample(self.bound)
        services.below = service_below
        sample = self.samples[ace] = [0, below, [], services, array("I")]
        self.check_days()
        return sample

    def check_days(self) -> None:
        """A flush once the ACEs' days may be more than DAYS_LIMIT (a new day, a new ACE)."""
        if len(self.samples) * len(self.days) > DAYS_LIMIT:
            self.full = True

    def cell(self, firewall: str, category: str) -> list:
        cell = self.cells.get((firewall, category))
        if cell is None:
            cell = self.cells[(firewall, category)] = [0]
        return cell

    def evidence(self, name: str) -> dict:
        found = self.coverage.get(name)
        if found is None:
            found = self.coverage[name] = empty_coverage()     # "lines": filled by emit()
            # Whether ACEs with `log` (`event-log`) are counted by their ACL-log messages
            # only: their evidence is then those messages, not built lines.
            found["acl_log_mode"] = int(self.from_acl_log)
        return found

    def slow_add(self, line: str, match) -> None:
        category, connection, name, verdict = self.classify(line, match)
        cell = self.cell(name or "", category)
        cell[0] += 1
        if category == UNKNOWN_FIREWALL:
            self.unknown_device(connection.firewall)
            return
        if connection is None or name is None or category in (OUTSIDE_PERIOD, MALFORMED,
                                                                TIME_OUTLIER):
            return
        when, count, kind = connection.timestamp, connection.flows, connection.kind
        # (every line a fast path counts has its day: its header was learnt here since the
        # last flush)
        if when is not None and when[:10] not in self.days:
            self.days.add(when[:10])
            self.check_days()
        evidence = self.evidence(name)
        timeline = self.timelines.get(name)
        # Dated before the first revision: matched against it, counted so the report says
        # how many (and kept off the fast path, which would not count them).
        early = timeline is not None and when is not None and when < timeline.starts[0]
        if early:
            evidence["before_first"] = evidence.get("before_first", 0) + 1
        elif category == ACL_LOG_PERMIT and match is not None and \
                match.start() <= HEADER_CACHE_LENGTH:
            # its header's next permits counted in this cell at once (add_message): theirs
            # is this category, and they are not dated before the first revision either
            if len(self.logged_heads) >= HEADS_LIMIT:
                self.logged_heads.clear()
            self.logged_heads[line[:match.start()]] = cell
        # Which lines show that the firewall logs what proves a permit ACE used: its
        # connection-built lines (or its 106100 permits when they are what counts).
        shows = "deny" if kind == "acl_deny" else "permit" \
            if kind in ("built", "icmp_untyped", "undirected") or (
                kind in ACL_LOG_PERMITS and self.from_acl_log) else None
        if shows is not None and category != NO_TIMESTAMP:
            if when is None:
                evidence["untimed" if shows == "permit" else "deny_untimed"] += 1
            elif shows == "deny":
                _tally(evidence["deny_days"], when[:10])
            else:
                _tally(evidence["days"], when[:10])
                if kind in ACL_LOG_PERMITS:
                    # 106100 (FTD events) show only ACEs with `log` (`event-log`): evidence
                    # for those alone
                    _tally(evidence["acl_log_days"], when[:10])
                elif kind != "undirected":       # it shows no ACE's use of its protocol
                    # Which protocols the firewall logs built connections of, and on which
                    # days: `no logging message 302015` leaves UDP rules without evidence.
                    # Marked here, and for the lines of the fast paths by their entries when
                    # they count them (settle_flow, settle_shape: once per entry and day, off
                    # the hot path), so every connection-built line marks its day whichever
                    # path takes it: the marks do not depend on how the input was split or
                    # when a task flushed (every runner gives the same results).
                    protocol = "icmp" if connection.protocol == "icmp6" else connection.protocol
                    evidence["protocols"].setdefault(protocol, {})[when[:10]] = 1
        if verdict is None:
            return
        credited = []           # (fact key prefix, source, days, sample) per credit
        # A first match that contradicts what the firewall did is shown, never a hit.
        credits: Sequence[tuple] = [(RETIRED if h[0].retired else ACE, h)
                                    for h in self.credited(connection, verdict)] + \
            [(DISAGREEMENT, h) for h in verdict.against] + \
            [(REHASHED, h) for h in verdict.rehashed]
        if credits:
            first, last = (when, when) if when is not None else (NO_FIRST, NO_LAST)
            day = when[:10] if when is not None else None
            for record_kind, (hit, source, destination) in credits:
                ace = (record_kind, name, hit.acl, hit.ace_line)
                if day is None:
                    _tally(self.untimed, ace, count)
                    days = None
                else:
                    days = self.daily.setdefault(ace, {})
                    _tally(days, day, count)
                prefix = ace + (hit.rule_index, connection.protocol, destination,
                                connection.destination_port)
                sample = self.samples.get(ace) or self.new_sample(ace)
                self.count_connection(prefix, source, count, first, last, sample)
                credited.append((prefix, source, days, sample))
        if (kind == "acl_deny" or kind == "acl_permit" and self.from_acl_log) and \
                when is not None and not verdict.against and not early:
            self.learn_message(line, match, connection, name, when, credited, cell, evidence)
        if match is None or kind != "built" or when is None or verdict.against \
                or match.start() > HEADER_CACHE_LENGTH or early:
            return
        # Teach the fast paths this header, this flow and, if the verdict is the same for
        # every initiator address, this flow's shape.
        self.fast_size += 1
        if self.fast_size >= self.flows_limit or len(self.heads) >= HEADS_LIMIT:
            self.forget()
        table = self.table(name, when)
        matcher = self.matcher_for(name, when)
        keep_port = matcher.uses_source_port
        groups = match.groups()
        # Looked up now, not when counted: a later credit's halving may have left one out.
        counting = []
        for prefix, source, days, _ in credited:
            fact = self.live_fact(prefix, source)
            if fact is self.facts.get((prefix, source)):
                self.pinned.add((prefix, source))
            counting.append((fact, days))
        head = line[:match.start()]
        day = intern(when[:10])         # one string a day: the fast paths compare by identity
        marks = evidence["protocols"].setdefault(connection.protocol, {})   # tcp or udp
        flow = [day, 0, when, when, cell, counting, marks]
        shapes = self.shapes.setdefault(table, {})
        inbound = groups[0] == "inbound"
        mapped = matcher.uses_mapped
        # A verdict on mapped addresses depends on them too: such flows keep a table of their
        # own, by every group but the initiator's port, but for those of initiators NAT
        # leaves as they are, whose shapes add the mapped destination.
        flows = self.fast_flows.setdefault(table, {}) if mapped else None
        self.heads[head] = (when, day, flows, keep_port, evidence["days"], shapes,
                            self.inheritance(name, when, True),
                            self.inheritance(name, when, False) if mapped else None,
                            self.reaches.setdefault(table, {}))
        self.learn_reach(name, table, matcher, connection, groups, inbound, keep_port, credited,
                         cell, marks)
        if flows is not None and ((groups[3] != groups[5]) if inbound
                                  else (groups[7] != groups[9])):
            # (a flow known already, met under a new header, keeps its entry and what it holds)
            flows.setdefault(flow_key(groups, keep_port), flow)
            return
        shape = shape_key(groups, inbound, keep_port, mapped)
        initiators = shapes.get(shape)
        if initiators is None:
            initiators = shapes[shape] = {}
        elif initiators.__class__ is tuple:
            initiators = initiators[2]      # shared, for IPv4 initiators: not this one
        initiators.setdefault(groups[3] if inbound else groups[7], flow)
        # What is left to decide: the shape for IPv4 initiators, or its IPv6 entry for an
        # IPv6 one (a verdict of its own: any4, any6 and IPv4-only sources ahead of a rule).
        if _ipv4(connection.source):
            if initiators.__class__ is not dict:
                return      # decided: shared, or its verdict depends on the initiator
            version, deciding = 4, shape
        else:
            version, deciding = 6, shape + IPV6
            if deciding in shapes or not _ipv6(connection.source):
                return
        # per revision: each builds its own second index. The lines: the firewall's (every
        # revision's) connection-built lines since the last flush, as its evidence counts them.
        if table not in self.learning:
            taught = self.general.get(table, 0)
            early, late = self.shapes_after[name]
            if taught < late and (taught < early or
                                  2 * taught < sum(evidence["days"].values())):
                self.general[table] = taught + 1
                return
            self.learning.add(table)            # from now on
        if not matcher.source_independent(connection, version):
            # by initiator (IPv6 ones in the shape's table: an empty marker here)
            shapes[deciding] = _ByInitiator(initiators if version == 4 else ())
            return
        # the flows of initiators of another version kept by initiator (an IPv6 entry's: none)
        shapes[deciding] = shared_shape(day, credited, _Others(initiators if version == 4 else ()),
                                        cell, evidence["days"], marks)

    def add_ipv6(self, shapes: dict, shape: tuple, day: str, source: str, when: str) -> bool:
        """Count a line of an initiator no flow holds by its shape's IPv6 entry, if that is
        shared and the initiator IPv6 (as the hot path counts an IPv4 one): whether it did."""
        entry = shapes.get(shape + IPV6)
        if entry.__class__ is not tuple or not _ipv6(source):
            return False
        self.queue_shape(entry, day, source, when)
        return True

    def add_reach(self, reaches: dict, groups: tuple, inbound: bool, keep_port: bool,
                  mapped: bool, evidence: dict, day: str, when: str) -> bool:
        """Count a line no flow or shape holds by its reach's shared entry, if it has one for
        its destination's IP version: whether it did. Each credit's connection is counted at
        once, as the general path would (no buffer: its service is new each time)."""
        found = reach_key(groups, inbound, keep_port, mapped)
        if found is None:
            return False
        key, destination = found
        try:                # (_versioned, inline: the address's int made only if needed)
            packed = inet_pton(AF_INET, destination)
            version = IPV4_BASE
        except (OSError, ValueError):
            try:
                packed = inet_pton(AF_INET6, destination)
            except (OSError, ValueError):
                return False
            key += IPV6
            version = IPV6_BASE
        entry = reaches.get(key)
        if entry.__class__ is not tuple:
            return False
        credits, cell, marks, starts, ends = entry
        if starts:          # a destination a rule ahead may decide: the general path's
            value = version | int.from_bytes(packed, "big")
            i = bisect_right(starts, value)
            if i and value <= ends[i - 1]:
                return False
        cell[0] += 1
        evidence[day] += 1
        marks[day] = 1
        encoded = destination.encode()
        for prefix, protocol, port, source, raw, days, sample, head, tail, out in credits:
            days[day] = days.get(day, 0) + 1
            # service_hash, continued from the protocol's CRC: the port is the credit's
            self.count_new_service(prefix, protocol, destination, port, source, raw, 1, when,
                                   sample, crc32(tail, crc32(encoded, head)), out)
        return True

    def count_new_service(self, prefix: tuple, protocol: str, destination: str, port: int,
                          source: str, raw: bytes, count: int, when: str, sample: list,
                          seed: int, out: list) -> None:
        """Count a fast path's line (``count`` hits) of a connection whose service is new
        each time (``raw``: the source, encoded; ``seed``: the service's service_hash) as
        the general path would: listed or left out by its hashes. ``out``: the credit's
        [fact of its rule's left-out services], found once (a fast path's entries go at a
        flush, with the facts)."""
        hashed = crc32(raw, seed)                                   # connection_hash
        if hashed < sample[1]:
            self.count_connection(prefix + (protocol, destination, port), source, count,
                                  when, when, sample, hashed)
            return
        if seed < sample[3].below:                  # a service its ACE's sample may hold
            self.leave_out(prefix + (protocol, destination, port), count, when, when, sample,
                           seed)
            return
        # leave_out's commonest case, inline: a service its ACE's sample cannot hold,
        # counted where the rule's left-out services are (omit). One the sample held once
        # may have a fact still, till emit(), which counts it with those: the same.
        fact = out[0]
        if fact is None:
            facts = self.facts
            fact = facts.get((prefix, None))
            if fact is None:
                out[0] = facts[(prefix, None)] = [count, when, when]
                return
            out[0] = fact
        fact[0] += count
        if when < fact[1]:
            fact[1] = when
        elif when > fact[2]:
            fact[2] = when

    def learn_reach(self, name: str, table, matcher, connection: Connection, groups: tuple,
                    inbound: bool, keep_port: bool, credited: list, cell: list,
                    marks: dict) -> None:
        """Note a general-path flow of a built line in its reach. Met again, the reach is
        asked whether its verdict holds for every destination of the version (then shared:
        add_reach) — once the table has met known reaches a 90th as often as its firewall
        has compiled rules (shapes_after), the cost of the index that answers
        (first_match_any_destination); a reach met once (ever new clients) asks nothing."""
        mapped = matcher.uses_mapped
        found = reach_key(groups, inbound, keep_port, mapped)
        if found is None:
            return
        key, destination = found
        value = _versioned(destination)
        if value is None:
            return
        version = value >> 128
        if version == 6:
            key += IPV6
        reaches = self.reaches.setdefault(table, {})
        met = reaches.get(key, 0)
        if met.__class__ is not int:
            return                          # asked already
        if not met or self.reach_repeats.get(table, 0) < self.shapes_after[name][0]:
            if met:
                self.reach_repeats[table] = self.reach_repeats.get(table, 0) + 1
            reaches[key] = met + 1
            return
        exceptions = matcher.destination_exceptions(connection, version)
        if exceptions is None:
            reaches[key] = None
            return
        starts, ends = exceptions
        i = bisect_right(starts, value)
        if i and value <= ends[i - 1]:
            return          # its verdict is not the shared one: asked again next time
        reaches[key] = ([(prefix[:5], prefix[5], prefix[7], source, source.encode(), days,
                          sample, crc32(f"{prefix[5]} ".encode()), f" {prefix[7]}".encode(),
                          [None]) for prefix, source, days, sample in credited], cell, marks,
                        starts, ends)

    def add_message(self, line: str, match) -> bool:
        """Count an ACL message (``match``: its DENY_RE or ACL_LOG_RE match) of a known header
        by its shape's shared entry, if it has one and the source is IPv4: whether it did."""
        if match.re is ACL_LOG_RE and not self.from_acl_log and match.group(2) != "denied":
            # a permit its connection-built line counts: its header's category cell alone
            cell = self.logged_heads.get(line[:match.start()])
            if cell is None or not match.group(10).lstrip("0"):     # (hit-cnt 0: its own)
                return False
            cell[0] += 1
            return True
        head = self.message_heads.get(line[:match.start()])
        if head is None:
            return False
        day, when, shapes, port_acls = head
        found = deny_key(match, port_acls) if match.re is DENY_RE else \
            acl_log_key(match, port_acls)
        entry = None
        several = None                  # the count of an ACL-log line of several flows
        probed = False                  # counted by a _Probe (its service new each line)
        if found is not None:
            source = found[1]
            entry = shapes.get(found[0])
            if len(found) == 3 and found[2] != "1":
                several = found[2]
        if entry.__class__ is not tuple:
            # a deny of a port no line showed yet (or of several flows): the same for every
            # port?
            probe = probe_key(match, port_acls, found)
            if probe is None:
                return False
            key, source, port, flows = probe
            entry = shapes.get(key)
            probed = entry.__class__ is _Probe
            if entry.__class__ is not tuple and not probed:
                return False            # (a shared shape's entry counts lines, not flows)
        try:
            inet_pton(AF_INET, source)          # _ipv4, inline
        except (OSError, ValueError):
            return False
        self.message_fast += 1
        if probed:
            self.add_probe(entry, source, int(port), int(flows), day, when)
            return True
        if several is not None:         # counted at once: a buffer's line is one flow
            self.count_shape_line(entry, day, source, when, int(several))
            return True
        pending = entry[0]
        if pending[1] is None and pending[0] is day:    # crediting nothing: counted
            pending[2] += 1
        else:
            self.queue_shape(entry, day, source, when)
        return True

    def learn_message(self, line: str, match, connection: Connection, name: str, when: str,
                      credited: list, cell: list, evidence: dict) -> None:
        """Teach the ACL messages' fast path a general-path ACL message's header (``match``:
        its DENY_RE or ACL_LOG_RE match, which the hot loop makes; None: nothing to teach),
        and its shape: met again, the named ACL is asked whether its first match depends on
        the source (the any-source index shapes use); if not, the shape is shared
        (add_message)."""
        table = self.table(name, when)
        if table in self.message_off or match is None or match.start() > HEADER_CACHE_LENGTH:
            return
        header = line[:match.start()]
        matcher = self.matcher_for(name, when)
        port_acls = matcher.source_port_acls
        found = message_key(match, port_acls)
        if found is not None and not _ipv4(found[1]):
            found = None
        probe = probe_key(match, port_acls, found) if connection.kind == "acl_deny" else None
        if probe is not None and not _ipv4(probe[1]):
            probe = None
        if found is None and probe is None:
            return
        shapes = self.message_shapes.setdefault(table, {})
        if len(shapes) >= self.flows_limit:     # their bound, the flows': counted, dropped
            self.drop_message_shapes(shapes)
        if len(self.message_heads) >= HEADS_LIMIT:
            self.message_heads.clear()
        day = intern(when[:10])
        self.message_heads[header] = (day, when, shapes, port_acls)
        if probe is not None:
            self.learn_probe(probe[0], shapes, matcher, connection, day, cell, evidence,
                             credited)
        if found is None:
            return
        key = found[0]
        met = shapes.get(key, 0)
        if met.__class__ is not int:
            return                          # asked already
        trial = self.message_trials.get(table) or \
            self.message_trials.setdefault(table, [0, 0, self.message_fast])
        trial[0] += 1
        trial[1] += bool(met)
        if trial[0] >= MESSAGE_TRIAL:
            if 16 * (trial[1] + self.message_fast - trial[2]) < trial[0]:
                self.drop_message_shapes(shapes)
                self.message_off.add(table)
                return
            trial[:] = [0, 0, self.message_fast]
        if not met:
            shapes[key] = 1                 # a scanner's one probe asks nothing
            return
        if not matcher.named_source_independent(connection, 4):
            shapes[key] = None
            return
        # a deny shows which rules deny, an ACL-log permit that counts which permit (its
        # evidence: the ACL-log days too); neither which connections are logged
        days, logged = (evidence["deny_days"], None) if connection.kind == "acl_deny" else \
            (evidence["days"], evidence["acl_log_days"])
        shapes[key] = shared_shape(day, credited, _Others(), cell, days, None, logged)

    def add_probe(self, probe: tuple, source: str, port: int, flows: int, day: str,
                  when: str) -> None:
        """Count a deny (of ``flows`` flows, an IPv4 source's) by its probe's _Probe as the
        general path counts it, at once: its service is new each time."""
        credits, cell, days = probe
        cell[0] += 1
        days[day] = days.get(day, 0) + 1
        raw, digits = source.encode(), b"%d" % port
        for prefix, protocol, destination, ace_days, sample, head, out in credits:
            ace_days[day] = ace_days.get(day, 0) + flows
            # service_hash, continued from the protocol's and destination's CRC
            self.count_new_service(prefix, protocol, destination, port, source, raw, flows,
                                   when, sample, crc32(digits, head), out)

    def learn_probe(self, key: tuple, shapes: dict, matcher, connection: Connection, day: str,
                    cell: list, evidence: dict, credited: list) -> None:
        """Teach the ACL messages' fast path a deny by its probe key (probe_key): met again,
        the named ACL is asked whether its first match is the same from every source to
        every destination port; if so, every such deny has its verdict, counted by the
        probe's entry (add_message): a scanner's probes of ever new ports, denied by no
        rule (a shared shape's entry, counting) or by one for all ports (a _Probe)."""
        met = shapes.get(key, 0)
        if met.__class__ is not int:
            return                          # asked already
        if not met:
            shapes[key] = 1
        elif not matcher.named_source_independent(connection, 4, every_port=True):
            shapes[key] = None
        elif credited:
            shapes[key] = _Probe(([(prefix[:5], prefix[5], prefix[6], days, sample,
                                    crc32(f"{prefix[5]} {prefix[6]} ".encode()), [None])
                                   for prefix, _, days, sample in credited], cell,
                                  evidence["deny_days"]))
        else:
            shapes[key] = shared_shape(day, [], _Others(), cell, evidence["deny_days"], None)

    def drop_message_shapes(self, shapes: dict) -> None:
        """A table's message shapes counted and dropped, and the headers that lead to it."""
        self.settle_shared(shapes)
        shapes.clear()
        for header in [h for h, head in self.message_heads.items() if head[2] is shapes]:
            del self.message_heads[header]

    def unknown_device(self, device: Optional[str]) -> None:
        device = device or "(none)"
        if device not in self.devices and len(self.devices) >= DEVICES_LIMIT:
            device = OTHER_DEVICES
        _tally(self.devices, device)

    def settle(self) -> None:
        """Count what the fast paths' entries hold (their lines since the day they last
        changed) into the cells, facts and days."""
        for table in self.shapes.values():
            for entry in table.values():
                if entry.__class__ is tuple:
                    self.settle_shape(entry)
                    entry = entry[2]
                for flow in entry.values():
                    settle_flow(flow)
        for flows in self.fast_flows.values():
            for flow in flows.values():
                settle_flow(flow)
        for table in self.message_shapes.values():
            self.settle_shared(table)
        self.buffered.clear()
        self.held = 0

    def settle_shared(self, shapes: dict) -> None:
        """Count the buffered lines of a table's shared entries (its other entries hold
        none)."""
        for entry in shapes.values():
            if entry.__class__ is tuple:
                self.settle_shape(entry)

    def settle_buffers(self) -> None:
        """Count every shared shape's buffered lines (at SHAPE_LINES)."""
        for entry in self.buffered:
            self.settle_shape(entry)
        self.buffered.clear()
        self.held = 0

    def forget(self) -> None:
        """Drop the fast paths' caches, at their bounds (a flush keeps the shared shapes:
        rebind_shapes)."""
        self.settle()
        self.release_stale()
        self.drop_flows()
        self.shapes.clear()
        self.fast_size = 0

    def release_stale(self) -> None:
        """Move the facts a halving left out while a cached flow still counted into them
        (``pinned``) to where their service's left-out connections count: called settled,
        right before the cached flows are dropped. Else they stayed till a flush: on
        all-distinct traffic to a pre-8.3 firewall (every flow cached) the facts grew past
        every list's bound and each flush sent them all."""
        for key, sample in self.stale:
            count, first, last = self.facts.pop(key)
            self.leave_out(key[0], count, first, last, sample)
        self.stale = []

    def drop_flows(self) -> None:
        """Drop the cached headers (they hold the evidence a flush replaces) and the flow,
        reach and message shape entries (they hold its facts; settled before)."""
        self.heads.clear()
        self.fast_flows.clear()
        self.reaches.clear()
        self.message_heads.clear()
        self.message_shapes.clear()
        self.logged_heads.clear()
        self.message_trials.clear()
        self.message_off.clear()
        self.pinned.clear()

    def rebind_shapes(self, cells: dict, coverage: dict) -> None:
        """After a flush, the shared shapes kept and bound to the new tables (what they
        count into: cell, evidence, ACE days and sample), their flows by initiator dropped
        (those hold facts): a shape's verdict is the ruleset's, learnt again at a slow path's
        cost (at a million rules, a shape of the all-distinct log had a line every ~8k)."""
        category = {id(cell): key for key, cell in cells.items()}
        protocol = {id(marks): (name, kind) for name, evidence in coverage.items()
                    for kind, marks in evidence["protocols"].items()}
        successors: dict = {}       # an old cell or protocol's marks -> its new one, once made
        for table, shapes in self.shapes.items():
            name = table if table.__class__ is str else table[0]
            days = self.evidence(name)["days"]
            for key, entry in list(shapes.items()):
                if entry.__class__ is not tuple:
                    if entry.__class__ is _ByInitiator:
                        entry.clear()           # its verdict depends on the initiator
                    else:
                        del shapes[key]         # not decided
                    continue
                pending, credits, others, cell, _, marks, _ = entry
                if credits:
                    credits = [(prefix, self.daily.setdefault(prefix[:4], {}),
                                self.samples.get(prefix[:4]) or self.new_sample(prefix[:4]),
                                seed, [None]) for prefix, _, _, seed, _ in credits]
                new_cell = successors.get(id(cell))
                if new_cell is None:
                    new_cell = successors[id(cell)] = self.cell(*category[id(cell)])
                new_marks = successors.get(id(marks))
                if new_marks is None:
                    firewall, kind = protocol[id(marks)]
                    new_marks = successors[id(marks)] = \
                        self.evidence(firewall)["protocols"].setdefault(kind, {})
                shapes[key] = (pending, credits, _Others(), new_cell, days, new_marks, None)

    def counts(self, firewall: Optional[str] = None) -> dict:
        """Lines per category so far (of one firewall, or of all), and ``lines``."""
        self.settle()
        return self._counts(firewall)

    def _counts(self, firewall: Optional[str] = None) -> dict:
        counts: dict = {}
        for (name, category), cell in self.cells.items():
            if cell[0] and (firewall is None or name == firewall):
                counts[category] = counts.get(category, 0) + cell[0]
        counts["lines"] = sum(counts.values())
        return counts

    def emit(self) -> Iterator[tuple]:
        """Yield the aggregated records and forget them (a flush)."""
        self.settle()                       # before the stale facts move
        self.release_stale()
        # Every connection fact is now in its ACE's list, every service fact is in its
        # services' sample unless a lowered threshold dropped it since (its hits count as
        # omitted, as merge_ace would count them): the records need no merge.
        # A flush is the task's peak: what it makes is paid for as it goes. The ACEs' lists
        # of listed keys let go (no halving is left to do), and each fact as its part is
        # made, popped (the last first: no lookup): at 1.2M rules on 90% distinct traffic
        # the flush added 17 MB to the 41 MB of its facts, now 1 MB.
        for sample in self.samples.values():
            sample[2] = sample[4] = None
        # ACE -> [{rule index: [count, first, last]}, connections, services, omitted hits];
        # its totals from its rules' (a call per fact was most of a task's end).
        aces: dict = {}
        facts = self.facts
        while facts:
            (prefix, src), (count, first, last) = facts.popitem()
            ace = prefix[:4]
            parts = aces.get(ace)
            if parts is None:
                parts = aces[ace] = [{}, [], [], None]
            rule = parts[0].get(prefix[4])
            if rule is None:
                parts[0][prefix[4]] = [count, first, last]
            else:
                rule[0] += count
                if first < rule[1]:
                    rule[1] = first
                if last > rule[2]:
                    rule[2] = last
            if src is not None:
                parts[1].append([prefix[5], src, prefix[6], prefix[7], count, first, last])
                continue
            parts[3] = (parts[3] or 0) + count     # connections left out of a sampled list
            if len(prefix) > 5 and prefix[5:] in self.samples[ace][3].kept:  # by service
                parts[2].append(list(prefix[5:]) + [count, first, last])
        for key, (rules, connections, services, omitted) in aces.items():
            connections.reverse()       # popped the last first: in the order they came
            services.reverse()
            record = {"hits": sum(rule[0] for rule in rules.values()),
                      "first": min(rule[1] for rule in rules.values()),
                      "last": max(rule[2] for rule in rules.values()),
                      "rules": [[index] + rules[index] for index in sorted(rules)],
                      "connections": connections}
            if omitted is not None:
                record["omitted_hits"] = omitted
            if services:
                record["services"] = services
            record["days"] = self.daily.get(key, {})
            untimed = self.untimed.get(key)
            if untimed:
                record["untimed"] = untimed
            sample = self.samples[key]
            if sample[1] < SAMPLE_SPACE:
                record["sample_below"] = sample[1]
            if sample[3].below < SAMPLE_SPACE:
                record["service_below"] = sample[3].below
            yield list(key), record
        # freed before the collection below, which would scan every list they hold (0.6 s of
        # a flush of 500,000 facts at 1.2M rules, against 0.1 s)
        aces.clear()
        names = {name for name, _ in self.cells} | set(self.coverage)
        for name in sorted(names - {""}):
            evidence = self.evidence(name)
            evidence["lines"] = self._counts(name)
            if evidence["lines"]["lines"] or evidence["days"] or evidence["deny_days"]:
                yield [COVERAGE, name], evidence
        for device, count in sorted(self.devices.items()):
            yield [DEVICE, device], count
        counts = self._counts()
        if counts["lines"]:
            for name, count in sorted(counts.items()):
                yield [COUNTER, name], count
        cells, coverage = self.cells, self.coverage
        # An ACE's thresholds outlive a flush: its next records list only what falls below
        # them. Still exact (records.merge_ace): a threshold reached on part of a task's
        # connections is never below the one all of them need, and each record lists every
        # connection of its own below its threshold. Reset, each ACE listed up to
        # --max-connections anew after every flush (1,500 single-service ACEs, 1.5M distinct
        # clients, facts flushed at 100k: 34.6 MB of output against 31.3 MB).
        for ace, sample in self.samples.items():
            if sample[1] < SAMPLE_SPACE or sample[3].below < SAMPLE_SPACE:
                self.thresholds[ace] = (sample[1], sample[3].below)
        self.samples = {}
        self.daily = {}
        self.days = set()
        self.untimed = {}
        self.coverage = {}
        self.devices = {}
        self.cells = {}
        self.drop_flows()
        self.rebind_shapes(cells, coverage)
        self.full = False
        if not gc.isenabled():          # a map task's (quiet_collector)
            self.collect()

    def grow(self) -> bool:
        """At the facts' bound: raise it, rather than flush, toward twice the working set
        of the busy ACEs (listing an eighth of their bound or more: a flush before their
        lists fill and their thresholds fall would only have them list anew), within its
        ceiling and as far as MEMORY_BUDGET leaves room for (none where the task's memory is
        not known). Whether it grew past the facts held."""
        if self.facts_limit >= self.facts_ceiling:
            return False
        listed = self.bound // 8 or 1
        busy = sum(self.bound + len(sample[3].kept) for sample in self.samples.values()
                   if sample[0] >= listed)
        resident = resident_bytes() if 2 * busy > self.facts_limit else None
        if resident is None:
            return False
        room = max(0, (MEMORY_BUDGET - resident) // FACT_BYTES)
        limit = min(self.facts_ceiling, 2 * busy, self.facts_limit + room)
        if limit < self.facts_limit * 5 // 4:     # not by dribs: each try reads every sample
            return False
        self.facts_limit = limit
        return True

    def collect(self) -> None:
        """At a flush of a map task (the collector off): collect, then freeze what stays (the
        index subtrees built so far), so the next collection scans only what is newer — at
        most COLLECT_SHARE of the task's CPU time. A collection scans every object made since
        the last that is still alive (~110k at 1.2M rules, the shapes' samples and entries
        rebound at each flush: 0.13-0.27 s, 12% of a task flushing every 100k facts); until
        the next, nothing is frozen, so a cycle made meanwhile is collected then."""
        now = time.process_time()
        if self.collecting <= COLLECT_SHARE * (now - self.started):
            gc.collect()
            gc.freeze()
            self.collecting += time.process_time() - now

    def finish(self) -> Iterator[tuple]:
        """The last records of a task: what ``emit`` has, and which ruleset (by fingerprint)
        every firewall's lines were matched against, so a report can refuse another one."""
        yield from self.emit()
        for name, firewall in self.firewalls.items():
            yield [RULESET, name], [f"{RESULTS_FORMAT}:{firewall.fingerprint()}"]


def _tally(table: dict, key, count: int = 1) -> None:
    table[key] = table.get(key, 0) + count


def shape_key(groups: tuple, inbound: bool, keep_port: bool, mapped: bool = False) -> tuple:
    """A BUILT_RE match without the initiator's address (and port, unless a rule filters on
    it) and the mapped addresses (but the destination's where ACLs match mapped ones):
    (proto, ingress, egress, destination, port[, sport][, mapped destination])."""
    if inbound:
        return (groups[1], groups[2], groups[6], groups[7], groups[8]) + \
            ((groups[4],) if keep_port else ()) + ((groups[9],) if mapped else ())
    return (groups[1], groups[6], groups[2], groups[3], groups[4]) + \
        ((groups[8],) if keep_port else ()) + ((groups[5],) if mapped else ())


def reach_key(groups: tuple, inbound: bool, keep_port: bool, mapped: bool = False):
    """A BUILT_RE match without the responder's address (and the initiator's port, unless a
    rule filters on it): (proto, ingress, egress, initiator, port[, sport][, mapped
    initiator]), and the destination; None where ACLs match mapped addresses and NAT maps the
    destination (the chains would see it apart)."""
    if inbound:
        if mapped and groups[9] != groups[7]:
            return None
        key: tuple = (groups[1], groups[2], groups[6], groups[3], groups[8])
        if keep_port:
            key += (groups[4],)
        return (key + (groups[5],) if mapped else key), groups[7]
    if mapped and groups[5] != groups[3]:
        return None
    key = (groups[1], groups[6], groups[2], groups[7], groups[4])
    if keep_port:
        key += (groups[8],)
    return (key + (groups[9],) if mapped else key), groups[3]


def message_key(match, port_acls: frozenset) -> Optional[tuple]:
    """An ACL message's shape key and source address: deny_key or acl_log_key."""
    return deny_key(match, port_acls) if match.re is DENY_RE else acl_log_key(match, port_acls)


def acl_log_key(match, port_acls: frozenset) -> Optional[tuple]:
    """An ACL_LOG_RE match of a TCP, UDP or ICMP line of flows (``hit-cnt`` above 0) without
    the source's address (and port, unless the ACL it names filters on source ports; an
    ICMP line's parentheses hold its type, kept, and code) and the count: (106100, ACL,
    verdict, protocol, source interface, the text from the destination to the count, the
    hashes[, port or type]), that address and the count (digits); None for the rest (an
    IPv6 source; a port out of range: the general path reads them)."""
    acl, verdict, protocol, interface, address, port, count = \
        match.group(1, 2, 3, 4, 5, 6, 10)
    if protocol not in ("tcp", "udp", "icmp") or not count.lstrip("0") or ":" in address \
            or (len(port) == 5 and port > "65535"):
        return None
    key: tuple = ("106100", acl, verdict, protocol, interface,
                  match.string[match.start(7):match.start(10)], match.group(11, 12))
    if protocol == "icmp" or port_acls and acl in port_acls:
        key += (port,)
    return key, address, count


def deny_key(match, port_acls: frozenset) -> Optional[tuple]:
    """A DENY_RE match without the source's address (and port, unless the ACL it names
    filters on source ports): (protocol, source interface, the text from the destination to
    the hashes: an ICMP deny's type and code too), and that address; None unless the source
    is written ``IF:ADDRESS/PORT``, or ``IF:ADDRESS`` (ICMP and other portless protocols: port
    0, as the parser reads it), with neither a colon in the address (IPv6, a prefixed
    interface), a user nor a space, the port in range (the general path reads the rest)."""
    src = match.group(2)
    if "(" in src or " " in src:
        return None
    interface, _, rest = src.partition(":")
    address, slash, port = rest.rpartition("/")
    if not slash:
        address, port = rest, "0"
    if not interface or not address or ":" in address or not port.isdigit() \
            or len(port) > 5 or (len(port) == 5 and port > "65535"):
        return None
    key: tuple = (match.group(1), interface, match.string[match.start(3):match.end()])
    if port_acls and match.group(8) in port_acls:
        key += (port,)
    return key, address


def probe_key(match, port_acls: frozenset, found: Optional[tuple]) -> Optional[tuple]:
    """A TCP or UDP deny (its DENY_RE or ACL_LOG_RE match, and message_key's key and source
    if it has one) without its source's address and its destination port, and of a 106100
    its count of flows, which vary from line to line: (key, that address, port, flows), the
    port and flows as written (digits, or the int 1); the key ("probe", protocol, source
    interface, destination, the text after the port to the hashes) of a 106023, ("probe",
    ACL, protocol, source interface, destination, the text between port and count, after
    the count) of a 106100. None where the ACL named filters on source ports, of a 106100
    permit or of no flow (hit-cnt 0), and where a source or destination is not written as
    deny_key or acl_log_key read one, or a port is out of range."""
    if match.re is DENY_RE:
        if found is None or len(found[0]) != 3 or found[0][0] not in ("tcp", "udp"):
            return None
        destination = match.group(3)
        host, slash, port = destination.rpartition("/")
        if not slash or "(" in destination or " " in destination or not port.isdigit() \
                or len(port) > 5 or (len(port) == 5 and port > "65535"):
            return None
        return ("probe", found[0][0], found[0][1], host,
                match.string[match.end(3):match.end()]), found[1], port, 1
    acl, verdict, protocol, interface, address, sport, port, count = \
        match.group(1, 2, 3, 4, 5, 6, 9, 10)
    if verdict != "denied" or protocol not in ("tcp", "udp") or not count.lstrip("0") \
            or ":" in address or (port_acls and acl in port_acls) \
            or (len(sport) == 5 and sport > "65535") or (len(port) == 5 and port > "65535"):
        return None
    text = match.string
    return ("probe", acl, protocol, interface, text[match.start(7):match.end(8)],
            text[match.end(9):match.start(10)], text[match.end(10):match.end()]), address, \
        port, count


def _versioned(text: str) -> Optional[int]:
    """An address as add_reach reads it (IPv4, else IPv6: as the matcher does), versioned as
    the matcher's bounds (IPV4_BASE | address); None if neither."""
    for family, base in ((AF_INET, IPV4_BASE), (AF_INET6, IPV6_BASE)):
        try:
            return base | int.from_bytes(inet_pton(family, text), "big")
        except (OSError, ValueError):
            pass
    return None


def _ipv6(text: str) -> bool:
    """Whether ``text`` is an address the matcher reads as IPv6 (not IPv4: _ipv4 first)."""
    try:
        socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        return False
    return True


def _ipv4(text: str) -> bool:
    """Whether ``text`` is an address the matcher reads as IPv4, as FirewallMatcher.address
    would (a shape's verdict was decided for IPv4 initiators only)."""
    try:
        socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError):
        return False
    return True


def _inherit(key: tuple, groups: tuple, inbound: bool, flows: dict, inherit: tuple):
    """The previous revision's fast-path entry for a flow whose ACLs did not change (shared
    from then on), or None."""
    before, ingresses, egresses = inherit
    ingress, egress = (groups[2], groups[6]) if inbound else (groups[6], groups[2])
    if ingress in ingresses and egress in egresses:
        entry = before.get(key)
        if entry is not None:
            flows[key] = entry
        return entry
    return None


def _inherit_initiator(shape: tuple, source: str, shapes: dict, inherit: tuple):
    """_inherit for a table of shapes: the previous revision's entry for this initiator's
    flow of the shape (shared from then on), or None."""
    before, ingresses, egresses = inherit
    if shape[1] in ingresses and shape[2] in egresses:
        initiators = before.get(shape)
        if initiators is not None:
            if initiators.__class__ is tuple:
                initiators = initiators[2]
            entry = initiators.get(source)
            if entry is not None:
                here = shapes.get(shape)
                if here is None:
                    here = shapes[shape] = {}
                elif here.__class__ is tuple:
                    here = here[2]
                here[source] = entry
            return entry
    return None


def settle_flow(flow: list) -> None:
    """A flow entry: [day, its lines that day not counted yet, their first and last time,
    its counter cell, [(fact, that ACE's days)], its protocol's days in the firewall's
    evidence]. Its lines counted, as each would have been."""
    lines = flow[1]
    if lines:
        day, first, last = flow[0], flow[2], flow[3]
        flow[4][0] += lines
        flow[6][day] = 1
        for fact, days in flow[5]:
            fact[0] += lines
            if first < fact[1]:
                fact[1] = first
            if last > fact[2]:
                fact[2] = last
            days[day] = days.get(day, 0) + lines
        flow[1] = 0


def settle_count(entry: tuple) -> None:
    """A shared shape entry that credits nothing: ([day, None, its lines that day not counted
    yet], [], _Others, its counter cell, its firewall's evidence days, its protocol's days
    there). Those lines counted in the cell and the evidence."""
    pending = entry[0]
    if pending[2]:
        count_lines(entry, pending[0], pending[2])
        pending[2] = 0


def shared_shape(day: str, credited: list, others: _Others, cell: list, days: dict,
                 marks: Optional[dict], logged: Optional[dict] = None) -> tuple:
    """A shared shape entry (see LineAnalyzer.shapes) from a general-path line's credits
    ([(fact key prefix, source, that ACE's days, its sample)]): each credit with its
    service's hash, where a new source's hash continues; no day yet (its first line is
    counted at once, queue_shape), or, crediting nothing, this line's day. ``logged``: the
    evidence's ACL-log days, for a shape of 106100 permits that count (--permits-from
    acl-log)."""
    pending: list = [None, [], []] if credited else [day, None, 0]
    return (pending, [(prefix, ace_days, sample, service_hash(*prefix[5:]), [None])
                      for prefix, _, ace_days, sample in credited], others, cell, days, marks,
            logged)


def count_lines(entry: tuple, day: str, lines: int) -> None:
    """A shared shape's lines of a day counted in its cell and its firewall's evidence (and
    that day marked for its protocol; an ACL-log shape's in its ACL-log days too)."""
    entry[3][0] += lines
    # (a header's day is in the days its line counted in: an ACL message's shape may count
    # a line of a header another kind of message taught, a deny's and a permit's)
    days = entry[4]
    days[day] = days.get(day, 0) + lines
    if entry[5] is not None:            # (an ACL message's shape's: none)
        entry[5][day] = 1
    if entry[6] is not None:
        entry[6][day] = entry[6].get(day, 0) + lines


class _ByInitiator(dict):
    """A shape's flows by initiator where the shape's verdict was found to depend on it (a
    plain dict: not decided yet)."""


class _Probe(tuple):
    """A probe's entry where one rule denies every source and destination port (probe_key):
    ([(fact key prefix but the service, protocol, destination, that ACE's days, its sample,
    the CRC of "protocol destination " (of its service_hash), [its rule's left-out fact, once
    found]) per credit], its counter cell, its firewall's deny days)."""


class _Others(dict):
    """The flows by initiator of a shape whose verdict is shared by its IPv4 initiators:
    those of the others."""


def flow_key(groups: tuple, keep_port: bool) -> tuple:
    """The fast path's key for a BUILT_RE match: every group but the initiator's ephemeral
    port, unless a rule filters on it."""
    if keep_port:
        return groups
    if groups[0] == "inbound":
        return groups[:FOR_PORT] + groups[FOR_PORT + 1:]
    return groups[:TO_PORT] + groups[TO_PORT + 1:]


def firewall_of_path(path: str, ids: dict) -> Optional[str]:
    """The firewall of logs stored one directory per firewall (``/data/fw01/2014/x.log``):
    the file name's stem or the innermost directory that is a known device id."""
    parts = path.replace("\\", "/").split("/")
    stem = parts[-1].split(".")[0]
    for part in reversed(parts[:-1] + [stem]):
        if part in ids:
            return ids[part]
    return None


CLAIM_RANKS = ("name", "hostname", "alias")     # how strongly a firewall claims a device id


def claims(firewalls: dict) -> dict:
    """Device id -> {firewall: how it claims the id (its name, its hostname, or another
    alias: a context's name, `logging device-id`)}. ``firewalls``: {name: Firewall, or its
    database.Identity}."""
    found: dict = {}
    for name, firewall in firewalls.items():
        for alias in [name] + list(firewall.aliases):
            rank = "name" if alias == name else "hostname" if alias == firewall.hostname \
                else "alias"
            held = found.setdefault(alias, {})
            if CLAIM_RANKS.index(rank) < CLAIM_RANKS.index(held.get(name, "alias")) or \
                    name not in held:
                held[name] = rank
    return found


def device_ids(firewalls: dict) -> dict:
    """Device id in a log line -> firewall name: the one firewall that claims it most
    strongly (its name, over its hostname, over another config's `logging device-id` or
    context alias). An id two firewalls claim equally (two contexts with one hostname)
    identifies neither."""
    table = {}
    for alias, held in claims(firewalls).items():
        best = min(CLAIM_RANKS.index(rank) for rank in held.values())
        strongest = [name for name, rank in held.items() if CLAIM_RANKS.index(rank) == best]
        if len(strongest) == 1:
            table[alias] = strongest[0]
    return table


def identity_conflicts(firewalls: dict) -> list:
    """One sentence per device id that several firewalls claim, saying who gets its lines."""
    table = device_ids(firewalls)
    found = []
    for alias, held in sorted(claims(firewalls).items()):
        if len(held) < 2:
            continue
        who = ", ".join(f"{name} ({rank})" for name, rank in sorted(held.items()))
        winner = table.get(alias)
        found.append(f"device id '{alias}' is claimed by {who}: its lines go to {winner}"
                     if winner else f"device id '{alias}' is claimed by {who} alike: its "
                     "lines are unknown_firewall")
    return found
