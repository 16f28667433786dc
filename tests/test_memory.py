"""Memory stays bounded on a many-rules, many-connections input: the mapper bounds each ACE's
connection list, flushes its facts and drops its flow caches at their bounds."""
import gc
import json
import subprocess
import sys
import tracemalloc
import weakref
from unittest import mock

import pytest
from conftest import OUTSIDE_DMZ, ROOT, SAMPLE_LOGS, built, firewall

from ruleset_analysis import aggregate
from ruleset_analysis.aggregate import FACT_BYTES, MEMORY_BUDGET, LineAnalyzer, quiet_collector
from ruleset_analysis.local_runner import run_local
from ruleset_analysis.model import collector_paused
from ruleset_analysis.options import JobOptions
from ruleset_analysis.runner import run_job
from ruleset_analysis.streaming import map_lines

MEASURE = r'''
from ruleset_analysis.aggregate import resident_bytes


def rss_mb():              # the current resident set, not the high-water mark
    return resident_bytes() / 2**20


before = peak = rss_mb()
emitted = hits = matched = 0


def take(records):              # the mapper writes these out
    global emitted, hits, matched
    for key, value in records:
        emitted += 1
        hits += value["hits"] if key[0] == "ace" else 0
        matched += value if key == ["counter", "matched"] else 0


for i in range(LINES):
    analyzer.add(line(i))
    if analyzer.full:
        take(analyzer.emit())
    if i % 10000 == 0:
        peak = max(peak, rss_mb())
take(analyzer.emit())
print(json.dumps({"growth_mb": max(peak, rss_mb()) - before, "records": emitted,
                  "hits": hits, "matched": matched}))
'''
# the same tail after each script's head: its analyzer, line(i) and LINES

SCRIPT = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.asa.config import parse_config
from ruleset_analysis.expand import expand_config

rules = "".join(f"access-list inside_in extended permit tcp host 10.200.{i // 250}.{i % 250 + 1}"
                f" any eq {1000 + i % 100}\n" for i in range(20000))
config = ("hostname fw01\ninterface Gi0/0\n nameif inside\n security-level 100\n" + rules +
          "access-list inside_in extended permit ip 10.0.0.0 255.0.0.0 any\n"
          "access-group inside_in in interface inside\n")
firewall = expand_config(parse_config(config, "many.cfg"))
limit = int(sys.argv[2])
# the largest lists a user may ask for: the flushes, not the lists' bound, keep memory bounded
analyzer = LineAnalyzer({"fw01": firewall}, "2014", facts_limit=limit, flows_limit=limit,
                        facts_ceiling=limit, max_connections=10_000)


def line(i):                  # every line a new flow and a new connection
    src = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
    dst = f"198.{i & 255}.{i >> 8 & 255}.{i >> 16 & 255}"
    return (f"Jun 06 2014 14:{i // 60000 % 60:02d}:{i // 1000 % 60:02d} fw01 : "
            f"%ASA-6-302013: Built outbound TCP connection {i} for outside:{dst}/443 "
            f"({dst}/443) to inside:{src}/{40000 + i % 20000} (203.0.113.2/5000)")


