"""The mapper's fast paths (a flow seen before; a flow whose verdict does not depend on the
initiator's address, or on its destination) give exactly what the general path gives, line by
line."""
import random
from typing import Optional

import pytest
from conftest import built, firewall

from ruleset_analysis import aggregate
from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.history import build_history
from ruleset_analysis.records import (
    collect,
    connection_hash,
    encode,
    finish_ace,
    string_records,
)
from ruleset_analysis.streaming import reduce_lines

CONFIG = """
access-list outside_in extended deny tcp host 192.0.2.66 any eq https
access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-list outside_in extended permit tcp 192.0.2.0 255.255.255.0 host 172.16.1.11 eq ssh
access-list outside_in extended permit tcp any4 any
access-list dmz_out extended permit tcp any any eq https
access-list dmz_out extended permit tcp any any
access-group outside_in in interface outside
access-group dmz_out out interface dmz
"""
CONFIG_UDP = """
access-list outside_in extended permit udp any any eq domain
access-list outside_in extended permit tcp any any
access-group outside_in in interface outside
"""
SOURCES = [f"192.0.2.{n}" for n in range(1, 10)] + ["192.0.2.66", "198.51.100.7",
                                                    "2001:db8::5", "foo", "192.0.2.300"]
SERVICES = [("172.16.1.10", 443), ("172.16.1.11", 22), ("172.16.1.12", 80),
            ("172.16.1.12", 443)]


def log(seed: int, lines: int) -> list:
    rng = random.Random(seed)
    found = []
    for _ in range(lines):
        src, (dst, port) = rng.choice(SOURCES), rng.choice(SERVICES)
        sport = rng.choice(["51234", "40000", "65535", "65536", "99999"]) \
            if rng.random() < 0.3 else str(rng.randrange(1024, 65536))
        when = f"Jun 06 2014 14:47:{rng.randrange(3):02d}"     # headers repeat
        found.append(built("inbound", "TCP", f"outside:{src}/{sport}",
                           f"dmz:{dst}/{port}", when=when))
    return found


def watch_general_path(analyzer) -> list:
    """A list that gets an item each time ``analyzer`` takes a line on the general path."""
    taken = analyzer.slow_add
    slow: list = []
    analyzer.slow_add = lambda *args: slow.append(args) or taken(*args)
    return slow


def read_watched(config: str, lines, **options) -> tuple:
    """An analyzer of fw01 with ``config`` (and ``options``) that read ``lines``, and the
    lines that took its general path (watch_general_path)."""
    analyzer = LineAnalyzer({"fw01": firewall(config)}, "2014", **options)
    slow = watch_general_path(analyzer)
    for line in lines:
        analyzer.add(line)
    return analyzer, slow


def results(records):
    found = collect(records)
    aces = {key: finish_ace(record, 1000) for key, record in found.aces.items()}
    return found.counters, aces, found.disagreements, found.coverage


def test_fast_paths_give_what_every_line_on_the_general_path_gives():
    lines = log(3, 3000)
    whole = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    slow = watch_general_path(whole)
    for text in lines:
        whole.add(text)
    per_line = []
    for text in lines:              # a fresh analyzer per line: the general path only
        single = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
        single.add(text)
        per_line += list(single.emit())
    assert results(whole.finish()) == results(per_line)
    assert len(slow) < len(lines) / 3          # (the fast paths took most lines)


SERVERS = """
access-list outside_in extended permit tcp any 172.16.1.0 255.255.255.0
access-list outside_in extended permit tcp any any
access-group outside_in in interface outside
"""


def test_fast_paths_give_what_the_general_path_gives_where_lists_and_services_are_sampled():
    # ever new clients of 60 services, an ACE listing 4: most connections are left out, to
    # their service's fact or (the service left out too) the rule's
    rng = random.Random(7)
    lines = [built("inbound", "TCP", f"outside:198.51.{rng.randrange(8)}.{rng.randrange(250)}"
                   f"/{rng.randrange(1024, 65536)}",
                   f"dmz:172.16.{rng.choice((1, 2))}.{rng.randrange(1, 31)}/"
                   f"{rng.choice((80, 443))}", when=f"Jun 06 2014 14:{n // 60 % 60:02d}:00")
             for n in range(3000)]
    fast = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=4)
    general = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=4)
    for text in lines:
        fast.add(text)
        general.slow_add(text, None)            # (no match: it teaches no fast path)
    assert fast.shapes["fw01"] and not general.shapes   # (the shapes took the lines)
    mine, theirs = collect(fast.finish()), collect(general.finish())
    assert all(record.get("sample_below") and record.get("service_below")
               for record in mine.aces.values())           # (both were sampled)
    assert mine.counters == theirs.counters
    assert {k: finish_ace(v, 4) for k, v in mine.aces.items()} == \
        {k: finish_ace(v, 4) for k, v in theirs.aces.items()}


def shared_shape_lines(seed: int, lines: int, days: int) -> list:
    """Ever new clients of 60 services at times out of order, the days going back and forth
    (a shape's buffer is counted when its day changes, when full, and before any record is
    read)."""
    rng = random.Random(seed)
    return [built("inbound", "TCP", f"outside:198.51.{rng.randrange(8)}.{rng.randrange(250)}"
                  f"/{rng.randrange(1024, 65536)}",
                  f"dmz:172.16.{rng.choice((1, 2))}.{rng.randrange(1, 31)}/"
                  f"{rng.choice((80, 443))}",
                  when=f"Jun {1 + rng.randrange(days):02d} 2014 14:{rng.randrange(60):02d}:"
                       f"{rng.randrange(60):02d}")
            for _ in range(lines)]


@pytest.mark.parametrize("batch, epoch, held", [
    (aggregate.SHAPE_BATCH, aggregate.SHAPE_EPOCH, aggregate.SHAPE_LINES),
    (1, aggregate.SHAPE_EPOCH, aggregate.SHAPE_LINES), (8, 1, aggregate.SHAPE_LINES),
    (8, aggregate.SHAPE_EPOCH, 5)], ids=["batches", "lone lines", "at once", "all at once"])
def test_a_shapes_lines_counted_from_its_buffer_give_what_the_general_path_gives(monkeypatch,
                                                                                batch, epoch,
                                                                                held):
    # more lines per shape and day than a buffer holds, days interleaved, lists and services
    # sampled: the batch's listed connections, its halvings and its left-out sums are exact;
    # where a buffer holds one line when counted (shapes many and each rare, a million
    # rules), that line is counted without the batch's lists, as exactly; and so is a line
    # counted at once, its shape not met since the epoch began (an epoch of one line: all);
    # and every buffer counted at once when they hold a bound of lines
    monkeypatch.setattr(aggregate, "SHAPE_BATCH", batch)
    monkeypatch.setattr(aggregate, "SHAPE_EPOCH", epoch)
    monkeypatch.setattr(aggregate, "SHAPE_LINES", held)
    lines = shared_shape_lines(11, 6000, 3)
    fast = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=4)
    general = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=4)
    for text in lines:
        fast.add(text)
        general.slow_add(text, None)
    assert bool(fast.buffered) == (epoch > 1)       # (which way the shapes took the lines)
    mine, theirs = collect(fast.finish()), collect(general.finish())
    assert mine.counters == theirs.counters
    assert mine.coverage == theirs.coverage     # evidence per day, counted from the buffers
    assert {k: finish_ace(v, 4) for k, v in mine.aces.items()} == \
        {k: finish_ace(v, 4) for k, v in theirs.aces.items()}


