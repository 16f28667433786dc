"""Parse Cisco ASA / FWSM configs (``show run`` text) into definitions and ACE specs.

Parsing is two-pass: the first pass collects every definition (names, objects, object-groups,
interfaces, bindings) and the raw ``access-list`` lines; the second parses ACEs once all
definitions are known, because an ``object-group`` after the source address is a source-port
group or a destination network group depending on what that group is.

Expansion of specs into matchable rules lives in ``ruleset_analysis.expand``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Set, Union

from ..model import Ace, Acl, Firewall, Interface
from .grammar import (
    PORT_OPERATORS,
    AddressRange,
    AnyAddress,
    AnyProtocol,
    ConfigError,
    Fqdn,
    Host,
    IcmpGroupRef,
    IcmpObject,
    IcmpType,
    InterfaceAddress,
    NestedGroup,
    Network,
    NetworkMember,
    NetworkRef,
    OtherLine,
    PortGroupRef,
    PortObject,
    PortOp,
    Prefix,
    ProtocolNumber,
    ProtocolObject,
    ServiceObject,
    ServiceRef,
    Unreadable,
    service_clause,
)
from .literals import ICMP, ICMP6, is_icmp_type, protocol_number

LOG_LEVELS = ("emergencies", "alerts", "critical", "errors", "warnings", "notifications",
              "informational", "debugging")


def is_log_word(token: str) -> bool:
    """Whether a token after `log` belongs to the log clause (level, interval N, disable)."""
    return token.isdigit() or token in LOG_LEVELS or token in ("interval", "disable", "default")

ACL_KINDS = ("extended", "standard", "webtype", "ethertype", "advanced")
ACL_SETTINGS = ("alert-interval", "deny-flow-max")   # `access-list alert-interval 300`

# A terminal's pager prompt, as captured configs keep it (`terminal pager 24` on the session
# that collected the config): the ASA/PIX/FWSM `<--- More --->` and the IOS-style `--More--`,
# followed by how the terminal erased it (CR, spaces, CR; or backspaces, spaces, backspaces).
PAGER_RE = re.compile(r"(?:<-+ ?More ?-+>|-- ?More ?--)"
                      r"(?:\r[ \t]*\r|\x08+[ \t]*\x08*)?")
# Characters that start a new "line" for str.splitlines() but not for the device: inside a
# remark or description they are data.
ODD_CONTROLS_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")


def read_device_text(path: str, limit: int, error: type, cannot: str, kind: str,
                     newline: Optional[str] = None) -> str:
    """A file of a device's text (a config, a `show access-list` capture, `show route`
    output), read to ``limit`` characters at most: past that it is something else (a log
    given for it, /dev/zero), which was read whole till the memory ran out. ``error``, one
    line, where it cannot be read (``cannot``: "cannot read config") or is over the limit
    (``kind``: what it then is not)."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline=newline) as handle:
            text = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: {cannot}: {exc.strerror}") from None
    if len(text) > limit:
        raise error(f"{path}: over {limit >> 20} MB: not {kind} (a log, a device?)")
    return text


def config_lines(text: str, filename: str, warnings: list) -> list:
    """The config's lines as the device wrote them: split on newlines only, pager prompts
    removed wherever they are (with one warning saying how many), other control characters
    kept as data (with one warning)."""
    lines = text.split("\n")
    prompts = 0
    odd = 0
    for number, line in enumerate(lines):
        line = line[:-1] if line.endswith("\r") else line
        if "More" in line:
            found = list(PAGER_RE.finditer(line))
            if found:
                prompts += len(found)
                line = _without_prompts(line, found)
        if ODD_CONTROLS_RE.search(line):
            odd += 1
        lines[number] = line
    if prompts:
        warnings.append(f"{filename}: {prompts} pager prompt(s) ('<--- More --->') removed: "
                        "it was captured with paging on (set 'terminal pager 0')")
    if odd:
        warnings.append(f"{filename}: {odd} line(s) hold control characters; they are kept as "
                        "part of the line")
    return lines


def _without_prompts(line: str, found: list) -> str:
    """A captured line without its pager prompts. A prompt whose erasing control characters
    were stripped by the capture leaves as many spaces as it had characters: those go too,
    and the indentation that follows them stays."""
    out, at = [], 0
    for match in found:
        out.append(line[at:match.start()])
        at = match.end()
        width = match.end() - match.start()
        if "\r" not in match.group() and "\x08" not in match.group() and \
                line.startswith(" " * width, at):
            at += width
    out.append(line[at:])
    return "".join(out)


