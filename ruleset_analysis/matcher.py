"""Where a rule is matched: which ACL applies to a connection and which rule of it hits first.

Evaluation follows the ASA: the ACL bound inbound to the ingress interface, then the global ACL
(then the implicit deny); independently of that, the ACL bound outbound to the egress interface.
Each ACL credits its own first match, in config order; inactive and unparsed ACEs never match.

Rules are compiled into flat tuples and indexed by a decision tree over destination, source,
ports and protocol, so a lookup costs about the same at 100 rules and at 100,000. An ACE's
source members share its compiled rules (one per destination and service): a candidate's
source is then checked member by member, and the member found gives the expanded rule.
"""
from __future__ import annotations

import ipaddress
import socket
from bisect import bisect_right
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

from .asa.config import ftd_rule_ids
from .asa.literals import PROTOCOLS
from .asa.syslog import FTD_CONNECTION_EVENT
from .model import Acl, Connection, Firewall, collector_paused
from .routing import RoutingTable

MATCHED = "matched"            # every ACL that applies credited a rule
UNMATCHED = "unmatched"        # an ACL applies but no rule of it matched (implicit deny)
NO_ACL = "no_acl"              # no ACL applies to the connection's interfaces
# A connection whose message names no interface (302020, PIX 302001) that no interface
# network or route places.
INTERFACE_UNKNOWN = "interface_unknown"
DENIED = "denied"              # a deny message credited to the ACE that denied it
DENIED_IMPLICIT = "denied_implicit"       # a deny message no ACE of its ACL matches
UNKNOWN_ACL = "unknown_acl"    # an ACL message names an ACL the config does not have
# The config and the log disagree: never a hit, shown apart (config changed, another context).
DENY_DISAGREES = "deny_disagrees"       # a deny message whose first match is a permit ACE
PERMIT_DISAGREES = "permit_disagrees"   # a permit message whose first match is a deny ACE
# An ACL message whose hash names another ACE (or element) than its first match: credited to
# the one the device used, the first match listed (config drift, or a matcher bug).
HASH_DISAGREES = "hash_disagrees"
# Which FTD connection event an ACE's `event-log` produces (start 430002, end 430003); with
# `both`, the start event counts the connection.
EVENT_LOGS = {"ftd_start": ("flow-start", "both"), "ftd_end": ("flow-end",)}


class Hit(NamedTuple):
    """A rule credited with a connection."""
    acl: str
    ace_line: int
    rule_index: int
    action: str
    # the ACE has `log` (or FTD `event-log`): its flows also produce 106100 lines (FTD
    # connection events)
    logged: bool = False
    # an ACE of an older revision that the newest lacks: ace_line is its number among the
    # history's retired ACEs (history.py), rule_index its member's in that ACE
    retired: bool = False


class Verdict(NamedTuple):
    category: str
    hits: tuple                # of (Hit, source, destination as the ACL matched them)
    # per evaluation chain: ("inbound"|"outbound", names of the ACLs consulted, Hit or None)
    chains: tuple = ()
    # first matches that contradict what the firewall logged (a permitted connection whose
    # first match is a deny, ...): shown as disagreements, never hits
    against: tuple = ()
    # the ACE a message's hash names, when its first match is another: (Hit of that ACE whose
    # rule_index is the first match's ACE line, 0 for none, source, destination)
    rehashed: tuple = ()


# Rules compile to flat tuples; addresses of both IP versions share one integer space
# (version << 128 | address), so one comparison checks version and address together.
ADDRESS_SPACE = (0, 7 << 128)
PORT_SPACE = (0, 65535)
PROTOCOL_SPACE = (-1, 255)          # -1: a protocol no name table knows (only `ip` matches)
NOTHING = (1, 0)                    # an unresolvable fqdn: an empty range
# The compiled rule's positions, named once. Plain tuples because the leaf scan (_scan) is the
# innermost loop of the mapper; _scan reads them by these literal numbers, which is faster
# than looking names up.
(I_INDEX, I_PROTO_LO, I_PROTO_HI, I_SRC_LO, I_SRC_HI, I_SPORT_LO, I_SPORT_HI,
 I_DST_LO, I_DST_HI, I_DPORT_LO, I_DPORT_HI, I_EXTRA) = range(12)
# I_EXTRA: what a leaf checks only of a rule within every range, one tuple shared by the
# rules of one service of an ACE (six positions fewer per rule: ~40 MB at 1.2 million rules):
# (source port ranges, destination port ranges — None: the hull is exact —, ICMP code, ACE,
# FTD ingress, egress, the ACE's _Sources or None). ACE: (acl, line, action, logged), shared
# by the ACE's rules: a Hit per rule would be a million objects (and seconds of start-up); a
# match makes one.
(X_SPORTS, X_DPORTS, X_CODE, X_ACE, X_INGRESS, X_EGRESS, X_SOURCES) = range(7)
# An ACE with several source members compiles, for the matcher, to one rule per destination
# and service whose source range is the members' hull (X_SOURCES finds the member; the
# index's source split places it under each member, not under the hull): a fifth
# as many tuples at 1.2 million rules (1.2 million -> 264k: 396 -> 227 MB after start-up,
# matcher 2.2 -> 1.3 s). Its I_INDEX is then the index of its first member's rule: within
# the ACE every such rule a flow matches has the same first member, so these indexes order
# them as the real ones do, and they are lower bounds of the real ones (a subtree's lowest
# one still bounds what it can hold).
SMALL_SOURCES = 8      # members scanned in order; more: an interval table, made on first use
# Index dimensions, most selective first: (tuple lo, tuple hi, position in a flow's values,
# the whole space). A flow's values are (dst, src, dport, proto, sport).
DIMENSIONS = ((I_DST_LO, I_DST_HI, 0, ADDRESS_SPACE), (I_SRC_LO, I_SRC_HI, 1, ADDRESS_SPACE),
              (I_DPORT_LO, I_DPORT_HI, 2, PORT_SPACE), (I_PROTO_LO, I_PROTO_HI, 3, PROTOCOL_SPACE),
              (I_SPORT_LO, I_SPORT_HI, 4, PORT_SPACE))
