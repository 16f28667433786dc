"""The device's own hit counters (`show access-list` captures) attached to the ruleset.

A capture's ACE line belongs to the ACE of the same ACL whose text is the same (log options
and `inactive` aside); the line number only tells apart ACEs written twice. An element line
belongs to the ACE's expanded rule that matches exactly what it matches (protocol, addresses,
ports, ICMP type and code). What matches nothing is returned with why — a config changed since
the capture, an optimised ACL (`object-group-search access-control`) — and never dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .asa.captures import Capture, Counter, ace_text
from .asa.config import parse_config, read_device_text
from .expand import expand_config
from .model import Firewall, normal_hash

# Characters a capture may have: a million elements with their counters are ~200 MB. Past
# this it is something else (a log given for one, /dev/zero), read whole till the memory
# ran out.
CAPTURE_LIMIT = 512 << 20


@dataclass(frozen=True)
class Reading:
    """A counter read at a time."""
    taken_at: str
    hits: int
    where: str                 # "file:line"


@dataclass
class Attached:
    """One capture matched to one firewall's ruleset."""
    capture: Capture
    aces: Dict[Tuple[str, int], Reading] = field(default_factory=dict)   # (acl, line)
    rules: Dict[Tuple[str, int, int], Reading] = field(default_factory=dict)  # + rule index
    ace_hashes: Dict[Tuple[str, str], int] = field(default_factory=dict)   # (acl, hash): line
    # (acl, line, element hash): rule index
    element_hashes: Dict[Tuple[str, int, str], int] = field(default_factory=dict)
    unmatched: List[Tuple[str, str, str]] = field(default_factory=list)  # where, text, why


def _element_rules(elements: List[Counter]) -> Dict[int, Optional[tuple]]:
    """Each element's signature (None: its text cannot be read as one rule): element lines
    hold only literal addresses and ports, so one small config reads them all."""
    lines = ["hostname elements"] + [f"access-list e{n} {element.text}"
                                     for n, element in enumerate(elements)]
    try:
        firewall = expand_config(parse_config("\n".join(lines) + "\n", "<elements>"))
    except ValueError:
        return {n: None for n in range(len(elements))}
    found: Dict[int, Optional[tuple]] = {}
    for n in range(len(elements)):
        acl = firewall.acls.get(f"e{n}")
        rules = acl.entries[0].rules if acl and acl.entries and not acl.entries[0].error \
            else []
        found[n] = rules[0].signature() if len(rules) == 1 else None
    return found


def attach_all(firewall: Firewall, captures: List[Capture]) -> List[Attached]:
    """Several captures of one firewall, its ACE texts normalised once."""
    texts: Dict[Tuple[str, str], list] = {}
    for acl in firewall.acls.values():
        for ace in acl.entries:
            texts.setdefault((acl.name, ace_text(ace.text)[0]), []).append(ace)
    return [_attach(firewall, capture, texts) for capture in captures]


def attach(firewall: Firewall, capture: Capture) -> Attached:
    return attach_all(firewall, [capture])[0]


def _attach(firewall: Firewall, capture: Capture, texts: Dict[Tuple[str, str], list]
            ) -> Attached:
    attached = Attached(capture)
    pending = []                       # (entry's ACE, its element counters)
    for entry in capture.entries:
        counter = entry.ace
        if counter.acl not in firewall.acls:
            attached.unmatched.append((counter.where, counter.text,
                                       f"the config has no ACL {counter.acl}"))
            continue
        candidates = texts.get((counter.acl, counter.text), [])
        ace = next((a for a in candidates if a.line == counter.line),
                   candidates[0] if len(candidates) == 1 else None)
        if ace is None:
            attached.unmatched.append((counter.where, counter.text,
                                       f"no such ACE in {counter.acl} (the config changed "
                                       "since the capture?)"))
            continue
        attached.aces[(ace.acl, ace.line)] = Reading(capture.taken_at or "", counter.hits,
                                                     counter.where)
        if counter.hash:
            attached.ace_hashes[(ace.acl, normal_hash(counter.hash))] = ace.line
            if ace.rule_count == 1:
                # its messages name no element: 0x0, or (some releases) its own hash again
                for digest in ("0x0", normal_hash(counter.hash)):
                    attached.element_hashes[(ace.acl, ace.line, digest)] = ace.first_index
        pending.append((ace, entry.elements))
    elements = [element for _, found in pending for element in found]
    signatures = _element_rules(elements)
    n = 0
    for ace, found in pending:
        by_signature: Dict[tuple, int] = {}
        for rule in ace.rules:
            by_signature.setdefault(rule.signature(), rule.index)
        for element in found:
            signature = signatures[n]
            index = by_signature.get(signature) if signature is not None else None
            n += 1
            if index is None:
                attached.unmatched.append((element.where, element.text,
                                           f"no expanded rule of {ace.acl} line {ace.line} "
                                           "matches this element"))
                continue
            attached.rules[(ace.acl, ace.line, index)] = Reading(capture.taken_at or "",
                                                                 element.hits, element.where)
            if element.hash:
                attached.element_hashes[(ace.acl, ace.line, normal_hash(element.hash))] = index
    for where, text in capture.unread:
        attached.unmatched.append((where, text, "not a line of `show access-list` output"))
    return attached


