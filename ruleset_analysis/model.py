"""The vendor-neutral vocabulary: firewalls, ACLs, ACEs, expanded rules and connections.

Vendor parsers (``ruleset_analysis.asa``) produce these; the expander, matcher, job and reports
consume them. Everything here serialises to plain JSON-able lists/dicts (``to_json``/``from_json``)
because the database shipped to cluster tasks must never be unpickled.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
from dataclasses import dataclass, field
from sys import intern
from typing import Any, Callable, NamedTuple, Optional


@dataclass(frozen=True)
class Address:
    """An inclusive range of addresses of one IP version, with the text an engineer reads.

    ``version`` 0 marks an address that cannot be resolved offline (an ``fqdn`` object): it is
    kept so the rule is reported, and it matches nothing.
    """
    version: int
    first: int
    last: int
    text: str

    def contains(self, version: int, value: int) -> bool:
        return self.version == version and self.first <= value <= self.last

    def to_json(self) -> list:
        return [self.version, self.first, self.last, self.text]

    @classmethod
    def from_json(cls, data: list) -> "Address":
        return _address(*data)


@dataclass(frozen=True)
class Ports:
    """A set of port (or ICMP type) ranges, inclusive, with its ASA text (``eq www``)."""
    ranges: tuple
    text: str

    def contains(self, value: int) -> bool:
        return any(lo <= value <= hi for lo, hi in self.ranges)

    def to_json(self) -> list:
        return [[list(r) for r in self.ranges], self.text]

    @classmethod
    def from_json(cls, data: list) -> "Ports":
        return _ports(tuple(tuple(r) for r in data[0]), data[1])


@contextlib.contextmanager
def collector_paused():
    """Build a large, long-lived structure (a loaded ruleset, its index) without the cyclic
    garbage collector rescanning it at every allocation threshold: half the start-up at a
    million rules. Also a decorator."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@functools.lru_cache(maxsize=1 << 16)
def _address(version: int, first: int, last: int, text: str) -> Address:
    """One object per address however many ACEs name it (a group's members appear in every
    ACE that uses the group): loading a large ruleset builds each once."""
    return Address(version, first, last, text)


@functools.lru_cache(maxsize=1 << 16)
def _ports(ranges: tuple, text: str) -> Ports:
    """One object per port set however many services hold it (a service group's ports appear
    in every ACE that uses it): its text, its tuples and their integers held once."""
    return Ports(ranges, text)


@functools.lru_cache(maxsize=1 << 17)
def _member(address: Optional[tuple], path: Optional[tuple]) -> tuple:
    """One (Address or None, member path) pair per member however many ACEs hold it (the
    members of a group every ACE using it holds); a path None or empty stays so."""
    return (_opt(address, Address.from_json), _path(*path) if path else
            None if path is None else [])


def _hashable(member: list) -> tuple:
    """A member as stored ([address or None, path or None]) as _member's cache takes it."""
    address, path = member
    return (address and tuple(address), path if path is None else tuple(path))


@functools.lru_cache(maxsize=1 << 16)
def _path(*names: str) -> list:
    """One list per member path however many ACEs hold it (every ACE using a group holds its
    members' paths): never changed once loaded."""
    return list(names)


def json_bytes(value: Any, sort_keys: bool = False) -> bytes:
    """``value`` as compact JSON, through orjson (a 1.2M-rule firewall in 0.1 s, json 0.6 s):
    what the database stores and digests are taken of. json writes what orjson refuses (an
    IPv6 address's int, beyond 64 bits), as it always refuses the same value. (orjson is
    imported here: map tasks only read the database and need nothing but the standard library
    on their nodes.)"""
    import orjson
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":")).encode()


def json_digest(value: Any) -> str:
    """A hex digest of a JSON value, whatever the order of its objects' keys."""
    return hashlib.sha256(json_bytes(value, sort_keys=True)).hexdigest()


def _opt(value, encode):
    return None if value is None else encode(value)