def test_a_shape_met_once_in_an_epoch_is_counted_at_once_and_one_met_again_is_buffered():
    analyzer = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014")
    for n in range(1, 901):         # (the general path: till shapes are learnt)
        analyzer.add(built("inbound", "TCP", f"outside:198.51.100.{n % 250 + 1}/4000",
                           f"dmz:172.16.1.{n % 30 + 1}/80"))
    shape = analyzer.shapes["fw01"][("TCP", "outside", "dmz", "172.16.1.7", "80")]
    assert shape.__class__ is tuple
    analyzer.settle()               # (its buffer counted)
    analyzer.epoch += 1             # (an epoch begins)
    hits = shape[1][0][1]
    before = sum(hits.values())
    analyzer.add(built("inbound", "TCP", "outside:203.0.113.1/4000", "dmz:172.16.1.7/80"))
    assert sum(hits.values()) == before + 1                     # counted
    assert not any(entry is shape for entry in analyzer.buffered)
    analyzer.add(built("inbound", "TCP", "outside:203.0.113.2/4000", "dmz:172.16.1.7/80"))
    assert sum(hits.values()) == before + 1                     # waiting
    assert any(entry is shape for entry in analyzer.buffered)
    analyzer.settle()
    assert sum(hits.values()) == before + 2


FLUSHED = """
access-list outside_in extended permit tcp 198.51.100.0 255.255.255.128 host 172.16.2.5 eq ssh
access-list outside_in extended permit tcp any 172.16.1.0 255.255.255.0
access-list outside_in extended permit tcp any any
access-group outside_in in interface outside
"""


def flushed_lines(seed: int, lines: int) -> list:
    """Clients old and new, some not IPv4, of services whose verdict is shared by every
    initiator or depends on it, under few headers, over three days."""
    rng = random.Random(seed)
    sources = [f"198.51.100.{n}" for n in range(1, 255)] + ["2001:db8::5", "foo"]
    return [built("inbound", "TCP", f"outside:{rng.choice(sources)}/{rng.randrange(1024, 65536)}",
                  f"dmz:172.16.{rng.choice((1, 2))}.{rng.randrange(1, 9)}/"
                  f"{rng.choice((22, 80, 443))}",
                  when=f"Jun 0{rng.randrange(1, 4)} 2014 14:00:0{rng.randrange(3)}")
            for _ in range(lines)]


def flushed_history():
    """FLUSHED from the 2nd on; before, an ACE in front of it takes part of its traffic."""
    newest, _ = build_history([
        ("2014-06-01 00:00:00", "rev0.cfg", firewall(FLUSHED.replace(
            "access-list", "access-list outside_in extended permit tcp any host 172.16.1.3\n"
            "access-list", 1))),
        ("2014-06-02 00:00:00", "rev1.cfg", firewall(FLUSHED))])
    return newest


@pytest.mark.parametrize("revisions", [1, 2])
def test_a_task_that_flushes_often_gives_what_the_general_path_gives(revisions):
    # the shapes learnt are kept through a flush, rebound to the tables after it (with a
    # history, a table per revision)
    lines = flushed_lines(21, 4000)

    def made():
        return firewall(FLUSHED) if revisions == 1 else flushed_history()
    fast = LineAnalyzer({"fw01": made()}, "2014", max_connections=20, facts_limit=30,
                        facts_ceiling=30)
    general = LineAnalyzer({"fw01": made()}, "2014", max_connections=20)
    records = []
    flushes = 0
    for text in lines:
        fast.add(text)
        general.slow_add(text, None)
        if fast.full:
            records += list(fast.emit())
            flushes += 1
    assert flushes > 50
    assert len(fast.shapes) == revisions
    records += list(fast.finish())
    assert reduced(records, 20) == reduced(general.finish(), 20)


def reduced(records, bound: int) -> list:
    """What the reducer (the cat-pipe's) makes of a task's records."""
    return list(reduce_lines(sorted(encode(key, value) for key, value in string_records(records)),
                             bound))


def test_after_a_flush_an_ace_lists_only_connections_below_the_threshold_it_had_reached():
    # else every flush made each ACE list up to --max-connections anew: output and flushes
    # grow where many ACEs each see many clients
    analyzer = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=4)

    def clients(first: int, count: int) -> dict:
        for n in range(first, first + count):
            analyzer.add(built("inbound", "TCP", f"outside:198.51.{n // 250}.{n % 250 + 1}/4000",
                               "dmz:172.16.1.5/80"))
        return dict((tuple(k), v) for k, v in analyzer.emit())[("ace", "fw01", "outside_in", 1)]
    before = clients(0, 200)
    after = clients(1000, 40)       # (fresh, a list of 4 would hold 4 of them)
    assert after["hits"] == 40 and after["sample_below"] == before["sample_below"]
    assert len(after["connections"]) < 4
    assert all(connection_hash(*c[:4]) < after["sample_below"] for c in after["connections"])


def test_a_flush_keeps_the_shapes_learnt_so_a_new_initiator_takes_no_general_path():
    analyzer = LineAnalyzer({"fw01": firewall(FLUSHED)}, "2014")
    for text in flushed_lines(22, 600):
        analyzer.add(text)
    list(analyzer.emit())
    slow = watch_general_path(analyzer)
    for n in range(1, 9):           # (the first line teaches its header again)
        analyzer.add(built("inbound", "TCP", f"outside:203.0.113.{n}/4000",
                           f"dmz:172.16.1.{n}/80", when="Jun 04 2014 14:00:00"))
    assert len(slow) == 1
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 2)]["hits"] == 8
    assert records[("coverage", "fw01")]["days"] == {"2014-06-04": 8}


def test_the_lines_waiting_in_shape_buffers_stay_bounded_however_many_shapes(monkeypatch):
    monkeypatch.setattr(aggregate, "SHAPE_BATCH", 4)
    monkeypatch.setattr(aggregate, "SHAPE_LINES", 12)
    lines = shared_shape_lines(12, 3000, 2)
    fast = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=4)
    general = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=4)
    waiting = []
    for text in lines:
        fast.add(text)
        general.slow_add(text, None)
        waiting.append(sum(len(entry[0][1]) for entry in fast.shapes["fw01"].values()
                           if entry.__class__ is tuple))
    assert 0 < max(waiting) <= 12
    mine, theirs = collect(fast.finish()), collect(general.finish())
    assert mine.counters == theirs.counters
    assert {k: finish_ace(v, 4) for k, v in mine.aces.items()} == \
        {k: finish_ace(v, 4) for k, v in theirs.aces.items()}


def test_shapes_wait_in_their_buffers_however_many_are_busy_the_bound_is_on_their_lines():
    # 3,000 busy services: a bound of 2,048 buffers counted them a line or two at a time
    # (each client of one service only: a client of many would share its reach instead)
    analyzer = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014")
    for round in range(3):
        for n in range(3000):
            for client in (1, 2):       # (met again within the epoch: buffered)
                analyzer.add(built("inbound", "TCP", f"outside:198.{51 + round}.{n // 125}."
                                   f"{n % 125 * 2 + client}/4000",
                                   f"dmz:172.16.{2 + n // 250}.{n % 250 + 1}/80"))
    for client in range(3, 203):        # one more than a buffer holds: it is counted
        analyzer.add(built("inbound", "TCP", f"outside:198.51.2.{client}/4000",
                           "dmz:172.16.2.1/80"))
    waiting = [entry for entry in analyzer.shapes["fw01"].values() if entry[0][1]]
    assert len(waiting) == 3000 == len({id(entry) for entry in analyzer.buffered})
    assert analyzer.held == sum(len(entry[0][1]) for entry in waiting) < aggregate.SHAPE_LINES


