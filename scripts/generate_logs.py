#!/usr/bin/env python3
"""Seeded generator of ASA/FWSM syslog for the sample configs (and larger logs for benchmarks).

Traffic comes from hand-written profiles of what the sample firewalls' users do, not from the
rules themselves, so the samples exercise the matcher instead of mirroring it: some rules and
group members get no traffic (pruning candidates), a few connections hit a deny or no rule at
all, and every log also carries teardowns, other messages, lines from an unknown firewall and
garbage, as real logs do.

    scripts/generate_logs.py --seed 1 --lines 3000 --out sample_logs      # the bundled samples
    scripts/generate_logs.py --lines 5000000 --gzip --out /tmp/big         # a benchmark log
"""
from __future__ import annotations

import argparse
import datetime
import gzip
import ipaddress
import os
import random

# Interface name -> security level: decides whether ASA logs a connection inbound or outbound.
SECURITY = {
    "fw01": {"outside": 0, "dmz": 50, "management": 90, "inside": 100},
    "fw02": {"outside": 0, "servers": 80, "inside": 100},
}

# (weight, protocol, (initiator interface, client pool), (responder interface, servers),
#  destination ports, source NAT address or None, {real destination: mapped})
PROFILES = {
    "fw01": [
        (30, "TCP", ("outside", "internet"), ("dmz", ["172.16.1.10", "172.16.1.11"]),
         [443, 443, 443, 80], None, {"172.16.1.10": "203.0.113.10",
                                     "172.16.1.11": "203.0.113.11"}),
        (8, "TCP", ("outside", "internet"), ("dmz", ["172.16.1.20"]), [25, 25, 587], None,
         {"172.16.1.20": "203.0.113.25"}),
        (3, "TCP", ("outside", "192.0.2.128/28"), ("dmz", ["172.16.1.11"]), [8443], None,
         {"172.16.1.11": "203.0.113.11"}),
        (20, "UDP", ("inside", "10.1.0.0/20"), ("outside", ["192.0.2.53"]), [53],
         "203.0.113.2", {}),
        (25, "TCP", ("inside", "10.1.0.0/20"), ("outside", "internet"), [443, 443, 80, 8080],
         "203.0.113.2", {}),
        (3, "TCP", ("inside", ["10.1.2.10", "10.1.3.7"]), ("dmz", ["172.16.1.10", "172.16.1.20"]),
         [22, 22, 8443], None, {}),
        (2, "UDP", ("inside", "10.1.0.0/20"), ("outside", ["192.0.2.123"]), [123],
         "203.0.113.2", {}),
        (1, "TCP", ("inside", "10.1.5.10/31"), ("outside", ["192.0.2.200"]), [22],
         "203.0.113.2", {}),
        (4, "TCP", ("dmz", ["172.16.1.20"]), ("outside", "internet"), [25], "203.0.113.25", {}),
        (3, "UDP", ("dmz", ["172.16.1.10", "172.16.1.20"]), ("outside", ["192.0.2.53"]), [53],
         None, {}),
        (1, "TCP", ("management", ["192.168.255.10"]), ("inside", ["10.1.9.50"]), [22], None,
         {}),
        # A built connection no rule permits: the implicit deny disagrees with the log.
        (0.2, "TCP", ("inside", ["10.1.4.20"]), ("dmz", ["172.16.1.20"]), [3389], None, {}),
    ],
    "fw02": [
        (25, "TCP", ("outside", "internet"), ("servers", ["10.2.16.10"]), [443, 80], None,
         {"10.2.16.10": "198.51.100.10"}),
        (30, "TCP", ("inside", "10.2.0.0/21"), ("outside", "internet"), [80, 443],
         "198.51.100.2", {}),
        (15, "UDP", ("inside", "10.2.0.0/21"), ("outside", ["192.0.2.53", "192.0.2.54"]), [53],
         "198.51.100.2", {}),
        (10, "TCP", ("inside", "10.2.0.0/22"), ("servers", ["10.2.16.11"]), [1521, 1521, 1830],
         None, {}),
        (2, "TCP", ("inside", ["10.2.9.9"]), ("servers", ["10.2.16.10", "10.2.16.11"]),
         [22, 443], None, {}),
        (1, "TCP", ("inside", "10.2.8.0/28"), ("outside", ["192.0.2.80"]), [515],
         "198.51.100.2", {}),
        # Connections the final deny catches: the config changed during the period.
        (0.3, "TCP", ("inside", "10.2.12.0/24"), ("outside", "internet"), [25], "198.51.100.2",
         {}),
    ],
}

HEADERS = {
    # logging timestamp + logging device-id hostname
    "fw01": lambda t, tag: f"{t:%b %d %Y %H:%M:%S} fw01 : %ASA-{tag}: ",
    # a syslog relay's header in front of the firewall's own
    "fw02": lambda t, tag: (f"{t:%b} {t.day:2d} {t:%H:%M:%S} 10.9.0.5 "
                            f"{t:%b %d %Y %H:%M:%S} fw02 : %FWSM-{tag}: "),
}
START = datetime.datetime(2014, 6, 1, 0, 0, 0)
PERIOD = datetime.timedelta(days=14)


