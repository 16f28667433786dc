"""`show route` / `show ipv6 route` output as an ASA prints it -> routes [nameif, prefix, via].

302020 (ICMP) lines name no interface: the routing table places them. A config has only its
static routes; real networks learn most routes by OSPF, EIGRP or BGP, which only `show route`
shows. Read here: the codes legend, "Gateway of last resort", connected (`is directly
connected, IF`), static and dynamic routes (`[AD/metric] via GW, [age,] IF`), routes whose
`via` line wraps onto the next line, equal-cost paths on continuation lines (the first one's
interface is kept), IPv6 routes (`PREFIX [AD/metric]` then `via GW, IF`), and pager prompts.
"""
from __future__ import annotations

import ipaddress
import re
from typing import List, Optional, Tuple

from .config import config_lines, read_device_text
from .grammar import ConfigError

# A route line: codes (S*, O E2, D EX, C, L, B, ...), then NETWORK MASK or PREFIX.
ROUTE_RE = re.compile(r"^(?P<codes>[A-Z][A-Za-z0-9*+%]*(?: [A-Z0-9]{1,3})*)\s+"
                      r"(?P<network>[0-9a-fA-F:.]+(?:/\d+)?)(?:\s+(?P<mask>\d+\.\d+\.\d+\.\d+))?"
                      r"(?P<rest>.*)$")
VIA_RE = re.compile(r"(?:via (?P<own>[^,\s]+), (?:directly connected|receive)\s*$)|"
                    r"(?:(?:via \S+|is directly connected)(?:,\s*[^,]+)*,\s*"
                    r"(?P<nameif>[^,\s]+)\s*$)")   # IPv6 connected: "via IF, directly connected"
SKIP_RE = re.compile(r"^(?:Codes:|Gateway of last resort|\s{2,}[a-zA-Z*].* - |Routing Table:)")

Route = Tuple[str, str, str]          # nameif, "network/len", what it was learned from


def parse_routes(text: str, filename: str = "<routes>",
                 warnings: Optional[list] = None) -> List[Route]:
    """The routes of one firewall's `show route` capture; lines that look like routes but
    cannot be read are warnings (file:line), never silently dropped."""
    warnings = warnings if warnings is not None else []
    routes: List[Route] = []
    pending: Optional[Tuple[str, str, int]] = None     # a route whose interface is below
    for number, line in enumerate(config_lines(text, filename, warnings), 1):
        if not line.strip() or SKIP_RE.match(line):
            continue
        match = ROUTE_RE.match(line)
        if match is not None and (match.group("mask") or "/" in match.group("network")):
            prefix = _prefix(match.group("network"), match.group("mask"))
            if prefix is None:
                warnings.append(f"{filename}:{number}: cannot read route: {line.strip()}")
                pending = None
                continue
            via = VIA_RE.search(match.group("rest"))
            if via is not None:
                routes.append((_nameif(via), prefix, match.group("codes")))
                pending = None
            else:
                pending = (prefix, match.group("codes"), number)
            continue
        via = VIA_RE.search(line)
        if via is not None and line[:1].isspace():
            if pending is not None:          # the wrapped half of a route
                routes.append((_nameif(via), pending[0], pending[1]))
                pending = None
            continue                         # or another equal-cost path of the last one
        if match is not None or pending is not None:
            warnings.append(f"{filename}:{number}: cannot read route: {line.strip()}")
            pending = None
    if pending is not None:
        warnings.append(f"{filename}:{pending[2]}: route without an interface")
    return routes


def _nameif(via: "re.Match[str]") -> str:
    return via.group("own") or via.group("nameif")


def _prefix(network: str, mask: Optional[str]) -> Optional[str]:
    try:
        if mask is not None:
            return str(ipaddress.ip_network(f"{network}/{mask}", strict=False))
        return str(ipaddress.ip_network(network, strict=False))
    except ValueError:
        return None


# Characters `show route` output may have: a full internet table (a million routes) is
# ~100 MB; past this it is something else, read whole till the memory ran out.
ROUTES_LIMIT = 256 << 20


def read_routes(path: str, warnings: list) -> List[Route]:
    text = read_device_text(path, ROUTES_LIMIT, ConfigError, "cannot read routes",
                            "`show route` output")
    routes = parse_routes(text, path, warnings)
    if not routes:
        raise ConfigError(f"{path}: no route found (is it `show route` output?)")
    return routes
