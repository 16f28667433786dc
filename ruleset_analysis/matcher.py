"""Where a rule is matched: which ACL applies to a connection and which rule of it hits first.

Evaluation follows the ASA: the ACL bound inbound to the ingress interface, then the global ACL
(then the implicit deny); independently of that, the ACL bound outbound to the egress interface.
Each ACL credits its own first match, in config order; inactive and unparsed ACEs never match.

Rules are compiled into flat tuples and bucketed by protocol, so only rules that can match the
connection's protocol are scanned.
"""
from __future__ import annotations

import ipaddress
from typing import NamedTuple, Optional

from .asa.literals import PROTOCOLS
from .model import Acl, Connection, Firewall
from .routing import RoutingTable

MATCHED = "matched"            # every ACL that applies credited a rule
UNMATCHED = "unmatched"        # an ACL applies but no rule of it matched (implicit deny)
NO_ACL = "no_acl"              # no ACL applies to the connection's interfaces
INTERFACE_UNKNOWN = "interface_unknown"   # ICMP: no interface network or route covers it
DENIED = "denied"              # a deny message credited to the ACE that denied it
DENIED_IMPLICIT = "denied_implicit"       # a deny message no ACE of its ACL matches
UNKNOWN_ACL = "unknown_acl"    # an ACL message names an ACL the config does not have


class Hit(NamedTuple):
    """A rule credited with a connection."""
    acl: str
    ace_line: int
    rule_index: int
    action: str
    logged: bool = False       # the ACE has `log`: its flows also produce 106100 lines


class Verdict(NamedTuple):
    category: str
    hits: tuple                # of (Hit, source, destination as the ACL matched them)
    # per evaluation chain: ("inbound"|"outbound", names of the ACLs consulted, Hit or None)
    chains: tuple = ()


def _compile_address(address):
    # -> (version, first, last); version -1 is "any", 0 matches nothing (unresolved fqdn)
    if address is None:
        return (-1, 0, 0)
    return (address.version, address.first, address.last)


def _compile_ports(ports):
    return None if ports is None else ports.ranges


def _in_ports(value: int, ranges) -> bool:
    for lo, hi in ranges:
        if lo <= value <= hi:
            return True
    return False


class AclMatcher:
    """First-match lookup over one ACL's expanded rules."""

    def __init__(self, acl: Acl):
        self.name = acl.name
        compiled = []
        protocols = set()
        for ace in acl.entries:
            if not ace.matchable:
                continue
            for rule in ace.rules:
                protocols.add(rule.protocol)
                compiled.append((rule.protocol,) + _compile_address(rule.source)
                                + (_compile_ports(rule.source_port),)
                                + _compile_address(rule.destination)
                                + (_compile_ports(rule.destination_port), rule.icmp_code,
                                   Hit(acl.name, ace.line, rule.index, ace.action,
                                       ace.log not in (None, "disable"))))
        self.uses_source_port = any(r[4] is not None for r in compiled)
        # protocol -> the rules that can match it, still in config order
        self.buckets = {p: [r[1:] for r in compiled if r[0] is None or r[0] == p]
                        for p in protocols if p is not None}
        self.any_protocol = [r[1:] for r in compiled if r[0] is None]

    def first_match(self, protocol: int, src_version: int, src: int, sport: int,
                    dst_version: int, dst: int, dport: int,
                    icmp_code: Optional[int] = None) -> Optional[Hit]:
        """The first rule, in config order, that the flow matches; None if none does."""
        for (sv, slo, shi, sports, dv, dlo, dhi, dports, code, hit) in \
                self.buckets.get(protocol, self.any_protocol):
            if sv != -1 and not (sv == src_version and slo <= src <= shi):
                continue
            if dv != -1 and not (dv == dst_version and dlo <= dst <= dhi):
                continue
            if sports is not None and not _in_ports(sport, sports):
                continue
            if dports is not None and not _in_ports(dport, dports):
                continue
            if code is not None and code != icmp_code:
                continue
            return hit
        return None


