"""Exact merge: counts add, first = min, last = max — however the records are split."""
import random

from conftest import built, firewall

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.records import finish_ace, merge_ace, merge_coverage

CONFIG = """
access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-list outside_in extended permit tcp any any
access-group outside_in in interface outside
"""


def line(src, port=443, when="Jun 06 2014 14:47:35"):
    return built("inbound", "TCP", f"outside:{src}/51234", f"dmz:172.16.1.10/{port}", when=when)


def analyze(lines, **kwargs):
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, 2014, **kwargs)
    for text in lines:
        analyzer.add(text)
    return dict((tuple(k), v) for k, v in analyzer.emit())


def test_mapper_aggregates_per_ace_rule_and_connection():
    out = analyze([line("192.0.2.1", when="Jun 06 2014 10:00:00"),
                   line("192.0.2.1", when="Jun 06 2014 09:00:00"),
                   line("192.0.2.2", port=22, when="Jun 07 2014 10:00:00")])
    first = out[("ace", "fw01", "outside_in", 1)]
    assert (first["hits"], first["first"], first["last"]) == (2, "2014-06-06 09:00:00",
                                                             "2014-06-06 10:00:00")
    assert first["connections"] == [["tcp", "192.0.2.1", "172.16.1.10", 443, 2,
                                     "2014-06-06 09:00:00", "2014-06-06 10:00:00"]]
    assert out[("ace", "fw01", "outside_in", 2)]["rules"] == [[1, 1, "2014-06-07 10:00:00",
                                                               "2014-06-07 10:00:00"]]


def test_every_line_read_is_in_exactly_one_category():
    out = analyze([line("192.0.2.1"), "garbage", "",
                   line("192.0.2.1").replace("fw01", "fw99")])
    counters = {k[1]: v for k, v in out.items() if k[0] == "counter"}
    assert counters == {"lines": 4, "matched": 1, "unrecognized": 2, "unknown_firewall": 1}


def test_a_single_firewall_database_takes_lines_that_name_no_device():
    out = analyze([line("192.0.2.1").replace(" fw01 :", " :")])
    assert out[("counter", "matched")] == 1


def test_a_single_firewall_database_does_not_take_lines_of_another_device():
    out = analyze([line("192.0.2.1").replace("fw01", "fw99")])
    assert out[("counter", "unknown_firewall")] == 1 and ("counter", "matched") not in out
    assert out[("device", "fw99")] == 1


def test_firewall_override_attributes_every_line():
    out = analyze([line("192.0.2.1").replace("fw01", "whatever")], firewall="fw01")
    assert out[("counter", "matched")] == 1


def test_merge_is_exact_however_the_input_is_split():
    rng = random.Random(7)
    lines = [line(f"192.0.2.{rng.randrange(1, 6)}", port=rng.choice([443, 22]),
                  when=f"Jun {rng.randrange(10, 28)} 2014 {rng.randrange(10, 24)}:00:00")
             for _ in range(300)]
    whole = analyze(lines)
    for key in [k for k in whole if k[0] == "ace"]:
        pieces = []
        for start in range(0, 300, 37):      # 9 mappers, then combiners of uneven groups
            part = analyze(lines[start:start + 37])
            if key in part:
                pieces.append(part[key])
        combined = [merge_ace(pieces[:3]), merge_ace(pieces[3:])]
        merged = finish_ace(merge_ace(combined), 1000)
        expected = finish_ace(merge_ace([whole[key]]), 1000)
        assert merged == expected


def test_the_evidence_of_acl_log_mode_is_the_same_however_many_tasks_and_flushes_wrote_it():
    # a mode, not a count: results must not depend on how the input was split
    lines = [line(f"192.0.2.{n}") for n in range(1, 10)]
    whole = analyze(lines, permits_from="acl-log")[("coverage", "fw01")]
    parts = [analyze(lines[start:start + 3], permits_from="acl-log")[("coverage", "fw01")]
             for start in range(0, 9, 3)]
    assert merge_coverage(parts) == merge_coverage([whole])
    assert merge_coverage(parts)["acl_log_mode"] == 1


