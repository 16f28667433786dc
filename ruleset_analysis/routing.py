"""Which interface of a firewall an address lies behind: connected networks of the interfaces
that are up, then static routes; the longest prefix wins, connected before static."""
from __future__ import annotations

import ipaddress
from typing import Optional

from .model import Firewall


class RoutingTable:
    def __init__(self, firewall: Firewall):
        entries = []
        for iface in firewall.interfaces.values():
            if iface.shutdown:
                continue
            for address in iface.addresses:
                entries.append((ipaddress.ip_interface(address).network, 0, iface.nameif))
        for nameif, network, _gateway in firewall.routes:
            entries.append((ipaddress.ip_network(network), 1, nameif))
        entries.sort(key=lambda e: (-e[0].prefixlen, e[1]))
        self.entries = entries

    def interface_for(self, address: str) -> Optional[str]:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        for network, _kind, nameif in self.entries:
            if ip.version == network.version and ip in network:
                return nameif
        return None
