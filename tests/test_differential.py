"""Random rulesets and traffic: whatever path a line takes and however the input is split into
tasks, the results are those of every line on the general path in one task.

The mapper's fast paths (cached flows, shapes, reaches, deny shapes, buffered lines, flushes,
sampled lists) each claim to give exactly what the general path gives. The hand-written specs
in test_fast_paths.py pin each one on a config made for it; this draws configs (8.3+ and
pre-8.3, in, out and global ACLs, groups, source ports, IPv6, inactive ACEs, a second
revision) and logs shaped so that the fast paths take many lines (ever new clients of few
services, users to ever new destinations, scanners of few services, repeats), then compares
the reducer's output record for record."""
import random

import pytest
from conftest import built, firewall
from test_fast_paths import reduced

from ruleset_analysis import aggregate
from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.history import build_history

CASES = 200

OUTSIDE_HOSTS = ["192.0.2.7", "192.0.2.66", "198.51.100.7", "198.51.100.200", "45.1.2.3"]
INSIDE_HOSTS = ["10.1.1.5", "10.1.1.6", "10.1.2.7", "10.2.0.5"]
MAPPED = {"172.16.1.10": "203.0.113.10", "172.16.1.11": "203.0.113.11",     # real: mapped
          "172.16.1.12": "203.0.113.12", "172.16.1.130": "203.0.113.130"}
SERVERS = list(MAPPED)
INTERNET = ["93.184.216.34", "151.101.1.1", "203.0.113.77"]
PORTS = [22, 23, 53, 80, 443, 8080, 1900, 3306]
NETWORKS = ["192.0.2.0 255.255.255.0", "192.0.2.0 255.255.255.128", "198.51.100.0 255.255.255.0",
            "10.1.0.0 255.255.0.0", "10.1.1.0 255.255.255.0", "172.16.1.0 255.255.255.0",
            "172.16.1.0 255.255.255.128", "203.0.113.0 255.255.255.0",
            "203.0.113.0 255.255.255.240", "93.0.0.0 255.0.0.0", "0.0.0.0 0.0.0.0",
            "198.18.0.0 255.254.0.0"]
IPV6_ADDRESSES = ["any6", "2001:db8::/32", "host 2001:db8::5", "host 2001:db8:80::80",
                  "2a00::/16"]
OBJECTS = """object-group network netA
 network-object host 192.0.2.7
 network-object 198.51.100.0 255.255.255.128
object-group network netB
 network-object 172.16.1.0 255.255.255.192
 network-object host 203.0.113.10
 network-object host 93.184.216.34
object-group network netC
 group-object netA
 network-object 10.1.0.0 255.255.0.0
object-group service svc_tcp tcp
 port-object eq 443
 port-object range 8000 8100
object-group service svc_udp udp
 port-object eq 53
 port-object eq 1900
"""
# The tasks compared with the general path: every connection listed, lists sampled, facts
# flushed often (at a fixed bound, or one that grows), flow caches dropped often.
TASKS = [{"max_connections": 1000}, {"max_connections": 4},
         {"max_connections": 20, "facts_limit": 200, "facts_ceiling": 200},
         {"max_connections": 3, "flows_limit": 40},
         {"max_connections": 50, "facts_limit": 50, "facts_ceiling": 400}]


def some_of(rng, drawn: list) -> dict:
    """{key: value} of the (share, key, value) of ``drawn`` each drawn with its share."""
    return {key: value for share, key, value in drawn if rng.random() < share}


def address(rng, pre_8_3: bool, source: bool) -> str:
    roll = rng.random()
    if roll < 0.3:
        return "any" if pre_8_3 else rng.choice(["any", "any", "any4"])
    if roll < 0.55:
        return "host " + rng.choice(OUTSIDE_HOSTS + INSIDE_HOSTS if source else
                                    SERVERS + list(MAPPED.values()) + INTERNET + INSIDE_HOSTS)
    if roll < 0.8:
        return rng.choice(NETWORKS)
    if roll < 0.87 and not pre_8_3:
        return rng.choice(IPV6_ADDRESSES)
    return "object-group " + rng.choice(["netA", "netB", "netC"])


def ports(rng, protocol: str) -> str:
    roll = rng.random()
    if protocol == "icmp":
        return rng.choice(["", "", " echo", " echo-reply", " unreachable"])
    if protocol not in ("tcp", "udp") or roll < 0.3:
        return ""
    port = rng.choice(PORTS)
    if roll < 0.65:
        return f" eq {port}"
    if roll < 0.75:
        return f" range {port} {port + rng.choice([0, 1, 100, 1000])}"
    if roll < 0.92:
        return f" {rng.choice(['gt', 'lt', 'neq'])} {port}"
    return f" object-group svc_{protocol}"


