"""Where a log line is read: Cisco ASA / FWSM / FTD syslog -> Connection or a category.

This is the mapper's hot path: a substring prefilter runs before any regex, there is one
compiled pattern per message family, and header parsing (timestamp, device) is memoised because
consecutive lines share their header text far more often than not.

Message families read:
  302013/302015  TCP/UDP connection built      one line per permitted connection
  302020         ICMP connection built         names no interface: the caller infers them
  302001/302005  PIX 5/6 TCP/UDP built         faddr/gaddr/laddr, no interface (as 302020)
  106100         ACL log (ACEs with `log`)     names the ACL; `hit-cnt N` flows per line
  106023         denied by an ACL              names the ACL
Everything else (teardowns included: they repeat a built connection) is NOT_RELEVANT.
"""
from __future__ import annotations

import datetime
import ipaddress
import re
from socket import AF_INET, inet_pton
from typing import Iterator, List, Optional, Tuple, Union

from ..model import Connection, normal_hash

# Every log line lands in exactly one category (the job adds the matching outcomes).
UNRECOGNIZED = "unrecognized"          # no %ASA/%FWSM/%FTD message in the line
NOT_RELEVANT = "not_relevant"          # a firewall message that carries no connection
MALFORMED = "malformed"                # a connection message that cannot be read
ICMP_WITHOUT_TYPE = "icmp_without_type"   # older 302020 lines: type unknown, cannot be matched
NO_TIMESTAMP = "no_timestamp"          # a connection message with no time, outside --since/--until
ACL_LOG_NO_HITS = "acl_log_no_hits"    # a 106100 line reporting `hit-cnt 0`: no new flow
# A connection to or from the firewall itself: interface ACLs do not govern it (management
# access and control-plane rules do), so it is never a hit on an interface ACL.
TO_THE_BOX = "to_the_box"
# FTD connection events (430002 start, 430003 end) name the access-control rule, not an ACE,
# and LINA logs the same connection as 302013/302015: read like ACL-log permits (the matcher
# finds the rule's ACE).
FTD_EVENTS = {"430002": "ftd_start", "430003": "ftd_end"}
# `Name: value` fields, comma-separated, in whatever order and number the release writes.
FTD_FIELD_RE = re.compile(r"(\w+): ([^,]*)")
# AccessControlRuleAction values that let a connection through
FTD_PERMITS = frozenset(("Allow", "Trust"))
# An FTD connection event that credits no ACE (a block, ICMP, a rule the config does not
# show, an event its ACE's `event-log` does not count, or any with --permits-from built):
# counted.
FTD_CONNECTION_EVENT = "ftd_connection_event"
BOX_INTERFACES = frozenset(("identity", "NP Identity Ifc"))
# A PIX 5/6 UDP connection (302005) names no direction, so not its initiator: which ACL
# admitted it is unknown. Counted; and it is no evidence that UDP connections are logged, so
# UDP rules of such a firewall are "no data", never "unused".
DIRECTION_UNKNOWN = "direction_unknown"

# IP protocols whose connections the analysed messages report as built: an ACE for anything
# else can have no hits whatever traffic it permits.
OBSERVED_PROTOCOLS = frozenset((1, 6, 17, 58))

# With `logging class`-tagged output the id carries a class: %ASA-session-6-302013.
PREFIX = r"%(?:ASA|FWSM|FTD|PIX)-(?:[a-z][a-z0-9]*-)?\d-"
MESSAGE_RE = re.compile(PREFIX + r"(\d{6})")
FTD_EVENT_RE = re.compile(PREFIX + r"(43000[23]): ")
# Negated classes, not lazy \S+?: they match the same text without backtracking (~20% faster).
BUILT_RE = re.compile(
    PREFIX + r"30201[35]: Built (?P<direction>inbound|outbound) (?P<proto>TCP|UDP) connection "
    r"\S+ for (?P<if1>NP Identity Ifc|[^:\s]+):(?P<real1>[^/\s]+)/(?P<port1>\d{1,5}) "
    r"\((?P<mapped1>[^/\s]+)/\d+\)"
    r"(?:\s*\([^)]*\))* to (?P<if2>NP Identity Ifc|[^:\s]+):(?P<real2>[^/\s]+)/(?P<port2>\d{1,5}) "
    r"\((?P<mapped2>[^/\s]+)/\d+\)")
