"""CSV report: one row per firewall's evidence, per ACE and per object-group member, for
spreadsheets. Every ACE row carries its status and the reason (the same as every format)."""
from __future__ import annotations

import csv
import io

from .model import Report, periods_text
from .safe import csv_cell

COLUMNS = ["record", "firewall", "acl", "line", "group", "member", "action", "hits",
           "first_seen", "last_seen", "unused", "not_evaluated", "text", "status", "reason",
           "device",      # the device's counter (`hitcounts` captures): "912 (+412 since ...)"
           "since"]       # config history: when the ACE began its present life


def render(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)

    def writerow(cells: list) -> None:
        writer.writerow([csv_cell(c) for c in cells])

    for fw in report.firewalls:
        note = fw.reason or "; ".join(fw.notes)
        if fw.evidence == "not enough data":
            note = f"not enough data for --unused-since: {fw.why}"
        writerow(["firewall", fw.firewall, "", "", "", "", "", "", fw.first or "",
                  fw.last or "", "", "", f"{fw.days_with_logs} days with logs", fw.status,
                  note])
    for ace in report.rules:
        writerow(["ace", ace.firewall, ace.acl, ace.line, "", "", ace.action, ace.hits,
                  ace.first_seen or "", ace.last_seen or "", ace.unused, ace.judgement,
                  ace.text, ace.status, ace.reason,
                  ace.device.summary if ace.device else "", ace.since or ""])
    for group in report.groups:
        for member in group.members:
            writerow(["member", group.firewall, "", "", group.group, member.member, "",
                      member.hits, member.first_seen or "", member.last_seen or "",
                      member.unused, "; ".join(group.not_evaluated), member.line or "",
                      member.status, "; ".join(group.not_evaluated)])
    for entry in report.disagreements:
        writerow(["disagreement", entry.firewall, entry.acl, entry.line, "", "", entry.action,
                  entry.count, entry.first_seen or "", entry.last_seen or "", False, "",
                  entry.text, "disagreement", f"{entry.count} {entry.messages} message(s) for "
                  f"flows this {entry.action} ACE matches first"])
    for gone in report.removed:
        periods = periods_text(gone.periods)
        writerow(["removed", gone.firewall, gone.acl, gone.line, "", "", "", gone.hits,
                  gone.first_seen or "", gone.last_seen or "", False, "", gone.text,
                  "removed", f"an ACE of older config revisions, in force {periods}", "",
                  gone.periods[0][0]])
    return out.getvalue()
