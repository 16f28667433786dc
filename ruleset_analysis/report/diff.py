"""`diff`: which ACEs started or stopped being used between two periods' JSON reports.

ACEs are matched by firewall, ACL and text (line numbers move when a config changes);
ACEs only in one report are listed as added or removed. An ACE with no hits in the new period
only "stopped" if the new report could judge it (status unused, or a deny with no hits);
otherwise it is listed as not comparable, with the new report's reason.
"""
from __future__ import annotations

import json
import re
from typing import Iterator

from tabulate import tabulate

from ..records import ResultsError
from .safe import printable

# What a diff reads of an ACE. The rest (its members, connections, days) is most of a report:
# 878 MB of text at 1.2M rules, which json.load made 5 GB of objects. Read a value at a time
# from a window of the file, only these fields stay.
FIELDS = ("firewall", "acl", "line", "text", "hits", "status", "reason", "last_seen")
_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"[0-9.eE+-]*")
WINDOW = 1 << 20


def read_report(path: str) -> dict:
    """A JSON report written by `report --format json` -> its window and, of each ACE, the
    FIELDS it has; ResultsError names the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = _slim(_Values(handle))
        data.setdefault("window", {"first": None, "last": None})
        return data
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read report: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:     # (a value nested thousands deep)
        raise ResultsError(f"{path}: not a JSON report of 'report --format json' ({exc})") \
            from None


class _Values:
    """A JSON text's values and marks one at a time, each decoded by json's own raw_decode
    from a window of the text that holds what is not read yet."""

    def __init__(self, handle):
        self.handle, self.text, self.at = handle, "", 0
        self.decode = json.JSONDecoder().raw_decode

    def more(self) -> bool:
        """The window grown by the next piece (as large as it, for a long value): whether
        there was one."""
        piece = self.handle.read(max(WINDOW, len(self.text) - self.at))
        self.text, self.at = self.text[self.at:] + piece, 0
        return bool(piece)

    def next(self) -> str:
        """The next character that is not spacing ("" at the end)."""
        while True:
            # (_SPACE matches everywhere)
            self.at = _SPACE.match(self.text, self.at).end()  # type: ignore[union-attr]
            if self.at < len(self.text) or not self.more():
                return self.text[self.at:self.at + 1]

    def take(self, mark: str) -> None:
        if self.next() != mark:
            raise ValueError(f"expected '{mark}', found '{self.next()}'")
        self.at += 1

    def value(self):
        self.next()
        while True:
            try:
                value, end = self.decode(self.text, self.at)
            except ValueError:
                if self.more():             # cut by the window's end?
                    continue
                raise
            # a number the window's end cut may have been read in part ("-2." as -2)
            if isinstance(value, (int, float)) and _NUMBER.fullmatch(self.text, end) and \
                    self.more():
                continue
            self.at = end
            return value


def _slim(values: _Values) -> dict:
    """The JSON object of ``values``, its "rules" decoded an element at a time, each cut to
    FIELDS."""
    if values.next() != "{":
        raise ValueError("no rules")
    data: dict = {}
    for _ in _elements(values, "{", "}"):
        key = values.value()
        if not isinstance(key, str):
            raise ValueError("a key that is not a string")
        values.take(":")
        if key == "rules" and values.next() == "[":
            rules: list = []
            for _ in _elements(values, "[", "]"):
                rule = values.value()
                if not isinstance(rule, dict):
                    raise ValueError("a rule that is not an object")
                rules.append({name: rule[name] for name in FIELDS if name in rule})
            data[key] = rules
        else:
            data[key] = values.value()
    if values.next() != "":
        raise ValueError("extra data after the report")
    if not isinstance(data.get("rules"), list):
        raise ValueError("no rules")
    return data


def _elements(values: _Values, opening: str, closing: str) -> Iterator[None]:
    """Once before each element of the object or array that begins here (the caller reads
    it), its commas and brackets taken."""
    values.take(opening)
    first = True
    while values.next() != closing:
        if not first:
            values.take(",")
        first = False
        yield
    values.take(closing)


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