def test_a_batchs_listed_connections_keep_their_times_out_of_their_services(monkeypatch):
    # a client every sample keeps comes first and again last, under the first line's header
    # (its time the earliest), in a batch with connections left out: its time is its own,
    # not its service's first
    monkeypatch.setattr(aggregate, "SHAPE_BATCH", 8)
    kept = next(f"198.51.100.{n}" for n in range(1, 255)
                if connection_hash("tcp", f"198.51.100.{n}", "172.16.1.5", 80) < 2 ** 32 // 512)
    rng = random.Random(13)
    clients = [kept] + [f"203.0.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                        for _ in range(500)] + [kept]
    lines = [built("inbound", "TCP", f"outside:{client}/{40000 + n}", "dmz:172.16.1.5/80",
                   when=f"Jun 06 2014 14:00:{(n + 9) // 10 % 51:02d}")    # 0, 1-50, 0
             for n, client in enumerate(clients)]
    fast = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=20)
    general = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=20)
    for text in lines:
        fast.add(text)
        general.slow_add(text, None)
    mine, theirs = collect(fast.finish()), collect(general.finish())
    listed = {c[1]: c for record in theirs.aces.values() for c in record["connections"]}
    assert listed[kept][4:] == [2, "2014-06-06 14:00:00", "2014-06-06 14:00:00"]
    assert {k: finish_ace(v, 20) for k, v in mine.aces.items()} == \
        {k: finish_ace(v, 20) for k, v in theirs.aces.items()}


@pytest.mark.parametrize("initiators", [("198.51.100.7", "198.51.100.7"),    # its flow
                                        ("198.51.100.7", "203.0.113.9")])    # its shape
def test_a_day_of_a_protocol_is_marked_by_a_line_the_fast_paths_take(initiators):
    # the UDP flow is known from the 5th; on the 6th a TCP line teaches the header and the UDP
    # line of the same second takes a fast path: the 6th shows UDP connections all the same
    # (else whether a day shows them depends on which lines take the general path: on how
    # the input was split, or when a task flushed)
    udp = [built("inbound", "UDP", f"outside:{source}/40000", "dmz:172.16.1.12/53",
                 when=f"Jun 0{day} 2014 14:00:00")
           for day, source in zip((5, 6), initiators)]
    tcp = built("inbound", "TCP", "outside:192.0.2.9/40001", "dmz:172.16.1.12/80",
                when="Jun 06 2014 14:00:00")
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG_UDP)}, "2014")
    analyzer.add(udp[0])
    analyzer.add(tcp)
    slow = watch_general_path(analyzer)
    analyzer.add(udp[1])
    assert slow == []
    coverage = collect(analyzer.finish()).coverage["fw01"]
    assert coverage["protocols"]["udp"] == {"2014-06-05": 1, "2014-06-06": 1}


def test_a_line_whose_initiator_port_is_out_of_range_is_malformed_on_the_fast_path_too():
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    for port in ("40000", "40001", "99999"):       # the flow is known when 99999 comes
        analyzer.add(built("inbound", "TCP", f"outside:198.51.100.7/{port}",
                           "dmz:172.16.1.12/80"))
    assert analyzer.counts() == {"matched": 2, "malformed": 1, "lines": 3}


def test_a_new_initiator_of_a_source_independent_flow_is_counted_without_the_general_path():
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    analyzer.add(built("inbound", "TCP", "outside:198.51.100.7/40000", "dmz:172.16.1.12/80"))
    calls = []
    analyzer.slow_add = lambda *args: calls.append(args)
    analyzer.add(built("inbound", "TCP", "outside:203.0.113.9/40001", "dmz:172.16.1.12/80"))
    assert calls == []
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 4)]["hits"] == 2
    assert records[("ace", "fw01", "dmz_out", 2)]["hits"] == 2


def test_a_known_shape_does_not_count_an_initiator_beyond_ipv4_whose_flow_is_cached():
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    analyzer.add(built("inbound", "TCP", "outside:198.51.100.7/40000", "dmz:172.16.1.12/80"))
    analyzer.add(built("inbound", "TCP", "outside:2001:db8::5/40001", "dmz:172.16.1.12/80"))
    calls = []
    analyzer.slow_add = lambda *args: calls.append(args)
    analyzer.add(built("inbound", "TCP", "outside:2001:db8::5/40002", "dmz:172.16.1.12/80"))
    assert calls == []                  # its exact flow, taught by the general path
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 4)]["hits"] == 1    # any4: IPv4 only
    assert records[("ace", "fw01", "dmz_out", 2)]["hits"] == 3


def test_a_flow_whose_first_match_depends_on_the_initiator_takes_the_general_path():
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    analyzer.add(built("inbound", "TCP", "outside:192.0.2.7/40000", "dmz:172.16.1.11/22"))
    analyzer.add(built("inbound", "TCP", "outside:198.51.100.7/40001", "dmz:172.16.1.11/22"))
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 3)]["hits"] == 1      # the /24 rule
    assert records[("ace", "fw01", "outside_in", 4)]["hits"] == 1      # any4 any


def test_a_known_flow_of_a_shape_whose_verdict_depends_on_the_initiator_is_counted_at_once():
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    for client in ("192.0.2.7", "198.51.100.7"):        # the /24 rule, then any4 any
        analyzer.add(built("inbound", "TCP", f"outside:{client}/40000", "dmz:172.16.1.11/22"))
    calls = watch_general_path(analyzer)
    for client in ("192.0.2.7", "198.51.100.7", "192.0.2.8"):
        analyzer.add(built("inbound", "TCP", f"outside:{client}/40001", "dmz:172.16.1.11/22"))
    assert len(calls) == 1                      # only the new initiator
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 3)]["hits"] == 3
    assert records[("ace", "fw01", "outside_in", 4)]["hits"] == 2


@pytest.mark.parametrize("version", ["", "ASA Version 8.2(5)\n"])
def test_a_known_flow_whose_line_brings_a_new_header_keeps_the_lines_its_entry_holds(version):
    analyzer = LineAnalyzer({"fw01": firewall(version + CONFIG)}, "2014")
    for second in ("35", "35", "35", "36", "36", "37"):   # each new header: the general path
        analyzer.add(built("inbound", "TCP", "outside:192.0.2.7/40000", "dmz:172.16.1.11/22",
                           when=f"Jun 06 2014 14:47:{second}"))
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 3)]["hits"] == 6
    assert records[("ace", "fw01", "outside_in", 3)]["days"] == {"2014-06-06": 6}
    assert records[("counter", "matched")] == 6


def test_a_pre_8_3_firewalls_known_flows_are_told_apart_by_their_mapped_addresses():
    analyzer = LineAnalyzer({"fw01": firewall("""ASA Version 8.2(5)
access-list outside_in extended permit tcp any host 203.0.113.10 eq https
access-list outside_in extended permit tcp any host 203.0.113.11 eq https
access-group outside_in in interface outside
""")}, "2014")
    for _ in range(2):          # the same real server behind two mapped addresses
        for mapped in ("203.0.113.10", "203.0.113.11"):
            analyzer.add(built("inbound", "TCP", "outside:198.51.100.7/40000",
                               f"dmz:172.16.1.10/443 ({mapped}/443)"))
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 1)]["hits"] == 2
    assert records[("ace", "fw01", "outside_in", 2)]["hits"] == 2


