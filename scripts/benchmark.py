#!/usr/bin/env python3
"""Benchmark the mapper: throughput against a parse-only floor at 100 / 10,000 / 100,000
expanded rules (and 1,000,000 in the full run), shuffle bytes, start-up, the reducer's memory,
and end-to-end scaling of `analyze`.

    scripts/benchmark.py                      # the full run (several minutes), writes a table
    scripts/benchmark.py --quick              # smaller workload, for a quick look

Workloads: a seeded generator writes large ASA configs with nested object-groups (the smaller
configs are prefixes of the larger ones) and, for each config, three logs whose connections
are spread over all its rules, ~90% connection-built lines, timestamps at ~1,000 lines a second:
"zipf" (flows repeat with a Zipf-like skew), "distinct" (every flow new: ever new clients of
the servers the rules admit) and "90% distinct" (10% of the lines repeat a flow); and ever new
clients of 3,000 web servers, an ACE each, whose lists fill many times over (behind an 8.3+
firewall and a pre-8.3 one, whose ACLs match mapped addresses; and IPv6 ones); 2,000
inside users browsing ever new internet servers (10,000 rules); and ever new internet
sources probing the firewall's public addresses, which the outside ACL denies (106023
lines, 10,000 rules). Speeds are
CPU time of the measured process (a shared machine's wall time varies far more). Every
measurement runs in a fresh process, so each peak RSS is its own.
"""
from __future__ import annotations

import argparse
import ipaddress
import itertools
import json
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from typing import Iterator, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from ruleset_analysis.machine import usable_cpus  # noqa: E402  (the path above first)

SECURITY = {"outside": 0, "dmz": 50, "inside": 100}
NETS = {"outside": "0.0.0.0/0", "dmz": "172.16.0.0/12", "inside": "10.0.0.0/8"}
PORTS = [22, 25, 53, 80, 110, 123, 143, 389, 443, 445, 636, 1433, 1521, 3306, 3389, 5432,
         8080, 8443, 9000, 9443]
GROUPS = 3000
WORKLOADS = (("zipf", 0.0), ("distinct", 1.0), ("90% distinct", 0.9))    # (name, distinct share)
LOG_START = 1401580800                   # 2014-06-01 00:00:00 UTC
REVISIONS = 12
BUSY_SERVICES = 3000
OUTBOUND_USERS = 2000


def _host(rng, interface):
    if interface == "inside":
        return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if interface == "dmz":
        return f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return f"{rng.choice([23, 45, 81, 93, 104, 151, 185, 198])}.{rng.randrange(256)}." \
           f"{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _interfaces() -> list:
    out = ["ASA Version 9.8(4)", "hostname bench"]
    for name, net in (("outside", "203.0.113.2 255.255.255.0"),
                      ("dmz", "172.16.0.1 255.240.0.0"), ("inside", "10.0.0.1 255.0.0.0")):
        out += [f"interface Gi0/{SECURITY[name]}", f" nameif {name}",
                f" security-level {SECURITY[name]}", f" ip address {net}"]
    return out


def make_config(aces: int, seed: int = 7) -> str:
    """An ASA config whose first ``aces`` ACEs are the same for every size."""
    out = _interfaces()
    for g in range(GROUPS):
        rng = random.Random(f"{seed}-g{g}")
        side = ("inside", "dmz", "outside")[g % 3]
        out.append(f"object-group network net{g}")
        for _ in range(rng.randrange(2, 6)):
            out.append(f" network-object host {_host(rng, side)}")
        if g >= 3 and rng.random() < 0.3:
            out.append(f" group-object net{g - 3}")           # nested, same side
        out.append(f"object-group service svc{g} tcp")
        for port in rng.sample(PORTS, rng.randrange(1, 4)):
            out.append(f" port-object eq {port}")
    for i in range(aces):
        rng = random.Random(f"{seed}-a{i}")
        acl, src_side, dst_side = rng.choice([("outside_in", "outside", "dmz"),
                                              ("outside_in", "outside", "inside"),
                                              ("inside_in", "inside", "outside"),
                                              ("inside_in", "inside", "dmz"),
                                              ("dmz_in", "dmz", "outside")])
        src_groups = [g for g in range(GROUPS) if ("inside", "dmz", "outside")[g % 3] == src_side]
        dst_groups = [g for g in range(GROUPS) if ("inside", "dmz", "outside")[g % 3] == dst_side]
        form = rng.random()
        if form < 0.55:
            out.append(f"access-list {acl} extended permit tcp object-group "
                       f"net{rng.choice(src_groups)} object-group net{rng.choice(dst_groups)} "
                       f"object-group svc{rng.randrange(GROUPS)}")
        elif form < 0.75:
            out.append(f"access-list {acl} extended permit tcp any host {_host(rng, dst_side)} "
                       f"eq {rng.choice(PORTS)}")
        elif form < 0.9:
            out.append(f"access-list {acl} extended permit udp object-group "
                       f"net{rng.choice(src_groups)} any eq {rng.choice([53, 123, 161, 514])}")
        else:
            out.append(f"access-list {acl} extended permit ip host {_host(rng, src_side)} "
                       f"object-group net{rng.choice(dst_groups)}")
    out += ["access-group outside_in in interface outside",
            "access-group inside_in in interface inside", "access-group dmz_in in interface dmz"]
    return "\n".join(out) + "\n"