@dataclass(frozen=True)
class Rule:
    """One expanded combination of an ACE's members: what the matcher tests.

    ``None`` means "any" for protocol, addresses and ports. ``destination_port`` carries the ICMP
    type for ICMP rules. ``members`` records, per field ("source", "destination", "protocol",
    "source_port", "service"), the object path the value came from (outermost group first),
    so reports can say which object-group members were used.
    """
    index: int
    ace_line: int
    protocol: Optional[int]
    source: Optional[Address]
    source_port: Optional[Ports]
    destination: Optional[Address]
    destination_port: Optional[Ports]
    icmp_code: Optional[int] = None
    members: dict = field(default_factory=dict)

    def signature(self) -> tuple:
        """What the rule matches (protocol, addresses, ports, ICMP code), not where its values
        came from: one rule of a device's element line, or of another revision, is this one
        when their signatures are equal."""
        def address(a):
            return None if a is None else (a.version, a.first, a.last)

        def ports(p):
            return None if p is None else tuple(sorted(p.ranges))
        return (self.protocol, address(self.source), ports(self.source_port),
                address(self.destination), ports(self.destination_port), self.icmp_code)


def _member_json(member: tuple) -> list:
    address, path = member
    return [_opt(address, Address.to_json), path]


def _service_json(service: tuple) -> list:
    protocol, sport, dport, code, path = service
    return [protocol, _opt(sport, Ports.to_json), _opt(dport, Ports.to_json), code, path]


def normal_hash(text: str) -> str:
    """An ACE or element hash as ASA prints it (0x5f3b1e2d, 0x0, 0X0000ab) -> one spelling."""
    return hex(int(text, 16))


def logs_connections(log: Optional[str], event_log: Optional[str]) -> bool:
    """Whether an ACE's flows also produce ACL-log messages: 106100 with `log` (not
    `log disable`), FTD connection events with `event-log`."""
    return log not in (None, "disable") or event_log is not None


@dataclass
class Ace:
    """An access-list entry as written in the config, with what it expands to.

    ``line`` is the line number ``show access-list`` prints (remarks count, first line is 1).
    ``error`` is set when the ACE could not be parsed or expanded: it is still reported, never
    dropped, and it has no rules.

    The expansion is stored factorised: ``sources`` and ``destinations`` are
    ``(Address or None, member path)`` and ``services`` ``(protocol, source Ports,
    destination Ports, icmp code, member path)``; the rules are their product, in that order,
    numbered from ``first_index``. A 100,000-rule ruleset then stores and loads a few thousand
    members instead of 100,000 rules.
    """
    acl: str
    line: int
    text: str
    kind: str = "extended"            # extended | standard | webtype | ethertype
    action: str = ""                  # permit | deny ('' when unparsed)
    remarks: list = field(default_factory=list)
    inactive: bool = False
    time_range: Optional[str] = None
    log: Optional[str] = None
    error: Optional[str] = None
    source: str = ""                  # "file:line" where the ACE was read
    sources: list = field(default_factory=list)
    destinations: list = field(default_factory=list)
    services: list = field(default_factory=list)
    first_index: int = 0
    groups: list = field(default_factory=list)       # object-groups its text names
    # FTD `ifc`: the ACE matches only traffic entering / leaving through this interface
    ingress_ifc: Optional[str] = None
    egress_ifc: Optional[str] = None
    rule_id: Optional[str] = None                    # FTD: its access-control rule
    # FTD: which connection events (430002 start, 430003 end) its connections produce:
    # flow-start | flow-end | both
    event_log: Optional[str] = None

    @property
    def unresolved(self) -> list:
        """The addresses of it that cannot be resolved offline (fqdn objects, the address of
        a DHCP/PPPoE interface): its rules with them match nothing."""
        return [address.text for address, _ in self.sources + self.destinations
                if address is not None and address.version == 0]

    @property
    def uses_unresolved(self) -> bool:
        return bool(self.unresolved)

    @property
    def logged(self) -> bool:
        return logs_connections(self.log, self.event_log)

    @property
    def matchable(self) -> bool:
        """Whether the ACE can match a connection at all."""
        return self.kind == "extended" and not self.inactive and self.error is None

    @property
    def rule_count(self) -> int:
        return len(self.sources) * len(self.destinations) * len(self.services)

    def expansion(self):
        """(index, source, destination, service) per rule, in rule order."""
        index = self.first_index
        for source in self.sources:
            for destination in self.destinations:
                for service in self.services:
                    yield index, source, destination, service
                    index += 1

    @property
    def rules(self) -> list:
        """The expanded rules. Rules whose source and destination are of different IP versions
        are kept: with NAT64/46 the real addresses an ACL matches can be."""
        rules = []
        for index, (src, src_path), (dst, dst_path), (proto, sport, dport, code, svc_paths) \
                in self.expansion():
            members = {}
            if src_path:
                members["source"] = src_path
            if dst_path:
                members["destination"] = dst_path
            members.update(svc_paths)
            rules.append(Rule(index, self.line, proto, src, sport, dst, dport, code, members))
        return rules

    def to_json(self) -> dict:
        return {"acl": self.acl, "line": self.line, "text": self.text, "kind": self.kind,
                "action": self.action, "remarks": self.remarks, "inactive": self.inactive,
                "time_range": self.time_range, "log": self.log, "error": self.error,
                "source": self.source, "first_index": self.first_index,
                "groups": self.groups, "ingress_ifc": self.ingress_ifc,
                "egress_ifc": self.egress_ifc, "rule_id": self.rule_id,
                "event_log": self.event_log,
                "sources": [_member_json(m) for m in self.sources],
                "destinations": [_member_json(m) for m in self.destinations],
                "services": [_service_json(s) for s in self.services]}

    @classmethod
    def decoded(cls, d: dict):
        """A JSON object as it is decoded: an ACE made one now, any other left as it is."""
        return cls.from_json(d) if "first_index" in d and "sources" in d else d

    @classmethod
    def from_json(cls, d: dict) -> "Ace":
        d = dict(d)
        # names every ACE of an ACL, or using a group, repeats: one string each
        for key in ("acl", "kind", "action"):
            if key in d:
                d[key] = intern(d[key])
        if "groups" in d:
            d["groups"] = [intern(group) for group in d["groups"]]
        d["sources"] = [_member(*_hashable(m)) for m in d["sources"]]
        d["destinations"] = [_member(*_hashable(m)) for m in d["destinations"]]
        d["services"] = [(proto, _opt(sp, Ports.from_json), _opt(dp, Ports.from_json), code,
                          {name: _path(*p) for name, p in paths.items()})
                         for proto, sp, dp, code, paths in d["services"]]
        return cls(**d)