def test_truncation_keeps_the_most_used_connections_and_exact_totals():
    record = {"hits": 6, "first": "a", "last": "z", "rules": [[0, 6, "a", "z"]],
              "connections": [["tcp", "1", "2", 80, 1, "a", "a"],
                              ["tcp", "3", "2", 80, 4, "b", "z"],
                              ["tcp", "5", "2", 80, 1, "c", "c"]]}
    out = finish_ace(merge_ace([record]), 1)
    assert out["hits"] == 6 and out["connections"] == [["tcp", "3", "2", 80, 4, "b", "z"]]
    assert (out["omitted_connections"], out["omitted_hits"]) == (2, 2)


def fast(src_port, when="Jun 06 2014 14:47:35", src="192.0.2.1"):
    return built("inbound", "TCP", f"outside:{src}/{src_port}", "dmz:172.16.1.10/443",
                 when=when)


def test_repeated_flows_on_the_fast_path_count_like_the_first():
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    for port in range(40000, 40005):                  # same header, same flow: fast path
        analyzer.add(fast(port))
    analyzer.add(fast(40005, when="Jun 06 2014 14:47:30"))    # earlier second: slow path
    analyzer.add(fast(40006, when="Jun 06 2014 14:47:40"))
    assert analyzer.heads                                     # the fast path was taught
    out = dict((tuple(k), v) for k, v in analyzer.emit())
    record = out[("ace", "fw01", "outside_in", 1)]
    assert (record["hits"], record["first"], record["last"]) == (
        7, "2014-06-06 14:47:30", "2014-06-06 14:47:40")
    assert out[("counter", "matched")] == out[("counter", "lines")] == 7


def test_fast_path_keeps_the_source_port_when_a_rule_filters_on_it():
    config = """access-list outside_in extended permit tcp any range 40000 40001 any eq https
access-list outside_in extended permit tcp any any
access-group outside_in in interface outside
"""
    analyzer = LineAnalyzer({"fw01": firewall(config)}, "2014")
    for port in (40000, 40001, 40002, 40000, 40003):
        analyzer.add(fast(port))
    hits = {k[3]: v["hits"] for k, v in analyzer.emit() if k[0] == "ace"}
    assert hits == {1: 3, 2: 2}


def test_a_flush_mid_stream_loses_nothing():
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    records = []
    for n, port in enumerate(range(40000, 40010)):
        analyzer.add(fast(port))
        if n == 4:
            records += list(analyzer.emit())         # what the mapper does when full
    records += list(analyzer.emit())
    aces = [v for k, v in records if k[0] == "ace"]
    assert merge_ace(aces)["hits"] == 10
    assert sum(v for k, v in records if k == ["counter", "lines"]) == 10


def test_since_and_until_analyse_only_their_days():
    lines = [line("192.0.2.1", when="Jun 05 2014 23:59:59"),
             line("192.0.2.1", when="Jun 06 2014 00:00:00"),
             line("192.0.2.1", when="Jun 07 2014 23:59:59"),
             line("192.0.2.1", when="Jun 08 2014 00:00:00")]
    out = analyze(lines, since="2014-06-06", until="2014-06-07")
    record = out[("ace", "fw01", "outside_in", 1)]
    assert (record["hits"], record["first"], record["last"]) == (
        2, "2014-06-06 00:00:00", "2014-06-07 23:59:59")
    assert out[("counter", "outside_period")] == 2


def test_hits_per_day_add_up_to_the_hits():
    lines = [line("192.0.2.1", when=f"Jun 0{d} 2014 1{h}:00:00") for d in (5, 6, 6, 7)
             for h in (1, 2)]
    record = analyze(lines)[("ace", "fw01", "outside_in", 1)]
    assert record["days"] == {"2014-06-05": 2, "2014-06-06": 4, "2014-06-07": 2}