# 900 rules for one client group ahead of the server's: shapes are worth their index after a
# 90th as many new flows as rules when most lines are new flows, after a 30th otherwise
MANY_RULES = ("object-group network PARTNERS\n" +
              "".join(f" network-object host 10.9.{n // 250}.{n % 250 + 1}\n" for n in range(900)) +
              "access-list outside_in extended permit tcp object-group PARTNERS host 172.16.1.20"
              " eq https\n"
              "access-list outside_in extended permit tcp any host 172.16.1.10 eq https\n"
              "access-group outside_in in interface outside\n")


def general_path_lines(repeats: int) -> int:
    """Lines of 300 ever new clients of one server, each ``repeats`` times, that took the
    general path."""
    analyzer, slow = read_watched(MANY_RULES, (
        built("inbound", "TCP", f"outside:198.51.{n // 250}.{n % 250 + 1}/4000",
              "dmz:172.16.1.10/443") for n in range(300) for _ in range(repeats)))
    assert sum(v["hits"] for k, v in analyzer.emit() if k[0] == "ace") == 300 * repeats
    return len(slow)


def test_shapes_are_learnt_early_when_most_lines_are_new_flows():
    assert general_path_lines(repeats=1) <= 901 // 90 + 1


def test_shapes_are_learnt_late_when_most_lines_repeat_a_flow():
    assert general_path_lines(repeats=3) == 901 // 30 + 1


def task_options(flush_at: int = 30):
    """The tasks an equivalence test runs, as ``options``: every connection listed, lists and
    services sampled, facts flushed every ``flush_at``."""
    return pytest.mark.parametrize("options", [
        {"max_connections": 1000}, {"max_connections": 4},
        {"max_connections": 20, "facts_limit": flush_at, "facts_ceiling": flush_at}],
        ids=["listed", "sampled", "flushing"])


# Before 8.3 an interface's ACL sees the addresses on its side of NAT: outside_in the mapped
# servers (203.0.113.x), dmz_out the mapped clients (10.99.0.x), dmz_in the real ones.
PRE_8_3 = """ASA Version 8.2(5)
access-list outside_in extended deny tcp host 192.0.2.66 any eq https
access-list outside_in extended permit tcp any host 203.0.113.10 eq https
access-list outside_in extended permit tcp 192.0.2.0 255.255.255.0 host 203.0.113.11 eq ssh
access-list outside_in extended permit tcp any 203.0.113.0 255.255.255.0
access-list outside_in extended permit tcp any any
access-list dmz_out extended permit tcp 10.99.0.0 255.255.255.0 any eq https
access-list dmz_out extended permit tcp any host 172.16.1.10
access-list dmz_out extended permit tcp any any
access-list dmz_in extended permit tcp 172.16.1.0 255.255.255.128 any eq www
access-list dmz_in extended permit tcp any any
access-group outside_in in interface outside
access-group dmz_out out interface dmz
access-group dmz_in in interface dmz
"""
PRE_8_3_SERVERS = [("172.16.1.10", "203.0.113.10"), ("172.16.1.11", "203.0.113.11"),
                   ("172.16.1.12", "172.16.1.12"), ("172.16.1.10", "203.0.113.12")]


def pre_8_3_lines(seed: int, lines: int) -> list:
    """Clients old and ever new, some not IPv4, a third of them mapped by NAT, of servers
    behind mapped addresses or none, inbound; and dmz hosts, some mapped, connecting out;
    over three days under few headers."""
    rng = random.Random(seed)
    known = [f"192.0.2.{n}" for n in range(1, 10)] + ["192.0.2.66", "2001:db8::5", "foo"]
    found = []
    for n in range(lines):
        when = f"Jun 0{rng.randrange(1, 4)} 2014 14:00:0{rng.randrange(3)}"
        client = rng.choice(known) if rng.random() < 0.5 else f"198.18.{n // 250}.{n % 250}"
        mapped = f"10.99.0.{rng.randrange(1, 255)}" if rng.random() < 0.3 else client
        port = rng.randrange(1024, 65536)
        if rng.random() < 0.8:
            real, server = rng.choice(PRE_8_3_SERVERS)
            found.append(built("inbound", "TCP", f"outside:{client}/{port} ({mapped}/{port})",
                               f"dmz:{real}/{rng.choice((22, 80, 443))} ({server}/0)",
                               when=when))
        else:
            host = f"172.16.1.{rng.choice((5, 200))}"
            found.append(built("outbound", "TCP", f"outside:198.51.100.80/"
                               f"{rng.choice((80, 443))}", f"dmz:{host}/{port} ({mapped}/{port})",
                               when=when))
    return found


@task_options()
@pytest.mark.parametrize("revisions", [1, 2])
def test_a_pre_8_3_firewalls_fast_paths_give_what_the_general_path_gives(options, revisions):
    # initiators NAT leaves as they are share their shape (its key with the mapped
    # destination); a mapped one's flow is cached by every group (dmz_out sees its mapping)
    # (2 revisions: dmz_in changed on the 2nd, the shapes and flows through outside inherited)
    made = history_of(PRE_8_3, revisions, "eq www", "eq https")
    shapes, _, mine, theirs = fast_and_general(made, pre_8_3_lines(5, 4000), options)
    assert any(entry.__class__ is tuple for table in shapes.values()
               for entry in table.values())     # (shared shapes took lines)
    assert mine == theirs


def history_of(config: str, revisions: int, text: str, before: str):
    """What makes the firewall of ``config`` (``revisions`` 1), or of its history (2): on 1
    June with ``text`` read ``before``, from 2 June as it is."""
    def made():
        if revisions == 1:
            return firewall(config)
        newest, _ = build_history([
            ("2014-06-01 00:00:00", "rev0.cfg", firewall(config.replace(text, before))),
            ("2014-06-02 00:00:00", "rev1.cfg", firewall(config))])
        return newest
    return made


def fast_and_general(made, lines: list, options: dict, watched: str = "add_reach",
                     **both) -> tuple:
    """One task on the fast paths (flushing when full) and one whose every line takes the
    general path, over ``lines``, both with the options ``both``: (the fast one's shapes at
    the end, how many lines its ``watched`` fast path took, what the reducer makes of each
    one's records)."""
    bound = options["max_connections"]
    fast = LineAnalyzer({"fw01": made()}, "2014", **options, **both)
    general = LineAnalyzer({"fw01": made()}, "2014", max_connections=bound, **both)
    taken = getattr(fast, watched)
    reached = []
    setattr(fast, watched, lambda *args: taken(*args) and reached.append(1) is None)
    records = []
    for text in lines:
        fast.add(text)
        general.slow_add(text, None)            # (no match: it teaches no fast path)
        if fast.full:
            records += list(fast.emit())
    shapes = {table: dict(entries) for table, entries in fast.shapes.items()}
    records += list(fast.finish())
    return shapes, len(reached), reduced(records, bound), reduced(general.finish(), bound)


@pytest.mark.parametrize("mapped, general_lines", [(False, 1), (True, 250)],
                         ids=["as they are", "mapped by NAT"])
def test_a_pre_8_3_firewalls_ever_new_clients_share_their_shape_unless_nat_maps_them(
        mapped, general_lines):
    # a shape decides the verdict of every initiator whose address both chains see as
    # logged; a mapped one's flow is cached by its groups, its verdict found on the general
    # path (dmz_out sees its mapping)
    analyzer = LineAnalyzer({"fw01": firewall(PRE_8_3)}, "2014")
    slow = watch_general_path(analyzer)
    for n in range(250):
        client = f"198.18.0.{n + 1}"
        seen = f"10.99.0.{n + 1}" if mapped else client
        analyzer.add(built("inbound", "TCP", f"outside:{client}/4000 ({seen}/4000)",
                           "dmz:172.16.1.10/80 (203.0.113.10/80)"))
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 4)]["hits"] == 250
    assert records[("ace", "fw01", "dmz_out", 2)]["hits"] == 250
    assert len(slow) == general_lines


