"""An ACE's connection list is bounded: complete up to CONNECTION_SAMPLE connections, a hash
sample beyond — with exact hits, exact counts for every listed connection, and the same list
however the input is split."""
import random
import re

import pytest
from conftest import built, firewall

from ruleset_analysis import aggregate, records
from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.records import SAMPLE_SPACE, connection_hash, finish_ace, merge_ace

CONFIG = """
access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-group outside_in in interface outside
"""
BOUND = 20
ACE = ("ace", "fw01", "outside_in", 1)


@pytest.fixture(autouse=True)
def small_bound(monkeypatch):
    monkeypatch.setattr(records, "CONNECTION_SAMPLE", BOUND)
    monkeypatch.setattr(aggregate, "CONNECTION_SAMPLE", BOUND)


def traffic(seed=5, clients=400, lines=1500):
    """Lines from ``clients`` clients, some far busier than others; and the true count of
    each client's connections."""
    rng = random.Random(seed)
    found, truth = [], {}
    for _ in range(lines):
        client = f"198.51.{rng.randrange(2)}.{int(rng.paretovariate(0.4)) % clients % 250 + 1}"
        when = f"Jun {rng.randrange(6, 9):02d} 2014 14:{rng.randrange(60):02d}:00"
        found.append(built("inbound", "TCP", f"outside:{client}/{rng.randrange(1024, 65536)}",
                           "dmz:172.16.1.10/443", when=when))
        truth[client] = truth.get(client, 0) + 1
    return found, truth


def mapped(lines):
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    for text in lines:
        analyzer.add(text)
    return dict((tuple(k), v) for k, v in analyzer.emit()).get(ACE)


def test_a_sampled_list_is_bounded_and_its_hits_stay_exact():
    lines, truth = traffic()
    record = mapped(lines)
    assert len(truth) > BOUND
    assert len(record["connections"]) <= BOUND and record["sample_below"] < SAMPLE_SPACE
    assert record["hits"] == len(lines) == sum(r[1] for r in record["rules"])
    assert record["omitted_hits"] == len(lines) - sum(c[4] for c in record["connections"])


def test_every_listed_connection_has_its_exact_count():
    lines, truth = traffic()
    for _, src, _, _, count, *_ in mapped(lines)["connections"]:
        assert count == truth[src]


def in_order(record):
    return dict(record, connections=sorted(record["connections"]))


def test_the_sample_is_the_same_however_the_input_is_split():
    lines, _ = traffic()
    whole = mapped(lines)
    rng = random.Random(1)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(lines)), 12))
        parts = [mapped(lines[a:b]) for a, b in zip([0] + cuts, cuts + [len(lines)])]
        parts = [p for p in parts if p]
        combined = [merge_ace(parts[:4]), merge_ace(parts[4:9]), merge_ace(parts[9:])]
        assert in_order(merge_ace(combined)) == in_order(merge_ace([whole]))
        assert finish_ace(merge_ace(combined), 10) == finish_ace(merge_ace([whole]), 10)


def test_hits_stay_exact_when_a_connection_left_out_repeats_on_the_fast_path():
    lines, _ = traffic()
    # every line with its own header (the general path), then once more (the exact path)
    lines = [re.sub(r"14:\d\d:00", f"{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}", text)
             for n, text in enumerate(lines)]
    record = mapped([text for text in lines for _ in range(2)])
    assert record["hits"] == 2 * len(lines)
    assert record["omitted_hits"] == 2 * len(lines) - sum(c[4] for c in record["connections"])


def test_a_finished_sample_says_so_and_estimates_what_it_left_out():
    lines, truth = traffic()
    record = finish_ace(mapped(lines), 10)
    assert record["sampled"] is True and len(record["connections"]) == 10
    assert record["omitted_connections"] >= len(truth) // 4
    assert finish_ace(dict(record), 10) == record           # finishing twice changes nothing


def test_a_list_within_the_bound_is_complete_and_not_a_sample():
    lines, truth = traffic(clients=10)
    record = mapped(lines)
    assert len(truth) <= BOUND and "sample_below" not in record
    assert {c[1]: c[4] for c in record["connections"]} == truth


def test_a_record_sampled_at_a_lower_threshold_drops_what_earlier_records_listed_above_it():
    below = SAMPLE_SPACE // 2

    def record(*sources, **sample):
        return {"hits": len(sources), "first": "a", "last": "z",
                "rules": [[0, len(sources), "a", "z"]], **sample,
                "connections": [["tcp", s, "172.16.1.10", 443, 1, "a", "z"] for s in sources]}
    sources = [f"198.51.100.{n}" for n in range(1, 30)]
    inside = [s for s in sources if connection_hash("tcp", s, "172.16.1.10", 443) < below]
    outside = [s for s in sources if s not in inside]
    merged = merge_ace([record(inside[0], outside[0]),
                        record(inside[1], sample_below=below)])
    assert sorted(c[1] for c in merged["connections"]) == sorted(inside[:2])
    assert (merged["hits"], merged["omitted_hits"], merged["sample_below"]) == (3, 1, below)


def test_a_report_says_a_list_is_a_sample_and_about_how_much_it_left_out():
    from ruleset_analysis.records import collect
    from ruleset_analysis.report import text
    from ruleset_analysis.report.build import make_report
    lines, _ = traffic()
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    for line in lines:
        analyzer.add(line)
    report = make_report({"fw01": firewall(CONFIG)}, collect(analyzer.finish()), 10)
    rule = report.rules[0]
    assert rule.connections_sampled and rule.connections_truncated
    assert rule.hits == len(lines) and len(rule.connections) == 10
    assert f"... and about {rule.omitted_connections} more connections" in text.render(report)


def test_hits_stay_exact_when_one_line_credits_an_ace_through_both_bindings():
    both = """
access-list both extended permit tcp any host 172.16.1.10 eq https
access-group both in interface outside
access-group both out interface dmz
"""
    lines, _ = traffic()
    lines = [re.sub(r"14:\d\d:00", f"{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}", text)
             for n, text in enumerate(lines)]
    analyzer = LineAnalyzer({"fw01": firewall(both)}, "2014")
    for text in lines:
        analyzer.add(text)
        analyzer.add(text)
    record = dict((tuple(k), v) for k, v in analyzer.emit())[("ace", "fw01", "both", 1)]
    assert record["hits"] == 4 * len(lines)          # twice each, by both bindings
    assert record["omitted_hits"] == 4 * len(lines) - sum(c[4] for c in record["connections"])