WITHOUT_SOURCE = tuple(d for d in DIMENSIONS if d[2] != 1)
WITHOUT_DESTINATION = tuple(d for d in DIMENSIONS if d[2] != 0)
WITHOUT_SOURCE_AND_PORT = tuple(d for d in DIMENSIONS if d[2] not in (1, 2))
ALL_HOSTS = {4: (1 << 32) - 1, 6: (1 << 128) - 1}     # the host bits of each IP version
LEAF_SIZE = 8          # nodes this small are scanned
WIDE = 8               # a rule spanning more intervals than this is a wildcard for the dimension
# Destination ranges, at most, ahead of the rule a source's service reaches every other
# destination by (first_match_any_destination): beyond, its verdict is said to depend on it.
EXCEPTIONS_LIMIT = 64


def _address_range(address) -> tuple:
    if address is None:
        return ADDRESS_SPACE
    if address.version == 0:
        return NOTHING
    base = address.version << 128
    return (base | address.first, base | address.last)


def _port_hull(ports) -> tuple:
    if ports is None:
        return (PORT_SPACE[0], PORT_SPACE[1], None)
    return (min(lo for lo, _ in ports.ranges), max(hi for _, hi in ports.ranges), ports.ranges)


class _Sources:
    """An ACE's source members (two or more), in config order: which one is the first that a
    source address is in. ``stride``: rules per member (destinations x services)."""
    __slots__ = ("ranges", "stride", "points", "firsts")

    def __init__(self, ranges: list, stride: int):
        self.ranges, self.stride = ranges, stride
        self.points: Optional[list] = None
        self.firsts: list = []

    def first(self, value) -> Optional[int]:
        """The position of the first member containing ``value`` (0 for ANY_ADDRESS: the rule
        of the first member is the one a lookup ignoring the source finds), or None."""
        if value.__class__ is _AnyAddress:
            return 0
        if len(self.ranges) <= SMALL_SOURCES:
            for position, (lo, hi) in enumerate(self.ranges):
                if lo <= value <= hi:
                    return position
            return None
        points = self.points
        if points is None:
            points = self._tabulate()
        # below the first point: -1, the last interval, which no member covers
        return self.firsts[bisect_right(points, value) - 1]

    def _tabulate(self) -> list:
        # elementary intervals, each with the first member covering it: painted from the last
        # member to the first, so an earlier member overwrites a later one
        points = sorted({lo for lo, hi in self.ranges if lo <= hi} |
                        {hi + 1 for lo, hi in self.ranges if lo <= hi})
        at = {point: i for i, point in enumerate(points)}
        firsts: list = [None] * max(len(points), 1)     # no points: None for all
        for position in range(len(self.ranges) - 1, -1, -1):
            lo, hi = self.ranges[position]
            if lo <= hi:
                for i in range(at[lo], at[hi + 1]):
                    firsts[i] = position
        self.points, self.firsts = points, firsts
        return points


def address_ranges():
    """address -> its range, one range per address object however many ACEs name it: each
    range is two integers of 129 bits every rule of the ACE holds (at 1.2 million rules, 309k
    members name 23k addresses: 25 MB of integers, now 2)."""
    ranges: dict = {}

    def address_range(address) -> tuple:
        found = ranges.get(id(address))
        if found is None:
            found = ranges[id(address)] = (address, _address_range(address))   # kept alive
        return found[1]
    return address_range


def ace_factors(acl: Acl, ace, address_range) -> tuple:
    """A matchable ACE's rules as their product: (its sources' ranges, its destinations'
    ranges, its services as a compiled rule holds them: plo, phi, spl, sph, dpl, dph,
    extra). ``address_range``: an address_ranges() of the ACL."""
    ace_of = (acl.name, ace.line, ace.action, ace.logged)
    interfaces = (ace.ingress_ifc, ace.egress_ifc)     # FTD `ifc`; None: any
    services: list = []
    for proto, sport, dport, code, _ in ace.services:
        spl, sph, sports = _port_hull(sport)
        dpl, dph, dports = _port_hull(dport)
        plo, phi = (-1, 255) if proto is None else (proto, proto)
        services.append((plo, phi, spl, sph, dpl, dph,
                         (sports, dports, code, ace_of) + interfaces + (None,)))
    return ([address_range(a) for a, _ in ace.sources],
            [address_range(a) for a, _ in ace.destinations], services)