# IPv6 clients of dual-stack servers: rules for IPv4 sources only and for an IPv6 prefix
# ahead of rules for every source, any4 and any6 apart (for IPv4 initiators the 8443 service
# does not depend on the source, for IPv6 ones it does).
DUAL_STACK = """
access-list outside_in extended deny tcp 192.0.2.0 255.255.255.0 any eq https
access-list outside_in extended permit tcp 2001:db8:bad::/48 any eq ssh
access-list outside_in extended permit tcp any4 any eq https
access-list outside_in extended permit tcp any6 any eq https
access-list outside_in extended permit tcp any4 any eq 8443
access-list outside_in extended permit tcp 2001:db8:bad::/48 any eq 8443
access-list outside_in extended permit tcp any any
access-list dmz_out extended permit tcp any6 host 2001:db8:16::10
access-list dmz_out extended permit tcp any any
access-group outside_in in interface outside
access-group dmz_out out interface dmz
"""
DUAL_STACK_SERVERS = [("2001:db8:16::10", 443), ("2001:db8:16::11", 22), ("2001:db8:16::12", 80),
                      ("2001:db8:16::13", 8443), ("172.16.1.10", 443), ("172.16.1.11", 22),
                      ("172.16.1.13", 8443)]


def dual_stack_lines(seed: int, lines: int) -> list:
    """Clients old and ever new, IPv6 (some in the /48 an ACE names, some written in other
    forms) and IPv4, of IPv6 and IPv4 servers, over three days under few headers."""
    rng = random.Random(seed)
    known = ["2001:db8:bad::7", "2001:db8:bad:1::9", "2001:db8::5", "::ffff:198.51.100.7",
             "fe80::1%eth0", "foo", "192.0.2.9", "198.51.100.9"]
    found = []
    for n in range(lines):
        server, port = rng.choice(DUAL_STACK_SERVERS)
        if rng.random() < 0.4:
            client = rng.choice(known)
        elif ":" in server:
            client = f"2a00:{rng.randrange(4):x}::{n:x}" if rng.random() < 0.8 else \
                f"2001:db8:bad:{n % 7:x}::{n:x}"
        else:
            client = f"198.18.{n // 250}.{n % 250}"
        found.append(built("inbound", "TCP", f"outside:{client}/{rng.randrange(1024, 65536)}",
                           f"dmz:{server}/{port}",
                           when=f"Jun 0{rng.randrange(1, 4)} 2014 14:00:0{rng.randrange(3)}"))
    return found


@task_options()
def test_ipv6_initiators_fast_paths_give_what_the_general_path_gives(options):
    shapes, _, mine, theirs = fast_and_general(lambda: firewall(DUAL_STACK),
                                            dual_stack_lines(9, 4000), options)
    assert any(key[-1] == 6 and entry.__class__ is tuple
               for key, entry in shapes["fw01"].items())    # (IPv6 entries took lines)
    assert mine == theirs


@pytest.mark.parametrize("server, port, general_lines", [
    ("2001:db8:16::12", 80, 1), ("2001:db8:16::11", 22, 250), ("2001:db8:16::13", 8443, 250)],
    ids=["any source", "an IPv6 prefix's rule ahead", "behind any4, an IPv6 prefix's rule"])
def test_ever_new_ipv6_clients_share_their_shape_unless_a_rule_tells_them_apart(
        server, port, general_lines):
    analyzer, slow = read_watched(DUAL_STACK, (
        built("inbound", "TCP", f"outside:2a00:1::{n + 1:x}/4000", f"dmz:{server}/{port}")
        for n in range(250)))
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 7)]["hits"] == 250
    assert len(slow) == general_lines


# Inside users to the internet: proxies and a partner's hosts (destination ranges ahead of the
# rule for every destination), a user denied, a network's rule for any4 and one for any6, an
# `out` ACL on the egress interface with rules for a network, and (before 8.3, as it sees the
# users' PAT address) the PAT address to another, ahead of its own catch-all.
OUTBOUND = """
object-group network PROXIES
 network-object host 198.51.100.80
 network-object 203.0.113.0 255.255.255.0
 network-object host 2001:db8:80::80
access-list inside_in extended permit tcp any object-group PROXIES eq https
access-list inside_in extended deny tcp host 10.1.1.66 any eq https
access-list inside_in extended permit tcp 10.1.1.0 255.255.255.0 host 192.0.2.10 eq ssh
access-list inside_in extended permit tcp 10.1.0.0 255.255.0.0 any4 eq https
access-list inside_in extended permit tcp 2001:db8:1::/48 any6 eq https
access-list inside_in extended permit tcp any any eq www
access-list inside_in extended permit udp any any eq domain
access-list outside_out extended permit tcp any 192.0.2.0 255.255.255.0
access-list outside_out extended permit tcp host 192.0.2.200 151.0.0.0 255.0.0.0 eq https
access-list outside_out extended permit ip any any
access-group inside_in in interface inside
access-group outside_out out interface outside
"""
OUTBOUND_PRE_8_3 = "ASA Version 8.2(5)\n" + OUTBOUND


def outbound_lines(seed: int, lines: int) -> list:
    """Few inside users (IPv4 and IPv6, one denied, one in no rule's network, some mapped by
    PAT) to ever new destinations, proxies and partners among them, a few seen through NAT
    as a proxy, over three days under few headers."""
    rng = random.Random(seed)
    users = ["10.1.1.5", "10.1.1.6", "10.1.2.7", "10.1.1.66", "10.2.0.5", "2001:db8:1::5",
             "2001:db8:2::5", "foo"]
    found = []
    for n in range(lines):
        user = rng.choice(users)
        six = ":" in user
        roll = rng.random()
        if roll < 0.1:
            destination = rng.choice(["2001:db8:80::80", "2001:db8:80::81"] if six else
                                     ["198.51.100.80", "203.0.113.7", "192.0.2.10",
                                      "192.0.2.11", "bar"])
        else:
            destination = f"2a00:{n % 97:x}::{n:x}" if six else \
                f"{rng.choice((93, 151))}.{n // 250 % 250}.{n % 250}.{rng.randrange(1, 255)}"
        port = rng.choice((443, 443, 80, 22))
        sport = rng.randrange(1024, 65536)
        mapped = "192.0.2.200" if rng.random() < 0.5 and not six else user
        proto = "UDP" if rng.random() < 0.1 else "TCP"
        port = 53 if proto == "UDP" else port
        seen = "198.51.100.80" if rng.random() < 0.05 and not six else destination
        found.append(built("outbound", proto, f"outside:{destination}/{port} ({seen}/{port})",
                           f"inside:{user}/{sport} ({mapped}/{sport})",
                           when=f"Jun 0{rng.randrange(1, 4)} 2014 14:00:0{rng.randrange(3)}"))
    return found


@task_options(flush_at=200)   # (a flush drops the reaches)
@pytest.mark.parametrize("config", [OUTBOUND, OUTBOUND_PRE_8_3], ids=["8.3+", "pre-8.3"])
@pytest.mark.parametrize("revisions", [1, 2])
def test_ever_new_destinations_fast_paths_give_what_the_general_path_gives(options, config,
                                                                           revisions):
    # (2 revisions: the web rule changed on the 2nd, each revision learns its own reaches)
    made = history_of(config, revisions, "any any eq www", "any any eq 8080")
    lines = outbound_lines(11, 4000)
    _, reached, mine, theirs = fast_and_general(made, lines, options)
    assert reached > len(lines) / 4         # (the reaches took many lines)
    assert mine == theirs


