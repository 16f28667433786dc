"""Reports: results of the job + the ruleset database -> what people who prune rulesets read.

``build_report`` produces the JSON contract (the single source for every renderer); ``text``
and ``json`` render it.
"""
from __future__ import annotations

import datetime
import json
from typing import Iterable

from ..aggregate import finish_ace, merge_ace
from ..asa.literals import protocol_name
from ..asa.syslog import OBSERVED_PROTOCOLS
from ..model import Ace, Firewall
from ..shadowing import analyse_acl
from .members import _older, member_usage
from .tighten import suggest


class ResultsError(ValueError):
    """A results file that cannot be read; the message names the file and line."""


def read_results(paths: Iterable[str]) -> tuple:
    """-> (counters, {(firewall, acl, line): record}, input errors); records of several files
    are merged."""
    counters: dict = {}
    records: dict = {}
    input_errors: list = []
    for path in paths:
        try:
            handle = open(path, "rb")
        except OSError as exc:
            raise ResultsError(f"{path}: cannot read results: {exc.strerror}") from None
        with handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                    key_text, value_text = line.rstrip("\n").split("\t", 1)
                    key, value = json.loads(key_text), json.loads(value_text)
                    if isinstance(key, str):            # "ace\tfw01\tinside_in\t12"
                        key = key.split("\t")
                    kind = key[0]
                    if kind == "counter":
                        counters[key[1]] = counters.get(key[1], 0) + int(value)
                    elif kind == "ace":
                        records.setdefault((key[1], key[2], int(key[3])), []).append(value)
                    elif kind == "input_error":
                        input_errors.append({"file": key[1], "error": str(value)})
                    else:
                        raise ValueError(f"unknown record {kind!r}")
                except (ValueError, IndexError, TypeError, KeyError) as exc:
                    raise ResultsError(f"{path}:{number}: not a results line ({exc})") from None
    merged = {k: merge_ace(v) if len(v) > 1 else v[0] for k, v in records.items()}
    return counters, merged, input_errors


def build_report(firewalls: dict, counters: dict, records: dict,
                 max_connections: int = 1000, input_errors: list = (),
                 filters: "Filters" = None) -> dict:
    """The JSON report: counters, then every ACE of every ACL of every firewall, config order.

    ``filters`` narrows what is reported (firewall, ACL, minimum hits) and sets the unused
    rule: no hits at all, or with ``unused_since`` no hit in that many days before ``as_of``.
    """
    filters = filters or Filters()
    rules = []
    unknown = dict(records)
    for firewall in firewalls.values():
        # Every ACL is analysed, whatever the filters: group members and results must see
        # all of them. The filters only narrow what is reported, at the end.
        for acl in firewall.acls.values():
            bindings = firewall.bindings(acl.name)
            # What passes an inbound ACL meets the global ACL, if there is one.
            falls_to_deny = not (firewall.global_acl and firewall.global_acl != acl.name
                                 and any(b.startswith("in ") for b in bindings))
            shadowing = analyse_acl(acl, falls_to_deny)
            for ace in acl.entries:
                record = unknown.pop((firewall.name, acl.name, ace.line), None)
                if record is not None:
                    record = finish_ace(record, max_connections)
                entry = _ace_entry(firewall, ace, bindings, record)
                entry["judgement"] = judgement(entry)
                entry["tightening"] = suggest(ace, record) if ace.action == "permit" else None
                found = shadowing.get(ace.line, {})
                entry["shadowed_by"] = found.get("shadowed_by", [])
                entry["redundant_with"] = found.get("redundant_with", [])
                entry["shadowing_not_analysed"] = found.get("not_analysed")
                rules.append(entry)
    ordered = {"lines": counters.get("lines", 0)}
    ordered.update((k, v) for k, v in sorted(counters.items()) if k != "lines")
    # Results for ACEs the database does not have (it was preprocessed again since the run):
    # never dropped silently.
    stale = [{"firewall": fw, "acl": acl, "line": line, "hits": record["hits"]}
             for (fw, acl, line), record in sorted(unknown.items())]
    span = window(rules)
    cutoff = filters.cutoff(span)
    groups = member_usage(firewalls, rules, cutoff)
    for entry in rules:
        entry["unused"] = not entry["judgement"] and entry["action"] == "permit" and \
            _older(entry["last_seen"], cutoff)
    rules = [r for r in rules if filters.keeps(r["firewall"], r["acl"])
             and r["hits"] >= filters.min_hits]
    groups = [g for g in groups if filters.keeps(g["firewall"], None)
              and (filters.acl is None or any(a.startswith(filters.acl + ":")
                                              for a in g["used_by"]))]
    return {"counters": ordered, "window": span,
            "unused_rule": {"as_of": cutoff[0], "days": filters.unused_since}
            if filters.unused_since is not None else None,
            "rules": rules, "groups": groups, "unknown_results": stale,
            "input_errors": list(input_errors)}