def history_texts(config: str, revisions: int, seconds: int) -> Iterator[Tuple[str, str]]:
    """(since, config text) of ``revisions`` configs over ``seconds`` from the logs' start:
    each removes a fiftieth of one ACL's ACEs (the ACL changing in turn), as a change request
    does."""
    rows = config.splitlines()
    for k in range(revisions):
        acl = ("outside_in", "inside_in", "dmz_in")[k % 3]
        kept = [row for n, row in enumerate(rows)
                if not (row.startswith(f"access-list {acl} ") and n % 50 == k % 50)]
        yield (time.strftime("%Y-%m-%d %H:%M:%S",
                             time.gmtime(LOG_START + k * seconds // revisions)),
               "\n".join(kept) + "\n")


def save_history(config: str, db: str, revisions: int, seconds: int) -> None:
    """A history of ``history_texts`` stored."""
    from ruleset_analysis.asa.config import parse_config
    from ruleset_analysis.database import save_firewalls
    from ruleset_analysis.expand import expand_config
    from ruleset_analysis.history import HistoryBuilder
    builder = HistoryBuilder()
    for k, (since, text) in enumerate(history_texts(config, revisions, seconds)):
        builder.add(since, f"rev{k}.cfg", expand_config(parse_config(text, f"rev{k}.cfg")))
    newest, older = builder.finish()
    save_firewalls(db, [newest], {newest.name: older})


def measure_history(config: str, revisions: int, workdir: str) -> dict:
    """Wall time, database size and peak RSS of `preprocess` of a directory of ``revisions``
    daily revisions of ``config`` (``history_texts``). Run it in a process of its own
    (in_process)."""
    directory = os.path.join(workdir, f"history-{revisions}")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    with open(config) as handle:
        for since, text in history_texts(handle.read(), revisions, revisions * 86400):
            name = since.replace(" ", "T").replace(":", "")[:15] + ".cfg"
            with open(os.path.join(directory, name), "w") as target:
                target.write(text)
    db = os.path.join(workdir, f"history-{revisions}.db")
    if os.path.exists(db):
        os.unlink(db)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ruleset_analysis.cli", "preprocess", directory,
                    "--db", db], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    size = os.path.getsize(db)
    shutil.rmtree(directory, ignore_errors=True)
    for path in (db, db + ".lock"):
        os.unlink(path)
    return {"seconds": wall, "database_mb": size / 2**20,
            "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def aces_for(rules: int) -> int:
    """How many generated ACEs expand to about ``rules`` rules (measured ~24 per ACE)."""
    return max(rules // 24, 4)


def _inside(rng, address, side):
    if address is None:
        return _host(rng, side)
    if address.first == address.last:
        return str(ipaddress.ip_address(address.first))
    return str(ipaddress.ip_address(rng.randrange(address.first, address.last + 1)))


def _flow(rng, rules: list, routing) -> tuple:
    """A connection one of the rules permits: (proto, ingress, src, egress, dst, port)."""
    ingress, rule = rng.choice(rules)
    src = _inside(rng, rule.source, ingress)
    dst = _inside(rng, rule.destination, "outside" if ingress != "outside" else "dmz")
    egress = routing.interface_for(dst) or "outside"
    if egress == ingress:
        egress = "dmz" if ingress == "outside" else "outside"
    port = rule.destination_port.ranges[0][0] if rule.destination_port else 443
    proto = "UDP" if rule.protocol == 17 else "TCP"
    return proto, ingress, src, egress, dst, port


def make_log(path: str, firewall, lines: int, seed: int = 11, distinct: float = 0.0) -> None:
    """Connections spread over all rules; flows repeat with a Zipf-like skew, except a
    ``distinct`` share of the lines, each a flow never seen before (inbound internet traffic
    to a web or mail server: ever new clients)."""
    from ruleset_analysis.routing import RoutingTable
    rng = random.Random(seed)
    routing = RoutingTable(firewall)
    bound = {acl: iface for iface, acl in firewall.inbound.items()}
    rules = [(bound[acl.name], rule) for acl in firewall.acls.values() if acl.name in bound
             for ace in acl.entries for rule in ace.rules]
    flows = [_flow(rng, rules, routing) for _ in range(max(lines // 20, 100))]
    # new flows come from rules that admit many clients (any, or a network)
    wide = [(i, r) for i, r in rules if r.source is None or r.source.last > r.source.first] \
        or rules
    def line(n: int) -> str:
        if distinct and rng.random() < distinct:
            proto, ingress, src, egress, dst, port = _flow(rng, wide, routing)
        else:
            index = min(int(rng.paretovariate(0.6)) - 1, len(flows) - 1)
            proto, ingress, src, egress, dst, port = flows[index]
        return _built(n, proto, ingress, src, rng.randrange(1024, 65536), egress, dst, port)
    _write_log(path, lines, line)


def _write_log(path: str, lines: int, line) -> None:
    """A log of ``lines`` lines: a teardown every tenth (which shows no rule), ``line(n)``
    the others."""
    with open(path, "w") as handle:
        for n in range(lines):
            handle.write(_teardown(n) if n % 10 == 9 else line(n))


def _when(n: int) -> str:
    return time.strftime("%b %d %Y %H:%M:%S", time.gmtime(LOG_START + n // 1000))


def _teardown(n: int) -> str:
    """Line ``n`` of a log (~1,000 lines a second): a teardown, which shows no rule."""
    return (f"{_when(n)} bench : %ASA-6-302014: Teardown TCP connection {n} for "
            "outside:192.0.2.1/443 to inside:10.0.0.5/5000 duration 0:00:01 bytes 100 TCP FINs\n")


def _built(n: int, proto: str, ingress: str, src: str, sport: int, egress: str, dst: str,
           port: int) -> str:
    """Line ``n`` of a log: a connection from ``src`` on ``ingress`` built (inbound when it
    comes from the less secure side, as the firewall says it)."""
    if SECURITY[ingress] < SECURITY[egress]:
        body = (f"Built inbound {proto} connection {n} for {ingress}:{src}/{sport} "
                f"({src}/{sport}) to {egress}:{dst}/{port} ({dst}/{port})")
    else:
        body = (f"Built outbound {proto} connection {n} for {egress}:{dst}/{port} "
                f"({dst}/{port}) to {ingress}:{src}/{sport} (203.0.113.2/{sport})")
    return f"{_when(n)} bench : %ASA-6-{'302013' if proto == 'TCP' else '302015'}: {body}\n"


def make_busy(workdir: str, lines: int, services: int = BUSY_SERVICES,
              ipv6: bool = False, logged: bool = False) -> tuple:
    """Ever new clients of ``services`` web servers, an ACE each: every ACE's list of
    --max-connections fills many times over in a task, so the facts' flush bound must hold
    them all (else every flush sends them again). ``ipv6``: IPv6 servers and clients.
    ``logged``: the ACEs log and the firewall writes no connection-built lines (a level
    below 6 but for 106100): its ACL-log lines instead, each a flow's first hit but a tenth
    that count several flows in an interval. Its config and log: (config, log)."""
    def server_address(n: int) -> str:
        return f"2001:db8:16:{n // 250:x}::{n % 250 + 1:x}" if ipv6 else \
            f"172.16.{n // 250}.{n % 250 + 1}"
    stem = os.path.join(workdir, f"busy-{services}{'-ipv6' if ipv6 else ''}"
                                 f"{'-logged' if logged else ''}")
    config = stem + ".cfg"
    with open(config, "w") as handle:
        handle.write("\n".join(_interfaces() + [
            f"access-list outside_in extended permit tcp any host {server_address(n)} eq https"
            f"{' log' if logged else ''}" for n in range(services)] +
            ["access-group outside_in in interface outside"]) + "\n")
    rng = random.Random(13)

    def line(n: int) -> str:
        server = rng.randrange(services)
        src = f"2a00:{rng.randrange(65536):x}:{rng.randrange(65536):x}::" \
            f"{rng.randrange(1, 65536):x}" if ipv6 else _host(rng, "outside")
        if logged:
            hits = "1 first hit" if rng.random() < 0.9 else \
                f"{rng.randrange(2, 6)} 300-second interval"
            return (f"{_when(n)} bench : %ASA-6-106100: access-list outside_in permitted tcp "
                    f"outside/{src}({rng.randrange(1024, 65536)}) -> dmz/"
                    f"{server_address(server)}(443) hit-cnt {hits} [0x{server + 1:x}, 0x0]\n")
        return _built(n, "TCP", "outside", src, rng.randrange(1024, 65536), "dmz",
                      server_address(server), 443)
    _write_log(stem + ".log", lines, line)
    return config, stem + ".log"


def make_outbound(workdir: str, lines: int, users: int = OUTBOUND_USERS) -> tuple:
    """``users`` inside hosts browsing ever new internet servers (https, some http), behind
    the 10,000-rule config with the usual last rules of its inside ACL (the inside network
    to any on those ports; the config's own rules for any source to one server on https come
    first): every flow's shape new, each user's verdict the same for every server but those.
    Its config and log: (config, log)."""
    stem = os.path.join(workdir, f"outbound-{users}")
    config = stem + ".cfg"
    rows = make_config(aces_for(10_000)).splitlines()
    at = rows.index("access-group outside_in in interface outside")
    rows[at:at] = [f"access-list inside_in extended permit tcp 10.0.0.0 255.0.0.0 any eq {port}"
                   for port in ("https", "www")]
    with open(config, "w") as handle:
        handle.write("\n".join(rows) + "\n")
    rng = random.Random(17)
    hosts = [_host(rng, "inside") for _ in range(users)]
    _write_log(stem + ".log", lines, lambda n: _built(
        n, "TCP", "inside", rng.choice(hosts), rng.randrange(1024, 65536), "outside",
        _host(rng, "outside"), 443 if rng.random() < 0.8 else 80))
    return config, stem + ".log"


def make_denied(workdir: str, lines: int) -> str:
    """Internet scanners the bench configs' outside ACL denies (106023 lines): ever new
    sources probing the firewall's public /24 (no rule names it), 80% on common ports, the
    rest on any port; 10% teardowns: an internet-facing firewall that logs its denies. Its
    log."""
    rng = random.Random(19)

    def line(n: int) -> str:
        port = rng.choice(PORTS) if rng.random() < 0.8 else rng.randrange(1, 65536)
        return (f"{_when(n)} bench : %ASA-4-106023: Deny tcp src outside:"
                f"{_host(rng, 'outside')}/{rng.randrange(1024, 65536)} dst inside:"
                f"203.0.113.{rng.randrange(1, 255)}/{port} by access-group "
                '"outside_in" [0x0, 0x0]\n')
    log = os.path.join(workdir, "denied.log")
    _write_log(log, lines, line)
    return log


def make_logged_denied(workdir: str, lines: int) -> tuple:
    """The same scanners behind the 10,000-rule config with a last rule denying everything,
    logged (its 106100 first hits; a tenth count several flows in an interval): its config
    and log, (config, log)."""
    stem = os.path.join(workdir, "denied-logged")
    config = stem + ".cfg"
    rows = make_config(aces_for(10_000)).splitlines()
    at = rows.index("access-group outside_in in interface outside")
    rows.insert(at, "access-list outside_in extended deny ip any any log")
    with open(config, "w") as handle:
        handle.write("\n".join(rows) + "\n")
    rng = random.Random(23)

    def line(n: int) -> str:
        port = rng.choice(PORTS) if rng.random() < 0.8 else rng.randrange(1, 65536)
        hits = "1 first hit" if rng.random() < 0.9 else \
            f"{rng.randrange(2, 6)} 300-second interval"
        return (f"{_when(n)} bench : %ASA-4-106100: access-list outside_in denied tcp "
                f"outside/{_host(rng, 'outside')}({rng.randrange(1024, 65536)}) -> inside/"
                f"203.0.113.{rng.randrange(1, 255)}({port}) hit-cnt {hits} "
                "[0x5d6b1b4a, 0x0]\n")
    _write_log(stem + ".log", lines, line)
    return config, stem + ".log"


def with_acl_log(log: str, lines: int) -> str:
    """``log`` (a bench config's) as a firewall whose ACEs log writes it: each connection-built
    line after its ACL-log permit (106100, its first hit, in the ingress interface's ACL),
    ``lines`` of it (or one fewer: a pair is not split). Its path."""
    from ruleset_analysis.asa.syslog import BUILT_RE
    made = os.path.splitext(log)[0] + "-acl-logged.log"
    with open(log) as source, open(made, "w") as handle:
        written = 0
        for line in source:
            found = BUILT_RE.search(line)
            if written + (found is not None) >= lines:
                break
            if found is not None:
                direction, proto, for_if, for_ip, for_port, _, to_if, to_ip, to_port, _ = \
                    found.groups()
                side = ((for_if, for_ip, for_port), (to_if, to_ip, to_port))
                (src_if, src, sport), (dst_if, dst, dport) = \
                    side if direction == "inbound" else side[::-1]
                handle.write(f"{line[:found.start()]}%ASA-6-106100: access-list "
                             f"{src_if}_in permitted {proto.lower()} {src_if}/{src}({sport}) "
                             f"-> {dst_if}/{dst}({dport}) hit-cnt 1 first hit [0x0, 0x0]\n")
                written += 1
            handle.write(line)
            written += 1
    return made


def make_logs(config: str, lines: int) -> dict:
    """The three workloads' logs for a config, beside it: workload -> path."""
    from ruleset_analysis.preprocess import read_config
    firewall = read_config(config)
    stem = os.path.splitext(config)[0]
    made = {}
    for workload, distinct in WORKLOADS:
        made[workload] = f"{stem}-{workload.replace(' ', '-').replace('%', '')}.log"
        make_log(made[workload], firewall, lines, distinct=distinct)
        print(f"{os.path.basename(made[workload])}: {lines} lines, "
              f"{os.path.getsize(made[workload]) / 1e6:.0f} MB", flush=True)
    return made


# -- measurements, each in its own process -------------------------------------------------
def _peak_rss_mb() -> float:
    """This process's peak resident set. Linux's VmHWM, not ru_maxrss: a child's ru_maxrss
    starts at its parent's when it forks (every row showed the benchmark's own 106 MB)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_mapper(db: str, log: str, permits_from: str = "built") -> dict:
    from ruleset_analysis.aggregate import LineAnalyzer, quiet_collector
    from ruleset_analysis.asa.syslog import log_chunks
    from ruleset_analysis.database import load_firewalls
    analyzer = LineAnalyzer(load_firewalls(db), "2014", permits_from=permits_from)
    quiet_collector()               # as every map task does
    add_lines = analyzer.add_lines
    lines = 0
    output = 0
    started = time.process_time()
    with open(log, "rb") as handle:     # streamed, as a map task reads its split
        for chunk in log_chunks(handle):
            add_lines(chunk)
            lines += len(chunk)
            if analyzer.full:       # a flush, as the job's mapper does
                output += sum(len(json.dumps(k)) + len(json.dumps(v)) + 2
                              for k, v in analyzer.emit())
    output += sum(len(json.dumps(k)) + len(json.dumps(v)) + 2 for k, v in analyzer.finish())
    elapsed = time.process_time() - started
    return {"lines": lines, "seconds": elapsed, "lines_per_s": lines / elapsed,
            "output_bytes": output, "input_bytes": os.path.getsize(log),
            "rss_mb": _peak_rss_mb()}


def measure_floor(log: str) -> dict:
    """The same reading and line loop with the same field extraction as the mapper's hot path
    (prefilter, message regex, header slice and lookup, regex groups), and nothing else; of
    an ACL message (106023, 106100), its regex and groups the same way."""
    from ruleset_analysis.aggregate import SHAPED_MESSAGES
    from ruleset_analysis.asa.syslog import BUILT_RE, MESSAGE_RE, log_chunks
    headers: dict = {}
    lines = 0
    started = time.process_time()
    with open(log, "rb") as handle:
        for chunk in log_chunks(handle):
            lines += len(chunk)
            for line in chunk:
                match = BUILT_RE.search(line) if "Built" in line else None
                if match is None:
                    message = MESSAGE_RE.search(line)
                    shaped = SHAPED_MESSAGES.get(message.group(1)) if message else None
                    if shaped is not None:
                        match = shaped.match(line, message.start())
                    if match is None:
                        continue
                header = line[:match.start()]
                if headers.get(header) is None:
                    headers[header] = header
                match.groups()
    elapsed = time.process_time() - started
    return {"lines": lines, "lines_per_s": lines / elapsed, "rss_mb": _peak_rss_mb()}


def measure_startup(db: str) -> dict:
    from ruleset_analysis.aggregate import LineAnalyzer
    from ruleset_analysis.database import load_firewalls
    started = time.perf_counter()
    firewalls = load_firewalls(db)
    LineAnalyzer(firewalls, "2014")
    return {"seconds": time.perf_counter() - started, "rss_mb": _peak_rss_mb(),
            "rules": sum(len(a.rules) for fw in firewalls.values() for a in fw.aces())}


def measure_shadowing(aces: int) -> dict:
    """Shadowing and redundancy of the largest ACL of a generated config (its ACEs are
    spread over three ACLs)."""
    from ruleset_analysis.asa.config import parse_config
    from ruleset_analysis.expand import expand_config
    from ruleset_analysis.shadowing import analyse_acl
    firewall = expand_config(parse_config(make_config(aces), "bench.cfg"))
    acl = max(firewall.acls.values(), key=lambda a: len(a.entries))
    started = time.process_time()
    found = analyse_acl(acl, True)
    return {"aces": len(acl.entries), "rules": sum(len(a.rules) for a in acl.entries),
            "seconds": time.process_time() - started, "findings": len(found),
            "rss_mb": _peak_rss_mb()}


def _task_record(task: int, connections: int, bound: int) -> dict:
    """What a map task emits for one ACE (``permit tcp any host 172.16.1.10 eq 443``) after
    ``connections`` new clients, every one distinct from every other task's: the sample its
    hash threshold leaves (at most ``bound``) and the rest's hits in their service."""
    from ruleset_analysis.records import merge_ace
    when = "2014-06-01 00:00:00"
    clients = [f"{(task >> 8) % 200 + 1}.{task % 256}.{n >> 8 & 255}.{n & 255}"
               for n in range(connections)]
    return merge_ace([{"hits": connections, "first": when, "last": when,
                       "rules": [[0, connections, when, when]],
                       "connections": [["tcp", c, "172.16.1.10", 443, 1, when, when]
                                       for c in clients],
                       "days": {when[:10]: connections}}], bound)


def measure_reducer(tasks: int, connections: int) -> dict:
    """The reducer's merge of one ACE's records from ``tasks`` map tasks, each with
    ``connections`` distinct connections (records made as they stream in, one at a time)."""
    from ruleset_analysis.options import DEFAULT_MAX_CONNECTIONS
    from ruleset_analysis.records import reduce_values
    started = time.process_time()
    merged = reduce_values("ace\tfw01\toutside_in\t1",
                           (_task_record(t, connections, DEFAULT_MAX_CONNECTIONS)
                            for t in range(tasks)), DEFAULT_MAX_CONNECTIONS, finish=True)
    assert merged["hits"] == tasks * connections
    return {"seconds": time.process_time() - started, "rss_mb": _peak_rss_mb(),
            "listed": len(merged["connections"])}


def bracketed(run, reference, *args) -> tuple:
    """(run(), the mean lines/s of ``reference(*args)`` measured right before and right
    after it, each in its own process)."""
    before = in_process(reference, *args)["lines_per_s"]
    result = run()
    return result, (before + in_process(reference, *args)["lines_per_s"]) / 2


def paired(run, reference, *args) -> tuple:
    """(run(), the mean lines/s of ``reference(*args)`` run over and over in a process of its
    own, on another core, while ``run`` runs): both meet the machine in the same state, where
    a reference measured before and after drifted with it. One core: bracketed."""
    if usable_cpus() < 2:
        return bracketed(run, reference, *args)
    context = multiprocessing.get_context("spawn")
    stop, speeds = context.Event(), context.Queue()
    beside = context.Process(target=_repeat, args=(reference, args, stop, speeds), daemon=True)
    beside.start()
    try:
        result = run()
    finally:
        stop.set()
    found = speeds.get()
    beside.join()
    return result, statistics.mean(found)


def _repeat(reference, args: tuple, stop, speeds) -> None:
    found: list = []
    while not found or not stop.is_set():
        found.append(reference(*args)["lines_per_s"])
    speeds.put(found)


def side_by_side(calls: list) -> list:
    """[function(*args)] of each (function, args), each in a process of its own, all at once
    where there are cores for them, else one after the other."""
    if usable_cpus() < len(calls):
        return [in_process(function, *args) for function, args in calls]
    with multiprocessing.get_context("spawn").Pool(len(calls)) as pool:
        pending = [pool.apply_async(function, args) for function, args in calls]
        return [result.get() for result in pending]


def in_process(function, *args) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def _tree_bytes(path: str) -> int:
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass                # removed while walked
    return total


def measure_analyze(config: str, log: str, copies: int, workdir: str,
                    joined: bool = False, pieces: int = 0) -> dict:
    """Wall time, CPU use, peak temp disk and the largest peak RSS of one of its processes of
    `analyze -r local` on ``copies`` gzipped copies of the log (as logs are kept; ``joined``:
    in one archive, as rotated logs joined with cat; ``pieces``: their lines in that many
    archives, as a quiet firewall's hourly logs), with TMPDIR a directory of its own. Run
    it in a process of its own (in_process): the RSS is that of the largest process this one
    has waited for."""
    import gzip
    import threading
    packed = os.path.join(workdir, "bench.log.gz")
    if not os.path.exists(packed):
        with open(log, "rb") as source, gzip.open(packed, "wb") as target:
            shutil.copyfileobj(source, target)
    inputs = []
    for n in range(copies):
        target = os.path.join(workdir, f"bench{n}.log.gz")
        if not os.path.exists(target):
            os.link(packed, target)
        inputs.append(target)
    if pieces:
        folder = os.path.join(workdir, f"bench-{copies}-in-{pieces}")
        if not os.path.exists(folder):      # streamed: a child's peak RSS starts at ours
            os.mkdir(folder)
            with open(log, "rb") as source:
                step = -(-copies * sum(1 for _ in source) // pieces)
            target, written = None, 0
            for _ in range(copies):
                with open(log, "rb") as source:
                    for line in source:
                        if written % step == 0:
                            if target is not None:
                                target.close()
                            target = gzip.open(os.path.join(
                                folder, f"{written // step:05}.log.gz"), "wb")
                        target.write(line)
                        written += 1
            if target is not None:
                target.close()
        inputs = [folder]
    elif joined:
        target = os.path.join(workdir, f"bench-joined-{copies}.log.gz")
        if not os.path.exists(target):
            with open(target, "wb") as handle:
                for path in inputs:
                    with open(path, "rb") as member:
                        shutil.copyfileobj(member, handle)
        inputs = [target]
    scratch = tempfile.mkdtemp(prefix="tmpdir-", dir=workdir)
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _tree_bytes(scratch))
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    before = os.times()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ruleset_analysis.cli", "analyze", "-r", "local",
                    "-c", config, "--year", "2014", "--format", "json", "-o",
                    os.path.join(workdir, "report.json")] + inputs, check=True,
                   stderr=subprocess.DEVNULL, env=dict(os.environ, TMPDIR=scratch))
    wall = time.perf_counter() - started
    after = os.times()
    done.set()
    watcher.join()
    shutil.rmtree(scratch, ignore_errors=True)
    cpu = (after.children_user - before.children_user) + (after.children_system -
                                                          before.children_system)
    lines = copies * sum(1 for _ in open(log))
    read = sum(_tree_bytes(path) if os.path.isdir(path) else os.path.getsize(path)
               for path in inputs)
    return {"copies": copies, "lines": lines, "seconds": wall, "lines_per_s": lines / wall,
            "cores_used": cpu / wall, "temp_share": peak[0] / read,
            "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def measure_fixed_cost(config: str, log: str, workdir: str) -> dict:
    """Wall time and the largest peak RSS of one of its processes of `analyze` of ``config``
    on ``log`` (a few lines: what the ruleset's size costs, preprocess and report), its JSON
    report the largest. Run it in a process of its own (in_process)."""
    report = os.path.join(workdir, "fixed-cost.json")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ruleset_analysis.cli", "analyze", "-c", config,
                    "--year", "2014", "--format", "json", "-o", report, log], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    size = os.path.getsize(report)
    os.unlink(report)
    return {"seconds": wall, "report_mb": size / 2**20,
            "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def mapper_row(label: str, rules: int, result: dict, floor: float) -> list:
    """A table row of a mapper's measure_mapper result against its floor (lines/s)."""
    return [label, f"{rules:,}", f"{result['lines']:,}", f"{result['lines_per_s']:,.0f}",
            f"{floor:,.0f}", f"{result['lines_per_s'] / floor:.2f}",
            f"{result['output_bytes'] / result['input_bytes']:.4%}",
            f"{result['rss_mb']:.0f} MB"]


def import_as_installed() -> None:
    """The commands this runs import the package as an installed copy does, from bytecode
    compiled once here (pip compiles it when it installs; Python writes it beside the source
    at a first import), not compiled anew by each command as PYTHONDONTWRITEBYTECODE (set on
    some machines) makes it: 0.1 s of an `analyze` row's 2.3 s."""
    import ruleset_analysis
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    os.path.dirname(ruleset_analysis.__file__)], check=True,
                   stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller, faster workload")
    parser.add_argument("--lines", type=int, default=None, help="log lines (default 2,000,000; "
                        "--quick 300,000)")
    parser.add_argument("--out", default="benchmark.md", help="markdown table written here")
    parser.add_argument("--keep", default=None, help="keep the workload in this directory")
    args = parser.parse_args()
    lines = args.lines or (300_000 if args.quick else 2_000_000)
    sizes = [100, 10_000, 100_000] + ([] if args.quick else [1_000_000])
    workdir = args.keep or tempfile.mkdtemp(prefix="ruleset-bench-")
    os.makedirs(workdir, exist_ok=True)
    import_as_installed()
    from ruleset_analysis.database import save_firewalls
    from ruleset_analysis.preprocess import read_config
    dbs, configs = {}, {}
    for size in sizes:
        configs[size] = os.path.join(workdir, f"bench-{size}.cfg")
        with open(configs[size], "w") as handle:
            handle.write(make_config(aces_for(size)))
        dbs[size] = os.path.join(workdir, f"bench-{size}.db")
        if os.path.exists(dbs[size]):
            os.unlink(dbs[size])
        read = read_config(configs[size])
        save_firewalls(dbs[size], [read])
        print(f"config {size}: {sum(len(a.rules) for a in read.aces())} expanded rules",
              flush=True)
    # Each config meets logs made for it. A config that permits little of a log measures
    # another path (a built connection nothing permits: a disagreement, no credit): with the
    # 120,000-rule config's logs, the 100-rule one matched none of the connections and the
    # 10,000-rule one a tenth.
    with multiprocessing.get_context("spawn").Pool(min(usable_cpus(), len(sizes))) as pool:
        made = pool.starmap(make_logs, [(configs[size], lines) for size in sizes])
    logs = dict(zip(sizes, made))
    rows = []

    def measured_row(row: str, rules: int, db: str, log: str, permits_from: str = "built"
                     ) -> None:
        # A shared machine's speed drifts by tens of percent within minutes: each run's
        # floor is measured beside it, over and over till it ends.
        result, floor = paired(partial(in_process, measure_mapper, db, log, permits_from),
                               measure_floor, log)
        rows.append(mapper_row(row, rules, result, floor))
        print(" | ".join(rows[-1]), flush=True)

    for workload, _ in WORKLOADS:
        for size in sizes:
            measured_row(f"mapper, {workload}", size, dbs[size], logs[size][workload])

    def busy_row(row: str, config: str, log: str, rules: int = BUSY_SERVICES,
                 permits_from: str = "built") -> None:
        db = os.path.splitext(config)[0] + ".db"
        if os.path.exists(db):
            os.unlink(db)
        save_firewalls(db, [read_config(config)])
        measured_row(row, rules, db, log, permits_from)

    busy = f"mapper, distinct clients of {BUSY_SERVICES:,} services"
    config, log = make_busy(workdir, lines)
    busy_row(busy, config, log)
    # The same behind a pre-8.3 firewall (ACLs on mapped addresses; the clients not mapped
    # by NAT, as inbound internet clients are not): until 63b1cc5 every line a general path.
    pre_8_3 = os.path.join(workdir, f"busy-{BUSY_SERVICES}-pre-8.3.cfg")
    with open(config) as source, open(pre_8_3, "w") as handle:
        handle.write(source.read().replace("ASA Version 9.8(4)", "ASA Version 8.2(5)", 1))
    busy_row(busy + ", pre-8.3", pre_8_3, log)
    # IPv6 clients of IPv6 servers: until 23230e7 every new client a general path.
    busy_row(busy.replace("distinct", "distinct IPv6"), *make_busy(workdir, lines, ipv6=True))
    # The same logged by 106100 alone (--permits-from acl-log): until then every line a
    # general path.
    busy_row(f"mapper, ACL-log first hits of ever new clients of {BUSY_SERVICES:,} services, "
             "--permits-from acl-log", *make_busy(workdir, lines, logged=True),
             permits_from="acl-log")
    # Inside users to ever new internet servers: until 8907a72 every line a general path.
    busy_row(f"mapper, ever new destinations of {OUTBOUND_USERS:,} users",
             *make_outbound(workdir, lines), rules=10_000)
    # Each connection with its ACL-log permit (ACEs with `log`; the built lines count):
    # until 666bca9 every 106100 line a general path.
    measured_row("mapper, distinct, each connection with its ACL-log permit", 10_000,
                 dbs[10_000], with_acl_log(logs[10_000]["distinct"], lines))
    # Denied internet scanners: until ce00a31 every line a general path.
    measured_row("mapper, ever new sources denied", 10_000, dbs[10_000],
                 make_denied(workdir, lines))
    # The same denied by a logged last rule (106100): until 3341cac every new port a general
    # path.
    busy_row("mapper, ever new sources denied by a logged deny-all (106100)",
             *make_logged_denied(workdir, lines), rules=10_000)
    log = logs[10_000]["zipf"]
    # A year's logs meet a dozen revisions: the same zipf log against a history of 12
    # revisions over its span, beside the single revision (10,000 rules).
    history_db = os.path.join(workdir, "bench-history.db")
    if os.path.exists(history_db):
        os.unlink(history_db)
    with open(configs[10_000]) as handle:
        save_history(handle.read(), history_db, REVISIONS, lines // 1000)
    # Three rounds, the two side by side in each (they meet the machine in the same state:
    # run one after the other, the ratio moved by 0.15 between full runs), medians.
    runs: dict = {dbs[10_000]: [], history_db: []}
    for _ in range(3):
        for db, result in zip(runs, side_by_side([(measure_mapper, (db, log)) for db in runs])):
            runs[db].append(result)
    single = statistics.median(r["lines_per_s"] for r in runs[dbs[10_000]])
    for db, label in ((dbs[10_000], "1 revision"),
                      (history_db, f"{REVISIONS} revisions, {lines // REVISIONS:,} lines each")):
        speed = statistics.median(r["lines_per_s"] for r in runs[db])
        ratio = statistics.median(r["lines_per_s"] / one["lines_per_s"]
                                  for r, one in zip(runs[db], runs[dbs[10_000]]))
        rows.append([f"mapper, zipf, {label}", "10,000", f"{lines:,}", f"{speed:,.0f}",
                     f"1 revision: {single:,.0f}", f"{ratio:.2f}", "",
                     f"{max(r['rss_mb'] for r in runs[db]):.0f} MB"])
        print(" | ".join(rows[-1]), flush=True)
    for size in sizes[2:]:
        startup = in_process(measure_startup, dbs[size])
        rows.append(["start-up (load db + index)", f"{startup['rules']:,}", "", "", "", "",
                     f"{startup['seconds']:.2f} s", f"{startup['rss_mb']:.0f} MB"])
        print(" | ".join(rows[-1]), flush=True)
        # a large ruleset's own cost: preprocess (its database) and the report (every rule)
        few = os.path.join(workdir, f"bench-{size}-1000.log")
        with open(logs[size]["zipf"]) as source, open(few, "w") as target:
            target.writelines(itertools.islice(source, 1000))
        result = in_process(measure_fixed_cost, configs[size], few, workdir)
        rows.append(["analyze, 1,000 lines, JSON report", f"{startup['rules']:,}", "1,000",
                     "", "", "", f"{result['seconds']:.1f} s, report "
                     f"{result['report_mb']:,.0f} MB", f"{result['rss_mb']:.0f} MB"])
        print(" | ".join(rows[-1]), flush=True)
    # A year of a config's history is read with only its newest revision whole: memory per
    # older revision (a 120,000-rule revision whole ~19 MB; ~5 MB each when all were held).
    found = {}
    for revisions in (12, 48):
        found[revisions] = in_process(measure_history, configs[100_000], revisions, workdir)
        rows.append([f"preprocess, history of {revisions} daily revisions", "120,000", "",
                     "", "", "", f"{found[revisions]['seconds']:.1f} s, database "
                     f"{found[revisions]['database_mb']:.0f} MB",
                     f"{found[revisions]['rss_mb']:.0f} MB"])
        print(" | ".join(rows[-1]), flush=True)
    rows.append(["preprocess, history: each older revision held", "120,000", "", "", "", "",
                 "", f"{(found[48]['rss_mb'] - found[12]['rss_mb']) / 36:.2f} MB"])
    print(" | ".join(rows[-1]), flush=True)
    tasks = 100 if args.quick else 1000
    result = in_process(measure_reducer, tasks, 10_000)
    rows.append([f"reducer, one ACE, {tasks:,} tasks x 10,000 distinct connections", "1",
                 f"{tasks * 10_000:,} connections", "", "", "",
                 f"{result['seconds']:.1f} s (records made too), {result['listed']} listed",
                 f"{result['rss_mb']:.0f} MB"])
    print(" | ".join(rows[-1]), flush=True)
    for aces in ((6_000,) if args.quick else (6_000, 30_000)):
        result = in_process(measure_shadowing, aces)
        rows.append([f"shadowing, ACL of {result['aces']:,} ACEs", f"{result['rules']:,}", "",
                     "", "", "", f"{result['seconds']:.1f} s, {result['findings']} findings",
                     f"{result['rss_mb']:.0f} MB"])
        print(" | ".join(rows[-1]), flush=True)
    scale_lines = max(lines // 8, 50_000)
    small_log = os.path.join(workdir, "scale.log")
    with open(log) as src, open(small_log, "w") as dst:
        for n, text in enumerate(src):
            if n >= scale_lines:
                break
            dst.write(text)
    # End to end against what the cores could do: cores x the single-core mapper (Zipf log,
    # 10,000 rules), the target's denominator: the CPUs this process may use (a container's
    # quota too), as the local runner counts them
    cores = usable_cpus()
    # the full run: 250k, 1M, 4M and 16M lines
    # (and the same copies joined in one archive: its shares read by every core)
    # (and 4 copies' lines in 1,000 archives: a worker's many small tasks)
    runs = [(1, False, 0), (4, False, 0), (4, True, 0), (4, False, 1000), (16, False, 0),
            (16, True, 0)] + ([] if args.quick else [(64, False, 0)])
    for copies, joined, pieces in runs:
        # the single-core mapper right before and after, as the floors above
        result, single = bracketed(
            partial(in_process, measure_analyze, configs[10_000], small_log, copies, workdir,
                    joined, pieces),
            measure_mapper, dbs[10_000], small_log)
        label = f"{copies}x in one .gz" if joined else \
            f"{copies}x in {pieces:,} .gz" if pieces else f"{copies}x .gz"
        rows.append([f"analyze -r local {label}", "10,000", f"{result['lines']:,}",
                     f"{result['lines_per_s']:,.0f}", f"{cores} x {single:,.0f}",
                     f"{result['lines_per_s'] / (cores * single):.2f}",
                     f"{result['seconds']:.1f} s, temp {result['temp_share']:.1%}",
                     f"{result['cores_used']:.1f} cores, {result['rss_mb']:.0f} MB"])
        print(" | ".join(rows[-1]), flush=True)

    header = ["workload", "rules", "lines", "lines/s", "floor lines/s", "ratio",
              "output/input", "peak RSS"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    text = "\n".join(table) + "\n"
    with open(args.out, "w") as handle:
        handle.write(text)
    print("\n" + text)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
