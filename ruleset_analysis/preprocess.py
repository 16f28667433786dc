"""Config files in, expanded firewalls out: the ``preprocess`` step without the CLI."""
from __future__ import annotations

import ipaddress
import os
from typing import Optional

from .asa.config import ConfigError, parse_config
from .asa.routes import read_routes
from .expand import expand_config
from .model import Firewall


def read_config(path: str, name: str = "", interface_addresses: Optional[dict] = None,
                routes: Optional[str] = None) -> Firewall:
    """Parse and expand one config file; unreadable files raise ConfigError.
    ``interface_addresses``: nameif -> address, for interfaces whose address DHCP or PPPoE
    assigns (the config does not have it); ``routes``: a `show route` capture of the firewall,
    whose routes (dynamic ones too) place ICMP connections on their interfaces, or a directory
    holding it as FIREWALL.routes (or CONFIG-STEM.routes)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    parsed = parse_config(text, path, name or "")
    for nameif, address in (interface_addresses or {}).items():
        iface = parsed.firewall.interfaces.get(nameif)
        if iface is None:
            raise ConfigError(f"{path}: --interface-address {nameif}: no such interface "
                              f"(it has: {', '.join(parsed.firewall.interfaces) or 'none'})")
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise ConfigError(f"--interface-address {nameif}={address}: not an address") \
                from None
        iface.addresses = [f"{ip}/{ip.max_prefixlen}"]
    routes = routes_file(routes, parsed.firewall.name, path)
    if routes is not None:
        firewall_routes = parsed.firewall.routes
        for nameif, network, learned in read_routes(routes, parsed.firewall.warnings):
            if nameif not in parsed.firewall.interfaces:
                parsed.firewall.warnings.append(f"{routes}: route to {network} via '{nameif}', "
                                                "an interface the config does not have")
            firewall_routes.append([nameif, network, learned])
    firewall = expand_config(parsed)
    for direction, table in (("in", firewall.inbound), ("out", firewall.outbound)):
        for interface, acl in table.items():
            if acl not in firewall.acls:
                firewall.warnings.append(f"{path}: access-group {acl} {direction} interface "
                                         f"{interface}: the ACL is not defined")
    if firewall.global_acl and firewall.global_acl not in firewall.acls:
        firewall.warnings.append(f"{path}: access-group {firewall.global_acl} global: the ACL "
                                 "is not defined")
    return firewall


def routes_file(routes: Optional[str], name: str, config: str) -> Optional[str]:
    """A `show route` file, or the one for this firewall in a directory of them (None when
    the directory has none: its ICMP lines are placed by the config's own routes)."""
    if routes is None or not os.path.isdir(routes):
        return routes
    stem = os.path.splitext(os.path.basename(config))[0]
    for candidate in (name.replace("/", "_"), stem):
        path = os.path.join(routes, f"{candidate}.routes")
        if os.path.isfile(path):
            return path
    return None


def summary(firewall: Firewall) -> dict:
    aces = list(firewall.aces())
    return {"firewall": firewall.name, "acls": len(firewall.acls), "aces": len(aces),
            "rules": sum(a.rule_count for a in aces),
            "unparsed": sum(1 for a in aces if a.error), "warnings": len(firewall.warnings)}
