"""A firewall's config over time: which revision was in force when, and which ACE (and member)
of one revision is which of another.

An ACE is the same ACE while its ACL name and its text (log options and `inactive` aside) stay
the same, wherever its line moves; an ACL that writes one text twice has a first and a second
one. A member (an expanded rule) is the same while its ACE is and it matches the same
(``Rule.signature``): an object renamed with its address unchanged keeps its hits, a member
whose address changed is a new member.

The newest revision is the ``Firewall`` every step uses; ``History`` holds when it took effect,
the older revisions (loaded only when a log line needs one), when each current ACE and member
began its present life, and the ACEs no revision since has ("retired": their hits are kept
apart, keyed by their number here). Times are "YYYY-MM-DD HH:MM:SS", as log lines carry them,
and compared as written (the collector's clock, without a time zone).
"""
from __future__ import annotations

import dataclasses
import json
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from .asa.captures import ace_text
from .model import Ace, Acl, Firewall, collector_paused, json_bytes, json_digest

Identity = Tuple[str, str, int]          # (ACL, normalised text, occurrence)


@dataclass(frozen=True)
class Revision:
    """One revision of a config: when it took effect, where it was read, what it matches."""
    since: str
    source: str
    fingerprint: str

    def to_json(self) -> list:
        return [self.since, self.source, self.fingerprint]


@dataclass
class Retired:
    """An ACE of older revisions that the newest one lacks."""
    number: int
    acl: str
    text: str
    occurrence: int                          # of its text in its ACL (identity's third part)
    line: int                                # its line in the last revision that had it
    periods: List[List[str]]                 # [[since, until]...]: when it was in force
    ace: Ace                                 # as the last revision that had it wrote it

    def to_json(self) -> dict:
        return {"number": self.number, "acl": self.acl, "text": self.text,
                "occurrence": self.occurrence, "line": self.line, "periods": self.periods,
                "ace": self.ace.to_json()}

    @classmethod
    def from_json(cls, d: dict) -> "Retired":
        return cls(d["number"], d["acl"], d["text"], d["occurrence"], d["line"],
                   d["periods"], Ace.from_json(d["ace"]))

    @property
    def identity(self) -> Identity:
        return (self.acl, ace_text(self.text)[0], self.occurrence)


@dataclass
class History:
    """The revisions of one firewall before the newest, and the lives of its ACEs."""
    since: str                                # when the newest revision took effect
    source: str
    older: List[Revision]                     # oldest first
    # When a current ACE ("ACL LINE") and member ("ACL LINE INDEX") began their present
    # life, where that is after the first revision (before it, nothing is known)
    ace_since: Dict[str, str] = field(default_factory=dict)
    rule_since: Dict[str, str] = field(default_factory=dict)
    # a current ACE that was in force more than once ("ACL LINE" -> [[since, until]...],
    # the last until "" for now): removed and written again
    ace_periods: Dict[str, List[List[str]]] = field(default_factory=dict)
    retired: List[Retired] = field(default_factory=list)
    # older revision k -> its Firewall (from the database, when a line first needs it)
    load: Optional[Callable[[int], Firewall]] = None

    @property
    def starts(self) -> List[str]:
        """When each revision took effect, oldest first, the newest last."""
        return [r.since for r in self.older] + [self.since]

    def fingerprint(self, newest: str) -> str:
        """Of everything that decides where a line's hits go: each revision's ruleset and when
        it took effect."""
        data = [newest, self.since] + [r.to_json()[::2] for r in self.older]
        return json_digest(data)[:16]

    def to_json(self) -> dict:
        return {"since": self.since, "source": self.source,
                "older": [r.to_json() for r in self.older], "ace_since": self.ace_since,
                "rule_since": self.rule_since, "retired": [r.to_json() for r in self.retired],
                "ace_periods": self.ace_periods}

    @classmethod
    def from_json(cls, d: dict) -> "History":
        return cls(d["since"], d["source"], [Revision(*r) for r in d["older"]],
                   ace_since=d["ace_since"], rule_since=d["rule_since"],
                   ace_periods=d["ace_periods"],
                   retired=[Retired.from_json(r) for r in d["retired"]])