@dataclass
class Acl:
    name: str
    entries: list = field(default_factory=list)      # Ace, in config order

    def to_json(self, ace_json: Callable[[Ace], dict] = Ace.to_json) -> dict:
        return {"name": self.name, "entries": [ace_json(a) for a in self.entries]}

    @classmethod
    def from_json(cls, d: dict) -> "Acl":
        # an entry may have been made while it was decoded (Ace.decoded)
        return cls(d["name"], [a if isinstance(a, Ace) else Ace.from_json(a)
                               for a in d["entries"]])


@dataclass
class Interface:
    nameif: str
    hardware: str = ""
    security_level: Optional[int] = None
    addresses: list = field(default_factory=list)    # "10.1.0.1/16" strings
    shutdown: bool = False
    dynamic: bool = False              # `ip address dhcp|pppoe`: not in the config

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, d: dict) -> "Interface":
        return cls(**d)


@dataclass
class Firewall:
    """One firewall (or security context): what the analysis needs from its config."""
    name: str
    interfaces: dict = field(default_factory=dict)   # nameif -> Interface
    acls: dict = field(default_factory=dict)         # name -> Acl, config order
    inbound: dict = field(default_factory=dict)      # nameif -> ACL name
    outbound: dict = field(default_factory=dict)     # nameif -> ACL name
    global_acl: Optional[str] = None
    names: dict = field(default_factory=dict)        # `name` alias -> address text
    warnings: list = field(default_factory=list)     # "file:line: message"
    source: str = ""                                 # config file it was read from
    version: str = ""                                # "ASA Version 9.8(2)" line, if any
    hostname: str = ""
    aliases: list = field(default_factory=list)      # device ids log lines may carry
    routes: list = field(default_factory=list)       # [nameif, "net/len", gateway]
    # object-group name -> {"header": its config line, "members": {label: member line}}
    groups: dict = field(default_factory=dict)
    # ASA 8.3+ ACLs name real addresses; FWSM, PIX and older ASA name the addresses as seen on
    # the interface the ACL is bound to (the NAT-mapped destination of an inbound connection).
    acl_addresses: str = "real"                      # real | mapped
    # nameif -> ACL bound with `control-plane`: it filters traffic to the firewall itself
    control_plane: dict = field(default_factory=dict)
    # from `show access-list` captures, not the config (database.py stores it apart):
    # "ACL HASH" -> [ACE line, {element hash: rule index}] (``counters.hash_map``)
    hashes: dict = field(default_factory=dict)
    # its older revisions and the lives of its ACEs (history.History; database.py stores it
    # apart); None: one revision, of unknown age
    history: Optional[Any] = None

    def bindings(self, acl: str) -> list:
        """How an ACL is applied: ``["in inside", "global", ...]``; empty when unbound."""
        found = [f"in {i}" for i, a in self.inbound.items() if a == acl]
        found += [f"out {i}" for i, a in self.outbound.items() if a == acl]
        if self.global_acl == acl:
            found.append("global")
        found += [f"control-plane {i}" for i, a in self.control_plane.items() if a == acl]
        return found

    def aces(self):
        for acl in self.acls.values():
            yield from acl.entries

    def fingerprint(self, made: Optional[dict] = None) -> str:
        """A digest of everything that decides how a log line is matched (not of where the
        config was read or what warnings it gave): results carry it, so a report on a
        database whose ruleset changed since the run can refuse them. ``made``: its
        to_json(), if made already (a quarter of storing a firewall, 2.3 s at 1.2M rules)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            data = dict(made or self.to_json())
            del data["warnings"], data["source"]
            cached = json_digest(data)[:16]
            if self.history is not None:        # which revision a line meets decides too
                cached = self.history.fingerprint(cached)
            self.__dict__["_fingerprint"] = cached
        return cached

    def to_json(self, ace_json: Callable[[Ace], dict] = Ace.to_json) -> dict:
        """Its JSON, each ACE's made by ``ace_json`` (HistoryBuilder: one made before)."""
        return {"name": self.name,
                "interfaces": {k: v.to_json() for k, v in self.interfaces.items()},
                "acls": [a.to_json(ace_json) for a in self.acls.values()],
                "inbound": self.inbound, "outbound": self.outbound,
                "global_acl": self.global_acl, "names": self.names,
                "warnings": self.warnings, "source": self.source, "version": self.version,
                "acl_addresses": self.acl_addresses, "hostname": self.hostname,
                "aliases": self.aliases, "routes": self.routes,
                "groups": self.groups, "control_plane": self.control_plane}

    @classmethod
    def from_json(cls, d: dict) -> "Firewall":
        acls = [Acl.from_json(a) for a in d["acls"]]
        return cls(name=d["name"],
                   interfaces={k: Interface.from_json(v) for k, v in d["interfaces"].items()},
                   acls={a.name: a for a in acls}, inbound=d["inbound"],
                   outbound=d["outbound"], global_acl=d["global_acl"], names=d["names"],
                   warnings=d["warnings"], source=d["source"], version=d["version"],
                   acl_addresses=d["acl_addresses"], hostname=d["hostname"],
                   aliases=d["aliases"], routes=d["routes"], groups=d["groups"],
                   control_plane=d["control_plane"])


