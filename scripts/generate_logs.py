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
import sys

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
        # pings to the web farm; ports are ICMP types
        (3, "ICMP", ("outside", "internet"), ("dmz", ["172.16.1.10", "172.16.1.11"]), [8], None,
         {"172.16.1.10": "203.0.113.10", "172.16.1.11": "203.0.113.11"}),
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
        (2, "ICMP", ("inside", "10.2.0.0/21"), ("outside", ["192.0.2.53", "192.0.2.1"]), [8],
         "198.51.100.2", {}),
        # Connections the final deny catches: the config changed during the period.
        (0.3, "TCP", ("inside", "10.2.12.0/24"), ("outside", "internet"), [25], "198.51.100.2",
         {}),
    ],
}

# ACEs with `log` write 106100 lines: (firewall, ingress, destination port) -> ACL, level.
LOGGED_PERMITS = {("fw01", "outside", 8443): ("outside_in", 6)}

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


def built_line(fw: str, when, conn_id: int, flow, pools: Pools, rng: random.Random) -> list:
    """The lines one connection writes: built, maybe an ACL-log line, and the teardown."""
    _, proto, (src_if, clients), (dst_if, servers), ports, src_nat, dst_nat = flow
    src, dst = pools.pick(clients), pools.pick(servers)
    sport, dport = rng.randrange(1024, 65536), rng.choice(ports)
    msrc, msport = (src_nat, rng.randrange(1024, 65536)) if src_nat else (src, sport)
    mdst = dst_nat.get(dst, dst)
    inbound = SECURITY[fw][src_if] < SECURITY[fw][dst_if]
    end = when + datetime.timedelta(seconds=rng.randrange(1, 120))
    if proto == "ICMP":
        # faddr is the lower-security side; laddr/gaddr the higher side's real/mapped address
        ident = rng.randrange(1, 65535)
        if inbound:
            body = (f"Built inbound ICMP connection for faddr {src}/{ident} gaddr {mdst}/0 "
                    f"laddr {dst}/0 type {dport} code 0")
            teardown = (f"Teardown ICMP connection for faddr {src}/{ident} gaddr {mdst}/0 "
                        f"laddr {dst}/0 type {dport} code 0")
        else:
            body = (f"Built outbound ICMP connection for faddr {dst}/0 gaddr {msrc}/{ident} "
                    f"laddr {src}/{ident} type {dport} code 0")
            teardown = (f"Teardown ICMP connection for faddr {dst}/0 gaddr {msrc}/{ident} "
                        f"laddr {src}/{ident} type {dport} code 0")
        return [(when, HEADERS[fw](when, "6-302020") + body),
                (end, HEADERS[fw](end, "6-302021") + teardown)]
    msg_id = "302013" if proto == "TCP" else "302015"
    header = HEADERS[fw](when, f"6-{msg_id}")
    if inbound:
        # inbound: the `for` side is the initiator
        body = (f"Built inbound {proto} connection {conn_id} for {src_if}:{src}/{sport} "
                f"({msrc}/{msport}) to {dst_if}:{dst}/{dport} ({mdst}/{dport})")
    else:
        # outbound: the `to` side is the initiator
        body = (f"Built outbound {proto} connection {conn_id} for {dst_if}:{dst}/{dport} "
                f"({mdst}/{dport}) to {src_if}:{src}/{sport} ({msrc}/{msport})")
    lines = [(when, header + body)]
    logged = LOGGED_PERMITS.get((fw, src_if, dport))
    if logged:
        acl, level = logged
        lines.append((when, HEADERS[fw](when, f"{level}-106100") +
                      f"access-list {acl} permitted {proto.lower()} {src_if}/{src}({sport}) -> "
                      f"{dst_if}/{dst}({dport}) hit-cnt 1 first hit [0x3c1f0e9a, 0x0]"))
    if rng.random() < 0.9:
        teardown_id = "302014" if proto == "TCP" else "302016"
        lines.append((end, HEADERS[fw](end, f"6-{teardown_id}") +
                      f"Teardown {proto} connection {conn_id} for {dst_if}:{dst}/{dport} to "
                      f"{src_if}:{src}/{sport} duration 0:00:{rng.randrange(10, 59)} bytes "
                      f"{rng.randrange(100, 100000)}" + (" TCP FINs" if proto == "TCP" else "")))
    return lines