def identities(firewall: Firewall) -> Dict[Identity, Ace]:
    """Each ACE of a firewall by its identity."""
    found: Dict[Identity, Ace] = {}
    for acl in firewall.acls.values():
        seen: Dict[str, int] = {}
        for ace in acl.entries:
            text = ace_text(ace.text)[0]
            seen[text] = seen.get(text, 0) + 1
            found[(acl.name, text, seen[text])] = ace
    return found


def share_unchanged(before: Firewall, after: Firewall) -> None:
    """Let revision ``after`` hold ``before``'s expansion of each ACE the two expand alike, and
    each group's definition the two have alike: most stay as they were, so the expansions a
    HistoryBuilder keeps of older revisions are the newest's own, and a group's digest is
    worked out once (``_GroupDigests``, by object). Only equal values are shared, and none is
    changed once expanded."""
    earlier = {(ace.acl, ace.text): ace for ace in before.aces()}
    for ace in after.aces():
        old = earlier.get((ace.acl, ace.text))
        if old is None:
            continue
        if ace.sources == old.sources:
            ace.sources = old.sources
        if ace.destinations == old.destinations:
            ace.destinations = old.destinations
        if ace.services == old.services:
            ace.services = old.services
    groups = before.groups
    for name, definition in after.groups.items():
        if groups.get(name) == definition:
            after.groups[name] = groups[name]


def rule_map(old: Ace, new: Ace) -> Dict[int, int]:
    """Rule index in ``old`` -> the index of the same member in ``new`` (missing: gone)."""
    if old.sources == new.sources and old.destinations == new.destinations and \
            old.services == new.services:        # the same expansion, numbered elsewhere
        shift = new.first_index - old.first_index
        return {index: index + shift
                for index in range(old.first_index, old.first_index + old.rule_count)}
    by_signature: Dict[tuple, int] = {}
    for rule in new.rules:
        by_signature.setdefault(rule.signature(), rule.index)
    found = {}
    for rule in old.rules:
        index = by_signature.get(rule.signature())
        if index is not None:
            found[rule.index] = index
    return found


class OlderRevisions:
    """A firewall's revisions before its newest, oldest first, as the database stores them:
    each ACE's body once, by a digest of what it is, and per revision only where its ACEs
    stood (line, first rule index, file:line) and its groups' digests — every
    SNAPSHOT_EVERY-th whole, the others as what changed since the one before — packed. Held
    as Firewalls, older revisions of 120,000 rules took ~5 MB each (their expansions shared
    with the one before where alike), a year of daily ones ~2 GB; held whole and packed,
    0.43 MB; as changes, a few KB. ``older[k]`` gives revision k back as a Firewall,
    ``stored(k)`` whole as the database's loader makes it, ``form(k)`` as it is stored."""

    def __init__(self) -> None:
        self.aces: Dict[str, dict] = {}      # digest -> the ACE's JSON without where it stood
        self.groups: Dict[str, dict] = {}    # digest -> a group's definition
        self.fingerprints: List[str] = []
        self._packed: List[bytes] = []       # each revision's form: zlib of its JSON
        self._last: Optional[Tuple[int, dict]] = None     # the last revision made whole
        self._templates: Dict[str, Ace] = {}

    def __len__(self) -> int:
        return len(self._packed)

    def append(self, stored: dict, fingerprint: str) -> None:
        """Keep a revision (its stored form: _stored, its groups by digest), not changed
        after."""
        number = len(self._packed)
        form = stored if number % SNAPSHOT_EVERY == 0 else \
            revision_delta(self.stored(number - 1), stored, number - 1)
        self._packed.append(zlib.compress(json_bytes(form), 1))
        self._last = (number, stored)
        self.fingerprints.append(fingerprint)

    def rename(self, name: str, numbers: List[int]) -> None:
        """Give revisions ``numbers`` (those read under another name) ``name``."""
        for number in numbers:
            form = self.form(number)
            form["name"] = name
            self._packed[number] = zlib.compress(json_bytes(form), 1)
        if self._last is not None and self._last[0] in numbers:
            self._last = (self._last[0], dict(self._last[1], name=name))

    def form(self, number: int) -> dict:
        """Revision ``number`` as the database stores it: whole, or a change to the one
        before (revision_delta)."""
        return json.loads(zlib.decompress(self._packed[number]))

    def stored(self, number: int) -> dict:
        """Revision ``number`` whole (read only: the last one made is kept)."""
        self._last = (number, whole_revision(number, self.form, self._last))
        return self._last[1]

    def __getitem__(self, number: int) -> Firewall:
        # lists and dicts of its own (its group definitions shared, as the database loader
        # shares them between the revisions it loads)
        data = json.loads(json_bytes(self.stored(number)))
        return revision_firewall(data, self._template, self.groups)

    def _template(self, digest: str) -> Ace:
        found = self._templates.get(digest)
        if found is None:
            found = self._templates[digest] = ace_template(self.aces[digest])
        return found