def ace(rng, pre_8_3: bool) -> str:
    protocol = rng.choice(["tcp", "tcp", "tcp", "udp", "ip", "icmp"])
    source_ports = ports(rng, protocol) if rng.random() < 0.15 and protocol != "icmp" else ""
    return (f"{rng.choice(['permit'] * 3 + ['deny'])} {protocol} "
            f"{address(rng, pre_8_3, True)}{source_ports} {address(rng, pre_8_3, False)}"
            f"{ports(rng, protocol)}{rng.choice(['', '', '', '', ' log', ' inactive'])}")


def config(rng) -> tuple:
    """(config text, whether it is pre-8.3, its ACLs' names)."""
    pre_8_3 = rng.random() < 0.35
    groups = {"outside_in": "in interface outside", "inside_in": "in interface inside",
              **some_of(rng, [(0.5, "dmz_out", "out interface dmz"),
                              (0.3, "dmz_in", "in interface dmz"), (0.25, "any_in", "global")])}
    lines = ["ASA Version 8.2(5)" if pre_8_3 else "ASA Version 9.8(1)", OBJECTS.rstrip("\n")]
    for name in groups:
        if rng.random() < 0.25:         # a blocked destination, first: every port denied
            lines.append(f"access-list {name} extended deny ip any host "
                         f"{rng.choice(SERVERS + list(MAPPED.values()) + INTERNET)}"
                         f"{rng.choice(['', ' log'])}")
        for _ in range(rng.randrange(1, 9)):
            if rng.random() < 0.1:
                lines.append(f"access-list {name} remark a remark takes a line number")
            lines.append(f"access-list {name} extended {ace(rng, pre_8_3)}")
        if rng.random() < 0.3:
            lines.append(f"access-list {name} extended {rng.choice(['permit', 'deny'])} ip any "
                         "any")
    lines += [f"access-group {name} {where}" for name, where in groups.items()]
    return "\n".join(lines) + "\n", pre_8_3, list(groups)


def changed(rng, text: str, pre_8_3: bool) -> str:
    """``text`` with one of its ACEs replaced by a random one: an older revision."""
    lines = text.split("\n")
    at = rng.choice([n for n, line in enumerate(lines) if " extended " in line])
    lines[at] = f"access-list {lines[at].split()[1]} extended {ace(rng, pre_8_3)}"
    return "\n".join(lines)


def new_address(rng, firsts: list) -> str:
    return (f"{rng.choice(firsts)}.{rng.randrange(256)}.{rng.randrange(256)}."
            f"{rng.randrange(1, 255)}")


def traffic(rng, acls: list, count: int) -> list:
    """Log lines: ever new clients of a few services (inbound), a few users to ever new
    destinations (outbound), scanners of a few services or of ever new ports and other
    denies (106023), ACL-log lines (106100), a tenth repeats; NAT on some, forms only the
    general path reads on some (IPv6, names, users, out-of-range ports, ICMP), over up to
    three days under few headers."""
    services = [(rng.choice(SERVERS), rng.choice(PORTS), rng.choice(["TCP", "TCP", "UDP"]))
                for _ in range(rng.randrange(1, 6))]
    users = rng.sample(INSIDE_HOSTS + ["2001:db8:1::5"], rng.randrange(1, 4))
    scanned = [(rng.choice(acls), rng.choice(["outside", "inside", "dmz"]),
                rng.choice(SERVERS + list(MAPPED.values()) + INTERNET),
                *rng.choice([("tcp", port) for port in PORTS] + [("udp", 53), ("udp", 1900)] +
                            [("tcp", None)] * 3 + [("udp", None)]))     # None: ever new ports
               for _ in range(rng.randrange(1, 5))]
    days = rng.randrange(1, 4)
    found: list = []
    for _ in range(count):
        when = f"Jun 0{rng.randrange(1, days + 1)} 2014 14:00:0{rng.randrange(3)}"
        roll = rng.random()
        if found and roll < 0.1:
            found.append(rng.choice(found))
        elif roll < 0.4:
            found.append(inbound(rng, services, when))
        elif roll < 0.65:
            found.append(outbound(rng, users, when))
        elif roll < 0.85:
            found.append(denied(rng, acls, scanned, when))
        else:
            found.append(acl_logged(rng, acls, services, when))
    return found