@dataclass
class Definition:
    """An ``object`` or ``object-group``: its kind and member lines, each parsed into a form
    (``grammar``), with where it was read and its text."""
    name: str
    kind: str                    # network | service | protocol | icmp-type
    is_group: bool
    protocol: Optional[str] = None   # tcp | udp | tcp-udp for port groups
    members: list = field(default_factory=list)   # (form, "file:line", member line text)
    where: str = ""

    @property
    def is_port_group(self) -> bool:
        """``object-group service NAME tcp|udp|tcp-udp`` holds bare ports."""
        return self.kind == "service" and self.is_group and self.protocol is not None


@dataclass(frozen=True)
class AceSpec:
    """The parsed grammar of one extended ACE, as typed forms with names not yet resolved."""
    protocol: Any            # AnyProtocol | ProtocolNumber | ServiceRef
    source: Any              # an address form (AnyAddress, Host, Network, NetworkRef, ...)
    source_port: Any         # None | PortOp | PortGroupRef
    destination: Any
    destination_port: Any    # None | PortOp | PortGroupRef | IcmpType | IcmpGroupRef


@dataclass
class ParsedConfig:
    firewall: Firewall
    definitions: dict                 # name -> Definition (objects and groups share a namespace)
    specs: dict                       # (acl, line) -> AceSpec for parsed extended ACEs


# `show access-list` output: its header lines, and ACE lines with their hit counts.
SHOW_ACCESS_LIST_RE = re.compile(r"access-list (?:\S+; \d+ elements?\b|cached ACL log flows:"
                                 r"|\S+ line \d+ .*\(hitcnt=\d+\))")


def parse_config(text: str, filename: str = "<config>", firewall_name: str = "") -> ParsedConfig:
    """Parse a config's text. Warnings (file:line: message) end up in ``firewall.warnings``."""
    return _Parser(filename).parse(text, firewall_name)