def compile_rules(acl: Acl, sources_apart: bool = False) -> list:
    """The ACL's matchable rules as flat tuples, in rule (= config) order. ``sources_apart``:
    an ACE's source members in one rule per destination and service (X_SOURCES), as the
    matcher takes them; else one rule per member combination."""
    compiled = []
    address_range = address_ranges()
    for ace in acl.entries:
        if not ace.matchable:
            continue
        sources, destinations, services = ace_factors(acl, ace, address_range)
        stride = len(destinations) * len(ace.services)       # rules per source member
        if sources_apart and len(sources) > 1:
            # one rule per destination and service, its sources the members' hull
            table = _Sources(sources, stride)
            sources = [(min(lo for lo, _ in sources), max(hi for _, hi in sources))]
            services = [service[:6] + (service[6][:X_SOURCES] + (table,),)
                        for service in services]
        index = ace.first_index
        for src in sources:
            for dst in destinations:
                for plo, phi, spl, sph, dpl, dph, extra in services:
                    compiled.append((index, plo, phi, src[0], src[1], spl, sph,
                                     dst[0], dst[1], dpl, dph, extra))
                    index += 1
    return compiled


class _Node:
    """Splits its rules on one dimension into elementary intervals (found by bisection);
    rules spanning the dimension, or too much of it, go to the wildcard child."""
    __slots__ = ("position", "points", "children", "wild", "wild_min")

    def __init__(self, position, points, children, wild):
        self.position, self.points, self.children, self.wild = position, points, children, wild
        # rule lists are in index order throughout: a subtree's lowest index is its first rule's
        self.wild_min = wild.rules[0][I_INDEX] if wild is not None else 1 << 62


class _Pending:
    """A subtree not built yet: built by the first lookup that reaches it. A lookup visits a
    few paths of the tree, traffic a small part of it: building it all up front cost most of
    a map task's start-up (seconds at a million rules) for subtrees no flow ever reached."""
    __slots__ = ("rules", "dimensions")

    def __init__(self, rules: Sequence, dimensions: tuple):
        self.rules, self.dimensions = rules, dimensions

    def build(self):
        with collector_paused():
            return build_index(self.rules, self.dimensions)


def build_index(rules: Sequence, dimensions=DIMENSIONS):
    """A decision tree over the rules (kept in index order everywhere); leaves are tuples
    (_leaf; leaf_rules reads one). Only its top node is built here: its children are
    _Pending until a lookup needs them."""
    if len(rules) <= LEAF_SIZE or not dimensions:
        return _leaf(rules)
    (lo, hi, position, (space_lo, space_hi)), rest = dimensions[0], dimensions[1:]
    specific: list = []
    wild: list = []
    for rule in rules:
        (wild if rule[lo] <= space_lo and rule[hi] >= space_hi else specific).append(rule)
    if not specific:
        return build_index(rules, rest)
    # On the source, a rule whose ACE's members share it goes where its members are, not
    # where their hull is: between scattered members it would be a candidate for every
    # source (500 ACEs of 10 hosts each across 10/8 to any: 312 µs a lookup, 3 µs so).
    tables = [r[I_EXTRA][X_SOURCES] for r in specific] if lo == I_SRC_LO else \
        [None] * len(specific)
    bounds = set()
    for r, table in zip(specific, tables):
        if table is None:
            bounds.add(r[lo])
            bounds.add(r[hi] + 1)
        else:
            for first, last in table.ranges:
                if first <= last:
                    bounds.add(first)
                    bounds.add(last + 1)
    points = sorted(bounds)
    buckets: list = [[] for _ in points]
    # every bound is a point: a dictionary finds its interval (two bisections per rule took
    # almost half of this node's build: 1.05 s against 0.58 s for 487k rules)
    at = {point: i for i, point in enumerate(points)}
    for rule, table in zip(specific, tables):
        if table is not None:
            spans = [(at[a], at[b + 1] - 1) for a, b in table.ranges if a <= b]
            if any(last - first >= WIDE for first, last in spans):
                wild.append(rule)
                continue
            for first, last in spans:
                for i in range(first, last + 1):
                    bucket = buckets[i]
                    if not bucket or bucket[-1] is not rule:    # members that overlap
                        bucket.append(rule)
            continue
        first = at[rule[lo]]
        last = at[rule[hi] + 1] - 1
        if first == last:                   # most rules: one interval, no range to make
            buckets[first].append(rule)
        elif last - first >= WIDE:
            wild.append(rule)
        else:
            for i in range(first, last + 1):
                buckets[i].append(rule)
    if len(wild) == len(rules):
        return build_index(rules, rest)
    wild.sort(key=lambda r: r[I_INDEX])
    # a bucket of a leaf's size is its leaf (build_index would return it): no _Pending to
    # make now and build later (most of a large tree's nodes are such leaves)
    children = [(_leaf(b) if len(b) <= LEAF_SIZE else _Pending(tuple(b), rest)) if b else None
                for b in buckets]
    return _Node(position, points, children, _Pending(tuple(wild), rest) if wild else None)


def hit_of(rule: tuple, source) -> Hit:
    """The Hit a compiled rule's match by a flow from ``source`` credits."""
    extra = rule[I_EXTRA]
    acl, line, action, logged = extra[X_ACE]
    table = extra[X_SOURCES]
    index = rule[I_INDEX] if table is None else \
        rule[I_INDEX] + table.first(source) * table.stride
    return Hit(acl, line, index, action, logged)


def _scan(rules: Sequence, values: tuple, code):
    # r[n], x[n]: the positions I_*, X_* above, as literals (the innermost loop of the mapper)
    dst, src, dport, proto, sport, ingress, egress = values
    for r in rules:
        if r[1] <= proto <= r[2] and r[3] <= src <= r[4] and r[7] <= dst <= r[8] \
                and r[5] <= sport <= r[6] and r[9] <= dport <= r[10]:
            x = r[11]
            if (x[0] is None or _in_ports(sport, x[0])) \
                    and (x[1] is None or _in_ports(dport, x[1])) \
                    and (x[2] is None or x[2] == code) \
                    and (x[4] is None or x[4] == ingress) and (x[5] is None or x[5] == egress) \
                    and (x[6] is None or x[6].first(src) is not None):
                return r
    return None


