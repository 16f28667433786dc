"""`prune`: the ASA commands that would remove the unused ACEs and group members, for review.

Never applied by the tool. Only what the analysis could judge is proposed; each command is
preceded by a comment saying why.
"""
from __future__ import annotations

from . import caveats


def _no_ace(text: str) -> str:
    """`no` form of an ACE line; the `line N` insertion form is not part of it."""
    words = text.split()
    if len(words) > 3 and words[2] == "line":
        del words[2:4]
    return "no " + " ".join(words)


def render(report: dict) -> str:
    span = report["window"]
    rule = report["unused_rule"]
    why = (f"no hit in the {rule['days']} days before {rule['as_of']}" if rule
           else "no hits")
    out = ["! ruleset-analysis prune: candidates for review, NOT applied.",
           f"! Results cover {span['first']} .. {span['last']} ({span['days']} days)."
           if span["first"] else "! The results contain no hits at all.",
           "! Check every removal against other references (NAT, VPN filters, other",
           "! firewalls) and against traffic outside the analysed period before applying."]
    firewalls = sorted({r["firewall"] for r in report["rules"]} |
                       {g["firewall"] for g in report["groups"]})
    for fw in firewalls:
        out += ["!", f"! ---- {fw} ----"]
        for ace in report["rules"]:
            if ace["firewall"] != fw or not ace["unused"]:
                continue
            seen = f", last seen {ace['last_seen']}" if ace["last_seen"] else ""
            out.append(f"! access-list {ace['acl']} line {ace['line']}: {why}{seen}")
            out += [f"!   {note}" for note in caveats(report, ace)]
            for remark in ace["remarks"]:
                out.append(f"no access-list {ace['acl']} remark {remark}")
            out.append(_no_ace(ace["text"]))
        for group in report["groups"]:
            if group["firewall"] != fw or not group["unused"] or not group["header"]:
                continue
            unused = [m for m in group["members"] if m["unused"]]
            out.append(f"! object-group {group['group']}: members with {why} (used by "
                       f"{', '.join(group['used_by'])})")
            if len(unused) == len(group["members"]):
                out.append("! every member is unused: remove the ACEs that use the group, "
                           f"then: no {group['header']}")
                continue
            out.append(group["header"])
            out += [f" no {m['line']}" for m in unused if m["line"]]
    return "\n".join(out) + "\n"