def test_popular_destinations_on_a_reach_count_as_the_general_path_counts_them(monkeypatch):
    # services met again on the reach path, among them services the ACE's sample held, then
    # dropped (their facts kept till the flush): counted with the rule's left-out services,
    # where the flush counts those facts too
    from zlib import crc32
    rng = random.Random(5)
    users = [f"10.1.{n // 200}.{n % 200 + 1}" for n in range(300)]
    popular = [f"93.184.{n}.1" for n in range(40)]
    lines = [built("outbound", "TCP", f"outside:{rng.choice(popular)}/443",
                   f"inside:{rng.choice(users)}/{rng.randrange(1024, 65536)}",
                   when=f"Jun 0{rng.randrange(1, 3)} 2014 14:00:0{rng.randrange(3)}")
             for _ in range(3000)]
    dropped = []
    real = LineAnalyzer.count_new_service

    def count_new_service(self, prefix, protocol, destination, port, source, raw, count, when,
                          sample, seed, out):
        if seed >= sample[3].below and crc32(raw, seed) >= sample[1] and \
                (prefix + (protocol, destination, port), None) in self.facts:
            dropped.append(1)
        real(self, prefix, protocol, destination, port, source, raw, count, when, sample,
             seed, out)
    monkeypatch.setattr(LineAnalyzer, "count_new_service", count_new_service)
    _, reached, mine, theirs = fast_and_general(lambda: firewall(OUTBOUND), lines,
                                                {"max_connections": 4})
    assert reached > len(lines) / 2 and len(dropped) > 10
    assert mine == theirs


@pytest.mark.parametrize("destination, general_lines", [
    ("93.184.{}.1", 2), ("203.0.113.{}", 250), ("2a00:1::{:x}", 2)],
    ids=["the internet", "a proxy network a rule ahead names", "the IPv6 internet"])
def test_a_users_ever_new_destinations_share_its_reach_unless_a_rule_ahead_names_them(
        destination, general_lines):
    # the general path twice (a reach is asked when met again), then none
    user = "2001:db8:1::5" if ":" in destination else "10.1.1.5"
    analyzer, slow = read_watched(OUTBOUND, (
        built("outbound", "TCP", f"outside:{destination.format(n + 1)}/443",
              f"inside:{user}/4000") for n in range(250)))
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    line = 1 if destination.startswith("203") else 5 if ":" in destination else 4
    assert records[("ace", "fw01", "inside_in", line)]["hits"] == 250
    assert len(slow) == general_lines


def test_a_reachs_lines_its_ace_lists_no_connection_or_service_of_keep_their_times():
    # one connection and one service listed: the others are counted where the rule's
    # left-out services are, first and last as the lines' own (each header's first line is
    # another ACE's, which teaches the header: the reach counts every other line)
    analyzer = LineAnalyzer({"fw01": firewall(OUTBOUND)}, "2014", max_connections=1)
    for second in range(100):
        when = f"Jun 0{1 + second // 50} 2014 14:00:{second % 50:02d}"
        analyzer.add(built("outbound", "TCP", "outside:198.51.100.9/80", "inside:10.1.1.5/4000",
                           when=when))
        for n in range(4 * second, 4 * second + 4):
            analyzer.add(built("outbound", "TCP", f"outside:93.184.{n // 250}.{n % 250}/443",
                               "inside:10.1.1.5/4000", when=when))
    record = dict((tuple(k), v) for k, v in analyzer.emit())[("ace", "fw01", "inside_in", 4)]
    assert (record["hits"], record["first"], record["last"]) == \
        (400, "2014-06-01 14:00:00", "2014-06-02 14:00:49")
    assert record["omitted_hits"] >= 390 and record["days"] == {"2014-06-01": 200,
                                                                 "2014-06-02": 200}


# Scanners: an ACE denying a network's ssh ahead (its verdict depends on the source), an
# explicit deny for one service and a logged one for any, a permit a deny message
# contradicts, a deny of pings (ICMP type 8) to one host; another ACL with an ACE on source
# ports (its shapes keep the port) ahead of its explicit deny of everything.
DENIES = """
access-list outside_in extended deny tcp 192.0.2.0 255.255.255.0 any eq ssh
access-list outside_in extended deny tcp any host 203.0.113.5 eq telnet
access-list outside_in extended permit tcp any host 203.0.113.10 eq https
access-list outside_in extended deny udp any any eq 1900 log
access-list outside_in extended deny icmp any host 203.0.113.5 echo
access-list dmz_in extended deny tcp any range 1 1023 host 203.0.113.6
access-list dmz_in extended deny ip any any
access-group outside_in in interface outside
access-group dmz_in in interface dmz
"""


def denied_lines(seed: int, lines: int) -> list:
    """Deny lines (106023) of ever new and known sources, some written in forms only the
    general path reads (IPv6, a name, a user, a space, a port out of range, ICMP), to a few
    services, with and without hashes, over three days under few headers."""
    rng = random.Random(seed)
    known = ["192.0.2.7", "192.0.2.8", "198.51.100.7", "2001:db8::5", "foo"]
    found = []
    for n in range(lines):
        when = f"Jun 0{rng.randrange(1, 4)} 2014 14:00:0{rng.randrange(3)}"
        source = rng.choice(known) if rng.random() < 0.3 else f"198.18.{n // 250}.{n % 250}"
        sport = rng.choice([rng.randrange(1, 1024), rng.randrange(1024, 65536), 70000])
        src = rng.choice([f"outside:{source}/{sport}"] * 8 + [
            f"outside:{source}/{sport}(LOCAL\\bob)", f"outside: {source}/{sport}"])
        proto, port = rng.choice([("tcp", 22), ("tcp", 23), ("tcp", 443), ("udp", 1900),
                                  ("tcp", 80)])
        dst = f"203.0.113.{rng.choice((5, 6, 10, 77))}"
        acl, src = ("dmz_in", src.replace("outside:", "dmz:")) if rng.random() < 0.2 else \
            ("outside_in", src)
        hashes = rng.choice([" [0x0, 0x0]", "", " [0x1234, 0x0]"])
        if rng.random() < 0.1:
            found.append(f'{when} fw01 : %ASA-4-106023: Deny icmp src {src.split("/")[0]} '
                         f'dst inside:{dst} (type {rng.choice((8, 13))}, code 0) by '
                         f'access-group "{acl}"{hashes}')
            continue
        found.append(f'{when} fw01 : %ASA-4-106023: Deny {proto} src {src} dst inside:'
                     f'{dst}/{port} by access-group "{acl}"{hashes}')
    return found


@task_options(flush_at=200)   # (a flush drops the deny shapes)
@pytest.mark.parametrize("revisions", [1, 2])
def test_denied_sources_fast_paths_give_what_the_general_path_gives(options, revisions):
    # (2 revisions: the telnet deny on the 2nd only, each revision learns its own shapes)
    made = history_of(DENIES, revisions, "eq telnet", "eq 2323")
    lines = denied_lines(13, 4000)
    _, denied, mine, theirs = fast_and_general(made, lines, options, watched="add_message")
    assert denied > len(lines) / 5          # (the deny shapes took many lines)
    assert mine == theirs


@pytest.mark.parametrize("port, category, general_lines", [
    (80, "denied_implicit", 2), (23, "denied", 2), (22, "denied_implicit", 250)],
    ids=["the implicit deny", "a deny for every source", "a network's deny ahead"])