def inbound(rng, services: list, when: str) -> str:
    server, port, protocol = rng.choice(services)
    client = rng.choice(OUTSIDE_HOSTS) if rng.random() < 0.3 else \
        new_address(rng, [45, 198, 192, 93])
    if rng.random() < 0.1:
        client = rng.choice(["2001:db8::5", "foo", f"2001:db8::{rng.randrange(1, 9999):x}",
                             f"2a00:{rng.randrange(1, 9999):x}::1"])
    client_port = rng.choice([rng.randrange(1024, 65536), 51234, 22, 80])
    seen = client if rng.random() < 0.9 or ":" in client else \
        f"10.99.0.{rng.randrange(1, 250)}"
    shown = MAPPED[server] if rng.random() < 0.8 else server
    return built("inbound", protocol,
                 f"{rng.choice(['outside'] * 4 + ['inside'])}:{client}/{client_port} "
                 f"({seen}/{client_port})", f"dmz:{server}/{port} ({shown}/{port})", when=when)


def outbound(rng, users: list, when: str) -> str:
    user = rng.choice(users)
    destination = rng.choice(INTERNET + SERVERS) if rng.random() < 0.15 else \
        new_address(rng, [93, 151, 203, 172])
    if rng.random() < 0.1:
        destination = rng.choice(["2a00:1::5", "bar", f"2a00:{rng.randrange(1, 9999):x}::1",
                                  "2001:db8:80::80"])
    port = rng.choice([443, 443, 80, 22, 53])
    user_port = rng.randrange(1024, 65536)
    mapped = "192.0.2.200" if rng.random() < 0.4 and ":" not in user else user
    seen = "198.51.100.80" if rng.random() < 0.05 and ":" not in destination else destination
    return built("outbound", "UDP" if port == 53 else "TCP",
                 f"{rng.choice(['outside'] * 4 + ['dmz'])}:{destination}/{port} "
                 f"({seen}/{port})", f"inside:{user}/{user_port} ({mapped}/{user_port})",
                 when=when)


def denied(rng, acls: list, scanned: list, when: str) -> str:
    if rng.random() < 0.7:
        acl, interface, destination, protocol, port = rng.choice(scanned)
    else:
        acl = rng.choice(acls + ["no_such_acl"])
        interface = rng.choice(["outside", "inside", "dmz"])
        destination = rng.choice(SERVERS + list(MAPPED.values()) + INTERNET)
        protocol, port = rng.choice([("tcp", port) for port in PORTS] + [("udp", 53)])
    if port is None:
        port = rng.choice([rng.randrange(1, 65536)] * 19 + [70000])
    source = rng.choice(OUTSIDE_HOSTS + INSIDE_HOSTS) if rng.random() < 0.3 else \
        new_address(rng, [45, 198, 192, 10])
    source_port = rng.choice([rng.randrange(1, 1024), rng.randrange(1024, 65536), 70000])
    hashes = rng.choice([" [0x0, 0x0]", "", " [0x1234, 0x0]"])
    if rng.random() < 0.05:
        return (f'{when} fw01 : %ASA-4-106023: Deny icmp src {interface}:{source} dst '
                f'dmz:{destination} (type {rng.choice((8, 0, 3))}, code 0) by access-group '
                f'"{acl}"{hashes}')
    side = rng.choice([f"{interface}:{source}/{source_port}"] * 18 +
                      [f"{interface}:{source}/{source_port}(LOCAL\\bob)",
                       f"{interface}: {source}/{source_port}"])
    return (f'{when} fw01 : %ASA-4-106023: Deny {protocol} src {side} dst dmz:{destination}/'
            f'{port} by access-group "{acl}"{hashes}')


def acl_logged(rng, acls: list, services: list, when: str) -> str:
    """An ACL-log line (106100) of a service, or of ever new ports of its server: mostly a
    first hit of a new source."""
    server, port, protocol = rng.choice(services)
    if rng.random() < 0.2:
        port = rng.choice([rng.randrange(1, 65536)] * 19 + [70000])     # ever new ports
    source = rng.choice(OUTSIDE_HOSTS) if rng.random() < 0.3 else \
        new_address(rng, [45, 198, 192, 10])
    if rng.random() < 0.05:
        source = rng.choice(["2001:db8::5", f"2001:db8::{rng.randrange(1, 9999):x}"])
    hits = "1 first hit" if rng.random() < 0.8 else \
        f"{rng.randrange(0, 9)} 300-second interval"
    what = f"icmp {{}}/{source}({rng.choice((8, 0, 3))}) -> dmz/{server}(0)" \
        if rng.random() < 0.1 else \
        (f"{protocol.lower()} {{}}/{source}({rng.choice([rng.randrange(1024, 65536), 22, 80])})"
         f" -> dmz/{rng.choice([server, MAPPED[server]])}({port})")
    return (f"{when} fw01 : %ASA-6-106100: access-list {rng.choice(acls)} "
            f"{rng.choice(['permitted'] * 3 + ['denied', 'est-allowed'])} "
            f"{what.format(rng.choice(['outside', 'outside', 'inside', 'dmz']))} hit-cnt {hits}"
            f"{rng.choice([' [0x0, 0x0]', ' [0x1234, 0x0]', ''])}")


