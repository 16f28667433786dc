"""`prune`: the ASA commands that would remove the unused ACEs and group members, for review.

Never applied by the tool. Only what the analysis could judge is proposed; each command is
preceded by a comment saying why.
"""
from __future__ import annotations

from .build import caveats
from .model import Report
from .safe import printable


def _no_ace(text: str) -> str:
    """`no` form of an ACE line; the `line N` insertion form is not part of it."""
    words = text.split()
    if len(words) > 3 and words[2] == "line":
        del words[2:4]
    return "no " + " ".join(words)


def render(report: Report) -> str:
    """Only what the report lists as candidates; the firewalls whose evidence supports no
    removal are named at the top with the reason."""
    span = report.window
    rule = report.unused_rule
    out = ["! ruleset-analysis prune: candidates for review, NOT applied.",
           f"! Hits cover {span['first']} .. {span['last']} ({span['days']} days)."
           if span["first"] else "! The results contain no hits at all.",
           "! Check every removal against other references (NAT, VPN filters, other",
           "! firewalls) and against traffic outside the analysed period before applying."]
    skipped = {}
    for entry in report.firewalls:
        if entry.evidence != "ok":
            skipped[entry.firewall] = f"{entry.evidence}: {entry.why}"
    for name, why in skipped.items():
        out.append(f"! SKIPPED {name}: {why}. Nothing is proposed for it.")
    for entry in report.firewalls:
        fw = entry.firewall
        if fw in skipped:
            continue
        horizon = entry.horizon
        why = (f"no hit in the {horizon.days} days {horizon.start} .. {horizon.as_of}"
               if rule and horizon else f"no hits in {entry.first} .. {entry.last}")
        out += ["!", f"! ---- {fw} (logs {entry.first} .. {entry.last}) ----"]
        for ace in report.rules:
            if ace.firewall != fw or not ace.unused:
                continue
            out.append(f"! access-list {ace.acl} line {ace.line}: {ace.reason}")
            out += [f"!   {note}" for note in caveats(report, ace)]
            for remark in ace.remarks:
                out.append(f"no access-list {ace.acl} remark {remark}")
            out.append(_no_ace(ace.text))
        for group in report.groups:
            if group.firewall != fw or not group.unused or not group.header:
                continue
            unused = [m for m in group.members if m.unused]
            out.append(f"! object-group {group.group}: members with {why} (used by "
                       f"{', '.join(group.used_by)})")
            if len(unused) == len(group.members):
                out.append("! every member is unused: remove the ACEs that use the group, "
                           f"then: no {group.header}")
                continue
            out.append(group.header)
            out += [f" no {m.line}" for m in unused if m.line]
    return printable("\n".join(out) + "\n")
