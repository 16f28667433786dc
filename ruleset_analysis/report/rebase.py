"""Results of a job run against an earlier state of a firewall's history, reported against the
database as it is now (RANCID committed another revision since the run).

The results carry the fingerprint of the history they were matched against. When it is the
fingerprint of the present history cut after revision M (the same revisions up to M, nothing
after), every line was matched against the revision in force at its time — except the lines
written after revision M+1 took effect, which met revision M. So the hits are moved to the
present ACEs and members by identity (``history.Translation``; ACEs removed since become
retired ACEs), and the evidence ends the day before revision M+1 took effect: an unused claim
is only ever about days on which the lines met the revision in force. Hits after that day still
count as hits (the ACE carried traffic then), and ACEs newer than revision M have no data.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..history import History, HistoryBuilder, Retired, Translation, identities, rule_map
from ..model import Firewall
from ..records import RESULTS_FORMAT, Results, merge_ace

AceKey = Tuple[str, str, int]


def prefix_fingerprint(firewall: Firewall, cut: int) -> Optional[str]:
    """The fingerprint the firewall had when revision ``cut`` (an older one) was its newest."""
    history = firewall.history
    if history is None or cut >= len(history.older):
        return None
    older = history.older
    trimmed = History(older[cut].since, older[cut].source, older[:cut])
    return trimmed.fingerprint(older[cut].fingerprint)


def matched_cut(firewall: Firewall, fingerprints: List[str]) -> Optional[int]:
    """The older revision the results' history ended with, if they were matched against a
    history this one extends."""
    history = firewall.history
    if history is None or len(fingerprints) != 1:
        return None
    for cut in range(len(history.older)):
        if fingerprints[0] == f"{RESULTS_FORMAT}:{prefix_fingerprint(firewall, cut)}":
            return cut
    return None


def rebase(firewall: Firewall, cut: int, results: Results) -> Tuple[str, list]:
    """Move one firewall's records from its history cut after revision ``cut`` to the present
    one, in place. -> (the day its evidence ends before, stale records that fit nowhere)."""
    history = firewall.history
    assert history is not None and history.load is not None
    name = firewall.name
    old = history.load(cut)
    # the retired ACEs the results were keyed by: those of the history as it was then (built
    # as the revisions are loaded, one at a time)
    builder = HistoryBuilder()
    for n, revision in enumerate(history.older[:cut]):
        builder.add(revision.since, revision.source, history.load(n))
    builder.add(history.older[cut].since, history.older[cut].source, _copy(old))
    then, _ = builder.finish()
    assert then.history is not None
    current = identities(firewall)
    translation = Translation(old, current, history)
    retired_now = {r.identity: r for r in history.retired}
    stale: list = []

    def moved(acl: str, line: int) -> Optional[Tuple[bool, int]]:
        try:
            return translation.ace(acl, line)
        except KeyError:
            return None

    # Every record of the firewall is taken out first: an old key may be a new one's too.
    def taken(table: Dict[AceKey, dict]) -> list:
        keys = [k for k in table if k[0] == name]
        return [(k, table.pop(k)) for k in keys]
    aces, disagreements = taken(results.aces), taken(results.disagreements)
    retired, rehashed = taken(results.retired), taken(results.rehashed)
    for found, into, gone_into in ((aces, results.aces, results.retired),
                                   (disagreements, results.disagreements, None)):
        for key, record in found:
            where = moved(key[1], key[2])
            if where is None or (where[0] and gone_into is None):
                stale.append((key, record))
                continue
            gone, target = where
            record["rules"] = [[translation.rule(key[1], key[2], index)] + rest
                               for index, *rest in record["rules"]]
            _merge(gone_into if gone and gone_into is not None else into,
                   (name, key[1], target), record)
    for key, record in retired:
        if key[2] >= len(then.history.retired):
            stale.append((key, record))
            continue
        was: Retired = then.history.retired[key[2]]
        back = current.get(was.identity)          # written again since
        if back is not None:
            mapping = rule_map(was.ace, back)
            record["rules"] = [[mapping.get(index, -1)] + rest for index, *rest in record["rules"]]
            _merge(results.aces, (name, key[1], back.line), record)
        else:
            now = retired_now[was.identity]
            mapping = rule_map(was.ace, now.ace)
            record["rules"] = [[mapping.get(index, -1)] + rest for index, *rest in record["rules"]]
            _merge(results.retired, (name, key[1], now.number), record)
    for key, record in rehashed:
        where = moved(key[1], key[2])
        if where is None or where[0]:
            stale.append((key, record))
            continue
        firsts = []
        for line, *rest in record["rules"]:
            first = moved(key[1], line) if line else (False, 0)
            firsts.append([first[1] if first and not first[0] else 0] + rest)
        record["rules"] = firsts
        _merge(results.rehashed, (name, key[1], where[1]), record)
    results.rulesets[name] = [f"{RESULTS_FORMAT}:{firewall.fingerprint()}"]
    return history.older[cut + 1].since if cut + 1 < len(history.older) else history.since, \
        stale


def _merge(table: Dict[AceKey, dict], key: AceKey, record: dict) -> None:
    found = table.get(key)
    table[key] = record if found is None else merge_ace([found, record])


def _copy(firewall: Firewall) -> Firewall:
    """A revision to rebuild a history with, leaving the loaded one as it is."""
    return Firewall.from_json(firewall.to_json())