def ace_template(body: dict) -> Ace:
    """An ACE of a stored revision's ACE table, placed nowhere yet (line 0)."""
    return Ace.from_json(dict(body, line=0, first_index=0, source=""))


def revision_firewall(data: dict, template: Callable[[str], Ace], groups: Dict[str, dict]
                      ) -> Firewall:
    """A stored older revision (``OlderRevisions``) as a Firewall; ``template``: digest -> its
    ACE placed nowhere (each made once, however many revisions have it); ``groups``: digest
    -> a group's definition."""
    data = dict(data)
    acls = data.pop("acls")
    data["groups"] = {name: groups[digest] for name, digest in data["groups"].items()}
    firewall = Firewall.from_json(dict(data, acls=[]))
    file = data["source"]
    for acl in acls:
        firewall.acls[acl["name"]] = Acl(acl["name"], [
            dataclasses.replace(template(digest), line=line, first_index=first,
                                source=f"{file}:{where}" if isinstance(where, int) else where)
            for digest, line, first, where in acl["entries"]])
    return firewall


# An older revision is stored whole every SNAPSHOT_EVERY revisions, the others as what changed
# since the one before (revision_delta): a daily revision of 120,000 rules took 0.3 MB whole
# (where each of its ACEs stood, each group's digest), a few KB as a change. Loading one reads
# at most SNAPSHOT_EVERY - 1 changes after a whole one (the loader keeps the last it made, and
# logs meet the revisions in time order: one change each).
SNAPSHOT_EVERY = 16


def revision_delta(before: dict, after: dict, base: int) -> dict:
    """Stored revision ``after`` as a change to ``before`` (stored revision ``base``): its
    fields but its groups and ACLs as they are; its groups as those set ("set": name ->
    digest) and dropped ("drop"); each ACL's entries as runs of the entries of ``before``'s
    ACL of that name ([position, count, line shift, first-rule shift, file-line shift or None
    where the place is not a line of its file]) and entries of its own (as stored). Not the
    order of its groups (by first use: it moves as ACEs come and go), which nothing reads an
    older revision's groups by: they are looked up by name."""
    delta = {k: v for k, v in after.items() if k not in ("groups", "acls")}
    delta["base"] = base
    old_groups, new_groups = before["groups"], after["groups"]
    delta["groups"] = {"set": {name: digest for name, digest in new_groups.items()
                               if old_groups.get(name) != digest},
                       "drop": [name for name in old_groups if name not in new_groups]}
    old_acls = {acl["name"]: acl["entries"] for acl in before["acls"]}
    delta["acls"] = [{"name": acl["name"],
                      "runs": _runs(old_acls.get(acl["name"], []), acl["entries"])}
                     for acl in after["acls"]]
    return delta


