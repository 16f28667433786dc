"""Reports: results of the job + the ruleset database -> what people who prune rulesets read.

``build_report`` produces the JSON contract (the single source for every renderer); ``text``
and ``json`` render it.
"""
from __future__ import annotations

import json
from typing import Iterable

from ..aggregate import finish_ace, merge_ace
from ..asa.literals import protocol_name
from ..asa.syslog import OBSERVED_PROTOCOLS
from ..model import Ace, Firewall


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
                 max_connections: int = 1000, input_errors: list = ()) -> dict:
    """The JSON report: counters, then every ACE of every ACL of every firewall, config order."""
    rules = []
    unknown = dict(records)
    for firewall in firewalls.values():
        for acl in firewall.acls.values():
            bindings = firewall.bindings(acl.name)
            for ace in acl.entries:
                record = unknown.pop((firewall.name, acl.name, ace.line), None)
                if record is not None:
                    record = finish_ace(record, max_connections)
                rules.append(_ace_entry(firewall, ace, bindings, record))
    ordered = {"lines": counters.get("lines", 0)}
    ordered.update((k, v) for k, v in sorted(counters.items()) if k != "lines")
    # Results for ACEs the database does not have (it was preprocessed again since the run):
    # never dropped silently.
    stale = [{"firewall": fw, "acl": acl, "line": line, "hits": record["hits"]}
             for (fw, acl, line), record in sorted(unknown.items())]
    return {"counters": ordered, "rules": rules, "unknown_results": stale,
            "input_errors": list(input_errors)}


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
        "connections_truncated": bool(record and record.get("omitted_connections")),
        "omitted_connections": record.get("omitted_connections", 0) if record else 0,
        "omitted_hits": record.get("omitted_hits", 0) if record else 0,
        "kind": ace.kind, "bindings": bindings, "time_range": ace.time_range,
        "error": ace.error, "visibility": visibility(ace)[0],
        "unseen_protocols": visibility(ace)[1],
    }