class Pools:
    """Clients and servers that recur with a skewed popularity, as in real traffic."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.cache: dict = {}

    def pick(self, pool, size: int = 40) -> str:
        if isinstance(pool, list):
            return self.rng.choice(pool)
        members = self.cache.get(pool)
        if members is None:
            members = self.cache[pool] = [self._address(pool) for _ in range(size)]
        # Zipf-like: a few hosts carry most of the traffic.
        index = min(int(self.rng.paretovariate(1.2)) - 1, len(members) - 1)
        return members[index]

    def _address(self, pool: str) -> str:
        if pool == "internet":
            first = self.rng.choice([23, 34, 45, 52, 81, 93, 104, 151, 185, 212])
            return f"{first}.{self.rng.randrange(256)}.{self.rng.randrange(256)}." \
                   f"{self.rng.randrange(1, 255)}"
        network = ipaddress.ip_network(pool)
        return str(network[self.rng.randrange(1, max(network.num_addresses - 1, 2))])


def built_line(fw: str, when, conn_id: int, flow, pools: Pools, rng: random.Random) -> tuple:
    _, proto, (src_if, clients), (dst_if, servers), ports, src_nat, dst_nat = flow
    src, dst = pools.pick(clients), pools.pick(servers)
    sport, dport = rng.randrange(1024, 65536), rng.choice(ports)
    msrc, msport = (src_nat, rng.randrange(1024, 65536)) if src_nat else (src, sport)
    mdst = dst_nat.get(dst, dst)
    msg_id = "302013" if proto == "TCP" else "302015"
    header = HEADERS[fw](when, f"6-{msg_id}")
    if SECURITY[fw][src_if] < SECURITY[fw][dst_if]:
        # inbound: the `for` side is the initiator
        body = (f"Built inbound {proto} connection {conn_id} for {src_if}:{src}/{sport} "
                f"({msrc}/{msport}) to {dst_if}:{dst}/{dport} ({mdst}/{dport})")
    else:
        # outbound: the `to` side is the initiator
        body = (f"Built outbound {proto} connection {conn_id} for {dst_if}:{dst}/{dport} "
                f"({mdst}/{dport}) to {src_if}:{src}/{sport} ({msrc}/{msport})")
    teardown_id = "302014" if proto == "TCP" else "302016"
    end = when + datetime.timedelta(seconds=rng.randrange(1, 120))
    teardown = (HEADERS[fw](end, f"6-{teardown_id}") +
                f"Teardown {proto} connection {conn_id} for {dst_if}:{dst}/{dport} to "
                f"{src_if}:{src}/{sport} duration 0:00:{rng.randrange(10, 59)} bytes "
                f"{rng.randrange(100, 100000)}" + (" TCP FINs" if proto == "TCP" else ""))
    return header + body, teardown


def noise_line(fw: str, when, rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return "last message repeated 2 times"
    if kind == 1:
        return (HEADERS[fw](when, "4-106023") + f"Deny tcp src outside:{rng.randrange(1, 223)}."
                f"{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}/"
                f"{rng.randrange(1024, 65536)} dst outside:203.0.113.2/23 by access-group "
                f"\"outside_in\" [0x0, 0x0]")
    if kind == 2:
        return (HEADERS[fw](when, "6-305011") + "Built dynamic TCP translation from "
                f"inside:10.1.{rng.randrange(16)}.{rng.randrange(1, 255)}/"
                f"{rng.randrange(1024, 65536)} to outside:203.0.113.2/{rng.randrange(1024, 65536)}")
    if kind == 3:   # a firewall that is not in the database
        return (f"{when:%b %d %Y %H:%M:%S} fw99 : %ASA-6-302013: Built inbound TCP connection "
                f"{rng.randrange(10**6)} for outside:192.0.2.9/{rng.randrange(1024, 65536)} "
                "(192.0.2.9/40000) to inside:10.99.0.1/443 (10.99.0.1/443)")
    return (HEADERS[fw](when, "6-302020") + "Built inbound ICMP connection for faddr "
            f"192.0.2.{rng.randrange(1, 255)}/{rng.randrange(1, 65535)} gaddr 203.0.113.10/0 "
            "laddr 172.16.1.10/0 type 8 code 0")


def generate(fw: str, connections: int, seed: int):
    """Yield the log lines of one firewall: ``connections`` built lines plus the rest."""
    rng = random.Random(f"{seed}-{fw}")
    pools = Pools(rng)
    flows = PROFILES[fw]
    weights = [f[0] for f in flows]
    step = PERIOD / max(connections, 1)
    pending = []                        # teardowns, written once their time has come
    for n in range(connections):
        when = START + step * n
        when = when.replace(microsecond=0)
        while pending and pending[0][0] <= when:
            yield pending.pop(0)[1]
        flow = rng.choices(flows, weights)[0]
        built, teardown = built_line(fw, when, 100000 + n, flow, pools, rng)
        yield built
        if rng.random() < 0.9:
            pending.append((when + datetime.timedelta(seconds=rng.randrange(1, 120)), teardown))
            pending.sort(key=lambda item: item[0])
        if rng.random() < 0.03:
            yield noise_line(fw, when, rng)
    for _, line in pending:
        yield line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--lines", type=int, default=3000,
                        help="connection-built lines per firewall (default 3000)")
    parser.add_argument("--firewall", choices=sorted(PROFILES), action="append",
                        help="only this firewall (repeatable; default all)")
    parser.add_argument("--out", default="sample_logs",
                        help="directory; one sub-directory per firewall is written")
    parser.add_argument("--gzip", action="store_true", help="write .log.gz files")
    args = parser.parse_args()
    for fw in args.firewall or sorted(PROFILES):
        directory = os.path.join(args.out, fw)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"{fw}-2014-06.log" + (".gz" if args.gzip else ""))
        opener = gzip.open if args.gzip else open
        with opener(path, "wt", encoding="utf-8", newline="\n") as handle:
            for line in generate(fw, args.lines, args.seed):
                handle.write(line + "\n")
        print(path)


if __name__ == "__main__":
    main()