def tasks_output(made, lines: list, options: dict) -> list:
    """The records of one task over ``lines`` on the fast paths (flushing when full)."""
    task = LineAnalyzer({"fw01": made()}, "2014", **options)
    records: list = []
    for text in lines:
        task.add(text)
        if task.full:
            records += list(task.emit())
    return records + list(task.finish())


@pytest.mark.parametrize("seed", range(CASES))
def test_any_path_and_any_split_give_what_the_general_path_gives(seed, monkeypatch):
    rng = random.Random(seed)
    text, pre_8_3, acls = config(rng)
    older = changed(rng, text, pre_8_3) if rng.random() < 0.33 else None
    # (from 14:00:01 on the first day: that day's lines at 14:00:00 are before it)
    first = rng.choice(["2014-06-01 00:00:00", "2014-06-01 14:00:01"])
    switch = rng.choice([when for when in ("2014-06-02 00:00:00", "2014-06-02 14:00:01",
                                           "2014-06-01 14:00:01") if when > first])

    def made():
        if older is None:
            return firewall(text)
        newest, _ = build_history([(first, "rev0.cfg", firewall(older)),
                                   (switch, "rev1.cfg", firewall(text))])
        return newest
    lines = traffic(rng, acls, rng.choice([300, 1000, 3000]))
    options = dict(rng.choice(TASKS))
    common = some_of(rng, [(0.2, "since", "2014-06-02"), (0.1, "until", "2014-06-02"),
                           (0.2, "permits_from", "acl-log")])
    # the bounds that decide when the fast paths learn, buffer and give up, small or not
    monkeypatch.setattr(aggregate, "MESSAGE_TRIAL", rng.choice([16_384, 64, 8]))
    monkeypatch.setattr(aggregate, "SHAPE_EPOCH", rng.choice([2048, 4, 1]))
    monkeypatch.setattr(aggregate, "SHAPE_BATCH", rng.choice([128, 2]))
    monkeypatch.setattr(aggregate, "SHAPE_LINES", rng.choice([65_536, 16, 3]))
    bound = options["max_connections"]
    general = LineAnalyzer({"fw01": made()}, "2014", max_connections=bound, **common)
    for line in lines:
        general.slow_add(line, None)            # (no match: it teaches no fast path)
    expected = reduced(general.finish(), bound)

    assert reduced(tasks_output(made, lines, {**options, **common}), bound) == expected
    cuts = sorted(rng.sample(range(1, len(lines)), rng.randrange(1, 6)))
    split = []
    for start, end in zip([0] + cuts, cuts + [len(lines)]):
        split += tasks_output(made, lines[start:end], {**options, **common})
    assert reduced(split, bound) == expected


def counting(name: str, path, taken: dict):
    """``path`` (a method named ``name``) counting into ``taken`` the lines it took."""
    def counted(*args):
        took = path(*args)
        taken[name] += bool(took) or name == "slow_add"
        return took
    return counted


def probing(analyzer: LineAnalyzer, taken: dict):
    """The analyzer's add_message, counting into ``taken`` the denies it took by their
    probe's entry (their own shape not shared), by its kind: "counting" (no rule: a shared
    shape's entry) or "crediting" (a rule for every source and port)."""
    add = analyzer.add_message

    def counted(line, match):
        head = analyzer.message_heads.get(line[:match.start()])
        found = aggregate.message_key(match, head[3]) if head is not None else None
        own = head[2].get(found[0]) if found is not None else None
        took = add(line, match)
        probe = aggregate.probe_key(match, head[3], found) if head is not None else None
        if took and own.__class__ is not tuple and probe is not None:
            kind = head[2].get(probe[0]).__class__
            taken["crediting" if kind is aggregate._Probe else "counting"] += 1
        return took
    return counted


def test_the_drawn_cases_exercise_every_fast_path():
    # else the comparison above could pass by the fast paths never taking a line
    taken = {"add_reach": 0, "add_message": 0, "slow_add": 0}
    probes = {"counting": 0, "crediting": 0}
    lines = 0
    for seed in range(20):
        rng = random.Random(seed)
        text, _, acls = config(rng)
        analyzer = LineAnalyzer({"fw01": firewall(text)}, "2014")
        for name in taken:
            setattr(analyzer, name, counting(name, getattr(analyzer, name), taken))
        analyzer.add_message = probing(analyzer, probes)
        drawn = traffic(rng, acls, 1000)
        lines += len(drawn)
        for line in drawn:
            analyzer.add(line)
    cached_or_shaped = lines - sum(taken.values())
    assert min(taken["add_reach"], taken["add_message"], cached_or_shaped) > lines / 50
    assert taken["slow_add"] < 0.85 * lines
    assert min(probes.values()) > lines / 500     # (scanners of ever new ports: a few %)
