"""Which members of each object-group carried traffic, across every ACE that uses the group.

A member of group G is the name after G in a rule's member path (nested groups give a chain:
DMZ-Servers > Web-Servers > obj-web01). A rule's hits count for every (group, member) pair
along its paths. A member is only called unused when every ACE that uses its group could be
judged and its firewall's logs support the claim: a group also used by an unbound, inactive
or unparsed ACE, for traffic the logs do not show, by a deny ACE (removing a member would
open access), or on a firewall without enough data, is reported as not evaluated. Nor is a
member whose element counter (`hitcounts` captures) grew in the period while its logs show no
hit: the device saw traffic the logs do not.
"""
from __future__ import annotations

from typing import Optional

from .judgement import device_counted
from .model import AceReport, GroupReport, MemberReport

FIELDS = ("source", "destination", "protocol", "source_port", "service")


JUDGED = ("used", "unused")     # statuses of a permit ACE whose members can be judged


def _new_usage() -> dict:
    return {"members": {}, "used_by": {}, "not_evaluated": {}}


def _block_named_groups(firewall, entry: AceReport, groups: dict, why: str) -> None:
    """An ACE with no expansion (unparsed) may still use the groups its text names (as the
    parser recorded them), and the groups nested in them: none of their members can be
    called unused."""
    ace_of = next((a for a in firewall.acls[entry.acl].entries if a.line == entry.line), None)
    pending = list(ace_of.groups) if ace_of is not None else []
    seen = set()
    ace = f"{entry.acl}:{entry.line}"
    while pending:
        name = pending.pop()
        if name in seen or name not in firewall.groups:
            continue
        seen.add(name)
        usage = groups.setdefault((entry.firewall, name), _new_usage())
        usage["used_by"][ace] = None
        usage["not_evaluated"][f"{ace} ({why})"] = None
        pending += firewall.groups[name].get("nested", [])


def _why_not(entry: AceReport) -> str:
    """Why the members an ACE uses cannot be judged through it ('' when they can)."""
    if entry.judgement:
        return entry.judgement
    if entry.action != "permit":
        return "deny ACE: removing a member opens access"
    if entry.status not in JUDGED:
        return entry.status
    return ""


def _pairs(groups: dict, firewall: str, path: list, ace: str, because: Optional[str]) -> list:
    """The stats of each (group, member) pair along a member path, made where new, the ACE
    recorded as a user of each group (and why it cannot judge them)."""
    pairs: list = []
    for group, member in zip(path or (), path[1:] if path else ()):
        # looked up, not setdefault: that made a usage (three dicts) and a stats list per
        # pair, used or not (450,000 pairs at 120,000 rules)
        usage = groups.get((firewall, group))
        if usage is None:
            usage = groups[(firewall, group)] = _new_usage()
        usage["used_by"][ace] = None
        if because:
            usage["not_evaluated"][because] = None
        # hits, first, last, whether some hits have no time, what the device counted that
        # the logs do not show, since when it is in force (config history)
        stats = usage["members"].get(member)
        if stats is None:
            stats = usage["members"][member] = [0, None, None, False, "", None]
        pairs.append(stats)
    return pairs


def member_usage(firewalls: dict, rules: list, cutoffs: dict, blocked: dict,
                 periods: Optional[dict] = None) -> list:
    """-> [GroupReport], in firewall and group order of first use.

    ``cutoffs``: per firewall, the time before which a last hit counts as unused (None: only
    no hit at all is unused); ``blocked``: firewalls whose logs cannot support any unused
    claim, with the reason; ``periods``: per firewall, the days (first, last) an unused claim
    is about, against which the device's counters are read.
    """
    periods = periods or {}
    groups: dict = {}
    for entry in rules:
        why = _why_not(entry)
        if not entry.objects and why and entry.firewall in firewalls:
            _block_named_groups(firewalls[entry.firewall], entry, groups, why)
        ace = f"{entry.acl}:{entry.line}"
        because = f"{ace} ({why})" if why else None
        period = periods.get(entry.firewall)
        young = f"{period[0]} 00:00:00" if period else None
        # The rules of an ACE share their member paths' lists (model._path): a path's pairs
        # are looked up once an ACE, not once a rule (a 1.2M-rule report spent 4.3 s here),
        # and counted once a rule as before. A rule's members are keyed by FIELDS
        # (build._objects), in their order.
        pairs_of: dict = {}             # id(path) -> the stats of its (group, member) pairs
        for obj in entry.objects:
            counts = obj.hits or (period and (obj.since or obj.device is not None))
            for path in obj.members.values():
                pairs = pairs_of.get(id(path))
                if pairs is None:
                    pairs = pairs_of[id(path)] = _pairs(groups, entry.firewall, path, ace,
                                                        because)
                if counts:
                    for stats in pairs:
                        # a member (or its ACE) younger than the claim: config history
                        if obj.since and young and obj.since > young:
                            stats[5] = max(stats[5] or "", obj.since)
                        if obj.device is not None and period and not stats[4]:
                            stats[4] = device_counted(obj.device, *period)
                        if obj.hits:
                            stats[0] += obj.hits
                            stats[1] = min(filter(None, (stats[1], obj.first_seen)),
                                           default=None)
                            stats[2] = max(filter(None, (stats[2], obj.last_seen)),
                                           default=None)
                            stats[3] = stats[3] or bool(entry.untimed_hits)
    report = []
    for (fw, group), usage in groups.items():
        definition = firewalls[fw].groups.get(group, {}) if fw in firewalls else {}
        lines = definition.get("members", {})
        if fw in blocked:
            usage["not_evaluated"][f"{fw}: {blocked[fw]}"] = None
        cutoff = cutoffs.get(fw)
        members, contradicted = [], []
        for member, (hits, first, last, untimed, counted, young) in usage["members"].items():
            unused = not usage["not_evaluated"] and (
                hits == 0 or (cutoff is not None and not untimed and last is not None
                              and last < cutoff))
            if unused and counted:
                unused = False
                contradicted.append(f"{member}: evidence disagrees: {counted}")
            elif unused and young:
                unused = False
                contradicted.append(f"{member}: in force since {young} (config history): "
                                    "too new to judge")
            members.append(MemberReport(member, lines.get(member), hits, first, last, unused))
        report.append(GroupReport(fw, group, definition.get("header"), members,
                                  [m.member for m in members if m.unused],
                                  list(usage["used_by"]),
                                  list(usage["not_evaluated"]) + contradicted))
    return report