def _shifts(old, new) -> Optional[tuple]:
    """How entry ``new`` lies from ``old`` (the same ACE): line, first rule and file-line
    shifts; None if it cannot be told as shifts."""
    if old[0] != new[0]:
        return None
    if old[3].__class__ is int and new[3].__class__ is int:
        where = new[3] - old[3]
    elif old[3] == new[3]:
        where = None
    else:
        return None
    return new[1] - old[1], new[2] - old[2], where


def _runs(old: list, new: list) -> list:
    """ACL entries ``new`` as runs of ``old`` and entries of their own (revision_delta): at
    each entry the longest run of a few places its ACE has in ``old``, where the last run
    ended first (an ACE added or removed breaks a run; the rest follow with new shifts)."""
    at: Dict[str, List[int]] = {}
    for position, entry in enumerate(old):
        at.setdefault(entry[0], []).append(position)
    runs: list = []
    j, follow = 0, 0            # follow: where the last run ended in ``old``
    while j < len(new):
        entry = new[j]
        best = None
        candidates = at.get(entry[0], [])[:4]
        if follow < len(old) and old[follow][0] == entry[0]:
            candidates = [follow] + candidates
        for position in candidates:
            shifts = _shifts(old[position], entry)
            if shifts is None:
                continue
            n = 1
            while position + n < len(old) and j + n < len(new) and \
                    _shifts(old[position + n], new[j + n]) == shifts:
                n += 1
            if best is None or n > best[1]:
                best = (position, n, shifts)
        if best is None:
            runs.append(list(entry))
            j += 1
            continue
        position, n, shifts = best
        runs.append([position, n, *shifts])
        j += n
        follow = position + n
    return runs


def whole_revision(number: int, form: Callable[[int], dict],
                   last: Optional[Tuple[int, dict]]) -> dict:
    """Stored revision ``number`` whole, from ``form(k)`` (revision k as stored: whole or a
    change to k - 1) and ``last`` ((k, revision k whole), the last one made, or None): the
    changes since the last whole one (or since ``last``) made in turn. ValueError where they
    do not lead to one."""
    changes = []
    at = number
    while last is None or last[0] != at:
        value = form(at)
        if "base" not in value:
            break
        if at == 0 or value["base"] != at - 1:
            raise ValueError(f"revision {at} told as a change to {value['base']!r}")
        changes.append(value)
        at -= 1
    else:
        value = last[1]
    for change in reversed(changes):
        value = revision_from_delta(value, change)
    return value


def revision_from_delta(before: dict, delta: dict) -> dict:
    """The stored revision ``delta`` (revision_delta) tells, from ``before`` (not changed)."""
    after = {k: v for k, v in delta.items() if k not in ("base", "groups", "acls")}
    dropped = set(delta["groups"]["drop"])
    groups = {name: digest for name, digest in before["groups"].items() if name not in dropped}
    groups.update(delta["groups"]["set"])
    after["groups"] = groups
    old_acls = {acl["name"]: acl["entries"] for acl in before["acls"]}
    acls = []
    for acl in delta["acls"]:
        old = old_acls.get(acl["name"], [])
        entries = []
        for run in acl["runs"]:
            if run[0].__class__ is str:
                entries.append(run)
                continue
            position, count, line, first, where = run
            if position < 0 or count < 1 or position + count > len(old):
                raise ValueError(f"a run of entries {position}+{count} of {len(old)}")
            entries.extend([e[0], e[1] + line, e[2] + first, e[3] if where is None
                            else e[3] + where] for e in old[position:position + count])
        acls.append({"name": acl["name"], "entries": entries})
    after["acls"] = acls
    return after


def _digest(value) -> str:
    return json_digest(value)[:20]


