"""CSV report: one row per ACE and one per object-group member, for spreadsheets."""
from __future__ import annotations

import csv
import io

COLUMNS = ["record", "firewall", "acl", "line", "group", "member", "action", "hits",
           "first_seen", "last_seen", "unused", "not_evaluated", "text"]


def render(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for ace in report["rules"]:
        writer.writerow(["ace", ace["firewall"], ace["acl"], ace["line"], "", "",
                         ace["action"], ace["hits"], ace["first_seen"] or "",
                         ace["last_seen"] or "", ace["unused"], ace["judgement"], ace["text"]])
    for group in report["groups"]:
        for member in group["members"]:
            writer.writerow(["member", group["firewall"], "", "", group["group"],
                             member["member"], "", member["hits"],
                             member["first_seen"] or "", member["last_seen"] or "",
                             member["unused"], "; ".join(group["not_evaluated"]),
                             member["line"] or ""])
    return out.getvalue()