def hash_map(attached: List[Attached]) -> dict:
    """The hashes that 106100/106023 lines carry -> what they name in this ruleset, from every
    capture of one firewall: {"ACL HASH": [ACE line, {element hash: rule index}]}. A hash that
    names different ACEs in different captures is left out: it cannot tell which."""
    lines: Dict[Tuple[str, str], set] = {}
    elements: Dict[Tuple[str, int], Dict[str, set]] = {}
    for found in attached:
        for (acl, digest), line in found.ace_hashes.items():
            lines.setdefault((acl, digest), set()).add(line)
        for (acl, line, digest), index in found.element_hashes.items():
            elements.setdefault((acl, line), {}).setdefault(digest, set()).add(index)
    result: dict = {}
    for (acl, digest), found_lines in lines.items():
        if len(found_lines) == 1:
            [line] = found_lines
            result[f"{acl} {digest}"] = [line, {d: next(iter(i)) for d, i in elements.get(
                (acl, line), {}).items() if len(i) == 1}]
    return result


def refresh_hashes(db: str, names: Optional[List[str]] = None) -> None:
    """Match every stored capture of these firewalls (default: all) to their ruleset again and
    store what their hashes name, for the job to read (``Firewall.hashes``)."""
    from .asa.captures import Capture
    from .database import load_captures, load_firewalls, save_hashes
    stored = load_captures(db)
    wanted = [name for name in (names if names is not None else list(stored))
              if name in stored]
    if not wanted:                   # the common case: no captures, no ruleset to load
        return
    firewalls = load_firewalls(db)
    save_hashes(db, {name: hash_map(attach_all(firewalls[name], [Capture.from_json(c)
                                                                 for c in stored[name]]))
                     for name in wanted if name in firewalls})


def read_captures(paths: List[str], firewalls: Dict[str, Firewall], name: Optional[str],
                  when: Optional[str]) -> List[Tuple[str, Attached]]:
    """Parse and attach captures -> [(firewall name, attached)]. A capture that cannot be
    placed (which firewall, when) or that matches none of its firewall's ACEs is refused: its
    counters would be credited to the wrong ACEs or times."""
    from .asa.captures import CaptureError, parse_capture
    found = []
    for path in paths:
        capture = parse_capture(read_device_text(path, CAPTURE_LIMIT, CaptureError, "cannot read",
                                                 "a `show access-list` capture", newline=""),
                                path)
        if not capture.entries:
            raise CaptureError(f"{path}: no `show access-list` ACE line (with hitcnt=) in it")
        if len(capture.prompts) > 1:     # `changeto context`: whose counters is each line?
            raise CaptureError(f"{path}: its prompts name several devices "
                               f"({', '.join(capture.prompts)}): give one capture per firewall "
                               "or context")
        if when is not None:
            capture.taken_at = when
        if capture.taken_at is None:
            raise CaptureError(f"{path}: no `show clock` output and no date in the file name: "
                               "give the time it was taken (hitcounts --taken-at)")
        prompted = _owner(capture.firewall, firewalls)
        if name is not None and capture.firewall is not None and prompted not in (None, name):
            raise CaptureError(f"{path}: its prompt names {capture.firewall}, not --firewall "
                               f"{name}")
        owner = name or prompted
        if owner is None:
            prompt = f"its prompt names {capture.firewall}, which the database does not " \
                     "have" if capture.firewall else "it has no prompt naming the firewall"
            raise CaptureError(f"{path}: which firewall? {prompt}: name it (hitcounts "
                               "--firewall)")
        if owner not in firewalls:
            raise CaptureError(f"{path}: --firewall {owner}: no such firewall in the database")
        attached = attach(firewalls[owner], capture)
        if not attached.aces:
            raise CaptureError(f"{path}: none of its {len(capture.entries)} ACE lines is an "
                               f"ACE of {owner} (another firewall's capture?)")
        if 2 * len(attached.aces) < len(capture.entries):
            capture.warnings.append(f"{path}: warning: only {len(attached.aces)} of its "
                                    f"{len(capture.entries)} ACE lines are ACEs of {owner}: "
                                    "another firewall's capture, or an old config?")
        found.append((owner, attached))
    return found


def store_captures(paths: List[str], db: str, name: Optional[str],
                   when: Optional[str]) -> List[str]:
    """Read, attach and store captures in the database (with what their hashes name) ->
    what to tell the user: per capture its summary and unmatched lines."""
    from .database import load_firewalls, save_captures
    found = read_captures(paths, load_firewalls(db), name, when)
    owners = list(dict.fromkeys(owner for owner, _ in found))
    for owner in owners:
        save_captures(db, owner, [a.capture.to_json() for o, a in found if o == owner])
    refresh_hashes(db, owners)
    return [line for owner, attached in found for line in summary(owner, attached)] + \
        [f"{len(found)} capture(s) written to {db}"]


def _owner(prompt: Optional[str], firewalls: Dict[str, Firewall]) -> Optional[str]:
    """The firewall a capture's prompt names (without one: the database's only firewall)."""
    if prompt is None:
        return next(iter(firewalls)) if len(firewalls) == 1 else None
    for firewall in firewalls.values():
        if prompt in (firewall.name, firewall.hostname):
            return firewall.name
    return None


def summary(owner: str, attached: Attached) -> List[str]:
    capture = attached.capture
    elements = sum(len(e.elements) for e in capture.entries)
    lines = [f"{capture.source}: {owner}, taken {capture.taken_at}: "
             f"{len(attached.aces)} of {len(capture.entries)} ACE lines and "
             f"{len(attached.rules)} of {elements} element lines matched"]
    lines += [f"{where}: {why}: {text}" for where, text, why in attached.unmatched]
    return lines + capture.warnings