class Filters:
    """What a report shows: ``firewall``/``acl`` (None: all), ACEs with at least
    ``min_hits``, and the unused rule (``unused_since`` days before ``as_of``, a date;
    default: the end of the analysis window)."""

    def __init__(self, firewall=None, acl=None, min_hits=0, as_of=None, unused_since=None):
        self.firewall, self.acl, self.min_hits = firewall, acl, min_hits
        self.as_of, self.unused_since = as_of, unused_since

    def keeps(self, firewall: str, acl) -> bool:
        return (self.firewall is None or firewall == self.firewall) and \
            (self.acl is None or acl is None or acl == self.acl)

    def cutoff(self, span: dict) -> tuple:
        """(as_of, the timestamp before which a last hit counts as unused, or None)."""
        if self.unused_since is None:
            return (None, None)
        as_of = self.as_of or (span["last"] or "")[:10] or datetime.date.today().isoformat()
        limit = datetime.date.fromisoformat(as_of) - datetime.timedelta(days=self.unused_since)
        return (as_of, f"{limit.isoformat()} 00:00:00")




def window(rules: list) -> dict:
    """The period the results cover: the first and last hit of any ACE."""
    firsts = [r["first_seen"] for r in rules if r["first_seen"]]
    lasts = [r["last_seen"] for r in rules if r["last_seen"]]
    if not firsts:
        return {"first": None, "last": None, "days": 0}
    first, last = min(firsts), max(lasts)
    days = (datetime.date.fromisoformat(last[:10]) -
            datetime.date.fromisoformat(first[:10])).days + 1
    return {"first": first, "last": last, "days": days}


def flow_text(obj: dict, action: str = "") -> str:
    """``[action] proto src [sport] -> dst [dport]`` from a described rule (``objects`` entry)."""
    text = f"{action + ' ' if action else ''}{obj['protocol']} {obj['source']}"
    if obj["source_port"] != "any":
        text += f" {obj['source_port']}"
    text += f" -> {obj['destination']}"
    if obj["destination_port"] != "any":
        text += f" {obj['destination_port']}"
    return text


def visibility(ace: Ace) -> tuple:
    """Whether the analysed log messages could show this ACE's traffic.

    -> ("full" | "other_protocols" | "partial" | "none", protocols the logs cannot show).
    ``other_protocols``: some rules permit any protocol, which includes ones logs do not show.
    """
    protocols = [service[0] for service in ace.services] if ace.rule_count else []
    hidden = sorted({protocol_name(p) for p in protocols
                     if p is not None and p not in OBSERVED_PROTOCOLS})
    seen = [p for p in protocols if p is None or p in OBSERVED_PROTOCOLS]
    if not protocols or not seen:
        return ("none" if protocols else "full"), hidden
    if hidden:
        return "partial", hidden
    if None in seen:
        return "other_protocols", hidden
    return "full", hidden


def _ace_entry(firewall: Firewall, ace, bindings: list, record) -> dict:
    seen, unseen = visibility(ace)
    per_rule = {r[0]: r[1:] for r in record["rules"]} if record else {}
    objects = []
    for rule in ace.rules:
        hits, first, last = per_rule.get(rule.index, (0, None, None))
        entry = rule.describe()
        entry.update(hits=hits, first_seen=first, last_seen=last, members=rule.members)
        objects.append(entry)
    connections = []
    if record:
        for proto, src, dst, port, count, first, last in record["connections"]:
            connections.append({"protocol": proto, "source": src, "destination": dst,
                                "port": port, "count": count, "first_seen": first,
                                "last_seen": last})
    return {
        "firewall": firewall.name, "acl": ace.acl, "line": ace.line, "text": ace.text,
        "remarks": ace.remarks, "action": ace.action, "inactive": ace.inactive,
        "hits": record["hits"] if record else 0,
        "first_seen": record["first"] if record else None,
        "last_seen": record["last"] if record else None,
        "objects": objects, "connections": connections,
        "daily": record.get("days", {}) if record else {},
        "connections_truncated": bool(record and record.get("omitted_connections")),
        "omitted_connections": record.get("omitted_connections", 0) if record else 0,
        "omitted_hits": record.get("omitted_hits", 0) if record else 0,
        "kind": ace.kind, "bindings": bindings, "time_range": ace.time_range, "log": ace.log,
        "error": ace.error, "visibility": seen, "unseen_protocols": unseen,
    }


def caveats(report: dict, entry: dict) -> list:
    """What to weigh before removing an unused ACE, one sentence each."""
    notes = []
    if entry["time_range"]:
        notes.append(f"time-range {entry['time_range']}: active only part of the time")
    untyped = report["counters"].get("icmp_without_type", 0)
    if untyped and any(o["protocol"] in ("icmp", "icmp6", "ip") for o in entry["objects"]):
        notes.append(f"{untyped} ICMP connections were logged without a type and could not be "
                     "attributed: some may be this ACE's")
    if entry["visibility"] == "other_protocols":
        notes.append("also permits protocols other than TCP, UDP and ICMP, which the log "
                     "messages do not show")
    return notes


def judgement(entry: dict) -> str:
    """Why the analysis cannot tell whether an ACE is used ('' when it can): UNPARSED,
    n/a (not an extended ACL), unbound, inactive, fqdn or 'not seen' (protocols the analysed
    messages do not show)."""
    if entry["error"]:
        return "UNPARSED"
    if entry["kind"] != "extended":
        return "n/a"
    if not entry["bindings"]:
        return "unbound"
    if entry["inactive"]:
        return "inactive"
    if any(o["source"].startswith("fqdn ") or o["destination"].startswith("fqdn ")
           for o in entry["objects"]):
        return "fqdn"
    if entry["visibility"] in ("none", "partial"):
        return "not seen"
    return ""