class _Parser:
    def __init__(self, filename: str):
        self.filename = filename
        self.firewall = Firewall(name="", source=filename)
        self.definitions: dict = {}
        self.acl_lines: dict = {}          # acl -> list of (tokens, raw, where)
        self.block: Optional[Union[Definition, Interface]] = None   # the block being read
        self.block_kind = ""
        self.device_id: list = []          # `logging device-id ...` words

    def warn(self, where: str, message: str) -> None:
        self.firewall.warnings.append(f"{where}: {message}")

    def parse(self, text: str, firewall_name: str) -> ParsedConfig:
        for number, raw in enumerate(config_lines(text, self.filename,
                                                  self.firewall.warnings), 1):
            line = raw.rstrip()
            if not line.strip() or line.lstrip().startswith(("!", ":")):
                continue
            where = f"{self.filename}:{number}"
            if line.startswith("ip access-list "):
                raise ConfigError(f"{where}: not an ASA/FWSM config ('ip access-list' is IOS "
                                  "syntax)")
            if SHOW_ACCESS_LIST_RE.match(line):
                # Read as a config, its header and hit counts became phantom ACLs and
                # unparsed ACEs.
                raise ConfigError(f"{where}: this is `show access-list` output (the device's "
                                  "hit counts), not a config: give preprocess the `show "
                                  "running-config`")
            try:
                if line[0] in " \t":
                    self.sub_command(line.split(), line.strip(), where)
                else:
                    self.block = None
                    self.top_command(line.split(), line, where)
            except ConfigError as exc:
                self.warn(where, str(exc))
        if firewall_name:
            self.firewall.name = firewall_name
        if not self.firewall.name:
            raise ConfigError(f"{self.filename}: no 'hostname' line; give the firewall a name")
        self.firewall.aliases = self.device_ids()
        specs = self.build_acls()
        return ParsedConfig(self.firewall, self.definitions, specs)

    # -- first pass ------------------------------------------------------------------------
    def top_command(self, t: list, line: str, where: str) -> None:
        word = t[0]
        if len(t) >= 3 and t[1] == "Version" and word in ("ASA", "FWSM", "PIX", "NGFW"):
            self.firewall.version = line.strip()
            self.firewall.acl_addresses = acl_address_style(word, t[2])
        elif word == "hostname" and len(t) >= 2:
            self.firewall.name = self.firewall.hostname = t[1]
        elif word == "name":
            if len(t) < 3:
                raise ConfigError("cannot read name: expected 'name ADDRESS ALIAS'")
            self.firewall.names[t[2]] = t[1]
        elif word == "interface" and len(t) >= 2:
            self.block, self.block_kind = Interface(nameif="", hardware=t[1]), "interface"
        elif word == "object" and len(t) >= 3 and t[1] in ("network", "service"):
            self.block = self.define(Definition(t[2], t[1], False, where=where), where)
            self.block_kind = "definition"
        elif word == "object-group" and len(t) >= 3:
            if t[1] == "group" and len(t) >= 4:     # `object-group group network NAME`
                t = t[:1] + t[2:]
            kind = t[1]
            if kind not in ("network", "service", "protocol", "icmp-type", "user", "security"):
                raise ConfigError(f"unknown object-group type '{kind}'")
            protocol = t[3] if kind == "service" and len(t) >= 4 else None
            if protocol not in (None, "tcp", "udp", "tcp-udp"):
                raise ConfigError(f"unknown service group protocol '{protocol}'")
            self.block = self.define(Definition(t[2], kind, True, protocol, where=where), where)
            self.block_kind = "definition"
        elif word == "access-list" and t[1:2] == ["mode"] and len(t) == 3:
            return                     # `access-list mode auto|manual` (FWSM): a setting
        elif word == "nameif" and len(t) >= 3:
            self.pix_nameif(t)
        elif word == "ip" and len(t) >= 4 and t[1] == "address" and t[2] in \
                self.firewall.interfaces:
            self.address_line(self.firewall.interfaces[t[2]], t[3:])
        elif word == "access-list" and len(t) >= 3 and t[1] not in ACL_SETTINGS:
            self.acl_lines.setdefault(t[1], []).append((t, line, where))
        elif word == "access-group":
            self.access_group(t)
        elif word == "logging" and len(t) >= 3 and t[1] == "device-id":
            self.device_id = t[2:]
        elif word == "route" and len(t) >= 5:
            # `route outside 0 0 GW`: the CLI's shorthand for 0.0.0.0 0.0.0.0
            network, mask = ("0.0.0.0" if x == "0" else x for x in t[2:4])
            self.route(t[1], f"{network}/{mask}", t[4])
        elif word == "ipv6" and len(t) >= 5 and t[1] == "route":
            self.route(t[2], t[3], t[4])

    def route(self, interface: str, network: str, gateway: str) -> None:
        from netaddr import AddrFormatError, IPNetwork
        try:
            self.firewall.routes.append([interface, str(IPNetwork(network).cidr), gateway])
        except (AddrFormatError, ValueError):
            raise ConfigError(f"cannot read route to {network}") from None

    def device_ids(self) -> list:
        """The names log lines may carry for this firewall (``logging device-id``)."""
        fw = self.firewall
        names = [fw.name, fw.hostname] if fw.hostname else [fw.name]
        if "/" in fw.name:                         # fw01/ctx1: a context of fw01
            names.append(fw.name.rsplit("/", 1)[1])
        kind = self.device_id[0] if self.device_id else ""
        if kind == "string" and len(self.device_id) >= 2:
            names.append(" ".join(self.device_id[1:]))
        elif kind == "ipaddress" and len(self.device_id) >= 2:
            iface = fw.interfaces.get(self.device_id[1])
            names.extend(a.split("/")[0] for a in (iface.addresses if iface else []))
        return list(dict.fromkeys(names))

    def define(self, definition: Definition, where: str) -> Definition:
        existing = self.definitions.get(definition.name)
        if existing is not None:
            if existing.kind == definition.kind and existing.is_group == definition.is_group:
                return existing        # ASA lets a block be re-entered to add members
            raise ConfigError(f"'{definition.name}' is already defined at {existing.where}")
        self.definitions[definition.name] = definition
        return definition

    def access_group(self, t: list) -> None:
        # access-group NAME in|out interface IF [per-user-override|control-plane] | NAME global
        if len(t) >= 5 and t[2] in ("in", "out") and t[3] == "interface":
            if "control-plane" in t[5:]:
                # traffic to the firewall itself: not the interface's ACL for traffic through
                self.firewall.control_plane[t[4]] = t[1]
                return
            table = self.firewall.inbound if t[2] == "in" else self.firewall.outbound
            table[t[4]] = t[1]
        elif len(t) >= 3 and t[2] == "global":
            self.firewall.global_acl = t[1]
        else:
            raise ConfigError("cannot read access-group: " + " ".join(t))

    def sub_command(self, t: list, line: str, where: str) -> None:
        if self.block is None:
            return                     # inside a block nobody analyses (crypto, policy-map, ...)
        if isinstance(self.block, Interface):
            self.interface_line(self.block, t)
            return
        if t[0] == "description":
            return
        if "!" in t:                   # an inline comment, as hand-edited configs have
            t = t[:t.index("!")]
            if not t:
                return
        assert isinstance(self.block, Definition)
        if t[0] == "nat" and self.block.kind == "network":
            return                     # object NAT: addresses in ACLs are real ones (8.3+)
        self.block.members.append((member_form(self.block, t, where), where, " ".join(t)))

    def interface_line(self, iface: Interface, t: list) -> None:
        if t[0] == "nameif" and len(t) >= 2:
            iface.nameif = t[1]
            self.firewall.interfaces[t[1]] = iface
        elif t[0] == "security-level" and len(t) >= 2 and t[1].isdigit():
            iface.security_level = int(t[1])
        elif t[:2] == ["ip", "address"] and len(t) >= 3:
            self.address_line(iface, t[2:])
        elif t[:2] == ["ipv6", "address"] and len(t) >= 3 and "/" in t[2]:
            iface.addresses.append(t[2])
        elif t[0] == "shutdown":
            iface.shutdown = True

    def address_line(self, iface: Interface, t: list) -> None:
        """``A MASK [standby S]``, or ``dhcp``/``pppoe`` (the address is assigned at run
        time: it is not in the config)."""
        if t[0] in ("dhcp", "pppoe"):
            iface.dynamic = True
        elif len(t) >= 2 and "." in t[0]:
            from netaddr import IPNetwork
            try:
                iface.addresses.append(str(IPNetwork(f"{t[0]}/{t[1]}")))
            except Exception:
                raise ConfigError(f"bad interface address: ip address {' '.join(t)}") from None

    def pix_nameif(self, t: list) -> None:
        """PIX 6: ``nameif HARDWARE NAME securityN`` defines an interface at the top level."""
        iface = self.firewall.interfaces.get(t[2]) or Interface(nameif=t[2], hardware=t[1])
        level = t[3][len("security"):] if len(t) >= 4 and t[3].startswith("security") else ""
        if level.isdigit():
            iface.security_level = int(level)
        self.firewall.interfaces[t[2]] = iface

    # -- second pass: ACLs -----------------------------------------------------------------
    def build_acls(self) -> dict:
        specs = {}
        for name, lines in self.acl_lines.items():
            ordered: list = []        # (tokens, raw, where); remarks included, as show access-list
            for t, raw, where in lines:
                if len(t) >= 4 and t[2] == "line" and t[3].isdigit():
                    position = max(int(t[3]) - 1, 0)
                    ordered.insert(position, (t[:2] + t[4:], raw, where))
                else:
                    ordered.append((t, raw, where))
            acl = Acl(name)
            remarks: list = []
            for number, (t, raw, where) in enumerate(ordered, 1):
                if len(t) > 2 and t[2] == "remark":     # (`ACL line N` alone: an ACE, unparsed)
                    remarks.append(raw.split(" remark ", 1)[1].strip() if " remark " in raw else "")
                    continue
                ace = Ace(acl=name, line=number, text=raw.strip(), remarks=remarks, source=where,
                          groups=[b for a, b in zip(t, t[1:]) if a == "object-group"])
                remarks = []
                acl.entries.append(ace)
                try:
                    spec = self.parse_ace(ace, t)
                except ConfigError as exc:
                    ace.error = str(exc)
                    self.warn(where, f"cannot parse ACE: {exc}")
                    continue
                if spec is not None:
                    specs[(name, number)] = spec
            self.firewall.acls[name] = acl
        return specs

    def parse_ace(self, ace: Ace, t: list) -> Optional[AceSpec]:
        rest = t[2:]
        kind = "extended"
        if rest and rest[0] in ACL_KINDS:
            kind = rest.pop(0)
        if kind == "advanced":         # FTD (LINA): an extended ACE of the access policy
            kind = "extended"
        ace.kind = kind
        if not rest or rest[0] not in ("permit", "deny", "trust"):
            raise ConfigError("expected permit or deny")
        # FTD's `trust` permits (and skips deep inspection): for matching, a permit
        word = rest.pop(0)
        ace.action = "permit" if word == "trust" else word
        if kind != "extended":
            return None                # kept and reported; does not filter connections
        stream = _Tokens(rest)
        protocol = self.parse_protocol(stream)
        ace.ingress_ifc = self.parse_ifc(stream)
        source = self.parse_address(stream)
        source_port = self.parse_ports(stream, protocol, source_side=True)
        ace.egress_ifc = self.parse_ifc(stream)
        destination = self.parse_address(stream)
        destination_port = self.parse_ports(stream, protocol, source_side=False)
        self.parse_options(ace, stream)
        return AceSpec(protocol, source, source_port, destination, destination_port)

    @staticmethod
    def parse_ifc(s: "_Tokens") -> Optional[str]:
        """FTD: ``ifc NAME`` before an address scopes the ACE to that interface (the source's
        to the ingress interface, the destination's to the egress interface)."""
        if s.peek() != "ifc":
            return None
        s.take("")
        return s.take("interface name")

    def parse_protocol(self, s: "_Tokens") -> Any:
        token = s.take("protocol")
        if token in ("object-group", "object"):
            return ServiceRef(s.take("group name"), token == "object-group")
        if token == "ip":
            return AnyProtocol()
        try:
            return ProtocolNumber(protocol_number(token))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def parse_address(self, s: "_Tokens") -> Any:
        token = s.take("address")
        if token in ("any", "any4", "any6"):
            return AnyAddress(token)
        if token in ("host", "object", "object-group", "interface"):
            argument = s.take(f"{token} argument")
            if token == "host":
                return Host(argument)
            if token == "interface":
                return InterfaceAddress(argument)
            return NetworkRef(argument, token == "object-group")
        if "/" in token:
            return Prefix(token)
        mask = s.peek()
        if mask is not None and _looks_like_mask(mask):
            s.take("mask")
            return Network(token, mask)
        raise ConfigError(f"cannot read address at '{token}'")

    def parse_ports(self, s: "_Tokens", protocol: Any, source_side: bool) -> Any:
        token = s.peek()
        if token is None:
            return None
        if token in PORT_OPERATORS:
            s.take("")
            values = [s.take("port"), s.take("port")] if token == "range" else [s.take("port")]
            return PortOp(token, tuple(values))
        if token == "object-group":
            name = s.peek(1) or ""
            definition = self.definitions.get(name)
            if definition is not None and definition.kind == "service":
                s.take(""), s.take("")
                return PortGroupRef(name)
            if definition is not None and definition.kind == "icmp-type" and not source_side:
                s.take(""), s.take("")
                return IcmpGroupRef(name)
            return None               # a network group: the next address
        if not source_side and isinstance(protocol, ProtocolNumber) \
                and protocol.number in (ICMP, ICMP6) and is_icmp_type(token, protocol.number):
            s.take("")
            code = None
            following = s.peek()
            if following is not None and following.isdigit():
                code = int(s.take(""))
            return IcmpType(token, code)
        return None

    def parse_options(self, ace: Ace, s: "_Tokens") -> None:
        while s.peek() is not None:
            token = s.take("")
            if token == "log":
                words = []
                following = s.peek()
                while following is not None and is_log_word(following):
                    words.append(s.take(""))
                    following = s.peek()
                ace.log = " ".join(words) or "default"
            elif token == "time-range":
                ace.time_range = s.take("time-range name")
            elif token == "inactive":
                ace.inactive = True
            elif token == "rule-id":    # FTD: the access-control rule this ACE comes from
                ace.rule_id = s.take("rule id")
            elif token == "event-log":  # FTD: flow-start | flow-end | both
                ace.event_log = s.take("event-log setting")
            elif token == "object-group" and s.peek() is not None:
                # a group name where a port or service group may stand, that names none
                raise ConfigError(f"object-group {s.peek()} is not defined")
            else:
                raise ConfigError(f"unexpected '{token}'")