def _leaf(rules: Sequence) -> tuple:
    """A leaf: its rules, or its one rule itself (most leaves at a million rules; the
    fully built index there took 67.8 MB so, 75.9 with a tuple of one, 91.5 with lists)."""
    return rules[0] if len(rules) == 1 else tuple(rules)


def leaf_rules(leaf: tuple) -> tuple:
    """A leaf's rules (a rule starts with its index, an int)."""
    return (leaf,) if leaf and leaf[0].__class__ is int else leaf


def _lookup(node, values: tuple, code):
    """The lowest-index rule under ``node`` that the flow matches, or None."""
    if node.__class__ is tuple:             # a leaf
        return _scan(leaf_rules(node), values, code)
    best = None
    i = bisect_right(node.points, values[node.position]) - 1
    children = node.children
    if 0 <= i < len(children):
        child = children[i]
        if child is not None:
            if child.__class__ is _Pending:
                child = children[i] = child.build()
            best = _lookup(child, values, code)
    wild = node.wild
    if wild is not None and (best is None or node.wild_min < best[I_INDEX]):
        if wild.__class__ is _Pending:
            wild = node.wild = wild.build()
        other = _lookup(wild, values, code)
        if other is not None and (best is None or other[I_INDEX] < best[I_INDEX]):
            best = other
    return best


def _collect(node, values: tuple, code, found: list) -> None:
    """Every rule under ``node`` that the flow matches, appended to ``found`` (in no order)."""
    if node.__class__ is tuple:
        found.extend(r for r in leaf_rules(node) if _scan((r,), values, code) is not None)
        return
    i = bisect_right(node.points, values[node.position]) - 1
    children = node.children
    if 0 <= i < len(children) and children[i] is not None:
        if children[i].__class__ is _Pending:
            children[i] = children[i].build()
        _collect(children[i], values, code, found)
    if node.wild is not None:
        if node.wild.__class__ is _Pending:
            node.wild = node.wild.build()
        _collect(node.wild, values, code, found)


class _AnyAddress:
    """A flow value inside every range: with it for the source (the destination, the
    destination port), _lookup on an index without that dimension finds the first rule that
    matches every other field (a rule whose source set is empty counts too, which can only
    make an answer "depends on the source", the safe side)."""

    def __le__(self, other) -> bool:
        return True

    __ge__ = __le__


ANY_ADDRESS = _AnyAddress()


def _in_ports(value: int, ranges) -> bool:
    for lo, hi in ranges:
        if lo <= value <= hi:
            return True
    return False


class AclMatcher:
    """First-match lookup over one ACL's expanded rules, through an index whose cost depends
    on its depth, not on the number of rules. Leaves check every field exactly, so the index
    only narrows the candidates: the answer is the brute-force one."""

    def __init__(self, acl: Acl):
        self.name = acl.name
        rules = compile_rules(acl, sources_apart=True)
        self.uses_source_port = any(r[I_EXTRA][X_SPORTS] is not None for r in rules)
        self.size = sum(len(ace.sources) * len(ace.destinations) * len(ace.services)
                        for ace in acl.entries if ace.matchable)     # expanded rules
        self.index = build_index(rules)
        self.rules = rules
        # indexes without some dimensions, by those kept: each built on first use
        # (first_match_any_source, same_first_match_any_source_and_port,
        # first_match_any_destination)
        self.partial_indexes: dict = {}

    def first_match(self, protocol: int, src_version: int, src: int, sport: int,
                    dst_version: int, dst: int, dport: int, icmp_code: Optional[int] = None,
                    ingress: str = "", egress: str = "") -> Optional[Hit]:
        """The first rule, in config order, that the flow (entering through ``ingress``,
        leaving through ``egress``) matches; None if none does."""
        values = (dst_version << 128 | dst, src_version << 128 | src, dport, protocol, sport,
                  ingress, egress)
        found = _lookup(self.index, values, icmp_code)
        return None if found is None else hit_of(found, values[1])

    def first_match_any_source(self, protocol: int, src_version: int, sport: int,
                               dst_version: int, dst: int, dport: int,
                               icmp_code: Optional[int] = None, ingress: str = "",
                               egress: str = "") -> tuple:
        """(first match, whether every ``src_version`` source address gets that same first
        match): true when no rule matches the flow's other fields, or the first that does
        admits every source address of that version."""
        found = _lookup(self.partial_index(WITHOUT_SOURCE), (
            dst_version << 128 | dst, ANY_ADDRESS, dport, protocol, sport, ingress, egress),
            icmp_code)
        if found is None:
            return None, True
        return hit_of(found, ANY_ADDRESS), _every_source(found, src_version)

    def same_first_match_any_source_and_port(self, protocol: int, src_version: int,
                                             sport: int, dst_version: int, dst: int,
                                             icmp_code: Optional[int] = None,
                                             ingress: str = "", egress: str = "") -> bool:
        """Whether every ``src_version`` source address to every destination port gets the
        same first match, the same member too: true when no rule matches the flow's other
        fields, or the first that does admits every such source and port."""
        found = _lookup(self.partial_index(WITHOUT_SOURCE_AND_PORT), (
            dst_version << 128 | dst, ANY_ADDRESS, ANY_ADDRESS, protocol, sport, ingress,
            egress), icmp_code)
        return found is None or _every_source(found, src_version) and \
            found[I_DPORT_LO] <= PORT_SPACE[0] and found[I_DPORT_HI] >= PORT_SPACE[1] and \
            found[I_EXTRA][X_DPORTS] is None

    def partial_index(self, dimensions: tuple):
        """The index over ``dimensions`` alone, built on first use."""
        index = self.partial_indexes.get(dimensions)
        if index is None:
            with collector_paused():
                index = self.partial_indexes[dimensions] = build_index(self.rules, dimensions)
        return index

    def first_match_any_destination(self, protocol: int, src_version: int, src: int,
                                    sport: int, dst_version: int, dport: int,
                                    icmp_code: Optional[int] = None, ingress: str = "",
                                    egress: str = "") -> Optional[tuple]:
        """With the destination unknown: (the first rule matching every other field that
        admits every ``dst_version`` destination, or None if none does; the destination ranges
        of that version, in config order, of the rules ahead of it that match every other
        field). A destination outside those ranges has that first match. None: more ranges
        than EXCEPTIONS_LIMIT."""
        index = self.partial_index(WITHOUT_DESTINATION)
        values = (ANY_ADDRESS, src_version << 128 | src, dport, protocol, sport, ingress,
                  egress)
        base = dst_version << 128
        top = base | ALL_HOSTS[dst_version]
        found = _lookup(index, values, icmp_code)
        if found is None:
            return None, ()
        if found[I_DST_LO] <= base and found[I_DST_HI] >= top:
            return hit_of(found, values[1]), ()
        matching: list = []             # a rule ahead of the one for every destination
        _collect(index, values, icmp_code, matching)
        matching.sort(key=lambda r: r[I_INDEX])
        ranges: list = []
        for rule in matching:
            lo, hi = rule[I_DST_LO], rule[I_DST_HI]
            if lo <= base and hi >= top:
                return hit_of(rule, values[1]), tuple(ranges)
            lo, hi = max(lo, base), min(hi, top)
            if lo <= hi:
                if len(ranges) == EXCEPTIONS_LIMIT:
                    return None
                ranges.append((lo, hi))
        return None, tuple(ranges)