def test_ever_new_sources_of_a_denied_service_share_its_shape_unless_a_rule_ahead_names_some(
        port, category, general_lines):
    # the general path twice (a shape is asked when met again), then none
    analyzer, slow = read_watched(DENIES, (
        f'Jun 06 2014 14:47:35 fw01 : %ASA-4-106023: Deny tcp src outside:198.18.0.{n + 1}/'
        f'{4000 + n} dst inside:203.0.113.5/{port} by access-group "outside_in" [0x0, 0x0]'
        for n in range(250)))
    assert analyzer.counts()[category] == 250
    assert len(slow) == general_lines


def test_a_ping_sweeps_ever_new_sources_share_a_shape_per_icmp_type():
    # an ICMP deny's source has no port; its type and code are part of its shape
    analyzer, slow = read_watched(DENIES, (        # echo: line 5; timestamp: implicit deny
        f'Jun 06 2014 14:47:35 fw01 : %ASA-4-106023: Deny icmp src outside:198.18.0.{n} dst '
        f'inside:203.0.113.5 (type {kind}, code 0) by access-group "outside_in" [0x0, 0x0]'
        for n in range(250) for kind in (8, 13)))
    counts = analyzer.counts()
    assert (counts["denied"], counts["denied_implicit"]) == (250, 250)
    assert len(slow) == 4


def probe(n: int, port: int) -> str:
    """A scanner's deny line, its source new for each ``n``."""
    return (f'Jun 06 2014 14:47:35 fw01 : %ASA-4-106023: Deny tcp src outside:198.18.'
            f'{n // 250 % 250}.{n % 250}/4000 dst inside:203.0.113.{n % 7}/{port} by '
            f'access-group "outside_in" [0x0, 0x0]')


def test_a_sweep_whose_deny_shapes_never_repeat_stops_learning_them(monkeypatch):
    monkeypatch.setattr(aggregate, "MESSAGE_TRIAL", 64)
    analyzer = LineAnalyzer({"fw01": firewall(DENIES)}, "2014")
    for n in range(200):
        analyzer.add(probe(n, 10_000 + n))              # every port new
    assert analyzer.message_off == {"fw01"} and not analyzer.message_heads
    assert analyzer.counts()["denied_implicit"] == 200


def test_deny_shapes_that_take_the_lines_stay_learnt_though_the_rest_never_repeat(monkeypatch):
    # the general path then meets the unrepeated fifth only: the shapes' own lines count
    monkeypatch.setattr(aggregate, "MESSAGE_TRIAL", 64)
    analyzer, slow = read_watched(DENIES, (probe(n, 10_000 + n if n % 5 == 0 else 80)
                                           for n in range(2000)))
    assert analyzer.message_off == set()
    assert analyzer.counts()["denied_implicit"] == 2000
    assert len(slow) < 2000 / 5 + 20


# A web server's ACL behind which the firewall's other public addresses have no rule (a
# scanner's denies of them are the implicit deny, whatever their port; the server's are
# not), the same with a last rule denying everything, logged (106100 lines), and one that
# filters on source ports.
SCANNED = """
access-list outside_in extended permit tcp any host 203.0.113.10 eq https
access-list inside_in extended permit tcp any host 203.0.113.10 eq https
access-list inside_in extended deny ip any any log
access-list dmz_in extended deny tcp any eq domain host 203.0.113.9
access-group outside_in in interface outside
access-group inside_in in interface inside
access-group dmz_in in interface dmz
"""


def scan(n: int, host: int, port: int, sport: Optional[int] = None,
         interface: str = "outside") -> str:
    """A scanner's deny line to 203.0.113.``host`` by ``interface``'s ACL, its source new for
    each ``n``."""
    return (f'Jun 06 2014 14:47:35 fw01 : %ASA-4-106023: Deny tcp src {interface}:198.18.'
            f'{n // 250 % 250}.{n % 250}/{4000 + n % 1000 if sport is None else sport} dst '
            f'inside:203.0.113.{host}/{port} by access-group "{interface}_in" [0x0, 0x0]')


def logged_scan(n: int, host: int, port: int, flows: int = 1) -> str:
    """A scanner's hit (106100) of inside_in's logged deny, to 203.0.113.``host``: its
    first, or ``flows`` in an interval."""
    return (f"Jun 06 2014 14:47:35 fw01 : %ASA-4-106100: access-list inside_in denied tcp "
            f"inside/198.18.{n // 250 % 250}.{n % 250}({4000 + n % 1000}) -> "
            f"outside/203.0.113.{host}({port}) hit-cnt {flows} "
            f"{'first hit' if flows == 1 else '300-second interval'} [0x0, 0x0]")


@pytest.mark.parametrize("lines, counted, general_lines", [
    ([scan(n, 5, 10_000 + n) for n in range(500)], {"denied_implicit": 500}, 2),
    # (the https line: a deny whose first match is a permit, never a hit)
    ([scan(n, 10, 10_000 + n) for n in range(300)] + [scan(300, 10, 443)],
     {"denied_implicit": 300, "deny_disagrees": 1}, 301),
    # from port 53 the rule for it denies: not the implicit deny of the other ports' probes
    ([scan(n, 9, 10_000 + n, 4000, "dmz") for n in range(300)] +
     [scan(300 + n, 9, 20_000 + n, 53, "dmz") for n in range(5)],
     {"denied_implicit": 300, "denied": 5}, 305),
    ([scan(n, 5, 10_000 + n) for n in range(300)] + [scan(300, 5, 70_000)],
     {"denied_implicit": 300, "malformed": 1}, 3),
    ([scan(n, 5, 10_000 + n, None, "inside") for n in range(500)], {"denied": 500}, 2),
    ([logged_scan(n, 5, 10_000 + n) for n in range(500)], {"denied": 500}, 2),
    # (first hits and intervals: two probes; a line of no flow is its own category)
    ([logged_scan(n, 5, 10_000 + n, n % 4) for n in range(500)],
     {"denied": 375, "acl_log_no_hits": 125}, 4 + 125),
    ([logged_scan(n, 10, 10_000 + n) for n in range(300)], {"denied": 300}, 300)],
    ids=["an address no rule names: its implicit deny", "an address a rule names",
         "an ACL that filters on source ports", "a port out of range: malformed",
         "a rule for every address and port", "the same, logged (106100)",
         "the same, logged, several flows a line",
         "the same, logged, for an address a rule names"])
def test_a_scanners_ever_new_ports_share_the_verdict_of_an_address_no_rule_names_apart(
        lines, counted, general_lines):
    # the general path twice (a probe is asked when met again), then none
    analyzer, slow = read_watched(SCANNED, lines)
    counts = analyzer.counts()
    assert {category: counts[category] for category in counted} == counted
    assert len(slow) == general_lines


@task_options(flush_at=50)
def test_a_scanners_fast_paths_give_what_the_general_path_gives(options):
    rng = random.Random(5)
    lines = [logged_scan(n, rng.choice([5, 10]), rng.randrange(1, 65536), rng.randrange(4))
             if rng.random() < 0.4 else
             scan(n, rng.choice([5, 10]), rng.randrange(1, 65536), None,
                  rng.choice(["outside", "inside"])) for n in range(600)]
    _, probed, mine, theirs = fast_and_general(lambda: firewall(SCANNED), lines, options,
                                               watched="add_message")
    assert probed > len(lines) / 3
    assert mine == theirs