def member_form(d: Definition, t: list, where: str) -> Any:
    """A member line of an object or object-group -> its form (``grammar``)."""
    text = " ".join(t)
    if d.is_group and t[0] == "group-object" and len(t) == 2:
        return NestedGroup(t[1])
    if d.kind == "network" and not d.is_group:    # object network: host|subnet|range|fqdn
        if t[0] == "host" and len(t) == 2:
            return Host(t[1])
        if t[0] == "subnet" and len(t) == 3:
            return Network(t[1], t[2])
        if t[0] == "subnet" and len(t) == 2:
            return Prefix(t[1])
        if t[0] == "range" and len(t) == 3:
            return AddressRange(t[1], t[2])
        if t[0] == "fqdn":
            return Fqdn(t[-1], where, d.name)
        return OtherLine(text)
    if d.kind == "network":
        if t[0] == "network-object" and len(t) >= 2:
            if t[1] == "host" and len(t) == 3:
                return NetworkMember(Host(t[2]))
            if t[1] == "object" and len(t) == 3:
                return NetworkMember(NetworkRef(t[2], False))
            if len(t) == 3:
                return NetworkMember(Network(t[1], t[2]))
            if len(t) == 2 and "/" in t[1]:
                return NetworkMember(Prefix(t[1]))
        return OtherLine(text)
    if d.kind == "service":
        if not d.is_group and t[0] == "service":
            return service_clause(t[1:], where)
        if d.is_group and t[0] == "service-object" and len(t) >= 2:
            if t[1] == "object" and len(t) == 3:
                return ServiceObject(ServiceRef(t[2], False))
            return ServiceObject(service_clause(t[1:], where))
        if d.is_group and t[0] == "service-object":
            return ServiceObject(OtherLine(text))
        if d.is_group and t[0] == "port-object" and len(t) >= 3 and t[1] in PORT_OPERATORS:
            return PortObject(PortOp(t[1], tuple(t[2:])))
        return OtherLine(text)
    if d.kind == "protocol":
        if t[0] == "protocol-object" and len(t) == 2:
            if t[1] == "ip":
                return ProtocolObject(None, t[1])
            try:
                return ProtocolObject(protocol_number(t[1]), t[1])
            except ValueError as exc:
                return Unreadable(f"{exc} ({where})")
        return OtherLine(text)
    if d.kind == "icmp-type":
        if t[0] == "icmp-object" and len(t) == 2:
            return IcmpObject(t[1])
    return OtherLine(text)


