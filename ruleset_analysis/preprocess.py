"""Config files in, expanded firewalls out: the ``preprocess`` step without the CLI."""
from __future__ import annotations

import ipaddress
from typing import Optional

from .asa.config import ConfigError, parse_config
from .expand import expand_config
from .model import Firewall


def read_config(path: str, name: str = "", interface_addresses: Optional[dict] = None
                ) -> Firewall:
    """Parse and expand one config file; unreadable files raise ConfigError.
    ``interface_addresses``: nameif -> address, for interfaces whose address DHCP or PPPoE
    assigns (the config does not have it)."""
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


def summary(firewall: Firewall) -> dict:
    aces = list(firewall.aces())
    return {"firewall": firewall.name, "acls": len(firewall.acls), "aces": len(aces),
            "rules": sum(a.rule_count for a in aces),
            "unparsed": sum(1 for a in aces if a.error), "warnings": len(firewall.warnings)}
