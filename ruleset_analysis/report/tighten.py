"""Tightening suggestions: a broad ACE's observed traffic as a few specific ACE lines.

Broad: any source or destination, a network of more than 256 addresses, protocol `ip`, or a
TCP/UDP port clause spanning more than 100 ports. The observed connections are grouped by
protocol and port; their sources and destinations are merged into the fewest exact networks
(netaddr's cidr_merge never adds an address that was not seen), ports with the same address
sets are joined into ranges, and if that still takes more than MAX_LINES lines, the field with
more distinct addresses keeps the ACE's own value instead (then both).

A list that leaves connections out (a sample, or cut at --max-connections) still shows every
service they used, in ``services``: their destinations and ports join the flows and the
sources keep the ACE's own value, so the suggestion still admits all that was seen — complete
if every hit left out is in a service.
"""
from __future__ import annotations

from typing import Optional

from netaddr import IPAddress, IPRange, cidr_merge

from ..asa.literals import TCP, UDP
from .model import Tightening

MAX_LINES = 8
WIDE_NETWORK = 256
WIDE_PORTS = 100


def is_broad(ace) -> bool:
    for address, _ in ace.sources + ace.destinations:
        if address is None or address.last - address.first + 1 > WIDE_NETWORK:
            return True
    for protocol, _, dport, _, _ in ace.services:
        if protocol is None:
            return True
        if protocol in (TCP, UDP) and (dport is None or sum(hi - lo + 1 for lo, hi in
                                                            dport.ranges) > WIDE_PORTS):
            return True
    return False


def _address(network) -> str:
    if network.size == 1:
        return f"host {network.ip}"
    if network.version == 6:
        return str(network)
    return f"{network.network} {network.netmask}"


def _ports(protocol: str, ports: list) -> list:
    """Sorted ports -> port clauses (consecutive ones as a range); ICMP types as numbers."""
    if protocol in ("icmp", "icmp6"):
        return [f" {p}" for p in ports]
    runs: list = []
    for port in ports:
        if runs and port == runs[-1][1] + 1:
            runs[-1][1] = port
        else:
            runs.append([port, port])
    return [f" eq {lo}" if lo == hi else f" range {lo} {hi}" for lo, hi in runs]


def suggest(ace, record: Optional[dict]) -> Optional[Tightening]:
    """The suggestion, or None when the ACE is not broad or carried no traffic."""
    services = record.get("services", ()) if record else ()
    if record is None or not (record["connections"] or services) or not is_broad(ace):
        return None
    flows: dict = {}
    for proto, src, dst, port, _, _, _ in record["connections"]:
        entry = flows.setdefault((proto, port), (set(), set()))
        entry[0].add(src)
        entry[1].add(dst)
    for proto, dst, port, _, _, _ in services:
        flows.setdefault((proto, port), (set(), set()))[1].add(dst)
    left_out = record.get("omitted_hits", 0)
    in_services = sum(s[3] for s in services)
    # Too many lines: let the field with more distinct addresses keep the ACE's own value
    # first, then both. Connections known only by their service: their sources are unknown.
    sources = len({a for srcs, _ in flows.values() for a in srcs})
    destinations = len({a for _, dsts in flows.values() for a in dsts})
    first = "source" if sources >= destinations else "destination"
    choices = [{"source"}, {"source", "destination"}] if services else \
        [set(), {first}, {"source", "destination"}]
    for widen in choices:
        lines = _lines(ace, flows, widen)
        if len(lines) <= MAX_LINES:
            break
    complete = (not record.get("omitted_connections") or
                (services and left_out == in_services and
                 not record.get("services_sampled"))) and len(lines) <= MAX_LINES
    return Tightening(lines[:MAX_LINES], sorted(widen), bool(complete),
                      len(record["connections"]))


def _lines(ace, flows: dict, widen: set) -> list:
    grouped: dict = {}
    for (proto, port), (sources, destinations) in sorted(flows.items(),
                                                         key=lambda i: (i[0][0], i[0][1])):
        srcs = _own(ace.sources) if "source" in widen else tuple(
            _address(n) for n in cidr_merge([IPAddress(a) for a in sources if _ip(a)]))
        dsts = _own(ace.destinations) if "destination" in widen else tuple(
            _address(n) for n in cidr_merge([IPAddress(a) for a in destinations if _ip(a)]))
        grouped.setdefault((proto, srcs, dsts), []).append(port)
    # The ACE's own options stay: a time-range limits when the traffic is permitted, and
    # logging is what made the traffic visible.
    options = ""
    if ace.log is not None:
        options += " log" + ("" if ace.log == "default" else f" {ace.log}")
    if ace.time_range:
        options += f" time-range {ace.time_range}"
    lines = []
    for (proto, srcs, dsts), ports in grouped.items():
        for clause in _ports(proto, sorted(set(ports))):
            for src in srcs:
                for dst in dsts:
                    lines.append(f"access-list {ace.acl} extended {ace.action} {proto} {src} "
                                 f"{dst}{clause}{options}")
    return lines


def _own(members: list) -> tuple:
    """The ACE's own networks for a field, as address clauses."""
    if any(address is None for address, _ in members):
        return ("any",)
    ranges = [IPRange(IPAddress(a.first, a.version), IPAddress(a.last, a.version))
              for a, _ in members if a.version]
    return tuple(_address(n) for n in cidr_merge([c for r in ranges for c in r.cidrs()]))


def _ip(text: str) -> bool:
    try:
        IPAddress(text)
        return True
    except Exception:
        return False
