"""Cisco ASA name tables: port literals, ICMP type literals, IP protocol names.

Running configs print well-known ports, ICMP types and protocols by name, so these tables are
part of parsing, not a convenience.
"""
from __future__ import annotations

# name -> (number, protocols it is valid for); from the ASA port literal table.
PORTS = {
    "aol": (5190, "tcp"), "bgp": (179, "tcp"), "biff": (512, "udp"), "bootpc": (68, "udp"),
    "bootps": (67, "udp"), "chargen": (19, "tcp"), "cifs": (3020, "tcp udp"),
    "citrix-ica": (1494, "tcp"), "cmd": (514, "tcp"), "ctiqbe": (2748, "tcp"),
    "daytime": (13, "tcp"), "discard": (9, "tcp udp"), "dnsix": (195, "udp"),
    "domain": (53, "tcp udp"), "echo": (7, "tcp udp"), "exec": (512, "tcp"),
    "finger": (79, "tcp"), "ftp": (21, "tcp"), "ftp-data": (20, "tcp"), "gopher": (70, "tcp"),
    "h323": (1720, "tcp"), "hostname": (101, "tcp"), "http": (80, "tcp udp"),
    "https": (443, "tcp"), "ident": (113, "tcp"), "imap4": (143, "tcp"), "irc": (194, "tcp"),
    "isakmp": (500, "udp"), "kerberos": (750, "tcp udp"), "klogin": (543, "tcp"),
    "kshell": (544, "tcp"), "ldap": (389, "tcp"), "ldaps": (636, "tcp"), "login": (513, "tcp"),
    "lotusnotes": (1352, "tcp"), "lpd": (515, "tcp"), "mobile-ip": (434, "udp"),
    "nameserver": (42, "udp"), "netbios-dgm": (138, "udp"), "netbios-ns": (137, "udp"),
    "netbios-ssn": (139, "tcp"), "nfs": (2049, "tcp udp"), "nntp": (119, "tcp"),
    "ntp": (123, "udp"), "pcanywhere-data": (5631, "tcp"), "pcanywhere-status": (5632, "udp"),
    "pim-auto-rp": (496, "tcp udp"), "pop2": (109, "tcp"), "pop3": (110, "tcp"),
    "pptp": (1723, "tcp"), "radius": (1645, "udp"), "radius-acct": (1646, "udp"),
    "rip": (520, "udp"), "rsh": (514, "tcp"), "rtsp": (554, "tcp"),
    "secureid-udp": (5510, "udp"), "sip": (5060, "tcp udp"), "smtp": (25, "tcp"),
    "snmp": (161, "udp"), "snmptrap": (162, "udp"), "sqlnet": (1521, "tcp"), "ssh": (22, "tcp"),
    "sunrpc": (111, "tcp udp"), "syslog": (514, "udp"), "tacacs": (49, "tcp udp"),
    "talk": (517, "tcp udp"), "telnet": (23, "tcp"), "tftp": (69, "udp"), "time": (37, "udp"),
    "uucp": (540, "tcp"), "vxlan": (4789, "udp"), "who": (513, "udp"), "whois": (43, "tcp"),
    "www": (80, "tcp udp"), "xdmcp": (177, "udp"),
}

ICMP_TYPES = {
    "echo-reply": 0, "unreachable": 3, "source-quench": 4, "redirect": 5,
    "alternate-address": 6, "echo": 8, "router-advertisement": 9, "router-solicitation": 10,
    "time-exceeded": 11, "parameter-problem": 12, "timestamp-request": 13,
    "timestamp-reply": 14, "information-request": 15, "information-reply": 16,
    "mask-request": 17, "mask-reply": 18, "traceroute": 30, "conversion-error": 31,
    "mobile-redirect": 32,
}

ICMP6_TYPES = {
    "unreachable": 1, "packet-too-big": 2, "time-exceeded": 3, "parameter-problem": 4,
    "echo": 128, "echo-reply": 129, "membership-query": 130, "membership-report": 131,
    "membership-reduction": 132, "router-solicitation": 133, "router-advertisement": 134,
    "neighbor-solicitation": 135, "neighbor-advertisement": 136, "neighbor-redirect": 137,
    "router-renumbering": 138,
}

PROTOCOLS = {
    "icmp": 1, "igmp": 2, "ipinip": 4, "tcp": 6, "igrp": 9, "udp": 17, "gre": 47, "esp": 50,
    "ah": 51, "icmp6": 58, "eigrp": 88, "ospf": 89, "nos": 94, "pim": 103, "pcp": 108,
    "snp": 109, "sctp": 132,
}
PROTOCOL_NAMES = {number: name for name, number in PROTOCOLS.items()}
# Other names the ASA accepts for the same protocols (reports print the names above).
PROTOCOLS.update({"ipsec": 50, "pptp": 47})

TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
PORT_PROTOCOLS = (TCP, UDP)   # protocols whose ACEs may carry port clauses (sctp aside)


def port_number(token: str, protocol: int | None = None) -> int:
    """Translate a port literal or number; raise ValueError for anything else. With a
    ``protocol`` (TCP or UDP) the name must be one the ASA accepts for it: `udp eq bgp` is
    refused by the device, so it is not a rule."""
    if token.isdigit():
        value = int(token)
        if value > 65535:
            raise ValueError(f"port out of range: {token}")
        return value
    try:
        number, valid_for = PORTS[token]
    except KeyError:
        raise ValueError(f"unknown port name: {token}") from None
    name = {TCP: "tcp", UDP: "udp"}.get(protocol or 0)
    if name is not None and name not in valid_for.split():
        raise ValueError(f"'{token}' is not a {name} port name (it is {valid_for} only)")
    return number


def protocol_number(token: str) -> int:
    """Translate a protocol name or number (0-255); `ip` is handled by the caller."""
    if token.isdigit() and int(token) <= 255:
        return int(token)
    try:
        return PROTOCOLS[token]
    except KeyError:
        raise ValueError(f"unknown protocol: {token}") from None


def protocol_name(number: int | None) -> str:
    if number is None:
        return "ip"
    return PROTOCOL_NAMES.get(number, str(number))


def icmp_type_number(token: str, protocol: int = ICMP) -> int:
    if token.isdigit() and int(token) <= 255:
        return int(token)
    table = ICMP6_TYPES if protocol == ICMP6 else ICMP_TYPES
    try:
        return table[token]
    except KeyError:
        raise ValueError(f"unknown ICMP type: {token}") from None


def is_icmp_type(token: str, protocol: int = ICMP) -> bool:
    table = ICMP6_TYPES if protocol == ICMP6 else ICMP_TYPES
    return token in table or (token.isdigit() and int(token) <= 255)