LINES = 300000
''' + MEASURE


def run(limit):
    out = subprocess.run([sys.executable, "-c", SCRIPT, ROOT, str(limit)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def test_memory_stays_bounded_when_every_line_is_a_new_connection():
    result = run(5000)
    assert result["growth_mb"] < 60, result
    assert result["records"] > 60            # it flushed many times
    assert result["hits"] == 300000           # every line credited, none lost


BUSY = OUTSIDE_DMZ + "".join(
    f"access-list outside_in extended permit tcp any host 172.16.1.{n} eq 80\n"
    for n in range(1, 201)) + "access-group outside_in in interface outside\n"


def flushing(servers: int, lines: int, bound: int = 16, memory=lambda analyzer: 0,
             **bounds) -> tuple:
    """A task of ``lines`` distinct clients to ``servers`` single-service ACEs in turn, its
    facts' bound 20, lists of ``bound``, its memory read as ``memory`` of it: its records,
    flushes and facts' bound at the end."""
    analyzer = LineAnalyzer({"fw01": firewall(BUSY)}, "2014", max_connections=bound,
                            facts_limit=20, **bounds)
    records, flushes = [], 0
    with mock.patch.object(aggregate, "resident_bytes", lambda: memory(analyzer)):
        for n in range(lines):
            analyzer.add(built("inbound", "TCP",
                               f"outside:198.51.{n // 250}.{n % 250 + 1}/4000",
                               f"dmz:172.16.1.{n % servers + 1}/80"))
            if analyzer.full:
                records += analyzer.emit()
                flushes += 1
        return records + list(analyzer.finish()), flushes, analyzer.facts_limit


def test_the_facts_bound_grows_to_twice_the_working_set_of_the_busy_aces_instead_of_a_flush():
    # reached, each of the 8 ACEs lists an eighth of its 16 or more (none has left a
    # connection out yet): each will hold up to 16
    _, flushes, limit = flushing(8, 2000, facts_ceiling=1000)
    assert flushes == 0 and limit == 2 * 8 * 16


def test_a_task_whose_facts_bound_grew_gives_what_one_that_kept_it_gives():
    from test_fast_paths import reduced
    grown, _, _ = flushing(8, 20000, facts_ceiling=1000)
    kept, flushes, _ = flushing(8, 20000, facts_ceiling=20)
    assert flushes > 10
    assert reduced(grown, 16) == reduced(kept, 16)
    assert len(json.dumps(grown)) < len(json.dumps(kept)) / 3     # not sent again and again


def test_the_facts_bound_grows_up_to_its_ceiling_then_flushes():
    _, flushes, limit = flushing(8, 20000)
    assert limit == 4 * 20 and flushes > 0


def test_the_facts_bound_does_not_grow_for_aces_that_list_few_connections():
    # 200 ACEs in turn, 10 connections each: none lists an eighth of its 100
    _, flushes, limit = flushing(200, 2000, bound=100, facts_ceiling=1000)
    assert flushes > 10 and limit == 20


def flushing_days(servers: int, days: int, limit: int) -> tuple:
    """The same client to ``servers`` ACEs once a day for ``days`` days, at most ``limit``
    ACE-days held: its records and flushes."""
    with mock.patch.object(aggregate, "DAYS_LIMIT", limit):
        analyzer = LineAnalyzer({"fw01": firewall(BUSY)}, "2014")
        records, flushes = [], 0
        for day in range(1, days + 1):
            for n in range(servers):
                analyzer.add(built("inbound", "TCP", "outside:198.51.100.7/4000",
                                   f"dmz:172.16.1.{n + 1}/80", when=f"Jun {day:02} 2014 10:00:00"))
                if analyzer.full:
                    records += analyzer.emit()
                    flushes += 1
        return records + list(analyzer.finish()), flushes


def test_the_aces_days_are_flushed_at_their_bound_though_the_facts_are_far_from_theirs():
    # 10 facts, ever more days: past 100 ACE-days on days 11 and 21
    from test_fast_paths import reduced
    records, flushes = flushing_days(10, 30, 100)
    unbounded, none = flushing_days(10, 30, 10**9)
    assert (flushes, none) == (2, 0)
    assert reduced(records, 100) == reduced(unbounded, 100)


def room_for(facts: int):
    """A task's memory, read, that leaves room for ``facts`` facts in all."""
    return lambda analyzer: MEMORY_BUDGET - (facts - len(analyzer.facts)) * FACT_BYTES


@pytest.mark.parametrize("memory, limit", [
    (room_for(30), 30),                         # room for ten more facts when it is reached
    (room_for(24), 20),                         # four: not worth a try at every fact
    (lambda analyzer: MEMORY_BUDGET, 20),
    (lambda analyzer: MEMORY_BUDGET + 2**20, 20),
    (lambda analyzer: None, 20),                # the platform does not tell
], ids=["room for ten facts", "for four", "at the budget", "over it", "not known"])
def test_the_facts_bound_grows_only_as_far_as_the_memory_budget_leaves_room(memory, limit):
    assert flushing(8, 2000, memory=memory, facts_ceiling=1000)[2] == limit


def test_the_task_memory_is_read_on_this_platform():
    assert 2**20 < aggregate.resident_bytes() < 2**40


# A pre-8.3 firewall's ACLs match mapped addresses: every new flow of an initiator NAT maps
# takes the general path, its verdict cached and the flow taught (the facts' bound fixed: the
# caches alone measured)
PRE_8_3_SCRIPT = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.asa.config import parse_config
from ruleset_analysis.expand import expand_config

rules = "".join(f"access-list outside_in extended permit tcp any host 172.16.0.{i + 1} eq 443\n"
                for i in range(200))
config = ("ASA Version 8.2(5)\nhostname fw01\ninterface Gi0/0\n nameif outside\n"
          " security-level 0\n ip address 203.0.113.2 255.255.255.0\ninterface Gi0/1\n"
          " nameif dmz\n security-level 50\n ip address 172.16.0.1 255.255.0.0\n" + rules +
          "access-group outside_in in interface outside\n")
analyzer = LineAnalyzer({"fw01": expand_config(parse_config(config, "pix.cfg"))}, "2014",
                        facts_limit=5000, facts_ceiling=5000)


def line(i):                  # every line a new flow
    src = f"{1 + i % 200}.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
    dst = f"172.16.0.{i % 200 + 1}"
    return (f"Jun 06 2014 14:{i // 60000 % 60:02d}:{i // 1000 % 60:02d} fw01 : "
            f"%ASA-6-302013: Built inbound TCP connection {i} for outside:{src}/4000 "
            f"(10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/4000) to dmz:{dst}/443 ({dst}/443)")


LINES = 120000
''' + MEASURE


