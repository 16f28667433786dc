"""Which members of each object-group carried traffic, across every ACE that uses the group.

A member of group G is the name after G in a rule's member path (nested groups give a chain:
DMZ-Servers > Web-Servers > obj-web01). A rule's hits count for every (group, member) pair
along its paths. A member is only called unused when every ACE that uses its group could be
judged: a group also used by an unbound, inactive or unparsed ACE, or for traffic the logs do
not show, is reported as not evaluated.
"""
from __future__ import annotations

FIELDS = ("source", "destination", "protocol", "source_port", "service")


def _older(last_seen, cutoff: tuple) -> bool:
    """Unused: never seen, or (with a cutoff) last seen before it."""
    return last_seen is None or (cutoff[1] is not None and last_seen < cutoff[1])


def _new_usage() -> dict:
    return {"members": {}, "used_by": {}, "not_evaluated": {}}


def _block_named_groups(firewall, entry: dict, groups: dict) -> None:
    """An ACE with no expansion (unparsed) may still use the groups its text names, and the
    groups nested in them: none of their members can be called unused."""
    words = entry["text"].split()
    pending = [b for a, b in zip(words, words[1:]) if a == "object-group"]
    seen = set()
    ace = f"{entry['acl']}:{entry['line']}"
    while pending:
        name = pending.pop()
        if name in seen or name not in firewall.groups:
            continue
        seen.add(name)
        usage = groups.setdefault((entry["firewall"], name), _new_usage())
        usage["used_by"][ace] = None
        usage["not_evaluated"][f"{ace} ({entry['judgement']})"] = None
        pending += [line.split()[1] for line in firewall.groups[name]["members"].values()
                    if line.startswith("group-object ")]


def member_usage(firewalls: dict, rules: list, cutoff: tuple = (None, None)) -> list:
    """-> [{"firewall", "group", "members": [{"member", "line", "hits", "first_seen",
    "last_seen"}], "unused": [member...], "used_by": ["acl:line"...], "not_evaluated":
    ["acl:line (reason)"...]}], in firewall and group order of first use."""
    groups: dict = {}
    for entry in rules:
        if not entry["objects"] and entry["judgement"] and entry["firewall"] in firewalls:
            _block_named_groups(firewalls[entry["firewall"]], entry, groups)
        for obj in entry["objects"]:
            for field in FIELDS:
                path = obj["members"].get(field, [])
                for group, member in zip(path, path[1:]):
                    usage = groups.setdefault((entry["firewall"], group), _new_usage())
                    ace = f"{entry['acl']}:{entry['line']}"
                    usage["used_by"][ace] = None
                    if entry["judgement"]:
                        usage["not_evaluated"][f"{ace} ({entry['judgement']})"] = None
                    stats = usage["members"].setdefault(member, [0, None, None])
                    if obj["hits"]:
                        stats[0] += obj["hits"]
                        stats[1] = min(filter(None, (stats[1], obj["first_seen"])))
                        stats[2] = max(filter(None, (stats[2], obj["last_seen"])))
    report = []
    for (fw, group), usage in groups.items():
        definition = firewalls[fw].groups.get(group, {}) if fw in firewalls else {}
        lines = definition.get("members", {})
        members = [{"member": member, "line": lines.get(member), "hits": hits,
                    "first_seen": first, "last_seen": last}
                   for member, (hits, first, last) in usage["members"].items()]
        for member in members:
            member["unused"] = _older(member["last_seen"], cutoff) and not usage["not_evaluated"]
        report.append({
            "firewall": fw, "group": group, "header": definition.get("header"),
            "members": members,
            "unused": [m["member"] for m in members if m["unused"]],
            "used_by": list(usage["used_by"]),
            "not_evaluated": list(usage["not_evaluated"])})
    return report