def deny_line(fw: str, when, rng: random.Random) -> str:
    """A scan from outside, denied: fw01's final deny has `log` (106100), fw02's not (106023)."""
    src = f"{rng.choice([45, 61, 89, 185, 194])}.{rng.randrange(256)}.{rng.randrange(256)}." \
          f"{rng.randrange(1, 255)}"
    sport, dport = rng.randrange(1024, 65536), rng.choice([23, 445, 3389, 1433])
    if fw == "fw01":
        return (HEADERS[fw](when, "3-106100") + f"access-list outside_in denied tcp "
                f"outside/{src}({sport}) -> dmz/172.16.1.{rng.choice([10, 11, 20])}({dport}) "
                "hit-cnt 1 first hit [0x5a1b2c3d, 0x0]")
    return (HEADERS[fw](when, "4-106023") + f"Deny tcp src outside:{src}/{sport} dst "
            f"servers:198.51.100.10/{dport} by access-group \"outside_in\" [0x0, 0x0]")


def noise_line(fw: str, when, rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return "last message repeated 2 times"
    if kind == 1:
        return deny_line(fw, when, rng)
    if kind == 2:
        return (HEADERS[fw](when, "6-305011") + "Built dynamic TCP translation from "
                f"inside:10.1.{rng.randrange(16)}.{rng.randrange(1, 255)}/"
                f"{rng.randrange(1024, 65536)} to outside:203.0.113.2/{rng.randrange(1024, 65536)}")
    return (HEADERS[fw](when, "6-302020") + "Built inbound ICMP connection for faddr "
            f"192.0.2.{rng.randrange(1, 255)}/{rng.randrange(1, 65535)} gaddr 203.0.113.10/0 "
            "laddr 172.16.1.10/0")                       # an old release: no type and code


def unknown_firewall_lines(connections: int, seed: int):
    """Lines of a firewall that is not in the database, in its own directory."""
    rng = random.Random(f"{seed}-fw99")
    step = PERIOD / max(connections, 1)
    for n in range(connections):
        when = (START + step * n).replace(microsecond=0)
        yield (f"{when:%b %d %Y %H:%M:%S} fw99 : %ASA-6-302013: Built inbound TCP connection "
               f"{n} for outside:192.0.2.9/{rng.randrange(1024, 65536)} (192.0.2.9/40000) to "
               "inside:10.99.0.1/443 (10.99.0.1/443)")


def generate(fw: str, connections: int, seed: int):
    """Yield the log lines of one firewall: ``connections`` connections and what goes with
    them, in time order."""
    rng = random.Random(f"{seed}-{fw}")
    pools = Pools(rng)
    flows = PROFILES[fw]
    weights = [f[0] for f in flows]
    step = PERIOD / max(connections, 1)
    pending: list = []                  # (time, order, line) written once their time has come
    order = 0
    for n in range(connections):
        when = (START + step * n).replace(microsecond=0)
        pending.sort()
        while pending and pending[0][0] <= when:
            yield pending.pop(0)[2]
        flow = rng.choices(flows, weights)[0]
        for at, line in built_line(fw, when, 100000 + n, flow, pools, rng):
            order += 1
            pending.append((at, order, line))
        if rng.random() < 0.03:
            order += 1
            pending.append((when, order, noise_line(fw, when, rng)))
    pending.sort()
    for _, _, line in pending:
        yield line


PROGRESS_EVERY = 100_000


def write_log(lines, handle, name: str, progress=None) -> int:
    """Write ``lines`` to ``handle``; on ``progress`` (a terminal) a line counting them, so a
    long run is not silent. -> the number of lines."""
    written = 0
    for written, line in enumerate(lines, 1):
        handle.write(line + "\n")
        if progress is not None and not written % PROGRESS_EVERY:
            progress.write(f"\r{name}: {written:,} lines")
            progress.flush()
    if progress is not None:
        progress.write(f"\r{name}: {written:,} lines\n")
        progress.flush()
    return written


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
    parser.add_argument("--quiet", action="store_true",
                        help="no progress line (shown only on a terminal)")
    args = parser.parse_args()
    progress = sys.stderr if sys.stderr.isatty() and not args.quiet else None
    outputs = [(fw, generate(fw, args.lines, args.seed)) for fw in args.firewall or
               sorted(PROFILES)]
    if not args.firewall:
        outputs.append(("fw99", unknown_firewall_lines(max(args.lines // 100, 1), args.seed)))
    for fw, lines in outputs:
        directory = os.path.join(args.out, fw)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"{fw}-2014-06.log" + (".gz" if args.gzip else ""))
        opener = gzip.open if args.gzip else open
        with opener(path, "wt", encoding="utf-8", newline="\n") as handle:
            write_log(lines, handle, fw, progress)
        print(path)


if __name__ == "__main__":
    main()
