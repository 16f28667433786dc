"""Expand parsed ACEs into rules: one rule per combination of object/object-group members.

A rule remembers the member path it came from (``members``), so the analysis can tell which
members of a group carried traffic, not only which ACE did.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from itertools import product
from typing import Optional

from netaddr import AddrFormatError, IPAddress, IPNetwork

from .asa.config import ConfigError, Definition, ParsedConfig
from .asa.grammar import (
    AnyProtocol,
    IcmpObject,
    NestedGroup,
    NetworkMember,
    NetworkRef,
    OtherLine,
    PortObject,
    ServiceObject,
    ServiceRef,
    Unreadable,
)
from .asa.literals import (
    ICMP,
    ICMP6,
    PROTOCOLS,
    TCP,
    UDP,
    icmp_type_number,
    is_icmp_type,
    port_number,
)
from .model import Address, Firewall, Ports

MAX_RULES_PER_ACE = 1_000_000
# A group's expansion is counted while it is built: nesting one group twice in the next, a
# few dozen lines can reach billions of members. And nesting deeper than this is not a config.
MAX_MEMBERS = 100_000
MAX_DEPTH = 64
LOCATED_RE = re.compile(r"\(\S+:\d+\)$")


@contextmanager
def located(where: str):
    """Errors raised while reading a member line name that line, unless they name one."""
    try:
        yield
    except ConfigError as exc:
        message = str(exc)
        if LOCATED_RE.search(message):
            raise
        raise ConfigError(f"{message} ({where})") from None


def builtin_service(name: str) -> Optional[list]:
    """ASA's predefined service objects: protocol names (``ospf``) and ``icmp-TYPE``."""
    if name == "ip":
        return [(None, None, None, None, [])]
    if name in PROTOCOLS:
        return [(PROTOCOLS[name], None, None, None, [])]
    for prefix, protocol in (("icmp6-", ICMP6), ("icmp-", ICMP)):
        if name.startswith(prefix) and is_icmp_type(name[len(prefix):], protocol):
            value = icmp_type_number(name[len(prefix):], protocol)
            return [(protocol, None, Ports(((value, value),), name[len(prefix):]), None, [])]
    return None
ANY4 = Address(4, 0, 2**32 - 1, "any4")
ANY6 = Address(6, 0, 2**128 - 1, "any6")


def expand_config(parsed: ParsedConfig) -> Firewall:
    """Fill every parsed ACE's ``rules``; ACEs that cannot be expanded get ``error`` instead."""
    firewall = parsed.firewall
    resolver = Resolver(parsed.definitions, firewall)
    firewall.groups = resolver.groups
    for acl in firewall.acls.values():
        index = 0
        for ace in acl.entries:
            spec = parsed.specs.get((acl.name, ace.line))
            if spec is None:
                continue
            try:
                ace.sources, ace.destinations, ace.services = resolver.expand(spec)
            except ConfigError as exc:
                ace.error = str(exc)
                firewall.warnings.append(f"{ace.source}: cannot expand ACE: {exc}")
                continue
            ace.first_index = index
            index += ace.rule_count
    return firewall