POSITION = ("line", "first_index", "source")      # where an ACE stood: not in its body
# an ACE's fields but its position and expansion: equal, with its expansion shared, its body
# is the one made before (_AceBodies)
_BODY_FIELDS = tuple(f.name for f in dataclasses.fields(Ace)
                     if f.name not in POSITION + ("sources", "destinations", "services"))


class _AceBodies:
    """Each ACE's body (its JSON but where it stood) and the body's digest, made once while
    the ACE stays as it was: an ACE of the next revision that holds the same expansion
    (share_unchanged gives it the one before's, when equal) and equal other fields takes
    them. Made anew for every ACE, they were 40% of adding a revision (1.0 of 2.3 s at 1.2M
    rules)."""

    def __init__(self) -> None:
        # the last revision's: (its expansion's ids, other fields) -> (body, digest, the ACE,
        # held: the ids stay its lists')
        self._made: Dict[tuple, Tuple[dict, str, Ace]] = {}

    def revision(self, firewall: Firewall) -> Tuple[dict, List[Tuple[str, dict]]]:
        """(firewall.to_json(), the (digest, body) of each of its ACEs, in that JSON's
        order)."""
        made = self._made
        kept: Dict[tuple, Tuple[dict, str, Ace]] = {}
        found: List[Tuple[str, dict]] = []

        def ace_json(ace: Ace) -> dict:
            key = (id(ace.sources), id(ace.destinations), id(ace.services)) + tuple(
                tuple(value) if isinstance(value, list) else value
                for value in map(ace.__getattribute__, _BODY_FIELDS))
            entry = made.get(key)
            if entry is None:
                data = ace.to_json()
                body = {name: value for name, value in data.items() if name not in POSITION}
                entry = (body, _digest(body), ace)
            else:
                data = dict(entry[0], line=ace.line, first_index=ace.first_index,
                            source=ace.source)
            kept[key] = entry
            found.append((entry[1], entry[0]))
            return data
        data = firewall.to_json(ace_json)
        self._made = kept
        return data, found


def _stored(data: dict, known: Dict[str, dict], aces: List[Tuple[str, dict]]
            ) -> Tuple[dict, Dict[str, dict]]:
    """A revision's JSON as stored (each entry: its ACE's digest and where it stood, the line
    of the revision's file where it was read as a number) and the bodies of its ACEs that
    ``known`` lacks, by digest; ``aces``: each ACE's (digest, body), in order
    (_AceBodies). The groups are left to ``_GroupDigests``."""
    stored = dict(data)
    bodies: Dict[str, dict] = {}
    acls = []
    file = data["source"] + ":"
    each = iter(aces)
    for acl in data["acls"]:
        entries = []
        for ace in acl["entries"]:
            digest, body = next(each)
            line, first, source = ace["line"], ace["first_index"], ace["source"]
            number = source[len(file):]
            where = int(number) if source.startswith(file) and number.isdigit() and \
                str(int(number)) == number else source
            if digest not in known:
                bodies.setdefault(digest, body)
            entries.append((digest, line, first, where))
        acls.append({"name": acl["name"], "entries": entries})
    stored["acls"] = acls
    return stored, bodies


class _GroupDigests:
    """Each group definition's digest, worked out once per definition (the revisions of a
    history share the definitions they have alike: ``share_unchanged``), one string each."""

    def __init__(self) -> None:
        self.by_object: Dict[int, Tuple[dict, str]] = {}   # id -> (definition, its digest)
        self.canonical: Dict[str, str] = {}

    def __call__(self, groups: dict) -> Tuple[Dict[str, str], Dict[str, dict]]:
        """-> {name: digest}, and {digest: definition} of them."""
        names: Dict[str, str] = {}
        definitions: Dict[str, dict] = {}
        for name, definition in groups.items():
            found = self.by_object.get(id(definition))
            if found is None:        # the definition is held, so its id is not reused
                digest = _digest(definition)
                digest = self.canonical.setdefault(digest, digest)
                found = self.by_object[id(definition)] = (definition, digest)
            names[name] = found[1]
            definitions[found[1]] = definition
        return names, definitions


