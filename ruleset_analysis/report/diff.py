"""`diff`: which ACEs started or stopped being used between two periods' JSON reports.

ACEs are matched by firewall, ACL and text (line numbers move when a config changes);
ACEs only in one report are listed as added or removed. An ACE with no hits in the new period
only "stopped" if the new report could judge it (status unused, or a deny with no hits);
otherwise it is listed as not comparable, with the new report's reason.
"""
from __future__ import annotations

import json

from tabulate import tabulate

from ..records import ResultsError
from .safe import printable


def read_report(path: str) -> dict:
    """A JSON report written by `report --format json`; ResultsError names the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise ValueError("no rules")
        data.setdefault("window", {"first": None, "last": None})
        return data
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read report: {exc.strerror}") from None
    except ValueError as exc:
        raise ResultsError(f"{path}: not a JSON report of 'report --format json' ({exc})") \
            from None


def _index(report: dict) -> dict:
    return {(r["firewall"], r["acl"], r["text"]): r for r in report["rules"]}


def compare(old: dict, new: dict) -> dict:
    before, after = _index(old), _index(new)
    result: dict = {"started": [], "stopped": [], "added": [], "removed": [], "changed": [],
                    "not_comparable": []}
    for key, entry in after.items():
        previous = before.get(key)
        if previous is None:
            result["added"].append(entry)
        elif previous["hits"] == 0 and entry["hits"] > 0:
            result["started"].append((previous, entry))
        elif previous["hits"] > 0 and entry["hits"] == 0:
            judged = entry.get("status", "unused") in ("unused", "deny, no hits")
            result["stopped" if judged else "not_comparable"].append((previous, entry))
        elif previous["hits"] != entry["hits"]:
            result["changed"].append((previous, entry))
    result["removed"] = [entry for key, entry in before.items() if key not in after]
    return result


def render(old: dict, new: dict) -> str:
    changes = compare(old, new)
    span = f"{old['window']['first']} .. {old['window']['last']}  ->  " \
           f"{new['window']['first']} .. {new['window']['last']}"
    out = [f"Periods: {span}"]
    for title, key in (("Started being used", "started"), ("Stopped being used", "stopped"),
                       ("Hits changed", "changed")):
        rows = [[n["firewall"], n["acl"], n["line"], o["hits"], n["hits"],
                 n["last_seen"] or o["last_seen"] or "", n["text"]]
                for o, n in changes[key]]
        out.append(f"\n== {title} ({len(rows)}) ==")
        if rows:
            out.append(tabulate(rows, headers=["FIREWALL", "ACL", "LINE", "HITS BEFORE",
                                               "HITS AFTER", "LAST SEEN", "ACE"],
                                tablefmt="simple"))
    rows = [[n["firewall"], n["acl"], n["line"], o["hits"], n.get("status", ""),
             n.get("reason", ""), n["text"]] for o, n in changes["not_comparable"]]
    out.append(f"\n== No hits in the new period, but it cannot tell ({len(rows)}) ==")
    if rows:
        out.append(tabulate(rows, headers=["FIREWALL", "ACL", "LINE", "HITS BEFORE", "STATUS",
                                           "WHY", "ACE"], tablefmt="simple"))
    for title, key in (("Only in the new report", "added"), ("Only in the old report",
                                                             "removed")):
        out.append(f"\n== {title} ({len(changes[key])}) ==")
        out += [f"{e['firewall']}: {e['text']}" for e in changes[key]]
    return printable("\n".join(out) + "\n")
