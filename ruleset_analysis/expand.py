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

from .asa.config import PORT_OPERATORS, ConfigError, Definition, ParsedConfig
from .asa.literals import (
    ICMP,
    ICMP6,
    PROTOCOLS,
    TCP,
    UDP,
    icmp_type_number,
    is_icmp_type,
    port_number,
    protocol_number,
)
from .model import Address, Firewall, Ports

MAX_RULES_PER_ACE = 1_000_000
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
        # group -> {"header": its object-group line, "members": {label: member line}}
        self.groups: dict = {}

    def note_members(self, group: str, t: list, paths) -> None:
        """Remember which config line gave each member label of a group (for `prune`)."""
        d = self.definitions[group]
        entry = self.groups.setdefault(group, {
            "header": f"object-group {d.kind} {group}" + (f" {d.protocol}" if d.protocol
                                                          else ""),
            "members": {}})
        for path in paths:
            if path:
                entry["members"].setdefault(path[0], " ".join(t))

    # -- the ACE as a whole ----------------------------------------------------------------
    def expand(self, spec) -> tuple:
        """-> (sources, destinations, services): the ACE's rules are their product."""
        sources = self.addresses(spec.source)
        destinations = self.addresses(spec.destination)
        services = self.services(spec)
        total = len(sources) * len(destinations) * len(services)
        if total > MAX_RULES_PER_ACE:
            raise ConfigError(f"expands to {total} rules, above the limit of {MAX_RULES_PER_ACE}")
        return sources, destinations, services

    # -- addresses -------------------------------------------------------------------------
    def addresses(self, spec: tuple) -> list:
        """-> [(Address or None for any, member path)]"""
        kind = spec[0]
        if kind == "any":
            return [(None, [])]
        if kind == "any4":
            return [(ANY4, [])]
        if kind == "any6":
            return [(ANY6, [])]
        if kind == "host":
            return [(self.host(spec[1]), [])]
        if kind == "mask":
            return [(self.network(spec[1], spec[2]), [])]
        if kind == "prefix":
            return [(self.prefix(spec[1]), [])]
        if kind == "interface":
            return [(address, []) for address in self.interface(spec[1])]
        if kind == "object":
            return [(address, [spec[1]] + path)
                    for address, path in self.network_definition(spec[1], group=False)]
        if kind == "object-group":
            return [(address, [spec[1]] + path)
                    for address, path in self.network_definition(spec[1], group=True)]
        raise ConfigError(f"unknown address form {spec}")

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
        if iface is None or not iface.addresses:
            raise ConfigError(f"interface '{nameif}' has no address in this config")
        return [self.host(a.split("/")[0]) for a in iface.addresses]

    def range(self, first: str, last: str) -> Address:
        a, b = self.ip(first), self.ip(last)
        if a.version != b.version or int(a) > int(b):
            raise ConfigError(f"bad range {first} {last}")
        return Address(a.version, int(a), int(b), f"{a}-{b}")

    def lookup(self, name: str, kind: str, group: bool, where: str = "") -> Definition:
        definition = self.definitions.get(name)
        what = ("object-group " if group else "object ") + kind
        if definition is None:
            raise ConfigError(f"{what} '{name}' is not defined" + (f" ({where})" if where else ""))
        if definition.kind != kind or definition.is_group != group:
            raise ConfigError(f"'{name}' is not an {what} ({definition.where})")
        return definition

    def memoised(self, key: tuple, compute):
        if key in self.memo:
            value = self.memo[key]
            if value is None:
                raise ConfigError(f"'{key[1]}' contains itself (a cycle of group-object "
                                  f"references, {self.definitions[key[1]].where})")
            return value
        self.memo[key] = None          # marks "being expanded": detects cycles
        try:
            value = compute()
        except ConfigError:
            del self.memo[key]
            raise
        self.memo[key] = value
        return value

    def network_definition(self, name: str, group: bool) -> list:
        definition = self.lookup(name, "network", group)
        return self.memoised(("network", name, group), lambda: self._network_members(definition))

    def _network_members(self, d: Definition) -> list:
        result = []
        for t, where in d.members:
            with located(where):
                entries = self._network_member(d, t, where)
            if d.is_group:
                self.note_members(d.name, t, [path for _, path in entries])
            result.extend(entries)
        if not result:
            raise ConfigError(f"'{d.name}' has no members ({d.where})")
        return result

    def _network_member(self, d: Definition, t: list, where: str) -> list:
        if not d.is_group:                       # object network: host | subnet | range | fqdn
            if t[0] == "host" and len(t) == 2:
                return [(self.host(t[1]), [])]
            if t[0] == "subnet" and len(t) == 3:
                return [(self.network(t[1], t[2]), [])]
            if t[0] == "subnet" and len(t) == 2:
                return [(self.prefix(t[1]), [])]
            if t[0] == "range" and len(t) == 3:
                return [(self.range(t[1], t[2]), [])]
            if t[0] == "fqdn":
                name = t[-1]
                self.firewall.warnings.append(
                    f"{where}: fqdn '{name}' cannot be resolved offline; rules using object "
                    f"'{d.name}' match nothing")
                return [(Address(0, 1, 0, f"fqdn {name}"), [])]
            raise ConfigError(f"cannot read object network line: {' '.join(t)}")
        if t[0] == "network-object" and len(t) >= 2:
            form = t[1]
            if form == "host" and len(t) == 3:
                return [(self.host(t[2]), [t[2]])]
            if form == "object" and len(t) == 3:
                return [(a, [t[2]] + p) for a, p in self.network_definition(t[2], group=False)]
            if len(t) == 3:
                address = self.network(t[1], t[2])
                return [(address, [address.text])]
            if len(t) == 2 and "/" in form:
                address = self.prefix(form)
                return [(address, [address.text])]
        if t[0] == "group-object" and len(t) == 2:
            return [(a, [t[1]] + p) for a, p in self.network_definition(t[1], group=True)]
        raise ConfigError(f"cannot read network group line: {' '.join(t)}")

    # -- services --------------------------------------------------------------------------
    def services(self, spec) -> list:
        """-> [(protocol or None, source Ports, destination Ports, icmp code, member paths)]

        The member paths are a dict per field: "protocol" (a protocol group), "source_port"
        (a port group after the source) and "service" (a service object or group, or the
        destination's port or icmp-type group)."""
        kind = spec.protocol[0]
        if kind in ("object", "object-group"):
            name = spec.protocol[1]
            definition = self.definitions.get(name)
            if definition is not None and definition.kind == "service" \
                    and not definition.is_port_group:
                if spec.source_port or spec.destination_port:
                    raise ConfigError(f"service '{name}' is the protocol: no port clause may "
                                      "follow")
                entries = self.service_definition(name, definition.is_group)
                return [(p, sp, dp, c, {"service": [name] + path})
                        for p, sp, dp, c, path in entries]
            if kind == "object-group":
                protocols = [(p, [name] + path) for p, path in self.protocol_group(name)]
            elif definition is None and builtin_service(name) is not None:
                if spec.source_port or spec.destination_port:
                    raise ConfigError(f"service '{name}' is the protocol: no port clause may "
                                      "follow")
                return [(p, sp, dp, c, {"service": [name]})
                        for p, sp, dp, c, _ in builtin_service(name) or ()]
            else:
                raise ConfigError(f"object service '{name}' is not defined")
        elif kind == "ip":
            protocols = [(None, [])]
        else:
            protocols = [(spec.protocol[1], [])]
        result = []
        for protocol, proto_path in protocols:
            sources = self.ports(spec.source_port, protocol)
            destinations = self.ports(spec.destination_port, protocol)
            for (sport, _, sport_path), (dport, code, dport_path) in product(sources,
                                                                              destinations):
                paths = {"protocol": proto_path, "source_port": sport_path,
                         "service": dport_path}
                result.append((protocol, sport, dport, code,
                               {field: path for field, path in paths.items() if path}))
        return result

    def protocol_group(self, name: str) -> list:
        definition = self.lookup(name, "protocol", True)

        def members():
            result = []
            for t, where in definition.members:
                with located(where):
                    if t[0] == "protocol-object" and len(t) == 2:
                        entries = [(None if t[1] == "ip" else self._protocol(t[1], where),
                                    [t[1]])]
                    elif t[0] == "group-object" and len(t) == 2:
                        entries = [(p, [t[1]] + path) for p, path in self.protocol_group(t[1])]
                    else:
                        raise ConfigError(f"cannot read protocol group line: {' '.join(t)}")
                self.note_members(name, t, [path for _, path in entries])
                result.extend(entries)
            return result
        return self.memoised(("protocol", name, True), members)

    @staticmethod
    def _protocol(token: str, where: str) -> int:
        try:
            return protocol_number(token)
        except ValueError as exc:
            raise ConfigError(f"{exc} ({where})") from None

    def ports(self, spec: Optional[tuple], protocol: Optional[int]) -> list:
        """-> [(Ports or None, icmp code, member path)] for one side of an ACE."""
        if spec is None:
            return [(None, None, [])]
        if spec[0] == "icmp":
            value = _icmp_type(spec[1], protocol)
            return [(Ports(((value, value),), spec[1]), spec[2], [])]
        if spec[0] == "icmp-group":
            return [(p, c, [spec[1]] + path) for p, c, path in self.icmp_group(spec[1], protocol)]
        if protocol not in (TCP, UDP, None):
            raise ConfigError("a port clause needs protocol tcp or udp")
        if spec[0] == "op":
            return [(port_range(spec[1], spec[2], protocol=protocol), None, [])]
        return [(ports, None, [spec[1]] + path) for ports, path in self.port_group(spec[1])]

    def port_group(self, name: str) -> list:
        definition = self.lookup(name, "service", True)

        def members():
            result = []
            for t, where in definition.members:
                with located(where):
                    if t[0] == "port-object" and len(t) >= 3 and t[1] in PORT_OPERATORS:
                        # a tcp or udp group's names must be valid for its protocol
                        ports = port_range(t[1], t[2:], protocol={"tcp": TCP, "udp": UDP}.get(
                            definition.protocol or ""))
                        entries = [(ports, [ports.text])]
                    elif t[0] == "group-object" and len(t) == 2:
                        entries = [(p, [t[1]] + path) for p, path in self.port_group(t[1])]
                    elif t[0] == "service-object":
                        raise ConfigError(f"'{name}' is not a port group: it has service-object "
                                          "lines")
                    else:
                        raise ConfigError(f"cannot read port group line: {' '.join(t)}")
                self.note_members(name, t, [path for _, path in entries])
                result.extend(entries)
            return result
        return self.memoised(("ports", name, True), members)

    def icmp_group(self, name: str, protocol: Optional[int]) -> list:
        definition = self.lookup(name, "icmp-type", True)
        result = []
        for t, where in definition.members:
            with located(where):
                if t[0] == "icmp-object" and len(t) == 2:
                    value = _icmp_type(t[1], protocol)
                    entries = [(Ports(((value, value),), t[1]), None, [t[1]])]
                elif t[0] == "group-object" and len(t) == 2:
                    entries = [(p, c, [t[1]] + path) for p, c, path in
                               self.icmp_group(t[1], protocol)]
                else:
                    raise ConfigError(f"cannot read icmp-type group line: {' '.join(t)}")
            self.note_members(name, t, [path for _, _, path in entries])
            result.extend(entries)
        return result

    def service_definition(self, name: str, group: bool) -> list:
        builtin = builtin_service(name)
        if not group and name not in self.definitions and builtin is not None:
            return builtin
        definition = self.lookup(name, "service", group)
        return self.memoised(("service", name, group), lambda: self._service_members(definition))

    def _service_members(self, d: Definition) -> list:
        result = []
        for t, where in d.members:
            with located(where):
                entries = self._service_member(d, t, where)
            if d.is_group:
                self.note_members(d.name, t, [path for _, _, _, _, path in entries])
            result.extend(entries)
        if not result:
            raise ConfigError(f"service '{d.name}' has no members ({d.where})")
        return result

    def _service_member(self, d: Definition, t: list, where: str) -> list:
        if not d.is_group and t[0] == "service":
            return self.service_clause(t[1:], where)
        if d.is_group and t[0] == "service-object" and len(t) >= 2:
            if t[1] == "object" and len(t) == 3:
                return [(p, sp, dp, c, [t[2]] + path) for p, sp, dp, c, path in
                        self.service_definition(t[2], group=False)]
            label = " ".join(t[1:])
            return [(p, sp, dp, c, [label]) for p, sp, dp, c, _ in
                    self.service_clause(t[1:], where)]
        if d.is_group and t[0] == "port-object" and len(t) >= 3 and t[1] in PORT_OPERATORS:
            # in a group declared without a protocol, bare ports mean tcp and udp
            protocols = {"tcp": [TCP], "udp": [UDP]}.get(d.protocol or "", [TCP, UDP])
            ports = port_range(t[1], t[2:])
            return [(p, None, ports, None, [ports.text]) for p in protocols]
        if d.is_group and t[0] == "group-object" and len(t) == 2:
            if d.is_port_group:
                return [(p, None, ports, None, [t[1]] + path)
                        for p in {"tcp": [TCP], "udp": [UDP]}.get(d.protocol or "", [TCP, UDP])
                        for ports, path in self.port_group(t[1])]
            return [(p, sp, dp, c, [t[1]] + path) for p, sp, dp, c, path in
                    self.service_definition(t[1], group=True)]
        raise ConfigError(f"cannot read service line: {' '.join(t)}")

    def service_clause(self, t: list, where: str) -> list:
        """``PROTO [source OP P] [[destination] OP P]`` or ``icmp [TYPE [CODE]]``."""
        if not t:
            raise ConfigError(f"empty service ({where})")
        protocols: list
        if t[0] == "tcp-udp":
            protocols = [TCP, UDP]
        elif t[0] == "ip":
            protocols = [None]
        else:
            protocols = [self._protocol(t[0], where)]
        rest = t[1:]
        results: list = []
        for protocol in protocols:
            if protocol in (ICMP, ICMP6):
                code = None
                dport = None
                if rest:
                    value = _icmp_type(rest[0], protocol)
                    dport = Ports(((value, value),), rest[0])
                    if len(rest) >= 2 and rest[1].isdigit():
                        code = int(rest[1])
                results.append((protocol, None, dport, code, []))
                continue
            sport = dport = None
            i = 0
            while i < len(rest):
                side = "destination"
                if rest[i] in ("source", "destination"):
                    side = rest[i]
                    i += 1
                if i >= len(rest) or rest[i] not in PORT_OPERATORS:
                    raise ConfigError(f"cannot read service ports: {' '.join(t)} ({where})")
                count = 3 if rest[i] == "range" else 2
                ports = port_range(rest[i], rest[i + 1:i + count], where, protocol)
                i += count
                if side == "source":
                    sport = ports
                else:
                    dport = ports
            results.append((protocol, sport, dport, None, []))
        return results


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
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"{exc or 'bad port clause'}" + (f" ({where})" if where else "")) \
            from None
    return Ports(ranges, f"{op} {' '.join(values)}")


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