class FirewallMatcher:
    """Evaluates connections against one firewall's bound ACLs."""

    def __init__(self, firewall: Firewall):
        self.firewall = firewall
        used = set(firewall.inbound.values()) | set(firewall.outbound.values())
        if firewall.global_acl:
            used.add(firewall.global_acl)
        self.acls = {name: AclMatcher(firewall.acls[name]) for name in used
                     if name in firewall.acls}
        self.routing = RoutingTable(firewall)
        self.inbound = {i: self.acls.get(a) for i, a in firewall.inbound.items()}
        self.outbound = {i: self.acls.get(a) for i, a in firewall.outbound.items()}
        self.global_acl = self.acls.get(firewall.global_acl) if firewall.global_acl else None
        self.uses_source_port = any(m.uses_source_port for m in self.acls.values())
        self.uses_mapped = firewall.acl_addresses == "mapped"

    def address(self, text: str):
        """-> (version, int); a `name` alias as some firewalls log it is resolved."""
        try:
            ip = ipaddress.ip_address(self.firewall.names.get(text, text))
        except ValueError:
            return None
        return ip.version, int(ip)

    def evaluate(self, c: Connection) -> Optional[Verdict]:
        """The verdict for a connection, or None when an address cannot be read.

        Each hit comes with the source and destination the ACL matched on: real addresses,
        or on pre-8.3 firewalls the addresses as seen on the ACL's interface (inbound and
        global: mapped destination; outbound: mapped source).
        """
        if not c.ingress:          # ICMP built messages name no interface
            ingress = self.routing.interface_for(c.source)
            egress = self.routing.interface_for(c.destination)
            if ingress is None or egress is None:
                return Verdict(INTERFACE_UNKNOWN, ())
            c = c._replace(ingress=ingress, egress=egress)
        number = _protocol_number(c.protocol)
        mapped = self.firewall.acl_addresses == "mapped"
        in_pair = (c.source, c.mapped_destination or c.destination) if mapped \
            else (c.source, c.destination)
        out_pair = (c.mapped_source or c.source, c.destination) if mapped \
            else (c.source, c.destination)
        hits = []
        chains = []
        denied = False
        for direction, pair, chain in (
                ("inbound", in_pair, (self.inbound.get(c.ingress), self.global_acl)),
                ("outbound", out_pair, (self.outbound.get(c.egress),))):
            src, dst = self.address(pair[0]), self.address(pair[1])
            if src is None or dst is None:
                return None
            key = (number, src[0], src[1], c.source_port, dst[0], dst[1], c.destination_port,
                   c.icmp_code)
            consulted = []
            hit = None
            for acl in chain:
                if acl is None:
                    continue
                consulted.append(acl.name)
                hit = acl.first_match(*key)
                if hit is not None:
                    hits.append((hit, pair[0], pair[1]))
                    break
            if consulted:
                chains.append((direction, tuple(consulted), hit))
                denied = denied or hit is None        # reached the implicit deny
        category = UNMATCHED if denied else MATCHED if hits else NO_ACL
        return Verdict(category, tuple(hits), tuple(chains))

    def evaluate_named(self, c: Connection) -> Optional[Verdict]:
        """An ACL message (106100, 106023): the first match in the ACL it names, on the
        addresses it shows (those the ACL saw). None when an address cannot be read."""
        acl = self.acls.get(c.acl)
        if acl is None:
            if c.acl not in self.firewall.acls:
                return Verdict(UNKNOWN_ACL, ())
            acl = self.acls[c.acl] = AclMatcher(self.firewall.acls[c.acl])
        src, dst = self.address(c.source), self.address(c.destination)
        if src is None or dst is None:
            return None
        hit = acl.first_match(_protocol_number(c.protocol), src[0], src[1], c.source_port,
                              dst[0], dst[1], c.destination_port, c.icmp_code)
        hits = () if hit is None else ((hit, c.source, c.destination),)
        if c.kind == "acl_deny":
            category = DENIED if hit else DENIED_IMPLICIT
        else:
            category = MATCHED if hit else UNMATCHED
        return Verdict(category, hits, (("named", (c.acl,), hit),))


def _protocol_number(name: str) -> int:
    return PROTOCOLS.get(name, int(name) if name.isdigit() else -1)
