"""The ruleset as the analysis sees it (``show``) and what one flow hits (``lookup``)."""
from __future__ import annotations

from typing import Optional, Sequence

from ..asa.literals import (
    ICMP,
    ICMP6,
    icmp_type_number,
    port_number,
    protocol_name,
    protocol_number,
)
from ..matcher import FirewallMatcher, Verdict
from ..model import Connection, Firewall, Rule
from ..routing import RoutingTable
from .build import describe, flow_text


def _members(rule: Rule) -> str:
    return "; ".join(f"{field}: {' > '.join(path)}" for field, path in rule.members.items())


def rule_line(rule: Rule) -> str:
    text = f"#{rule.index}  {flow_text(describe(rule))}"
    members = _members(rule)
    return f"{text}    [{members}]" if members else text


def render_ruleset(firewalls: dict, only_firewall: Optional[str] = None,
                   only_acl: Optional[str] = None) -> str:
    out = []
    for fw in firewalls.values():
        if only_firewall and fw.name != only_firewall:
            continue
        out.append(f"{fw.name}: {fw.version or 'version unknown'}; ACLs match "
                   f"{fw.acl_addresses} addresses; log device ids: {', '.join(fw.aliases)}")
        for iface in fw.interfaces.values():
            state = " (shutdown)" if iface.shutdown else ""
            out.append(f"  interface {iface.nameif} ({iface.hardware}) security-level "
                       f"{iface.security_level} {' '.join(iface.addresses)}{state}")
        for nameif, network, gateway in fw.routes:
            out.append(f"  route {nameif} {network} via {gateway}")
        for acl in fw.acls.values():
            if only_acl and acl.name != only_acl:
                continue
            bound = ", ".join(fw.bindings(acl.name)) or "not bound"
            out.append(f"\n{fw.name}: access-list {acl.name} ({bound})")
            for ace in acl.entries:
                for remark in ace.remarks:
                    out.append(f"        remark {remark}")
                out.append(f"  line {ace.line}: {ace.text}")
                if ace.error:
                    out.append(f"      UNPARSED: {ace.error}")
                elif ace.kind != "extended":
                    out.append(f"      {ace.kind} ACL: does not filter connections")
                for rule in ace.rules:
                    out.append(f"      {rule_line(rule)}")
        out.append("")
    return "\n".join(out)


def render_lookup(firewall: Firewall, connection: Connection, verdict: Optional[Verdict]) -> str:
    c = connection
    sport = c.source_port if c.source_port else "any"
    out = [f"{firewall.name}: {c.protocol} {c.source}/{sport} -> {c.destination}/"
           f"{c.destination_port}, ingress {c.ingress}, egress {c.egress or 'unknown'}"]
    if verdict is None:
        return out[0] + "\ncannot read an address of the flow\n"
    aces = {(a.acl, a.line): a for a in firewall.aces()}
    dropped = False
    for direction, acls, hit in verdict.chains:
        out.append(f"{direction}: {' then '.join(acls)}")
        if dropped:
            out.append("  not reached: the flow is dropped inbound")
            continue
        dropped = hit is None or hit.action == "deny"
        if hit is None:
            out.append("  no rule matches: implicit deny")
            continue
        ace = aces[(hit.acl, hit.ace_line)]
        rule = next(r for r in ace.rules if r.index == hit.rule_index)
        out.append(f"  {hit.action.upper()} by access-list {hit.acl}, line {hit.ace_line}: "
                   f"{ace.text}")
        out.append(f"  rule {rule_line(rule)}")
    if not verdict.chains:
        out.append("no ACL applies to these interfaces (security levels decide)")
    return "\n".join(out) + "\n"


def lookup(firewall: Firewall, connection: Connection) -> str:
    return render_lookup(firewall, connection, FirewallMatcher(firewall).evaluate(connection))


def flow_connection(fw: Firewall, protocol: str, ingress: str, egress: Optional[str],
                    flow: Sequence[str]) -> Connection:
    """The connection ``lookup`` asks about: FLOW is SRC [SPORT] DST [DPORT] (for ICMP, DPORT
    is the type). Raises ValueError, with the message a user reads, when it cannot be read."""
    def is_address(token: str) -> bool:
        return "." in token or ":" in token or token in fw.names

    tokens: list = list(flow)
    if len(tokens) == 3 and not is_address(tokens[1]):
        tokens.append(None)            # SRC SPORT DST
    elif len(tokens) == 3:
        tokens.insert(1, None)         # SRC DST DPORT
    elif len(tokens) == 2:
        tokens = [tokens[0], None, tokens[1], None]
    if len(tokens) != 4:
        raise ValueError("FLOW is SRC [SPORT] DST [DPORT]")
    src, sport, dst, dport = tokens
    number = None if protocol == "ip" else protocol_number(protocol)
    name = protocol_name(number) if number is not None else "ip"
    if number in (ICMP, ICMP6):
        dport_value = icmp_type_number(dport, number) if dport else 0
    else:
        dport_value = port_number(dport, number) if dport else 0
    sport_value = port_number(sport, number) if sport else 0
    if ingress not in fw.interfaces:
        raise ValueError(f"{fw.name} has no interface '{ingress}' "
                         f"(it has: {', '.join(fw.interfaces)})")
    egress = egress or RoutingTable(fw).interface_for(fw.names.get(dst, dst)) or ""
    return Connection(fw.name, "", name, src, sport_value, dst, dport_value, ingress, egress,
                      "lookup")