# Positions in BUILT_RE's groups() of the `for` side's port and the `to` side's port: the
# initiator's (ephemeral) port is the first in an inbound line, the second in an outbound one.
FOR_PORT = BUILT_RE.groupindex["port1"] - 1
TO_PORT = BUILT_RE.groupindex["port2"] - 1
ICMP_BUILT_RE = re.compile(
    PREFIX + r"302020: Built (inbound|outbound) (ICMP|ICMPv6) connection for "
    r"faddr (\S+?)/\d+(?:\s*\([^)]*\))? gaddr (\S+?)/\d+ laddr (\S+?)/\d+(?:\s*\([^)]*\))?"
    r"(?: type (\d{1,3}) code (\d{1,3}))?")
# PIX 5/6: `Built {inbound|outbound} TCP connection ID for faddr F/P gaddr G/P laddr L/P`
# (302001) and `Built UDP connection for faddr ...` (302005). faddr is the foreign
# (lower-security) side, laddr the local real address and gaddr its mapped one, as in 302020.
PIX_BUILT_IDS = ("302001", "302005")
PIX_BUILT_RE = re.compile(
    PREFIX + r"30200[15]: Built (?:(inbound|outbound) )?(TCP|UDP) connection (?:\S+ )?for "
    r"faddr ([^/\s]+)/(\d{1,5})(?:\s*\([^)]*\))? gaddr ([^/\s]+)/(\d{1,5}) "
    r"laddr ([^/\s]+)/(\d{1,5})")
# ACL messages end with the hashes of the ACE and element that decided: [0xACE, 0xELEMENT]
HASHES = r"(?:[^\[]{0,40}\[(0x[0-9a-fA-F]{1,8}), ?(0x[0-9a-fA-F]{1,8})\])?"
ACL_LOG_RE = re.compile(
    PREFIX + r"106100: access-list (\S+) (permitted|denied|est-allowed) (\w+) "
    r"([^/\s]+)/(\S+?)\((\d{1,5})\)(?:\([^)]*\))? -> ([^/\s]+)/(\S+?)\((\d{1,5})\)"
    r"(?:\([^)]*\))? hit-cnt (\d{1,10})" + HASHES)
DENY_RE = re.compile(
    PREFIX + r"106023: Deny (?:protocol )?(\w+) src (\S+: ?\S+) dst (\S+: ?\S+)"
    r"(?: \(type (\d{1,3}), code (\d{1,3})\)| type (\d{1,3}), code (\d{1,3}),)? "
    r"by access-group "
    r"\"+([^\"]+)\"+" + HASHES)          # ""NAME"": the quotes a CSV export doubles

MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
WITH_YEAR_RE = re.compile(r"\b([A-Z][a-z]{2}) +(\d{1,2}) (\d{4}) (\d\d:\d\d:\d\d)")
ISO_RE = re.compile(r"\b(\d{4})-(\d\d)-(\d\d)[T ](\d\d:\d\d:\d\d)")
NO_YEAR_RE = re.compile(r"\b([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d)")
TIME_TOKEN_RE = re.compile(r"^\d\d:\d\d:\d\d(\.\d+)?:?$")
SKIPPED_TOKEN_RE = re.compile(r"^(?:[\w.-]+\[\d+\]:?|-|:|\d{6}|1)$")   # tags, RFC 5424 fields
YEAR_RE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")
TIME_REST_RE = re.compile(r"^(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?:?$")   # ".123", "+01:00", ":"

BAD_TIME = "bad time"               # a header whose date cannot exist (see _format)
HEADER_CACHE_LIMIT = 65536
HEADER_CACHE_LENGTH = 256          # real headers are far shorter; longer ones are not cached
PROTOCOL_NUMBERS = {"1": "icmp", "6": "tcp", "17": "udp", "58": "icmp6"}