def _every_source(rule: tuple, src_version: int) -> bool:
    """Whether ``rule`` admits every source address of ``src_version``, with the same
    member (an ACE's first source member where it has several)."""
    base = src_version << 128
    table = rule[I_EXTRA][X_SOURCES]
    lo, hi = (rule[I_SRC_LO], rule[I_SRC_HI]) if table is None else table.ranges[0]
    return lo <= base and hi >= base | ALL_HOSTS[src_version]


class FirewallMatcher:
    """Evaluates connections against one firewall's bound ACLs."""

    @collector_paused()
    def __init__(self, firewall: Firewall, shared: Optional[dict] = None):
        """``shared``: ACL name -> an AclMatcher already built for the same ACL (another
        revision's), used instead of building one."""
        self.firewall = firewall
        used = set(firewall.inbound.values()) | set(firewall.outbound.values())
        if firewall.global_acl:
            used.add(firewall.global_acl)
        shared = shared or {}
        self.acls = {name: shared.get(name) or AclMatcher(firewall.acls[name]) for name in used
                     if name in firewall.acls}
        self.routing = RoutingTable(firewall)
        self.inbound = {i: self.acls.get(a) for i, a in firewall.inbound.items()}
        self.outbound = {i: self.acls.get(a) for i, a in firewall.outbound.items()}
        self.global_acl = self.acls.get(firewall.global_acl) if firewall.global_acl else None
        self.uses_source_port = any(m.uses_source_port for m in self.acls.values())
        # ACL messages name any ACL, bound or not: which of them filter on source ports.
        self.source_port_acls = frozenset(
            acl.name for acl in firewall.acls.values()
            if any(sport is not None for ace in acl.entries for _, sport, *_ in ace.services))
        self.uses_mapped = firewall.acl_addresses == "mapped"
        self.rule_matchers: dict = {}          # FTD rule name -> _rule_matchers()
        self.rule_ids: Optional[list] = None   # [(ACL, {FTD rule name: rule ids})]

    def address(self, text: str):
        """-> (version, int); a `name` alias as some firewalls log it is resolved."""
        text = self.firewall.names.get(text, text)
        try:
            return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
        except (OSError, ValueError):        # ValueError: an embedded NUL
            pass
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return None
        return ip.version, int(ip)

    def evaluate(self, c: Connection) -> Optional[Verdict]:
        """The verdict for a connection, or None when an address cannot be read.

        Each hit comes with the source and destination the ACL matched on: real addresses,
        or on pre-8.3 firewalls the addresses as seen on the ACL's interface (inbound and
        global: mapped destination; outbound: mapped source).
        """
        if not c.ingress:          # 302020 and PIX 302001 name no interface
            ingress = self.routing.interface_for(c.source)
            egress = self.routing.interface_for(c.destination)
            if ingress is None or egress is None:
                return Verdict(INTERFACE_UNKNOWN, ())
            c = c._replace(ingress=ingress, egress=egress)
        number = _protocol_number(c.protocol)
        mapped = self.firewall.acl_addresses == "mapped"
        in_pair = (c.source, c.mapped_destination or c.destination) if mapped \
            else (c.source, c.destination)
        out_pair = (c.mapped_source or c.source, c.destination) if mapped else in_pair
        hits: list = []
        against: list = []
        chains = []
        denied = False
        key: tuple = ()
        for direction, pair, chain in (
                ("inbound", in_pair, (self.inbound.get(c.ingress), self.global_acl)),
                ("outbound", out_pair, (self.outbound.get(c.egress),))):
            if not key or pair is not in_pair:    # 8.3+: both chains see the same pair
                src, dst = self.address(pair[0]), self.address(pair[1])
                if src is None or dst is None:
                    return None
                key = (number, src[0], src[1], c.source_port, dst[0], dst[1],
                       c.destination_port, c.icmp_code, c.ingress, c.egress)
            consulted = []
            hit = None
            for acl in chain:
                if acl is None:
                    continue
                consulted.append(acl.name)
                hit = acl.first_match(*key)
                if hit is not None:
                    # the firewall built the connection: a deny as first match contradicts it
                    (hits if hit.action == "permit" else against).append((hit, pair[0],
                                                                          pair[1]))
                    break
            if consulted:
                chains.append((direction, tuple(consulted), hit))
                denied = denied or hit is None        # reached the implicit deny
        category = PERMIT_DISAGREES if against else UNMATCHED if denied else \
            MATCHED if hits else NO_ACL
        return Verdict(category, tuple(hits), tuple(chains), tuple(against))

    def source_independent(self, c: Connection, src_version: int) -> bool:
        """Whether every ACL evaluating ``c`` has the same first match for every source
        address of ``src_version``: then ``evaluate`` gives every such connection the same
        verdict, up to the source it names. Before 8.3 the chains see different addresses
        (``evaluate``): the inbound one the mapped destination, and each its own source, so
        the answer holds for every pair of real and mapped sources of that version."""
        if not c.ingress:
            return False
        dst = self.address(c.destination)
        in_dst = self.address(c.mapped_destination or c.destination) if self.uses_mapped \
            else dst
        if dst is None or in_dst is None:
            return False
        number = _protocol_number(c.protocol)
        for chain, (dst_version, dst_value) in (
                ((self.inbound.get(c.ingress), self.global_acl), in_dst),
                ((self.outbound.get(c.egress),), dst)):
            for acl in chain:
                if acl is None:
                    continue
                hit, every = acl.first_match_any_source(
                    number, src_version, c.source_port, dst_version, dst_value,
                    c.destination_port, c.icmp_code, c.ingress, c.egress)
                if not every:
                    return False
                if hit is not None:
                    break
        return True

    def destination_exceptions(self, c: Connection, dst_version: int) -> Optional[tuple]:
        """Where ``evaluate`` gives ``c``'s verdict, up to the destination it names, to every
        destination address of ``dst_version``: all but those in the ranges returned
        ((starts, ends), sorted, disjoint; versioned as the compiled rules' bounds), each
        ACL's first match then that for every destination outside them. None: it depends
        on more of them (EXCEPTIONS_LIMIT an ACL). Before 8.3 the outbound chain sees the
        mapped source; the answer holds for a destination NAT leaves as it is (both chains
        see it as logged)."""
        if not c.ingress:
            return None
        src = self.address(c.source)
        out_src = self.address(c.mapped_source or c.source) if self.uses_mapped else src
        if src is None or out_src is None:
            return None
        number = _protocol_number(c.protocol)
        ranges: list = []
        for chain, (src_version, src_value) in (
                ((self.inbound.get(c.ingress), self.global_acl), src),
                ((self.outbound.get(c.egress),), out_src)):
            for acl in chain:
                if acl is None:
                    continue
                found = acl.first_match_any_destination(
                    number, src_version, src_value, c.source_port, dst_version,
                    c.destination_port, c.icmp_code, c.ingress, c.egress)
                if found is None:
                    return None
                ranges += found[1]
                if found[0] is not None:
                    break
        starts: list = []
        ends: list = []
        for lo, hi in sorted(ranges):
            if ends and lo <= ends[-1] + 1:
                ends[-1] = max(ends[-1], hi)
            else:
                starts.append(lo)
                ends.append(hi)
        return starts, ends

    def named_source_independent(self, c: Connection, src_version: int,
                                 every_port: bool = False) -> bool:
        """Whether the ACL an ACL message names (``evaluate_named`` run on it before) has
        the same first match for ``c`` from every source address of ``src_version`` (and,
        ``every_port``, to every destination port, the same member too): then its verdict is
        the same, up to the source (and port) it names (the hashes' too)."""
        acl = self.acls.get(c.acl)
        dst = self.address(c.destination)
        if acl is None or dst is None:
            return False
        number = _protocol_number(c.protocol)
        if every_port:
            return acl.same_first_match_any_source_and_port(
                number, src_version, c.source_port, dst[0], dst[1], c.icmp_code, c.ingress,
                c.egress)
        return acl.first_match_any_source(
            number, src_version, c.source_port, dst[0], dst[1], c.destination_port,
            c.icmp_code, c.ingress, c.egress)[1]

    def evaluate_named(self, c: Connection) -> Optional[Verdict]:
        """An ACL message (106100, 106023): the first match in the ACL it names, on the
        addresses it shows (those the ACL saw). None when an address cannot be read."""
        acl = self.acls.get(c.acl)
        if acl is None:
            if c.acl not in self.firewall.acls:
                return Verdict(UNKNOWN_ACL, ())
            acl = self.acls[c.acl] = AclMatcher(self.firewall.acls[c.acl])
        src, dst = self.address(c.source), self.address(c.destination)
        if src is None or dst is None:
            return None
        hit = acl.first_match(_protocol_number(c.protocol), src[0], src[1], c.source_port,
                              dst[0], dst[1], c.destination_port, c.icmp_code, c.ingress,
                              c.egress)
        if c.ace_hash:
            device = self.hashed(c, hit)
            if device is not None:
                return device
        hits = () if hit is None else ((hit, c.source, c.destination),)
        if c.kind == "acl_deny":
            category = DENIED if hit else DENIED_IMPLICIT
            if hit is not None and hit.action != "deny":
                return Verdict(DENY_DISAGREES, (), (("named", (c.acl,), hit),), hits)
        else:
            category = MATCHED if hit else UNMATCHED
            if hit is not None and hit.action != "permit":
                return Verdict(PERMIT_DISAGREES, (), (("named", (c.acl,), hit),), hits)
        return Verdict(category, hits, (("named", (c.acl,), hit),))


    def hashed(self, c: Connection, hit: Optional[Hit]) -> Optional[Verdict]:
        """The verdict by the message's hashes, when they name an ACE (from `show access-list`
        captures) other than the first match ``hit``, or an element other than its rule; None
        when they name nothing known, or the same."""
        found = self.firewall.hashes.get(f"{c.acl} {c.ace_hash}")
        if found is None:
            return None
        line, elements = found
        index = elements.get(c.element_hash)
        if hit is not None and hit.ace_line == line and index in (None, hit.rule_index):
            return None
        ace = next((a for a in self.firewall.acls[c.acl].entries if a.line == line), None)
        wanted = "deny" if c.kind == "acl_deny" else "permit"
        if ace is None or ace.action != wanted:
            return None       # the capture's text matched another ACE: trust the first match
        if index is None:
            index = hit.rule_index if hit is not None and hit.ace_line == line else \
                ace.first_index
        device = Hit(c.acl, line, index, ace.action, ace.logged)
        first = Hit(c.acl, line, hit.ace_line if hit is not None else 0, ace.action)
        return Verdict(HASH_DISAGREES, ((device, c.source, c.destination),),
                       (("named", (c.acl,), device),), (),
                       ((first, c.source, c.destination),))

    def evaluate_rule(self, c: Connection) -> Optional[Verdict]:
        """An FTD connection event (430002 start, 430003 end, kind ``ftd_start``/``ftd_end``)
        names its access-control rule (``c.acl``): the first match among that rule's ACEs on
        the flow the event shows, credited when that ACE's `event-log` writes this event (the
        other event counts the connection). None when an address cannot be read."""
        matchers = self.rule_matchers.get(c.acl)
        if matchers is None:
            if len(self.rule_matchers) >= 4096:          # names come from log text: bounded
                self.rule_matchers.clear()
            matchers = self.rule_matchers[c.acl] = self._rule_matchers(c.acl)
        if not matchers:
            return Verdict(FTD_CONNECTION_EVENT, ())
        src, dst = self.address(c.source), self.address(c.destination)
        if src is None or dst is None:
            return None
        number = _protocol_number(c.protocol)
        for matcher, event_logs in matchers:
            hit = matcher.first_match(number, src[0], src[1], c.source_port, dst[0], dst[1],
                                      c.destination_port, c.icmp_code, c.ingress, c.egress)
            if hit is None:
                continue
            if event_logs[hit.ace_line] not in EVENT_LOGS[c.kind]:
                return Verdict(FTD_CONNECTION_EVENT, ())    # its other event counts it
            chain = (("named", (matcher.name,), hit),)
            if hit.action != "permit":
                return Verdict(PERMIT_DISAGREES, (), chain, ((hit, c.source, c.destination),))
            return Verdict(MATCHED, ((hit, c.source, c.destination),), chain)
        return Verdict(UNMATCHED, (), tuple(("named", (m.name,), None) for m, _ in matchers))

    def _rule_matchers(self, name: str) -> list:
        """[(matcher over the ACEs of the named rule in one ACL, {ACE line: event-log})]"""
        if self.rule_ids is None:           # the config's rule names, read once
            self.rule_ids = [(acl, ftd_rule_ids(acl)) for acl in self.firewall.acls.values()]
        matchers = []
        for acl, rules in self.rule_ids:
            ids = rules.get(name)
            if ids:
                entries = [ace for ace in acl.entries if ace.rule_id in ids]
                matchers.append((AclMatcher(Acl(acl.name, entries)),
                                 {ace.line: ace.event_log for ace in entries}))
        return matchers


