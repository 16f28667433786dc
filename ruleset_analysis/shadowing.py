"""Shadowed and redundant ACEs, from the config alone.

Every rule is a box in six dimensions (protocol, source, source port, destination, destination
port, ICMP code). An ACE is *shadowed* when the boxes of earlier ACEs cover all of its own:
it can never be hit (several earlier ACEs may cover it together). An ACE is *redundant* when
removing it changes no verdict: whatever part of it the earlier ACEs leave is taken by later
ACEs with the same action (or, for a deny, by the implicit deny when no global ACL follows).

Box subtraction is exact; its cost is bounded, and an ACE whose answer would take longer, an
ACL with an unparsed ACE, or an ACE with unresolved (fqdn) objects is reported as not analysed
rather than guessed.
"""
from __future__ import annotations

from .matcher import (
    I_CODE,
    I_DPORTS,
    I_DST_HI,
    I_DST_LO,
    I_HIT,
    I_PROTO_HI,
    I_PROTO_LO,
    I_SPORTS,
    I_SRC_HI,
    I_SRC_LO,
    NOTHING,
    PORT_SPACE,
    compile_rules,
)
from .model import Acl

FULL_PORTS = (PORT_SPACE,)
CODE_SPACE = (-1, 255)
MAX_PIECES = 4000        # a remainder split into more boxes than this: not analysed
MAX_ACES = 1500          # larger ACLs are not analysed (the work grows with the square)


# A box's dimensions: protocol, source, source port, destination, destination port, code.
def _boxes(rule) -> list:
    """A compiled rule -> its boxes (a `neq` port clause gives two)."""
    source, destination = (rule[I_SRC_LO], rule[I_SRC_HI]), (rule[I_DST_LO], rule[I_DST_HI])
    if source == NOTHING or destination == NOTHING:
        return []
    code = CODE_SPACE if rule[I_CODE] is None else (rule[I_CODE], rule[I_CODE])
    protocol = (rule[I_PROTO_LO], rule[I_PROTO_HI])
    return [(protocol, source, sport, destination, dport, code)
            for sport in (rule[I_SPORTS] or FULL_PORTS) for dport in (rule[I_DPORTS] or FULL_PORTS)]


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
    if len(aces) > MAX_ACES:
        return {a.line: {"not_analysed": f"the ACL has over {MAX_ACES} ACEs"} for a in aces}
    scoped = [a.line for a in aces if a.ingress_ifc or a.egress_ifc]
    if scoped:      # boxes have no interface dimension: an answer would be a guess
        return {a.line: {"not_analysed": f"the ACL has interface-scoped (ifc) ACEs (line "
                                         f"{scoped[0]})"} for a in aces}
    boxes: dict = {}
    for rule in compile_rules(acl):
        boxes.setdefault(rule[I_HIT].ace_line, []).extend(_boxes(rule))
    hulls = {line: _hull(found) for line, found in boxes.items() if found}
    results = {}
    for position, ace in enumerate(aces):
        if ace.uses_unresolved:
            results[ace.line] = {"not_analysed": "uses addresses not in the config (fqdn, "
                                                 "DHCP/PPPoE interface)"}
            continue
        try:
            results.update(_analyse(ace, position, aces, boxes, hulls, falls_to_deny))
        except _TooComplex:
            results[ace.line] = {"not_analysed": "too complex to decide"}
    return results


def _hull(boxes: list) -> tuple:
    return tuple((min(b[d][0] for b in boxes), max(b[d][1] for b in boxes)) for d in range(6))


def _analyse(ace, position: int, aces: list, boxes: dict, hulls: dict,
             falls_to_deny: bool) -> dict:
    remainder = list(boxes.get(ace.line, []))
    if not remainder:
        return {}
    own = hulls[ace.line]
    covering = []
    for earlier in aces[:position]:
        other = hulls.get(earlier.line)
        if other is None or not _intersects(own, other):
            continue                        # cheap: most pairs never overlap
        remainder, touched = _cut(remainder, boxes[earlier.line])
        if touched:
            covering.append(earlier.line)
        if not remainder:
            return {ace.line: {"shadowed_by": covering}}
    same = []
    for later in aces[position + 1:]:
        other = hulls.get(later.line)
        if other is None or not _intersects(own, other):
            continue
        later_boxes = boxes[later.line]
        if not any(_intersects(piece, box) for piece in remainder for box in later_boxes):
            continue
        if later.action != ace.action:
            return {}                       # a different verdict would take some packets
        remainder, _ = _cut(remainder, later_boxes)
        same.append(later.line)
        if not remainder:
            return {ace.line: {"redundant_with": same}}
    if ace.action == "deny" and falls_to_deny:
        return {ace.line: {"redundant_with": same + ["implicit deny"]}}
    return {}