# Real lines are a few hundred bytes. A longer one (a decompression bomb without newlines) is
# read past without holding it, and stands for itself as this line, which is `malformed`.
MAX_LINE_BYTES = 1 << 20
OVERLONG_LINE = b"%ASA-6-302013: Built (a line over 1 MiB, not read)\n"
# Files are read through a BufferedReader of this size (report.lines.decompressed,
# local_runner.byte_range): its read1 and readline are C code, those of GzipFile, BZ2File and
# a byte range Python.
READ_BUFFER = 1 << 16


def capped_lines(handle) -> Iterator[bytes]:
    """The raw lines of a binary file; a line over MAX_LINE_BYTES is skipped in pieces and
    given as OVERLONG_LINE. An iterable without ``readline`` is passed through."""
    if not hasattr(handle, "readline"):
        yield from handle
        return
    readline = handle.readline
    while True:
        raw = readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:
                rest = readline(MAX_LINE_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
            raw = OVERLONG_LINE
        yield raw


# log_lines reads this much at a time (at most: one decompression step, or what the range has)
READ_CHUNK = 1 << 18
_OVERLONG = OVERLONG_LINE.decode().rstrip("\n")


def log_lines(source) -> Iterator[str]:
    """The lines of a binary file (or an iterable of raw lines) as every reader takes them:
    those of ``log_chunks``, one by one."""
    for chunk in log_chunks(source):
        yield from chunk


def log_chunks(source) -> Iterator[List[str]]:
    """The lines of a binary file (or an iterable of raw lines) as every reader takes them, a
    list at a time (the mapper loops over a list itself: a call per line was 6-10% of it):
    decoded as ``decode_line`` does, a line over MAX_LINE_BYTES read past and given as
    OVERLONG_LINE. A file is read a chunk at a time (``read1``: where a stream breaks, the
    lines before the break have been given) and decoded a chunk at a time, its lines split
    in C: a readline and a decode per line cost 0.4 µs more a line of a gzipped log. An
    iterable's lines come one to a list (as they come: where it breaks, those before have
    been given)."""
    if not hasattr(source, "read1"):
        for raw in capped_lines(source):
            yield [decode_line(raw)]
        return
    read = source.read1
    carry = b""
    skipping = False            # inside a line over the bound, read past to its end
    while True:
        data = read(READ_CHUNK)
        if not data:
            break
        if skipping:
            end = data.find(b"\n")
            if end < 0:
                continue
            skipping = False
            yield [_OVERLONG]
            data = data[end + 1:]
        data = carry + data if carry else data
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if len(carry) > MAX_LINE_BYTES:
            carry, skipping = b"", True
        if not cut:
            continue
        block = data[:cut - 1]
        if cut > MAX_LINE_BYTES:       # (a line of it may be over the bound)
            yield [decode_line(raw) if len(raw) <= MAX_LINE_BYTES else _OVERLONG
                   for raw in block.split(b"\n")]
            continue
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            yield [decode_line(raw) for raw in block.split(b"\n")]
            continue
        lines = text.split("\n")
        if "\r" in text:
            lines = [line.rstrip("\r") for line in lines]
        yield lines
    if skipping:
        yield [_OVERLONG]
    elif carry:                 # (within the bound: a longer one is being read past)
        yield [decode_line(carry)]


def decode_line(raw: bytes) -> str:
    """A log line as every reader takes it: UTF-8, else Latin-1 (a byte is never lost), without
    its line ending."""
    raw = raw.rstrip(b"\r\n")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def year_rule(year: Optional[str]):
    """``YYYY`` or ``YYYY-MM``: the year (and month) the logs start. Year-less lines from
    before that month belong to the next year (the December -> January rollover). Without it,
    a year-less date later in the year than today is taken to be last year's."""
    if year is None:
        today = datetime.date.today()
        return lambda month, day: today.year - ((month, day) > (today.month, today.day))
    match = YEAR_RE.match(str(year))
    if not match or not 1 <= int(match.group(2) or 1) <= 12:
        raise ValueError(f"--year takes YYYY or YYYY-MM, not {year!r}")
    start_year, start_month = int(match.group(1)), int(match.group(2) or 1)
    return lambda month, day: start_year + (month < start_month)


class LogParser:
    """Parses the lines of one run."""

    def __init__(self, year: Optional[str] = None):
        self.year_of = year_rule(year)
        self.headers: dict = {}

    def parse(self, line: str, match=None) -> Union[Connection, str]:
        """A ``Connection`` (source = initiator) or the line's category. ``match``: the
        line's BUILT_RE, DENY_RE or ACL_LOG_RE match, if the caller made it (not made
        again)."""
        if match is None:
            match = BUILT_RE.search(line) if "Built" in line else None
            if match is None:
                return self.other(line)
        elif match.re is DENY_RE:
            return self.read(line, match, _deny)
        elif match.re is ACL_LOG_RE:
            return self.read(line, match, _acl_log)
        direction, proto, if1, real1, port1, mapped1, if2, real2, port2, mapped2 = \
            match.groups()
        # A line without a time (an export, a SIEM dump) still shows a connection.
        firewall, timestamp = self.header(line[:match.start()])
        if timestamp is BAD_TIME or int(port1) > 65535 or int(port2) > 65535:
            return MALFORMED
        if direction == "inbound":      # the `for` side initiated
            return Connection(firewall, timestamp, proto.lower(), real1, int(port1), real2,
                              int(port2), if1, if2, direction, mapped1, mapped2)
        # outbound: the `to` side initiated; it is the source and its interface the ingress
        return Connection(firewall, timestamp, proto.lower(), real2, int(port2), real1,
                          int(port1), if2, if1, direction, mapped2, mapped1)

    def other(self, line: str) -> Union[Connection, str]:
        message = MESSAGE_RE.search(line)
        category = no_connection(message)
        if category is not None or message is None:
            return category or UNRECOGNIZED
        reader = READERS.get(message.group(1))
        if reader is None:
            return MALFORMED
        match = reader[0].match(line, message.start())
        if match is None:
            return MALFORMED
        return self.read(line, match, reader[1])

    def read(self, line: str, match, reader) -> Union[Connection, str]:
        """A message's ``match`` (of a regex starting at its PREFIX) read by ``reader`` with
        the line's header, or MALFORMED if its time cannot be read."""
        firewall, timestamp = self.header(line[:match.start()])
        if timestamp is BAD_TIME:
            return MALFORMED
        return reader(match, firewall, timestamp)

    def header(self, header: str) -> Tuple[Optional[str], Optional[str]]:
        cached = self.headers.get(header)
        if cached is None:
            cached = (header_device(header), header_timestamp(header, self.year_of))
            if len(header) <= HEADER_CACHE_LENGTH:     # a garbage "header" is not kept
                if len(self.headers) >= HEADER_CACHE_LIMIT:
                    self.headers.clear()
                self.headers[header] = cached
        return cached


def no_connection(message) -> Optional[str]:
    """The category of a line whose message (a MESSAGE_RE match or None) can carry no
    connection: most lines of a log (teardowns above all) are settled by this one regex."""
    if message is None:
        return UNRECOGNIZED
    message_id = message.group(1)
    if message_id in READERS or message_id in ("302013", "302015"):
        if message_id in PIX_BUILT_IDS and \
                not message.string.startswith(" Built", message.end() + 1):
            return NOT_RELEVANT     # PIX teardowns share the id on some releases
        return None
    return NOT_RELEVANT


def _icmp_built(match, firewall, timestamp):
    direction, proto, faddr, gaddr, laddr, icmp_type, icmp_code = match.groups()
    protocol = "icmp6" if proto == "ICMPv6" or ":" in laddr else "icmp"
    if icmp_type is None:
        # Cannot be matched, but it is the firewall's evidence of logging connections, and
        # it is counted per firewall and period.
        return Connection(firewall, timestamp, protocol, faddr, 0, laddr, 0, "", "",
                          direction, faddr, gaddr, kind="icmp_untyped")
    # faddr is the foreign (lower-security) side, laddr the local real address, gaddr its
    # mapped one. Interfaces are not named: the caller infers them from routes.
    if direction == "inbound":
        return Connection(firewall, timestamp, protocol, faddr, 0, laddr, int(icmp_type), "",
                          "", direction, faddr, gaddr, icmp_code=int(icmp_code))
    return Connection(firewall, timestamp, protocol, laddr, 0, faddr, int(icmp_type), "", "",
                      direction, gaddr, faddr, icmp_code=int(icmp_code))


def _pix_built(match, firewall, timestamp):
    direction, proto, faddr, fport, gaddr, gport, laddr, lport = match.groups()
    if max(int(fport), int(gport), int(lport)) > 65535:
        return MALFORMED
    protocol = proto.lower()
    if direction is None:
        return Connection(firewall, timestamp, protocol, faddr, int(fport), laddr, int(lport),
                          "", "", "", faddr, gaddr, kind="undirected")
    # Interfaces are not named: the caller infers them from routes, as for 302020.
    if direction == "inbound":          # the foreign side initiated
        return Connection(firewall, timestamp, protocol, faddr, int(fport), laddr, int(lport),
                          "", "", direction, faddr, gaddr)
    return Connection(firewall, timestamp, protocol, laddr, int(lport), faddr, int(fport), "",
                      "", direction, gaddr, faddr)


def _ftd_event(match, firewall, timestamp):
    """430002/430003: a TCP or UDP connection the named rule allowed; other actions and
    protocols (blocks, ICMP) credit nothing and are counted."""
    fields = dict(FTD_FIELD_RE.findall(match.string, match.end()))
    protocol = fields.get("Protocol", "").lower()
    if fields.get("AccessControlRuleAction") not in FTD_PERMITS or \
            protocol not in ("tcp", "udp"):
        return FTD_CONNECTION_EVENT
    try:
        sport, dport = int(fields["SrcPort"]), int(fields["DstPort"])
        source, destination, rule = fields["SrcIP"], fields["DstIP"], \
            fields["AccessControlRuleName"]
    except (KeyError, ValueError):
        return MALFORMED
    if sport > 65535 or dport > 65535 or not _is_ip(source) or not _is_ip(destination):
        return MALFORMED
    return Connection(firewall, timestamp, protocol, source, sport, destination, dport,
                      fields.get("IngressInterface", ""), fields.get("EgressInterface", ""),
                      "", source, destination, kind=FTD_EVENTS[match.group(1)], acl=rule)


def _protocol(name: str, address: str) -> str:
    """ACL messages write `icmp` for ICMPv6 too."""
    protocol = PROTOCOL_NUMBERS.get(name, name.lower())
    return "icmp6" if protocol == "icmp" and ":" in address else protocol


def _acl_log(match, firewall, timestamp):
    acl, verdict, proto, if1, src, sport, if2, dst, dport, count, ace, element = \
        match.groups()
    if int(count) == 0:
        return ACL_LOG_NO_HITS         # an interval with no new flow: evidence of nothing
    protocol = _protocol(proto, src)
    # For ICMP the parentheses hold type and code instead of ports.
    icmp = protocol in ("icmp", "icmp6")
    kind = "acl_deny" if verdict == "denied" else "acl_permit"
    return Connection(firewall, timestamp, protocol, src, 0 if icmp else int(sport), dst,
                      int(sport) if icmp else int(dport), if1, if2, "", src, dst, kind=kind,
                      acl=acl, flows=int(count), icmp_code=int(dport) if icmp else None,
                      **_hashes(ace, element))


def _deny(match, firewall, timestamp):
    proto, src, dst, type1, code1, type2, code2, acl, ace, element = match.groups()
    src_if, src_addr, sport = split_endpoint(src)
    protocol = _protocol(proto, src_addr or "")
    dst_if, dst_addr, dport = split_endpoint(dst)
    if src_addr is None or dst_addr is None:
        return MALFORMED
    icmp_type, icmp_code = (type1, code1) if type1 is not None else (type2, code2)
    if protocol in ("icmp", "icmp6"):
        dport = int(icmp_type) if icmp_type is not None else 0
    return Connection(firewall, timestamp, protocol, src_addr, sport, dst_addr, dport, src_if,
                      dst_if, "", src_addr, dst_addr, kind="acl_deny", acl=acl,
                      icmp_code=int(icmp_code) if icmp_code is not None else None,
                      **_hashes(ace, element))


def _hashes(ace: Optional[str], element: Optional[str]) -> dict:
    if ace is None or element is None:
        return {}
    return {"ace_hash": normal_hash(ace), "element_hash": normal_hash(element)}


READERS = {"302020": (ICMP_BUILT_RE, _icmp_built), "106100": (ACL_LOG_RE, _acl_log),
           "106023": (DENY_RE, _deny), "302001": (PIX_BUILT_RE, _pix_built),
           "302005": (PIX_BUILT_RE, _pix_built), "430002": (FTD_EVENT_RE, _ftd_event),
           "430003": (FTD_EVENT_RE, _ftd_event)}


def split_endpoint(text: str):
    """``IF:ADDRESS[/PORT][(user)]`` -> (interface, address, port); prefixed interfaces
    (``v1:outside:10.0.0.1``) and IPv6 addresses both contain colons."""
    text = text.split("(", 1)[0].replace(" ", "")   # `src outside: 10.0.0.1/80`, as written
    head, slash, port = text.rpartition("/")
    if not slash or not port.isdigit():
        head, port = text, "0"
    if len(port) > 5 or int(port) > 65535:
        return None, None, 0
    interface, _, address = head.partition(":")
    if not _is_ip(address) and ":" in address:
        interface, _, address = head.rpartition(":")
    if not interface or not address:
        return None, None, 0
    return interface, address, int(port)


def _is_ip(text: str) -> bool:
    """Whether ``ipaddress`` reads ``text`` as an address; a dotted quad by ``inet_pton``
    first, which accepts exactly those (in C: ``ipaddress`` was a third of a deny line's
    general path)."""
    try:
        inet_pton(AF_INET, text)
        return True
    except (OSError, ValueError):
        pass
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def header_timestamp(header: str, year_of) -> Optional[str]:
    """``YYYY-MM-DD HH:MM:SS`` in the log's own wall-clock time (offsets are not applied).

    The firewall's own timestamp (``logging timestamp``, it has a year) wins over a relay's; an
    RFC 3339 relay timestamp is next; a year-less one takes its year from ``year_of``. Of
    several year-less timestamps the last is the firewall's own.
    """
    found = WITH_YEAR_RE.findall(header)
    if found:
        month, day, year_text, clock = found[-1]
        return _format(int(year_text), MONTHS.get(month), int(day), clock)
    found = ISO_RE.findall(header)
    if found:
        year_text, month, day, clock = found[-1]
        return _format(int(year_text), int(month), int(day), clock)
    found = NO_YEAR_RE.findall(header)
    if found:
        month, day, clock = found[-1]
        number = MONTHS.get(month)
        return _format(year_of(number, int(day)) if number else 0, number, int(day), clock)
    return None


def _format(year: int, month: Optional[int], day: int, clock: str) -> Optional[str]:
    """The timestamp, or BAD_TIME for a date or time that cannot exist (Feb 30, month 13,
    year 0, 25:00:00): such a line is malformed, never a line without a time."""
    try:
        hour, minute, second = map(int, clock.split(":"))
        datetime.datetime(year, month or 0, day, hour, minute, second)
    except ValueError:
        return BAD_TIME
    return f"{year:04d}-{month:02d}-{day:02d} {clock}"


def header_device(header: str) -> Optional[str]:
    """The device that wrote the line.

    After a timestamp it is the next word (a BSD or RFC 5424 header: ``TIME HOST [PROG[PID]:]
    %ASA-...``): a program tag after the host is not the device. Without a timestamp it is the
    last word before the message, skipping separators (``:``), a program tag with a pid
    (``CiscoASA[999]:``) and RFC 5424's empty fields (``-``); a header that ends with its
    time (``<166>Jan 04 2015 11:24:56:``) names no device.
    """
    end = max((m.end() for pattern in (WITH_YEAR_RE, ISO_RE, NO_YEAR_RE)
               for m in pattern.finditer(header)), default=None)
    if end is not None:
        for token in header[end:].split():
            if TIME_REST_RE.match(token):
                continue                 # fractions, a zone offset, the colon after the time
            return token.rstrip(":") or None
        return None
    for token in reversed(header.split()):
        if SKIPPED_TOKEN_RE.match(token):
            continue
        if TIME_TOKEN_RE.match(token) or ISO_RE.search(token):
            return None
        token = token.rstrip(":")
        return token or None
    return None