def _protocol_number(name: str) -> int:
    number = PROTOCOL_NUMBERS.get(name)
    if number is None:
        number = PROTOCOLS.get(name, int(name) if name.isdigit() else -1)
        if len(PROTOCOL_NUMBERS) < 512:         # log text: bounded
            PROTOCOL_NUMBERS[name] = number
    return number


PROTOCOL_NUMBERS: dict = {}             # protocol as logged -> number, memoised


# Older revisions held loaded and indexed at once. A task's lines meet one or two at a time
# (logs run forward); each took ~3 MB at 10,000 rules, ~30 MB at 120,000, and a worker that
# met a year of daily revisions held them all. The one met least recently is let go: built
# again if met again, alike (the verdicts cached for it stay true).
KEEP_OLDER = 4


class Timeline:
    """A firewall's matchers over time: the revision in force at a line's time, each older
    revision's index built when a line first needs it (at most KEEP_OLDER at once), its
    verdicts given in the newest revision's terms (``history.Translation``)."""

    def __init__(self, firewall: Firewall, current: FirewallMatcher):
        assert firewall.history is not None
        self.firewall = firewall
        self.starts = firewall.history.starts
        self.newest = len(self.starts) - 1
        self.matchers: list = [None] * self.newest + [current]
        self.current = current
        self.identities: Optional[dict] = None
        self.loaded: dict = {self.newest: firewall}      # revision -> its Firewall
        self.recent: Dict[int, None] = {}                # older revisions held, last met last
        self.last_met = self.newest
        self.inheritances: dict = {}

    def load(self, revision: int) -> Firewall:
        self._met(revision)
        found = self.loaded.get(revision)
        if found is None:
            history = self.firewall.history
            assert history is not None and history.load is not None
            found = self.loaded[revision] = history.load(revision)
        return found

    def _met(self, revision: int) -> None:
        if revision == self.last_met or revision == self.newest:
            return
        self.last_met = revision
        recent = self.recent
        recent.pop(revision, 0)
        recent[revision] = None
        if len(recent) > KEEP_OLDER:
            gone = next(iter(recent))
            del recent[gone]
            self.loaded.pop(gone, None)
            self.matchers[gone] = None

    def inherited(self, revision: int) -> Optional[Tuple[frozenset, frozenset]]:
        """(ingress interfaces, egress interfaces) through which a TCP/UDP flow meets the same
        ACLs, line for line, in ``revision`` as in the one before, so that its verdict there
        holds here too (most changes touch one ACL); None where nothing carries over."""
        if revision == 0 or self.matchers[revision - 1] is None:
            return None                  # no line met the one before: nothing to inherit
        if revision not in self.inheritances:
            self.inheritances[revision] = self._inherited(revision)
        return self.inheritances[revision]

    def _inherited(self, revision: int) -> Optional[Tuple[frozenset, frozenset]]:
        from .history import same_acl
        if revision == 0:
            return None
        old, new = self.load(revision - 1), self.load(revision)
        # (Where only a changed ACL filters on source ports, the flow keys differ in form and
        # nothing is found.)
        if (old.names, old.acl_addresses, old.interfaces, old.routes) != \
                (new.names, new.acl_addresses, new.interfaces, new.routes):
            return None

        def same(a: Optional[str], b: Optional[str]) -> bool:
            if a is None or b is None:
                return a == b
            return a == b and a in old.acls and b in new.acls and \
                same_acl(old.acls[a], new.acls[b])
        if not same(old.global_acl, new.global_acl):
            return None
        names = set(old.interfaces)
        return (frozenset(i for i in names if same(old.inbound.get(i), new.inbound.get(i))),
                frozenset(i for i in names if same(old.outbound.get(i), new.outbound.get(i))))

    def revision(self, when: Optional[str]) -> int:
        """The revision in force at ``when``: the first for earlier lines, the newest for
        lines without a time."""
        if when is None:
            return self.newest
        return max(bisect_right(self.starts, when) - 1, 0)

    def matcher(self, revision: int):
        found = self.matchers[revision]
        self._met(revision)
        if found is None:
            from .history import Translation, identities, same_acl
            history = self.firewall.history
            assert history is not None
            old = self.load(revision)
            if self.identities is None:
                self.identities = identities(self.firewall)
            # Most changes touch one ACL: the others are matched by the newest's own index.
            shared = {name: matcher for name, matcher in self.current.acls.items()
                      if name in old.acls and same_acl(old.acls[name], self.firewall.acls[name])}
            found = self.matchers[revision] = _TranslatedMatcher(
                FirewallMatcher(old, shared),
                Translation(old, self.identities, history, frozenset(shared)))
        return found