class Connection(NamedTuple):
    """One connection as a firewall logged it, already oriented: source is the initiator.

    For ``kind`` "built" the addresses are the *real* ones (what 8.3+ ACLs match) and
    ``mapped_*`` keep the NAT view; ACL messages ("acl_permit", "acl_deny") name the ACL and
    carry the addresses that ACL saw, and ``flows`` connections (``hit-cnt``). ``destination_port``
    is the ICMP type for ICMP. ``timestamp`` is ``YYYY-MM-DD HH:MM:SS``. ICMP built messages
    name no interface: ``ingress``/``egress`` are then empty.
    """
    firewall: Optional[str]
    timestamp: Optional[str]   # None: the line has no time (it still shows a connection)
    protocol: str              # "tcp" | "udp" | "icmp"
    source: str
    source_port: int
    destination: str
    destination_port: int
    ingress: str
    egress: str
    direction: str             # "inbound" | "outbound"
    mapped_source: str = ""
    mapped_destination: str = ""
    # built | icmp_untyped | undirected | acl_permit | acl_deny | ftd_start | ftd_end
    kind: str = "built"
    acl: str = ""              # the ACL an ACL message names; the rule an FTD event names
    flows: int = 1             # connections the line reports (106100 hit-cnt)
    icmp_code: Optional[int] = None
    # ACL messages: the hashes of the ACE and of its element that decided (`[0x…, 0x…]`,
    # normalised by ``ace_hash``; "" when the line has none)
    ace_hash: str = ""
    element_hash: str = ""