def test_memory_stays_bounded_on_a_pre_8_3_firewall_when_every_line_is_a_new_flow():
    # each flow's cached verdict and taught entry took ~1 KB, kept up to a million of each:
    # 140 MB for these lines, a gigabyte for a million
    out = subprocess.run([sys.executable, "-c", PRE_8_3_SCRIPT, ROOT], check=True,
                         capture_output=True, text=True).stdout
    result = json.loads(out)
    assert result["matched"] == 120000
    assert result["growth_mb"] < 100, result


def test_connections_a_list_left_out_move_to_their_service_when_the_caches_are_dropped():
    # a cached flow counts into its connection's fact, so a halving leaves that fact in place
    # (stale) till no cached flow does: on a pre-8.3 firewall every flow of an initiator NAT
    # maps is cached, and the facts outgrew every list until a flush
    config = OUTSIDE_DMZ.replace("9.8(4)", "8.2(5)") + (
        "access-list outside_in extended permit tcp any host 172.16.1.5 eq 80\n"
        "access-group outside_in in interface outside\n")
    analyzer = LineAnalyzer({"fw01": firewall(config)}, "2014", max_connections=4,
                            flows_limit=50)
    for n in range(49):
        analyzer.add(built("inbound", "TCP", f"outside:198.51.100.{n + 1}/4000 "
                           f"(10.99.0.{n + 1}/4000)", "dmz:172.16.1.5/80"))
    assert len(analyzer.stale) > 4          # (listed, then left out, while cached)
    analyzer.add(built("inbound", "TCP", "outside:198.51.100.200/4000 (10.99.0.200/4000)",
                       "dmz:172.16.1.5/80"))
    assert analyzer.stale == [] and len(analyzer.facts) <= 4 + 1     # the list, the service
    ace = dict((tuple(k), v) for k, v in analyzer.emit())[("ace", "fw01", "outside_in", 1)]
    assert ace["hits"] == 50 and len(ace["connections"]) <= 4


class Node:
    pass


def test_a_flush_collects_the_cycles_made_while_a_map_task_keeps_the_collector_off():
    analyzer = LineAnalyzer({"fw01": firewall(OUTSIDE_DMZ)}, "2014")
    analyzer.add(built("inbound", "TCP", "outside:198.51.100.7/40000", "dmz:172.16.1.12/80"))
    with collector_paused():        # on again after the test: this is pytest's process
        quiet_collector()
        node = Node()
        node.cycle = node
        gone = weakref.ref(node)
        del node
        assert gone() is not None and not gc.isenabled()
        list(analyzer.emit())
        assert gone() is None


@pytest.mark.parametrize("run", [
    lambda db: run_local(SAMPLE_LOGS[:1], db, JobOptions(year="2014"), workers=1),
    lambda db: run_job(SAMPLE_LOGS[:1], db, "inline", JobOptions(year="2014")),
    lambda db: list(map_lines(open(SAMPLE_LOGS[0], "rb"), {})),
], ids=["local, in this process", "inline", "streaming"])
def test_a_map_task_in_this_process_turns_the_collector_on_again(sample_db, run):
    assert gc.isenabled()
    run(sample_db)
    assert gc.isenabled()


