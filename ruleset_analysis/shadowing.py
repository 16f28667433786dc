"""Shadowed and redundant ACEs, from the config alone.

Every rule is a box in six dimensions (protocol, source, source port, destination, destination
port, ICMP code). An ACE is *shadowed* when the boxes of earlier ACEs cover all of its own:
it can never be hit (several earlier ACEs may cover it together). An ACE is *redundant* when
removing it changes no verdict: whatever part of it the earlier ACEs leave is taken by later
ACEs with the same action (or, for a deny, by the implicit deny when no global ACL follows).

Box subtraction is exact; its cost is bounded, and an ACE whose answer would take longer, an
ACL with an unparsed ACE, or an ACE with unresolved (fqdn) objects is reported as not analysed
rather than guessed. Only ACEs whose boxes meet an ACE's own take part in its answer; an index
per dimension finds them (`_Dimension`), so the work follows the overlaps, not the square of the
ACL's length.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Optional

from .matcher import (
    NOTHING,
    PORT_SPACE,
    X_CODE,
    X_DPORTS,
    X_SPORTS,
    ace_factors,
    address_ranges,
)
from .model import Acl, collector_paused

FULL_PORTS = (PORT_SPACE,)
CODE_SPACE = (-1, 255)
MAX_PIECES = 4000        # a remainder split into more boxes than this: not analysed


# A box's dimensions: protocol, source, source port, destination, destination port, code.
# An ACE's boxes are the product of its factors: its sources, its destinations and its
# services' (protocol, source port, destination port, code) — a `neq` port clause gives two
# — but for addresses that match nothing (NOTHING).
def _factors_by_position(acl: Acl, aces: list) -> dict:
    """{position in ``aces`` (the ACL's matchable ACEs): (sources, destinations, services),
    each in rule order} of the ACEs with boxes. Its own boxes are made only for an ACE that
    others meet (_boxes_of): at 1.2 million rules 2% of them, where making every rule's
    boxes was most of the analysis."""
    address_range = address_ranges()
    factors = {}
    for position, ace in enumerate(aces):
        sources, destinations, compiled = ace_factors(acl, ace, address_range)
        services = [((plo, phi), sport, dport,
                     CODE_SPACE if extra[X_CODE] is None else (extra[X_CODE], extra[X_CODE]))
                    for plo, phi, _, _, _, _, extra in compiled
                    for sport in (extra[X_SPORTS] or FULL_PORTS)
                    for dport in (extra[X_DPORTS] or FULL_PORTS)]
        sources = [source for source in sources if source != NOTHING]
        destinations = [destination for destination in destinations if destination != NOTHING]
        if sources and destinations and services:
            factors[position] = (sources, destinations, services)
    return factors


def _boxes_of(factors: tuple) -> list:
    """An ACE's boxes, in its rules' order."""
    sources, destinations, services = factors
    return [(service[0], source, service[1], destination, service[2], service[3])
            for source in sources for destination in destinations for service in services]


def _intersects(a, b) -> bool:
    # Unrolled, destination first: this runs millions of times on a large ACL.
    return (a[3][0] <= b[3][1] and b[3][0] <= a[3][1] and a[1][0] <= b[1][1]
            and b[1][0] <= a[1][1] and a[4][0] <= b[4][1] and b[4][0] <= a[4][1]
            and a[0][0] <= b[0][1] and b[0][0] <= a[0][1] and a[2][0] <= b[2][1]
            and b[2][0] <= a[2][1] and a[5][0] <= b[5][1] and b[5][0] <= a[5][1])


def _subtract(box, cutter) -> list:
    """``box`` minus ``cutter``, as disjoint boxes."""
    if not _intersects(box, cutter):
        return [box]
    pieces, current = [], list(box)
    for d, ((lo, hi), (clo, chi)) in enumerate(zip(box, cutter)):
        if lo < clo:
            pieces.append(tuple(current[:d] + [(lo, clo - 1)] + current[d + 1:]))
            lo = clo
        if hi > chi:
            pieces.append(tuple(current[:d] + [(chi + 1, hi)] + current[d + 1:]))
            hi = chi
        current[d] = (lo, hi)
    return pieces


class _TooComplex(Exception):
    pass


def _cut(remainder: list, boxes: list) -> tuple:
    """(what is left of ``remainder`` after ``boxes``, whether any box took a part)."""
    touched = False
    for cutter in boxes:
        if not any(_intersects(piece, cutter) for piece in remainder):
            continue
        touched = True
        remainder = [part for piece in remainder for part in _subtract(piece, cutter)]
        if len(remainder) > MAX_PIECES:
            raise _TooComplex
        if not remainder:
            break
    return remainder, touched


def _meet(a, b) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _services_meet(a, b) -> bool:
    return (a[2][0] <= b[2][1] and b[2][0] <= a[2][1] and a[0][0] <= b[0][1]
            and b[0][0] <= a[0][1] and a[1][0] <= b[1][1] and b[1][0] <= a[1][1]
            and a[3][0] <= b[3][1] and b[3][0] <= a[3][1])


def _service_span(service) -> tuple:
    """A service (protocol, source port, destination port, code) as one range of protocol x
    destination port: what it covers lies inside, so the index may bisect on it."""
    (plo, phi), (dlo, dhi) = service[0], service[2]
    if plo != phi:
        dlo, dhi = 0, PORT_SPACE[1]
    return (plo + 1) * (PORT_SPACE[1] + 1) + dlo, (phi + 1) * (PORT_SPACE[1] + 1) + dhi


class _Dimension:
    """One dimension of every ACE's boxes (sources, destinations or services): each distinct
    value and the ACEs that have it, as a bit mask over their positions (bit p: the ACE at p),
    grouped by the width of its span (powers of two) and sorted by its low end — a value can
    meet a query only if its low end lies within one width below the query's, which bisection
    finds. Masks because a large ACL's ACEs meet many others in each dimension and few in
    all: an ACL of 16,702 ACEs united and intersected 94 million positions as sets (3.7 s),
    as masks a few thousand bytes an ACE."""

    def __init__(self, values_of: dict, span, meets):
        holders: dict = {}
        for position, values in values_of.items():
            for value in values:
                holders.setdefault(value, []).append(position)
        self.masks = {value: _mask(positions) for value, positions in holders.items()}
        self.span, self.meets = span, meets
        self.everyone = _mask(list(values_of))
        by_width: dict = {}
        for value in holders:
            lo, hi = span(value)
            by_width.setdefault((hi - lo).bit_length(), []).append((lo, value))
        self.groups = []
        for bits, entries in by_width.items():
            entries.sort(key=lambda entry: entry[0])
            self.groups.append((1 << bits, [lo for lo, _ in entries], [v for _, v in entries]))
        self.cache: dict = {}

    def holding(self, value) -> Optional[list]:
        """The masks of the values meeting ``value`` (not united: a wide one such as ``any``
        is shared by many queries, and held once); None when they hold every ACE."""
        if value in self.cache:
            return self.cache[value]
        lo, hi = self.span(value)
        found = []
        for width, lows, values in self.groups:
            for other in values[bisect_left(lows, lo - width + 1):bisect_right(lows, hi)]:
                if self.meets(value, other):
                    found.append(self.masks[other])
        united = 0
        for mask in found:
            united |= mask
        result = None if united == self.everyone else found
        self.cache[value] = result
        return result


def _mask(positions: list) -> int:
    bits = bytearray((max(positions, default=0) >> 3) + 1)
    for position in positions:
        bits[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(bits, "little")


def _positions(mask: int) -> set:
    """The positions of a mask's bits: a few taken lowest first (an ACE meets few others in
    all three dimensions), the rest found in its binary text (each lowest bit taken costs the
    mask's length: 16,000 bits set in 16,000 took 12.6 ms, found 1.8 ms)."""
    found: set = set()
    for _ in range(16):
        if not mask:
            return found
        low = mask & -mask
        found.add(low.bit_length() - 1)
        mask ^= low
    bits = bin(mask)[:1:-1]         # the lowest bit first
    at = bits.find("1")
    while at >= 0:
        found.add(at)
        at = bits.find("1", at + 1)
    return found


def _facing(values: list, to: list, meets) -> list:
    return [v for v in values if any(meets(v, w) for w in to)]


class _Facing:
    """Another ACE's boxes that meet this ACE's, built when first asked for: an ACE whose
    answer comes early (shadowed by the first ACE it meets) does not build the rest."""

    def __init__(self, parts: dict, position: int):
        self.parts, self.mine = parts, parts[position]

    def __call__(self, other: int) -> list:
        sources, destinations, services = self.parts[other]
        return [(service[0], source, service[1], destination, service[2], service[3])
                for source in _facing(sources, self.mine[0], _meet)
                for destination in _facing(destinations, self.mine[1], _meet)
                for service in _facing(services, self.mine[2], _services_meet)]


# (its boxes and indexes, containers by the million on a large ACL: the 11,984-ACE ACL 3.1-3.4
# s, paused 2.2-2.4 s; make_report pauses it too)
@collector_paused()
def analyse_acl(acl: Acl, falls_to_deny: bool) -> dict:
    """-> {ace line: {"shadowed_by": [lines]} | {"redundant_with": [lines]} |
    {"not_analysed": reason}} for the ACEs that are shadowed, redundant or not analysed.

    ``falls_to_deny``: what passes the ACL meets the implicit deny (no global ACL follows).
    """
    unparsed = [a.line for a in acl.entries if a.kind == "extended" and a.error]
    aces = [a for a in acl.entries if a.matchable]
    if unparsed:
        return {a.line: {"not_analysed": f"the ACL has an unparsed ACE (line {unparsed[0]})"}
                for a in aces}
    scoped = [a.line for a in aces if a.ingress_ifc or a.egress_ifc]
    if scoped:      # boxes have no interface dimension: an answer would be a guess
        return {a.line: {"not_analysed": f"the ACL has interface-scoped (ifc) ACEs (line "
                                         f"{scoped[0]})"} for a in aces}
    # An ACE's boxes are the product of its sources, destinations and services, so two ACEs'
    # boxes meet exactly when they meet in each of the three: per-dimension indexes find the
    # ACEs that meet one, and the part of another ACE that takes part is its product of the
    # values that meet this one's.
    factors = _factors_by_position(acl, aces)
    parts = _parts(factors)
    dimensions = _dimensions(parts)
    unresolved = [p for p, ace in enumerate(aces) if ace.uses_unresolved]
    results = {}
    for position, ace in enumerate(aces):
        if ace.uses_unresolved:
            results[ace.line] = {"not_analysed": "uses addresses not in the config (fqdn, "
                                                 "DHCP/PPPoE interface)"}
            continue
        if position not in parts:
            continue
        meeting = _meeting(parts[position], dimensions, parts)
        meeting.discard(position)
        try:
            results.update(_analyse(ace, position, aces, factors[position], meeting,
                                    _Facing(parts, position),
                                    [p for p in unresolved if p > position], falls_to_deny))
        except _TooComplex:
            results[ace.line] = {"not_analysed": "too complex to decide"}
    return results


def _parts(factors: dict) -> dict:
    """{position: (its sources, its destinations, its services)}, each distinct, of the ACEs
    with boxes."""
    return {p: tuple(list(dict.fromkeys(values)) for values in found)
            for p, found in factors.items()}


def _dimensions(parts: dict) -> tuple:
    """The index of each dimension (_Dimension): sources, destinations, services."""
    return (_Dimension({p: v[0] for p, v in parts.items()}, lambda r: r, _meet),
            _Dimension({p: v[1] for p, v in parts.items()}, lambda r: r, _meet),
            _Dimension({p: v[2] for p, v in parts.items()}, _service_span, _services_meet))


def _meeting(mine: tuple, dimensions: tuple, parts: dict) -> set:
    """The positions of the ACEs whose boxes meet these values' product."""
    found: Optional[int] = None         # None: every ACE so far
    for values, dimension in zip(mine, dimensions):
        united = 0
        for value in values:
            masks = dimension.holding(value)
            if masks is None:           # every ACE: no constraint
                break
            for mask in masks:
                united |= mask
        else:
            found = united if found is None else found & united
    return set(parts) if found is None else _positions(found)


def _analyse(ace, position: int, aces: list, factors: tuple, meeting: set, facing,
             unresolved_later: list, falls_to_deny: bool) -> dict:
    """``factors``: the ACE's (_factors_by_position); ``meeting``: the positions of the other
    ACEs whose boxes meet this ACE's; ``facing``: those boxes of one of them.
    ``unresolved_later``: later ACEs whose addresses are not all known."""
    # its boxes, what no other ACE has taken of them yet: made only where one meets them
    remainder = _boxes_of(factors) if meeting else []
    covering = []
    for earlier in sorted(p for p in meeting if p < position):
        remainder, touched = _cut(remainder, facing(earlier))
        if touched:
            covering.append(aces[earlier].line)
        if not remainder:
            return {ace.line: {"shadowed_by": covering}}
    same = []
    for later in sorted({p for p in meeting if p > position} | set(unresolved_later)):
        if aces[later].action != ace.action and later in unresolved_later:
            return {}                       # it may take some packets: no answer is safe
        later_boxes = facing(later) if later in meeting else []
        if not any(_intersects(piece, box) for piece in remainder for box in later_boxes):
            continue
        if aces[later].action != ace.action:
            return {}                       # a different verdict would take some packets
        remainder, _ = _cut(remainder, later_boxes)
        same.append(aces[later].line)
        if not remainder:
            return {ace.line: {"redundant_with": same}}
    if ace.action == "deny" and falls_to_deny:
        return {ace.line: {"redundant_with": same + ["implicit deny"]}}
    return {}
