"""`history`: each firewall's config revisions and what each changed in its ACLs, as text."""
from __future__ import annotations

from typing import Optional

from ..history import changes


def render(firewalls: dict, only: Optional[str] = None) -> str:
    out = []
    for name, firewall in firewalls.items():
        if only not in (None, name):
            continue
        if firewall.history is None:
            out.append(f"{name}: one revision (no history)")
            continue
        out.append(f"{name}: {len(firewall.history.older) + 1} revision(s)")
        for n, change in enumerate(changes(firewall)):
            out.append(f"  {change.since}  {change.source}")
            if n == 0:
                out.append(f"    {len(change.added)} ACE(s)")
                continue
            out += [f"    + {a.acl} line {a.line}: {a.text}" for a in change.added]
            out += [f"    - {a.acl} line {a.line}: {a.text}" for a in change.removed]
            out += [f"    ~ {a.acl} line {old} -> {a.line}: {a.text}" for a, old in change.moved]
            out += [f"    ~ {a.acl} line {a.line}: +{gained} / -{lost} member(s): {a.text}"
                    for a, gained, lost in change.members]
            if not (change.added or change.removed or change.moved or change.members):
                out.append("    (ACLs unchanged)")
    return "\n".join(out)