def _matching_key(stored: dict) -> str:
    """What decides how a stored revision matches a line: all of it but its name (the
    revisions of one firewall all take the newest's), warnings, and where it and its ACEs were
    read (each revision is another file or commit: with that in, revisions alike but for a
    change outside the ACLs were never one). Alike, two consecutive revisions are one."""
    data = {k: v for k, v in stored.items() if k not in ("name", "warnings", "source")}
    data["acls"] = [[acl["name"], [entry[:3] for entry in acl["entries"]]]
                    for acl in stored["acls"]]
    return json_digest(data)


class HistoryBuilder:
    """A firewall's history built as its revisions are read, oldest first: only the newest is
    held whole, the older ones as stored (``OlderRevisions``), and of their ACEs what the lives
    need (each one's periods, its last form, and its expansions while it stayed)."""

    def __init__(self) -> None:
        self.older = OlderRevisions()
        self.kept: List[Tuple[str, str]] = []            # (since, source), oldest first
        self.names: List[str] = []                       # each kept revision's own name
        self.name = ""                                   # the newest revision's, kept or not
        self.newest: Optional[Firewall] = None
        # the newest's: as it will be stored, the bodies of its ACEs not stored yet, its
        # fingerprint, and what decides whether the next revision is another
        self._stored: dict = {}
        self._bodies: Dict[str, dict] = {}
        self._groups: Dict[str, dict] = {}
        self._group_digests = _GroupDigests()
        self._ace_bodies = _AceBodies()
        self._fingerprint = ""
        self._key = ""
        self._since = ""                                 # the last revision's, kept or not
        self._current: Dict[Identity, Ace] = {}
        self.lives: Dict[Identity, List[List[str]]] = {}  # identity -> periods, merged
        self.last_seen: Dict[Identity, Ace] = {}
        # identity -> runs [[since, expansion]] of the older revisions, up to the last one,
        # that had it without a break; a run: revisions that expanded it alike
        self.runs: Dict[Identity, List[list]] = {}

    @collector_paused()       # a revision's JSON: a million small containers at 1.2M rules
    def add(self, since: str, source: str, firewall: Firewall) -> None:
        """The next revision (its ``since`` not before the previous one's). One that matches
        as the newest does (a change outside the ACLs) is one revision with it: from the
        newest's time, as this one reads (its file:line, its warnings)."""
        if since < self._since:
            raise ValueError(f"revision of {since} given after one of {self._since}")
        self._since = since
        self.name = firewall.name
        if self.newest is not None:
            share_unchanged(self.newest, firewall)
        data, aces = self._ace_bodies.revision(firewall)
        stored, bodies = _stored(data, self.older.aces, aces)
        del aces
        stored["groups"], groups = self._group_digests(data["groups"])
        key = _matching_key(stored)
        alike = self.newest is not None and key == self._key
        fingerprint = firewall.fingerprint(data)
        del data
        if alike:        # still one revision, from the first's time, as the last one read it
            self.kept[-1] = (self.kept[-1][0], source)
            self.names[-1] = firewall.name
        else:
            if self.newest is not None:
                self._retire_newest(since)
            self.kept.append((since, source))
            self.names.append(firewall.name)
        self.newest = firewall
        self._stored, self._bodies, self._groups, self._fingerprint, self._key = \
            stored, bodies, groups, fingerprint, key
        found = identities(firewall)
        for identity, ace in found.items():
            if not alike:                                  # (alike: the same ACEs, lives)
                periods = self.lives.setdefault(identity, [])
                if periods and periods[-1][1] == since:    # in the revision before too
                    periods[-1][1] = ""
                else:
                    periods.append([since, ""])
            self.last_seen[identity] = ace
        self._current = found

    def _retire_newest(self, until: str) -> None:
        """The newest revision becomes an older one, stored: ``until`` the next took effect."""
        since = self.kept[-1][0]
        for digest, body in self._bodies.items():
            self.older.aces.setdefault(digest, body)
        for digest, definition in self._groups.items():
            self.older.groups.setdefault(digest, definition)
        self.older.append(self._stored, self._fingerprint)
        runs: Dict[Identity, List[list]] = {}
        for identity, ace in self._current.items():
            self.lives[identity][-1][1] = until
            expansion = (ace.sources, ace.destinations, ace.services)
            found = self.runs.get(identity)
            if found is None:
                found = [[since, expansion]]
            elif not _alike(found[-1][1], expansion):
                found.append([since, expansion])
            runs[identity] = found
        self.runs = runs          # an ACE the retired revision lacks starts again later

    @collector_paused()        # every current ACE's rules made
    def finish(self) -> Tuple[Firewall, OlderRevisions]:
        """-> the newest revision with its ``history`` set, and the older ones to store; all
        take the newest's name (a renamed firewall is still one)."""
        newest = self.newest
        assert newest is not None, "no revision"
        newest.name = self.name
        older = self.older
        renamed = [number for number, own in enumerate(self.names[:-1]) if own != self.name]
        older.rename(self.name, renamed)
        for number in renamed:        # its fingerprint was made with its own name
            older.fingerprints[number] = older[number].fingerprint()
        newest_since, newest_source = self.kept[-1]
        history = History(newest_since, newest_source,
                          [Revision(since, source, fingerprint) for (since, source), fingerprint
                           in zip(self.kept, older.fingerprints)])
        first = self.kept[0][0]
        current = self._current
        lives = self.lives
        for identity, ace in current.items():
            if lives[identity][-1][0] != first:
                history.ace_since[f"{ace.acl} {ace.line}"] = lives[identity][-1][0]
            if len(lives[identity]) > 1:
                history.ace_periods[f"{ace.acl} {ace.line}"] = lives[identity]
        # A member's present life: back from the newest, while its ACE and it were there.
        for identity, ace in current.items():
            born = {rule.index: newest_since for rule in ace.rules}
            alive = set(born)
            for since, (sources, destinations, services) in reversed(self.runs.get(identity,
                                                                                  [])):
                if not alive:
                    break
                old = Ace(ace.acl, 0, "", sources=sources, destinations=destinations,
                          services=services)
                alive &= set(rule_map(old, ace).values())
                for index in alive:
                    born[index] = since
            ace_born = lives[identity][-1][0]
            for index, since in born.items():
                if since != ace_born:                # most members are as old as their ACE
                    history.rule_since[f"{ace.acl} {ace.line} {index}"] = since
        # Numbered by when each began, then by identity: results are keyed by these numbers,
        # and a report rebuilds them (rebase) in another process, whose set order (string
        # hashes) is another; by start alone, ACEs retired alike were numbered differently
        # from run to run.
        for identity in sorted(set(lives) - set(current), key=lambda i: (lives[i][0][0], i)):
            ace = self.last_seen[identity]
            history.retired.append(Retired(len(history.retired), identity[0], ace.text,
                                           identity[2], ace.line, lives[identity], ace))
        history.load = older.__getitem__              # until stored (database.load_firewalls)
        newest.history = history
        newest.__dict__.pop("_fingerprint", None)     # computed without the history
        return newest, older