class _TranslatedMatcher:
    """An older revision's matcher whose hits name the newest revision's ACEs and members
    (or retired ACEs): the caches and records never see an old line number."""

    def __init__(self, inner: FirewallMatcher, translation):
        self.inner = inner
        self.translation = translation
        self.acls = inner.acls
        self.uses_source_port = inner.uses_source_port
        self.source_port_acls = inner.source_port_acls
        self.uses_mapped = inner.uses_mapped
        self.source_independent = inner.source_independent
        self.destination_exceptions = inner.destination_exceptions
        self.named_source_independent = inner.named_source_independent

    def _hit(self, found: tuple) -> tuple:
        hit = found[0]
        retired, line = self.translation.ace(hit.acl, hit.ace_line)
        index = self.translation.rule(hit.acl, hit.ace_line, hit.rule_index)
        return (Hit(hit.acl, line, index, hit.action, hit.logged, retired),) + found[1:]

    def _verdict(self, verdict: Optional[Verdict]) -> Optional[Verdict]:
        if verdict is None:
            return None
        against = tuple(h for h in map(self._hit, verdict.against) if not h[0].retired)
        return verdict._replace(hits=tuple(map(self._hit, verdict.hits)), against=against)

    def evaluate(self, c: Connection) -> Optional[Verdict]:
        return self._verdict(self.inner.evaluate(c))

    def evaluate_named(self, c: Connection) -> Optional[Verdict]:
        return self._verdict(self.inner.evaluate_named(c))

    def evaluate_rule(self, c: Connection) -> Optional[Verdict]:
        return self._verdict(self.inner.evaluate_rule(c))
