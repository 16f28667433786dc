"""Read Cisco ASA / FWSM / FTD syslog lines: which ones are connections, and what they say.

This is the mapper's hot path: a substring prefilter runs before any regex, there is one
compiled pattern per message family, and header parsing (timestamp, device) is memoised because
consecutive lines share their header text far more often than not.
"""
from __future__ import annotations

import re
from typing import Optional, Tuple, Union

from ..model import Connection

# Every log line lands in exactly one of these (the job adds the matching outcomes).
UNRECOGNIZED = "unrecognized"          # no %ASA/%FWSM/%FTD message in the line
NOT_RELEVANT = "not_relevant"          # a firewall message that is not a connection built
UNSUPPORTED = "unsupported"            # carries connection facts this version does not analyse
MALFORMED = "malformed"                # a connection-built message that cannot be read

MESSAGE_RE = re.compile(r"%(?:ASA|FWSM|FTD|PIX)-\d-(\d{6})")
BUILT_RE = re.compile(
    r"%(?:ASA|FWSM|FTD|PIX)-\d-30201[35]: Built (inbound|outbound) (TCP|UDP) connection \S+ "
    r"for ([^:\s]+):(\S+?)/(\d+) \((\S+?)/\d+\)(?:\s*\([^)]*\))* "
    r"to ([^:\s]+):(\S+?)/(\d+) \((\S+?)/\d+\)")
# IP protocols whose connections the analysed messages report: an ACE for anything else can
# have no hits whatever traffic it permits.
OBSERVED_PROTOCOLS = frozenset((6, 17))
# Connection facts not yet analysed: ICMP built, ACL-logged flows and denies.
UNSUPPORTED_IDS = frozenset(("302020", "106100", "106023"))

MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
WITH_YEAR_RE = re.compile(r"\b([A-Z][a-z]{2}) +(\d{1,2}) (\d{4}) (\d\d:\d\d:\d\d)")
ISO_RE = re.compile(r"\b(\d{4})-(\d\d)-(\d\d)[T ](\d\d:\d\d:\d\d)")
NO_YEAR_RE = re.compile(r"\b([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d)")
TIME_TOKEN_RE = re.compile(r"^\d\d:\d\d:\d\d(\.\d+)?:?$")
PROGRAM_TAG_RE = re.compile(r"^[\w.-]+\[\d+\]:?$")

HEADER_CACHE_LIMIT = 65536


class LogParser:
    """Parses lines of one run; ``year`` is used for timestamps written without one."""

    def __init__(self, year: int):
        self.year = year
        self.headers: dict = {}

    def parse(self, line: str) -> Union[Connection, str]:
        """A ``Connection`` (source = initiator, real addresses) or the line's category."""
        match = BUILT_RE.search(line) if "Built" in line else None
        if match is None:
            return self.classify(line)
        direction, proto, if1, real1, port1, mapped1, if2, real2, port2, mapped2 = \
            match.groups()
        firewall, timestamp = self.header(line[:match.start()])
        if timestamp is None:
            return MALFORMED
        if direction == "inbound":      # the `for` side initiated
            return Connection(firewall, timestamp, proto.lower(), real1, int(port1), real2,
                              int(port2), if1, if2, direction, mapped1, mapped2)
        # outbound: the `to` side initiated; it is the source and its interface the ingress
        return Connection(firewall, timestamp, proto.lower(), real2, int(port2), real1,
                          int(port1), if2, if1, direction, mapped2, mapped1)

    @staticmethod
    def classify(line: str) -> str:
        message = MESSAGE_RE.search(line)
        if message is None:
            return UNRECOGNIZED
        message_id = message.group(1)
        if message_id in ("302013", "302015"):
            return MALFORMED
        if message_id in UNSUPPORTED_IDS:
            return UNSUPPORTED
        return NOT_RELEVANT

    def header(self, header: str) -> Tuple[Optional[str], Optional[str]]:
        cached = self.headers.get(header)
        if cached is None:
            if len(self.headers) >= HEADER_CACHE_LIMIT:
                self.headers.clear()
            cached = self.headers[header] = (header_device(header),
                                             header_timestamp(header, self.year))
        return cached


def header_timestamp(header: str, year: int) -> Optional[str]:
    """``YYYY-MM-DD HH:MM:SS`` in the log's own wall-clock time.

    The firewall's own timestamp (``logging timestamp``, it has a year) wins over a relay's; an
    RFC 3339 relay timestamp is next; a year-less one takes ``year``. Of several year-less
    timestamps the last is the firewall's own.
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
        return _format(year, MONTHS.get(month), int(day), clock)
    return None


def _format(year: int, month: Optional[int], day: int, clock: str) -> Optional[str]:
    if month is None or not 1 <= day <= 31:
        return None
    return f"{year:04d}-{month:02d}-{day:02d} {clock}"


def header_device(header: str) -> Optional[str]:
    """The device that wrote the line: the last word before the message, if it is a name.

    Skips separators (``:``), a syslog program tag (``CiscoASA[999]:``) and the time itself;
    a header that ends with a time (``<166>Jan 04 2015 11:24:56:``) names no device.
    """
    for token in reversed(header.split()):
        if token == ":" or PROGRAM_TAG_RE.match(token):
            continue
        if TIME_TOKEN_RE.match(token):
            return None
        token = token.rstrip(":")
        return token or None
    return None
