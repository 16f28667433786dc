"""The ASA's ACE and object grammar as typed forms: one small frozen class per syntactic form.

The parser (``config.py``) builds them, member lines of objects and groups included; each form
resolves itself against a resolution context (``expand.Resolver``: names, interfaces,
definitions, memoised groups), in the way Batfish's structures resolve themselves. A form
that could not be read is an ``Unreadable`` carrying the message, raised only if an ACE uses
it (a broken line in an unused group is not an error, as on the device).

Resolution results:
  addresses  [(Address or None for any, member path)]
  ports      [(Ports or None, icmp code, member path)]
  protocols  [(protocol number or None for ip, member path)]
  services   [(protocol, source Ports, destination Ports, icmp code, member path)]
A member path is the chain of names that led to the value (outermost group first).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from .literals import ICMP, ICMP6, TCP, UDP, protocol_number

Path = List[str]


class ConfigError(ValueError):
    """A config construct that cannot be understood; carries the file:line where it is."""


# -- addresses -----------------------------------------------------------------------------
@dataclass(frozen=True)
class AnyAddress:
    """``any`` (both families), ``any4`` or ``any6``."""
    family: str

    def resolve(self, ctx: Any) -> list:
        return [(ctx.any_address(self.family), [])]


@dataclass(frozen=True)
class Host:
    """``host A`` (A an address or a ``name``)."""
    token: str

    def resolve(self, ctx: Any) -> list:
        return [(ctx.host(self.token), [])]

    def label(self, address: Any) -> str:
        return self.token


@dataclass(frozen=True)
class Network:
    """``A MASK``."""
    token: str
    mask: str

    def resolve(self, ctx: Any) -> list:
        return [(ctx.network(self.token, self.mask), [])]

    def label(self, address: Any) -> str:
        return str(address.text)


@dataclass(frozen=True)
class Prefix:
    """``A/LEN`` (IPv6, and IPv4 in objects)."""
    text: str

    def resolve(self, ctx: Any) -> list:
        return [(ctx.prefix(self.text), [])]

    def label(self, address: Any) -> str:
        return str(address.text)


@dataclass(frozen=True)
class AddressRange:
    """``range A B`` in an object network."""
    first: str
    last: str

    def resolve(self, ctx: Any) -> list:
        return [(ctx.range(self.first, self.last), [])]


@dataclass(frozen=True)
class Fqdn:
    """``fqdn [v4|v6] NAME`` in an object network: not resolvable offline."""
    name: str
    where: str
    owner: str

    def resolve(self, ctx: Any) -> list:
        return [(ctx.fqdn(self.name, self.where, self.owner), [])]


@dataclass(frozen=True)
class InterfaceAddress:
    """``interface NAMEIF``: the interface's own addresses."""
    nameif: str

    def resolve(self, ctx: Any) -> list:
        return [(address, []) for address in ctx.interface(self.nameif)]


@dataclass(frozen=True)
class NetworkRef:
    """``object NAME`` / ``object-group NAME`` in an address position."""
    name: str
    group: bool

    def resolve(self, ctx: Any) -> list:
        return [(address, [self.name] + path)
                for address, path in ctx.network_definition(self.name, self.group)]


# -- ports and ICMP types ------------------------------------------------------------------
@dataclass(frozen=True)
class PortOp:
    """``eq|neq|lt|gt|range P [P]``; names resolve against the protocol."""
    op: str
    values: Tuple[str, ...]

    def ports(self, ctx: Any, protocol: Optional[int], where: str = "") -> Any:
        return ctx.port_range(self.op, list(self.values), where, protocol)

    def resolve(self, ctx: Any, protocol: Optional[int]) -> list:
        if protocol not in (TCP, UDP, None):
            raise ConfigError("a port clause needs protocol tcp or udp")
        return [(self.ports(ctx, protocol), None, [])]


@dataclass(frozen=True)
class PortGroupRef:
    """``object-group NAME`` of a port group (``object-group service NAME tcp``)."""
    name: str

    def resolve(self, ctx: Any, protocol: Optional[int]) -> list:
        if protocol not in (TCP, UDP, None):
            raise ConfigError("a port clause needs protocol tcp or udp")
        return [(ports, None, [self.name] + path) for ports, path in ctx.port_group(self.name)]


@dataclass(frozen=True)
class IcmpType:
    """``TYPE [CODE]`` after an ICMP destination."""
    token: str
    code: Optional[int] = None

    def resolve(self, ctx: Any, protocol: Optional[int]) -> list:
        return [(ctx.icmp_ports(self.token, protocol), self.code, [])]