# ACL-log lines (106100) of ACLs whose ACEs log: permits, which count where they are the
# evidence (--permits-from acl-log), and denies, which always count; outside_in filters on
# source ports (its shapes keep the port), dmz_in does not.
LOGGED = """
access-list outside_in extended permit tcp 192.0.2.0 255.255.255.0 host 203.0.113.10 eq ssh log
access-list outside_in extended permit tcp any host 203.0.113.10 eq https log
access-list outside_in extended permit tcp any range 1 1023 host 203.0.113.11 eq www log
access-list outside_in extended permit udp any host 203.0.113.12 eq domain log
access-list outside_in extended permit icmp any host 203.0.113.10 echo log
access-list outside_in extended deny ip any any log
access-list dmz_in extended permit icmp any host 203.0.113.10 echo log
access-list dmz_in extended permit tcp any host 203.0.113.10 eq https log
access-list dmz_in extended deny ip any any log
access-group outside_in in interface outside
access-group dmz_in in interface dmz
"""


def logged_lines(seed: int, lines: int) -> list:
    """106100 lines of ever new and known sources to a few services: mostly first hits, some
    counting several flows, some in forms only the general path reads (IPv6, ICMP), with and
    without hashes, over three days under few headers."""
    rng = random.Random(seed)
    known = ["192.0.2.7", "192.0.2.8", "198.51.100.7", "2001:db8::5"]
    found = []
    for n in range(lines):
        when = f"Jun 0{rng.randrange(1, 4)} 2014 14:00:0{rng.randrange(3)}"
        source = rng.choice(known) if rng.random() < 0.3 else f"198.18.{n // 250}.{n % 250}"
        server, port, proto = rng.choice([("203.0.113.10", 22, "tcp"), ("203.0.113.10", 443,
                                           "tcp"), ("203.0.113.11", 80, "tcp"),
                                          ("203.0.113.12", 53, "udp"), ("203.0.113.13", 25,
                                                                        "tcp")])
        verdict = "denied" if port == 25 else rng.choice(["permitted", "permitted", "denied"])
        hits = "1 first hit" if rng.random() < 0.8 else f"{rng.randrange(9)} 300-second interval"
        flow = f"{proto} outside/{source}({rng.choice([rng.randrange(1, 1024), 51234])}) -> " \
            f"inside/{server}({port})"
        if rng.random() < 0.1:      # (the parentheses hold type and code)
            flow = f"icmp outside/{source}({rng.choice((8, 0, 3))}) -> inside/{server}(0)"
        acl = "outside_in"
        if rng.random() < 0.3:
            acl, flow = "dmz_in", flow.replace("outside/", "dmz/")
        found.append(f"{when} fw01 : %ASA-6-106100: access-list {acl} {verdict} {flow} "
                     f"hit-cnt {hits}{rng.choice([' [0x0, 0x0]', ''])}")
    return found


@task_options(flush_at=200)   # (a flush drops the message shapes)
@pytest.mark.parametrize("permits_from", ["built", "acl-log"])
@pytest.mark.parametrize("revisions", [1, 2])
def test_acl_log_lines_fast_paths_give_what_the_general_path_gives(options, permits_from,
                                                                   revisions):
    # (2 revisions: the https permit on the 2nd only, each revision learns its own shapes)
    made = history_of(LOGGED, revisions, "eq https log", "eq 8443 log")
    lines = logged_lines(17, 4000)
    _, taken, mine, theirs = fast_and_general(made, lines, options, watched="add_message",
                                              permits_from=permits_from)
    assert taken > len(lines) / (8 if permits_from == "acl-log" else 20)
    assert mine == theirs


def first_hit(source: str, port: int, hits: str = "1 first hit") -> str:
    """A 106100 permit of ``source`` to a server's ``port``."""
    return (f"Jun 06 2014 14:47:35 fw01 : %ASA-6-106100: access-list outside_in permitted tcp "
            f"outside/{source}(4000) -> inside/203.0.113.10({port}) hit-cnt {hits} [0x0, 0x0]")


@pytest.mark.parametrize("port, network, line, general_lines", [
    (443, "198.18.0.{}", 2, 2), (22, "192.0.2.{}", 1, 250)],
    ids=["a permit for every source", "a network's permit ahead"])
def test_ever_new_sources_of_a_logged_service_share_its_shape_where_acl_log_counts(
        port, network, line, general_lines):
    # the general path twice (a shape is asked when met again), then none
    analyzer, slow = read_watched(LOGGED, (first_hit(network.format(n), port)
                                           for n in range(250)), permits_from="acl-log")
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", line)]["hits"] == 250
    evidence = records[("coverage", "fw01")]
    assert evidence["days"] == evidence["acl_log_days"] == {"2014-06-06": 250}
    assert len(slow) == general_lines


def test_a_logged_ping_sweeps_ever_new_sources_share_a_shape_per_icmp_type():
    # an ACL-log line's parentheses hold an ICMP flow's type and code: both in its shape
    analyzer, slow = read_watched(LOGGED, (
        f"Jun 06 2014 14:47:35 fw01 : %ASA-6-106100: access-list outside_in "
        f"{'permitted' if kind == 8 else 'denied'} icmp outside/198.18.0.{n}({kind}) -> "
        f"inside/203.0.113.10(0) hit-cnt 1 first hit [0x0, 0x0]"
        for n in range(250) for kind in (8, 13)), permits_from="acl-log")
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 5)]["hits"] == 250      # echo
    assert records[("ace", "fw01", "outside_in", 6)]["hits"] == 250      # deny ip any any
    assert len(slow) == 4


def test_acl_log_lines_of_one_or_several_flows_share_their_shape_and_count_every_flow():
    # (a line of several flows counted at once, one of one buffered)
    analyzer, slow = read_watched(LOGGED, (first_hit(f"198.18.0.{n}", 443, "7 300-second "
                                                     "interval" if n % 2 else "1 first hit")
                                           for n in range(100)), permits_from="acl-log")
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    assert records[("ace", "fw01", "outside_in", 2)]["hits"] == 50 * 7 + 50
    assert records[("ace", "fw01", "outside_in", 2)]["days"] == {"2014-06-06": 50 * 7 + 50}
    evidence = records[("coverage", "fw01")]      # (lines: the days a firewall logged)
    assert evidence["days"] == evidence["acl_log_days"] == {"2014-06-06": 100}
    assert len(slow) == 2


def test_acl_log_permits_their_built_lines_count_take_the_general_path_once_a_header():
    # their category is their header's (a known firewall, a time in the period) unless they
    # count no flow
    analyzer, slow = read_watched(LOGGED, [first_hit(f"198.18.0.{n}", 443 if n % 2 else 22)
                                           for n in range(100)] + [
        first_hit("198.18.1.1", 443, "0 300-second interval"),
        first_hit("198.18.1.2", 443).replace("Jun 06 2014", "Jun 06 2031")])
    counts = analyzer.counts()
    assert (counts["acl_log_permit"], counts["acl_log_no_hits"], counts["time_outlier"]) == \
        (100, 1, 1)
    assert len(slow) == 3


def test_acl_log_permits_dated_before_the_first_revision_are_counted_so_on_any_path():
    made = history_of(LOGGED, 2, "eq https log", "eq 8443 log")
    analyzer = LineAnalyzer({"fw01": made()}, "2014")
    for n in range(3):
        analyzer.add(first_hit(f"198.18.0.{n}", 443).replace("Jun 06 2014", "May 06 2014"))
    evidence = dict((tuple(k), v) for k, v in analyzer.emit())[("coverage", "fw01")]
    assert evidence["before_first"] == 3 and evidence["lines"]["acl_log_permit"] == 3