def _alike(one: tuple, other: tuple) -> bool:
    return all(a is b or a == b for a, b in zip(one, other))


def build_history(revisions: List[Tuple[str, str, Firewall]]) -> Tuple[Firewall, OlderRevisions]:
    """Revisions of one firewall, (since, source, Firewall) in any order -> the newest with its
    ``history`` set, and the older revisions (oldest first) to store. Consecutive revisions
    that match alike (a change outside the ACLs, wherever each was read) are one."""
    builder = HistoryBuilder()
    for since, source, firewall in sorted(revisions, key=lambda r: r[0]):
        builder.add(since, source, firewall)
    return builder.finish()


def same_acl(old: Acl, new: Acl) -> bool:
    """Whether two revisions of an ACL match alike, line for line: every ACE the same but for
    where its rules are numbered from and the file:line it was read at."""
    return len(old.entries) == len(new.entries) and all(
        _essence(a) == _essence(b) for a, b in zip(old.entries, new.entries))


def _essence(ace: Ace) -> dict:
    found = dict(ace.__dict__)
    del found["first_index"], found["source"]
    return found


class Translation:
    """Where the hits of an older revision's ACEs go: the newest revision's ACE and member of
    the same identity, else the retired ACE. Worked out per ACE when a hit first needs it;
    ACLs the older revision shares with the newest (``shared``: matched by the newest's own
    index) need nothing."""

    def __init__(self, old: Firewall, current: Dict[Identity, Ace], history: History,
                 shared: frozenset = frozenset()):
        self.current = current
        self.retired = {r.identity: r for r in history.retired}
        self.shared = shared
        self.old = {(ace.acl, ace.line): (identity, ace)
                    for identity, ace in identities(old).items()}
        self.aces: Dict[Tuple[str, int], Tuple[bool, int, Dict[int, int]]] = {}

    def _entry(self, acl: str, line: int) -> Tuple[bool, int, Dict[int, int]]:
        found = self.aces.get((acl, line))
        if found is None:
            identity, ace = self.old[(acl, line)]
            new = self.current.get(identity)
            if new is not None:
                found = (False, new.line, rule_map(ace, new))
            else:                    # every older ACE is current or retired (build_history)
                gone = self.retired[identity]
                found = (True, gone.number, rule_map(ace, gone.ace))
            self.aces[(acl, line)] = found
        return found

    def ace(self, acl: str, line: int) -> Tuple[bool, int]:
        """(retired?, the newest revision's line | the retired ACE's number)."""
        if acl in self.shared:
            return False, line
        retired, where, _ = self._entry(acl, line)
        return retired, where

    def rule(self, acl: str, line: int, index: int) -> int:
        """The member's index where its hits go; -1: a member the newest ACE no longer has."""
        if acl in self.shared:
            return index
        return self._entry(acl, line)[2].get(index, -1)