@dataclass(frozen=True)
class IcmpGroupRef:
    """``object-group NAME`` of an icmp-type group."""
    name: str

    def resolve(self, ctx: Any, protocol: Optional[int]) -> list:
        return [(p, c, [self.name] + path) for p, c, path in ctx.icmp_group(self.name, protocol)]


# -- protocols -----------------------------------------------------------------------------
@dataclass(frozen=True)
class AnyProtocol:
    """``ip``."""


@dataclass(frozen=True)
class ProtocolNumber:
    """A protocol name or number."""
    number: int


@dataclass(frozen=True)
class ServiceRef:
    """``object NAME`` / ``object-group NAME`` in the protocol position: a service object or
    group (which then is the whole service), or a protocol group."""
    name: str
    group: bool


# -- member lines of objects and groups ----------------------------------------------------
@dataclass(frozen=True)
class Unreadable:
    """A member line that could not be read; the message is raised where it is used."""
    message: str

    def fail(self) -> Any:
        raise ConfigError(self.message)


@dataclass(frozen=True)
class OtherLine:
    """A member line that is none of its kind's forms: ``cannot read <kind> line: <text>``,
    said where an ACE uses the group (the kind depends on how the group is used)."""
    text: str


@dataclass(frozen=True)
class ServiceObject:
    """``service-object ...``: a ServiceRef, ServiceClause or Unreadable."""
    form: Any


@dataclass(frozen=True)
class NestedGroup:
    """``group-object NAME``."""
    name: str


@dataclass(frozen=True)
class NetworkMember:
    """``network-object host A | A MASK | A/LEN | object NAME`` (a group's literal members
    are labelled by their text; references by their name)."""
    form: Any


@dataclass(frozen=True)
class ProtocolObject:
    """``protocol-object NAME`` (``ip`` for any)."""
    protocol: Optional[int]
    token: str


@dataclass(frozen=True)
class PortObject:
    """``port-object OP P [P]``."""
    port: PortOp


@dataclass(frozen=True)
class IcmpObject:
    """``icmp-object TYPE``."""
    token: str


@dataclass(frozen=True)
class ServiceClause:
    """``PROTO [source OP P] [[destination] OP P]`` or ``icmp [TYPE [CODE]]``, as in
    ``service-object`` lines and ``object service`` bodies."""
    text: str
    protocols: Tuple[Optional[int], ...]
    source: Optional[PortOp] = None
    destination: Optional[PortOp] = None
    icmp: Optional[IcmpType] = None

    def resolve(self, ctx: Any, where: str) -> list:
        results: list = []
        for protocol in self.protocols:
            if protocol in (ICMP, ICMP6):
                dport = ctx.icmp_ports(self.icmp.token, protocol) if self.icmp else None
                results.append((protocol, None, dport, self.icmp.code if self.icmp else None,
                                []))
                continue
            sport = self.source.ports(ctx, protocol, where) if self.source else None
            dport = self.destination.ports(ctx, protocol, where) if self.destination else None
            results.append((protocol, sport, dport, None, []))
        return results


PORT_OPERATORS = ("eq", "neq", "lt", "gt", "range")


def service_clause(t: list, where: str) -> Any:
    """A service clause's tokens -> ServiceClause, or Unreadable with the device's message."""
    if not t:
        return Unreadable(f"empty service ({where})")
    if t[0] == "tcp-udp":
        protocols: Tuple[Optional[int], ...] = (TCP, UDP)
    elif t[0] == "ip":
        protocols = (None,)
    else:
        try:
            protocols = (protocol_number(t[0]),)
        except ValueError as exc:
            return Unreadable(f"{exc} ({where})")
    rest = t[1:]
    if protocols[0] in (ICMP, ICMP6):
        icmp = None
        if rest:
            icmp = IcmpType(rest[0], int(rest[1]) if len(rest) >= 2 and rest[1].isdigit()
                            else None)
        return ServiceClause(" ".join(t), protocols, icmp=icmp)
    sides = {}
    i = 0
    while i < len(rest):
        side = "destination"
        if rest[i] in ("source", "destination"):
            side = rest[i]
            i += 1
        if i >= len(rest) or rest[i] not in PORT_OPERATORS:
            return Unreadable(f"cannot read service ports: {' '.join(t)} ({where})")
        count = 3 if rest[i] == "range" else 2
        sides[side] = PortOp(rest[i], tuple(rest[i + 1:i + count]))
        i += count
    return ServiceClause(" ".join(t), protocols, sides.get("source"),
                         sides.get("destination"))