def test_loading_a_million_rules_holds_little_more_than_the_loaded_ruleset(tmp_path):
    from ruleset_analysis.asa.config import parse_config
    from ruleset_analysis.database import load_firewalls, save_firewalls
    from ruleset_analysis.expand import expand_config
    groups = "".join(f"object-group network g{g}\n" + "".join(
        f" network-object host 10.{g}.{i}.1\n" for i in range(20)) for g in range(40))
    aces = "".join(f"access-list inside_in extended permit tcp object-group g{n % 40} "
                   f"object-group g{(n * 7 + 1) % 40} eq {1000 + n}\n" for n in range(3000))
    config = ("hostname fw01\ninterface Gi0/0\n nameif inside\n security-level 100\n" +
              groups + aces + "access-group inside_in in interface inside\n")
    db = str(tmp_path / "big.db")
    save_firewalls(db, [expand_config(parse_config(config, "big.cfg"))])
    tracemalloc.start()
    try:
        firewalls = load_firewalls(db)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(a.rule_count for a in firewalls["fw01"].acls["inside_in"].entries) == 1_200_000
    # each ACE made an object as it is decoded, each member path held once: 22 MB here
    # (CPython 3.11), 73 MB when the decoded JSON was whole and every ACE had its own paths
    assert peak < 40 * 2**20, peak / 2**20


def test_members_port_sets_and_names_many_aces_repeat_are_loaded_once(tmp_path):
    from ruleset_analysis.asa.config import parse_config
    from ruleset_analysis.database import load_firewalls, save_firewalls
    from ruleset_analysis.expand import expand_config
    config = ("hostname fw01\ninterface Gi0/0\n nameif inside\n security-level 100\n"
              "object-group network clients\n network-object host 10.0.0.1\n"
              " network-object 10.1.0.0 255.255.0.0\n"
              "object-group service web tcp\n port-object eq 80\n port-object range 8000 8080\n"
              "access-list inside_in extended permit tcp object-group clients any "
              "object-group web\n"
              "access-list inside_in extended permit tcp object-group clients host 192.0.2.1 "
              "object-group web\n"
              "access-group inside_in in interface inside\n")
    db = str(tmp_path / "shared.db")
    save_firewalls(db, [expand_config(parse_config(config, "shared.cfg"))])
    first, second = load_firewalls(db)["fw01"].acls["inside_in"].entries
    assert first.sources == second.sources and len(first.sources) == 2
    assert all(a is b for a, b in zip(first.sources, second.sources))
    assert all(a[2] is b[2] for a, b in zip(first.services, second.services))
    assert first.acl is second.acl and first.groups[0] is second.groups[0]


def listed_facts() -> tuple:
    """An analyzer holding 40,000 listed connections of 200 ACEs, traced from before its
    first line: (it, the memory traced then, now)."""
    analyzer = LineAnalyzer({"fw01": firewall(BUSY)}, "2014", max_connections=1000,
                            facts_limit=100000, facts_ceiling=100000)
    empty = tracemalloc.get_traced_memory()[0]
    for n in range(40000):          # distinct clients, every one listed
        analyzer.add(built("inbound", "TCP", f"outside:198.51.{n // 250}.{n % 250 + 1}/4000",
                           f"dmz:172.16.1.{n % 200 + 1}/80"))
    analyzer.settle()               # the lines its shapes' buffers hold, counted
    assert len(analyzer.facts) == 40000
    return analyzer, empty, tracemalloc.get_traced_memory()[0]


def test_a_listed_fact_takes_less_memory_than_the_growth_of_the_facts_bound_counts():
    tracemalloc.start()
    try:
        analyzer, empty, full = listed_facts()
    finally:
        tracemalloc.stop()
    # 258 bytes here (CPython 3.11), the ACEs' samples, days and shapes included; 341
    # when an ACE listed (hash, key) tuples
    assert (full - empty) / len(analyzer.facts) < FACT_BYTES


def test_a_flush_holds_little_more_than_the_facts_it_sends():
    # the task's peak is at a flush: the records it makes beside the facts they come from
    tracemalloc.start()
    try:
        analyzer, empty, full = listed_facts()
        tracemalloc.reset_peak()
        for key, value in analyzer.emit():
            json.dumps([key, value])     # written out, as the job does, one at a time
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # nothing here (CPython 3.11); 37% of what the facts took when each connection was a
    # new list beside its fact, the facts and the ACEs' lists of listed keys all kept to
    # the end of the flush
    assert peak - full < (full - empty) / 8, ((peak - full) / 2**20, (full - empty) / 2**20)