@dataclass
class Change:
    """What one revision changed in the ACLs against the one before it."""
    since: str
    source: str
    added: List[Ace] = field(default_factory=list)
    removed: List[Ace] = field(default_factory=list)
    moved: List[Tuple[Ace, int]] = field(default_factory=list)       # (new ACE, old line)
    members: List[Tuple[Ace, int, int]] = field(default_factory=list)  # (ACE, gained, lost)


def changes(firewall: Firewall) -> Iterator[Change]:
    """Revision by revision, oldest first, what each changed (the first: every ACE added);
    nothing for a firewall without a history. Each revision is loaded as its change is asked
    for: a year of them at once was GBs."""
    history = firewall.history
    if history is None or history.load is None:
        return
    before: Dict[Identity, Ace] = {}
    for number in range(len(history.older) + 1):
        if number < len(history.older):
            since, source = history.older[number].since, history.older[number].source
            revision = history.load(number)
        else:
            since, source, revision = history.since, history.source, firewall
        now = identities(revision)
        change = Change(since, source)
        change.added = [ace for identity, ace in now.items() if identity not in before]
        change.removed = [ace for identity, ace in before.items() if identity not in now]
        for identity, ace in now.items():
            old = before.get(identity)
            if old is None:
                continue
            if old.line != ace.line:
                change.moved.append((ace, old.line))
            kept = len(rule_map(old, ace))
            if kept != old.rule_count or kept != ace.rule_count:
                change.members.append((ace, ace.rule_count - kept, old.rule_count - kept))
        yield change
        before = now