# FMC writes each access-control rule's name above its ACEs: `rule-id N: L4 RULE: NAME`
# (`L7 RULE` for rules with applications, `RULE` for prefilter rules).
FTD_RULE_REMARK_RE = re.compile(r"^rule-id (\d+): (?:L[47] )?RULE: (.+?)\s*$")


def ftd_rule_ids(acl: Acl) -> Dict[str, Set[str]]:
    """FTD: access-control rule name -> the rule ids its ACEs carry, from the remarks FMC
    writes above them (what 430002/430003 connection events name)."""
    found: Dict[str, Set[str]] = {}
    for ace in acl.entries:
        for remark in ace.remarks:
            match = FTD_RULE_REMARK_RE.match(remark)
            if match and match.group(1) == ace.rule_id:
                found.setdefault(match.group(2), set()).add(ace.rule_id)
    return found


def acl_address_style(platform: str, version: str) -> str:
    """ASA 8.3 moved ACLs to real addresses; FWSM, PIX and ASA before 8.3 use mapped ones.
    FTD (``NGFW Version``) runs ASA 9 code."""
    if platform == "NGFW":
        return "real"
    if platform != "ASA":
        return "mapped"
    numbers = [int(n) for n in re.findall(r"\d+", version)[:2]]
    return "mapped" if numbers and tuple(numbers + [0])[:2] < (8, 3) else "real"


class _Tokens:
    """A cursor over an ACE's tokens that names what was missing when it runs out."""

    def __init__(self, tokens: list):
        self.tokens, self.pos = tokens, 0

    def peek(self, ahead: int = 0) -> Optional[str]:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, what: str) -> str:
        if self.pos >= len(self.tokens):
            raise ConfigError(f"missing {what}")
        self.pos += 1
        return self.tokens[self.pos - 1]


def _looks_like_mask(token: str) -> bool:
    parts = token.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)