class Resolver:
    """Resolves names, objects and groups of one config; group expansions are memoised."""

    def __init__(self, definitions: dict, firewall: Firewall):
        self.definitions = definitions
        self.firewall = firewall
        self.memo: dict = {}
        self.stack: list = []          # the groups being expanded, outermost first
        # group -> {"header": its object-group line, "members": {label: member line}}
        self.groups: dict = {}

    def note_members(self, d: Definition, text: str, form, paths) -> None:
        """Remember which config line gave each member label of a group (for `prune`), and
        which groups it nests."""
        entry = self.groups.setdefault(d.name, {
            "header": f"object-group {d.kind} {d.name}" + (f" {d.protocol}" if d.protocol
                                                           else ""),
            "members": {}, "nested": []})
        if isinstance(form, NestedGroup) and form.name not in entry["nested"]:
            entry["nested"].append(form.name)
        for path in paths:
            if path:
                entry["members"].setdefault(path[0], text)

    # -- the ACE as a whole ----------------------------------------------------------------
    def expand(self, spec) -> tuple:
        """-> (sources, destinations, services): the ACE's rules are their product."""
        sources = spec.source.resolve(self)
        destinations = spec.destination.resolve(self)
        services = self.services(spec)
        total = len(sources) * len(destinations) * len(services)
        if total > MAX_RULES_PER_ACE:
            raise ConfigError(f"expands to {total} rules, above the limit of {MAX_RULES_PER_ACE}")
        return sources, destinations, services

    # -- what address forms resolve with ---------------------------------------------------
    @staticmethod
    def any_address(family: str) -> Optional[Address]:
        return {"any": None, "any4": ANY4, "any6": ANY6}[family]

    def ip(self, token: str) -> IPAddress:
        literal = self.firewall.names.get(token, token)
        try:
            return IPAddress(literal)
        except (AddrFormatError, ValueError):
            raise ConfigError(f"'{token}' is neither an address nor a defined name") from None

    def host(self, token: str) -> Address:
        ip = self.ip(token)
        return Address(ip.version, int(ip), int(ip), str(ip))

    def network(self, token: str, mask: str) -> Address:
        try:
            net = IPNetwork(f"{self.ip(token)}/{mask}")
        except (AddrFormatError, ValueError):
            raise ConfigError(f"bad network {token} {mask}") from None
        return _network_address(net)

    def prefix(self, token: str) -> Address:
        try:
            net = IPNetwork(token)
        except (AddrFormatError, ValueError):
            raise ConfigError(f"bad prefix {token}") from None
        return _network_address(net)

    def interface(self, nameif: str) -> list:
        iface = self.firewall.interfaces.get(nameif)
        if iface is not None and iface.dynamic and not iface.addresses:
            # DHCP/PPPoE: kept so the ACE is reported, matching nothing (like an fqdn)
            return [Address(0, 1, 0, f"interface {nameif} (address not in the config)")]
        if iface is None or not iface.addresses:
            raise ConfigError(f"interface '{nameif}' has no address in this config")
        return [self.host(a.split("/")[0]) for a in iface.addresses]

    def range(self, first: str, last: str) -> Address:
        a, b = self.ip(first), self.ip(last)
        if a.version != b.version or int(a) > int(b):
            raise ConfigError(f"bad range {first} {last}")
        return Address(a.version, int(a), int(b), f"{a}-{b}")

    def fqdn(self, name: str, where: str, owner: str) -> Address:
        self.firewall.warnings.append(
            f"{where}: fqdn '{name}' cannot be resolved offline; rules using object "
            f"'{owner}' match nothing")
        return Address(0, 1, 0, f"fqdn {name}")

    # -- what port forms resolve with ------------------------------------------------------
    @staticmethod
    def port_range(op: str, values: list, where: str, protocol: Optional[int]) -> Ports:
        return port_range(op, values, where, protocol)

    @staticmethod
    def icmp_ports(token: str, protocol: Optional[int]) -> Ports:
        value = _icmp_type(token, protocol)
        return Ports(((value, value),), token)

    # -- definitions -----------------------------------------------------------------------
    def lookup(self, name: str, kind: str, group: bool, where: str = "") -> Definition:
        definition = self.definitions.get(name)
        what = ("object-group " if group else "object ") + kind
        if definition is None:
            raise ConfigError(f"{what} '{name}' is not defined" + (f" ({where})" if where else ""))
        if definition.kind != kind or definition.is_group != group:
            raise ConfigError(f"'{name}' is not an {what} ({definition.where})")
        return definition

    def memoised(self, key: tuple, compute):
        """A group's expansion, computed once (cycles are found by ``members``' stack)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def members(self, d: Definition, read, what: str, label_of=None) -> list:
        """Each member line of ``d`` read by ``read(form, where)`` -> entries; errors name the
        line, unreadable lines say ``cannot read <what> line``; a group's members are noted
        for `prune` (``label_of(entry)`` gives an entry's member path)."""
        if d.name in self.stack:
            raise ConfigError(f"'{d.name}' contains itself (a cycle of group-object "
                              f"references, {d.where})")
        if len(self.stack) >= MAX_DEPTH:
            raise ConfigError(f"object-groups nested more than {MAX_DEPTH} deep at '{d.name}' "
                              f"({d.where})")
        self.stack.append(d.name)
        try:
            result: list = []
            for form, where, text in d.members:
                with located(where):
                    if isinstance(form, Unreadable):
                        form.fail()
                    if isinstance(form, OtherLine):
                        raise ConfigError(f"cannot read {what} line: {form.text}")
                    entries = read(form, where)
                if d.is_group:
                    self.note_members(d, text, form, [label_of(e) for e in entries])
                result.extend(entries)
                if len(result) > MAX_MEMBERS:
                    raise ConfigError(f"'{d.name}' expands to more than {MAX_MEMBERS} members "
                                      f"({d.where})")
            return result
        finally:
            self.stack.pop()

    def network_definition(self, name: str, group: bool) -> list:
        definition = self.lookup(name, "network", group)
        return self.memoised(("network", name, group), lambda: self._network_members(definition))

    def _network_members(self, d: Definition) -> list:
        def read(form, where):
            if isinstance(form, NestedGroup):
                return NetworkRef(form.name, True).resolve(self)
            if isinstance(form, NetworkMember):
                inner = form.form
                if isinstance(inner, NetworkRef):
                    return inner.resolve(self)
                return [(address, [inner.label(address)]) for address, _ in inner.resolve(self)]
            return form.resolve(self)      # an object network's own host/subnet/range/fqdn
        result = _first_of_each(
            self.members(d, read, "network group" if d.is_group else "object network",
                         lambda entry: entry[1]),
            lambda entry: entry[0] and (entry[0].version, entry[0].first, entry[0].last))
        if not result:
            raise ConfigError(f"'{d.name}' has no members ({d.where})")
        return result

    # -- services --------------------------------------------------------------------------
    def services(self, spec) -> list:
        """-> [(protocol or None, source Ports, destination Ports, icmp code, member paths)]

        The member paths are a dict per field: "protocol" (a protocol group), "source_port"
        (a port group after the source) and "service" (a service object or group, or the
        destination's port or icmp-type group)."""
        protocol = spec.protocol
        if isinstance(protocol, ServiceRef):
            name = protocol.name
            definition = self.definitions.get(name)
            if definition is not None and definition.kind == "service" \
                    and not definition.is_port_group:
                if spec.source_port or spec.destination_port:
                    raise ConfigError(f"service '{name}' is the protocol: no port clause may "
                                      "follow")
                entries = self.service_definition(name, definition.is_group)
                return [(p, sp, dp, c, {"service": [name] + path})
                        for p, sp, dp, c, path in entries]
            builtin = builtin_service(name)
            if protocol.group:
                protocols = [(p, [name] + path) for p, path in self.protocol_group(name)]
            elif definition is None and builtin is not None:
                if spec.source_port or spec.destination_port:
                    raise ConfigError(f"service '{name}' is the protocol: no port clause may "
                                      "follow")
                return [(p, sp, dp, c, {"service": [name]}) for p, sp, dp, c, _ in builtin]
            else:
                raise ConfigError(f"object service '{name}' is not defined")
        elif isinstance(protocol, AnyProtocol):
            protocols = [(None, [])]
        else:
            protocols = [(protocol.number, [])]
        result = []
        for number, proto_path in protocols:
            sources = self.ports(spec.source_port, number)
            destinations = self.ports(spec.destination_port, number)
            for (sport, _, sport_path), (dport, code, dport_path) in product(sources,
                                                                              destinations):
                paths = {"protocol": proto_path, "source_port": sport_path,
                         "service": dport_path}
                result.append((number, sport, dport, code,
                               {field: path for field, path in paths.items() if path}))
        return result

    def protocol_group(self, name: str) -> list:
        definition = self.lookup(name, "protocol", True)

        def read(form, where):
            if isinstance(form, NestedGroup):
                return [(p, [form.name] + path) for p, path in self.protocol_group(form.name)]
            return [(form.protocol, [form.token])]
        return self.memoised(("protocol", name, True), lambda: self.members(
            definition, read, "protocol group", lambda entry: entry[1]))

    def ports(self, form, protocol: Optional[int]) -> list:
        """-> [(Ports or None, icmp code, member path)] for one side of an ACE."""
        if form is None:
            return [(None, None, [])]
        return form.resolve(self, protocol)

    def port_group(self, name: str) -> list:
        definition = self.lookup(name, "service", True)
        # a tcp or udp group's names must be valid for its protocol
        protocol = {"tcp": TCP, "udp": UDP}.get(definition.protocol or "")

        def read(form, where):
            if isinstance(form, PortObject):
                ports = form.port.ports(self, protocol)
                return [(ports, [ports.text])]
            if isinstance(form, NestedGroup):
                return [(p, [form.name] + path) for p, path in self.port_group(form.name)]
            raise ConfigError(f"'{name}' is not a port group: it has service-object lines")
        return self.memoised(("ports", name, True), lambda: self.members(
            definition, read, "port group", lambda entry: entry[1]))

    def icmp_group(self, name: str, protocol: Optional[int]) -> list:
        definition = self.lookup(name, "icmp-type", True)

        def read(form, where):
            if isinstance(form, IcmpObject):
                return [(self.icmp_ports(form.token, protocol), None, [form.token])]
            return [(p, c, [form.name] + path) for p, c, path in
                    self.icmp_group(form.name, protocol)]
        return self.members(definition, read, "icmp-type group", lambda entry: entry[2])

    def service_definition(self, name: str, group: bool) -> list:
        builtin = builtin_service(name)
        if not group and name not in self.definitions and builtin is not None:
            return builtin
        definition = self.lookup(name, "service", group)
        return self.memoised(("service", name, group), lambda: self._service_members(definition))

    def _service_members(self, d: Definition) -> list:
        def read(form, where):
            if isinstance(form, ServiceObject):
                inner = form.form
                if isinstance(inner, Unreadable):
                    inner.fail()
                if isinstance(inner, OtherLine):
                    raise ConfigError(f"cannot read service line: {inner.text}")
                if isinstance(inner, ServiceRef):
                    return [(p, sp, dp, c, [inner.name] + path) for p, sp, dp, c, path in
                            self.service_definition(inner.name, group=False)]
                return [(p, sp, dp, c, [inner.text]) for p, sp, dp, c, _ in
                        inner.resolve(self, where)]
            if isinstance(form, PortObject):
                # in a group declared without a protocol, bare ports mean tcp and udp
                protocols = {"tcp": [TCP], "udp": [UDP]}.get(d.protocol or "", [TCP, UDP])
                ports = form.port.ports(self, None)
                return [(p, None, ports, None, [ports.text]) for p in protocols]
            if isinstance(form, NestedGroup):
                if d.is_port_group:
                    return [(p, None, ports, None, [form.name] + path)
                            for p in {"tcp": [TCP], "udp": [UDP]}.get(d.protocol or "",
                                                                      [TCP, UDP])
                            for ports, path in self.port_group(form.name)]
                return [(p, sp, dp, c, [form.name] + path) for p, sp, dp, c, path in
                        self.service_definition(form.name, group=True)]
            return form.resolve(self, where)       # an object service's `service` clause
        result = _first_of_each(self.members(d, read, "service", lambda entry: entry[4]),
                                lambda entry: (entry[0], entry[1] and entry[1].ranges,
                                               entry[2] and entry[2].ranges, entry[3]))
        if not result:
            raise ConfigError(f"service '{d.name}' has no members ({d.where})")
        return result


def port_range(op: str, values: list, where: str = "", protocol: Optional[int] = None) -> Ports:
    """``eq|neq|lt|gt|range`` with port literals -> inclusive ranges (lt/gt are strict); with
    a ``protocol``, names must be valid for it."""
    try:
        numbers = [port_number(v, protocol) for v in values]
        if op == "range":
            lo, hi = numbers[0], numbers[1]
            if lo > hi:
                raise ValueError(f"empty range {lo} {hi}")
            ranges: tuple = ((lo, hi),)
        else:
            p = numbers[0]
            ranges = {"eq": ((p, p),), "lt": ((0, p - 1),), "gt": ((p + 1, 65535),),
                      "neq": ((0, p - 1), (p + 1, 65535))}[op]
            ranges = tuple(r for r in ranges if r[0] <= r[1])
        if not ranges:
            raise ValueError(f"'{op} {' '.join(values)}' matches no port")
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"{exc or 'bad port clause'}" + (f" ({where})" if where else "")) \
            from None
    return Ports(ranges, f"{op} {' '.join(values)}")


def _first_of_each(entries: list, value) -> list:
    """A group's members without those that a nested group repeats (a host in a group and
    again in a group nested in it): they count once, under their first path, so a repeat that
    can never be the first match is not reported as an unused member. Two lines of the group
    itself with one value are kept: the second is a duplicate line worth seeing."""
    seen: set = set()
    kept = []
    for entry in entries:
        key = value(entry)
        if key in seen and len(entry[-1]) > 1:     # reached through a nested group
            continue
        seen.add(key)
        kept.append(entry)
    return kept


def _icmp_type(token: str, protocol: Optional[int]) -> int:
    try:
        return icmp_type_number(token, protocol or ICMP)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _network_address(net: IPNetwork) -> Address:
    net = net.cidr
    bits = 32 if net.version == 4 else 128
    text = str(net.ip) if net.prefixlen == bits else str(net)
    return Address(net.version, net.first, net.last, text)
