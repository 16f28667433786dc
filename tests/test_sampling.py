"""An ACE's connection list is bounded by --max-connections in every task and every merge:
complete up to the bound, a hash sample beyond — with exact hits, exact counts for every
listed connection, the connections left out summed per service, and the same lists however
the input is split."""
import random
import re

from conftest import built, firewall

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.records import SAMPLE_SPACE, connection_hash, finish_ace, merge_ace

CONFIG = """
access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-group outside_in in interface outside
"""
BOUND = 20
ACE = ("ace", "fw01", "outside_in", 1)


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


def mapped(lines, config=CONFIG, bound=BOUND):
    analyzer = LineAnalyzer({"fw01": firewall(config)}, "2014", max_connections=bound)
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
        combined = [merge_ace(parts[:4], BOUND), merge_ace(parts[4:9], BOUND),
                    merge_ace(parts[9:], BOUND)]
        assert in_order(merge_ace(combined, BOUND)) == in_order(merge_ace([whole], BOUND))
        assert finish_ace(merge_ace(combined, BOUND), 10) == \
            finish_ace(merge_ace([whole], BOUND), 10)


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
                        record(inside[1], sample_below=below)], BOUND)
    assert sorted(c[1] for c in merged["connections"]) == sorted(inside[:2])
    assert (merged["hits"], merged["omitted_hits"], merged["sample_below"]) == (3, 1, below)


def test_a_report_says_a_list_is_a_sample_and_about_how_much_it_left_out():
    from ruleset_analysis.records import collect
    from ruleset_analysis.report import text
    from ruleset_analysis.report.build import make_report
    lines, _ = traffic()
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014", max_connections=BOUND)
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
    analyzer = LineAnalyzer({"fw01": firewall(both)}, "2014", max_connections=BOUND)
    for text in lines:
        analyzer.add(text)
        analyzer.add(text)
    record = dict((tuple(k), v) for k, v in analyzer.emit())[("ace", "fw01", "both", 1)]
    assert record["hits"] == 4 * len(lines)          # twice each, by both bindings
    assert record["omitted_hits"] == 4 * len(lines) - sum(c[4] for c in record["connections"])


# -- what a list leaves out, per service ---------------------------------------------------
SERVERS = """
access-list outside_in extended permit tcp any 172.16.1.0 255.255.255.0
access-group outside_in in interface outside
"""


def service_traffic(seed=3, servers=3, lines=1500, port_choices=(443, 80)):
    """Ever new clients of a few services; the true hits per service and per connection."""
    rng = random.Random(seed)
    found, per_service, per_connection = [], {}, {}
    for n in range(lines):
        client = f"198.51.{rng.randrange(4)}.{rng.randrange(1, 250)}"
        server, port = f"172.16.1.{10 + rng.randrange(servers)}", rng.choice(port_choices)
        when = f"Jun 06 2014 {n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}"
        found.append(built("inbound", "TCP", f"outside:{client}/{rng.randrange(1024, 65536)}",
                           f"dmz:{server}/{port}", when=when))
        per_service[(server, port)] = per_service.get((server, port), 0) + 1
        per_connection[(client, server, port)] = per_connection.get((client, server, port),
                                                                     0) + 1
    return found, per_service, per_connection


def unlisted_per_service(record, per_connection):
    listed = {(c[1], c[2], c[3]) for c in record["connections"]}
    found = {}
    for (client, server, port), count in per_connection.items():
        if (client, server, port) not in listed:
            found[(server, port)] = found.get((server, port), 0) + count
    return found


def test_the_connections_a_list_leaves_out_are_summed_per_service():
    lines, _, per_connection = service_traffic()
    record = finish_ace(mapped(lines, SERVERS), BOUND)
    assert record["sampled"] and record["hits"] == len(lines)
    services = {(s[1], s[2]): s[3] for s in record["services"]}
    assert services == unlisted_per_service(record, per_connection)
    assert record["omitted_hits"] == sum(services.values())


def test_the_connections_a_halving_drops_keep_their_first_and_last_time_in_their_service():
    # one more client than the bound, three a second at shuffled times (a time's first line
    # takes the general path, the others a shared shape): the halving at the last line drops
    # about half of them at once into their service, the only way its fact is made here
    times = [f"{hour:02d}:{minute:02d}:00" for hour in (9, 12, 17) for minute in (5, 30)]
    times.append("23:59:00")
    random.Random(4).shuffle(times)
    clients = [f"198.51.100.{n + 1}" for n in range(BOUND + 1)]
    lines = [built("inbound", "TCP", f"outside:{client}/4000", "dmz:172.16.1.10/443",
                   when=f"Jun 06 2014 {times[n // 3]}") for n, client in enumerate(clients)]
    record = mapped(lines, SERVERS)
    listed = {c[1] for c in record["connections"]}
    dropped = [f"2014-06-06 {times[n // 3]}" for n, client in enumerate(clients)
               if client not in listed]
    assert len(set(dropped)) > 2
    assert [s[3:] for s in record["services"]] == [[len(dropped), min(dropped), max(dropped)]]


def test_a_connection_left_out_while_its_flow_is_cached_still_counts_in_its_service():
    lines, _, per_connection = service_traffic()
    # each line twice: the second meets the fast path's entry, made before the list was cut
    record = finish_ace(mapped([text for text in lines for _ in range(2)], SERVERS), BOUND)
    assert record["hits"] == 2 * len(lines)
    expected = {k: 2 * v for k, v in unlisted_per_service(record, per_connection).items()}
    assert {(s[1], s[2]): s[3] for s in record["services"]} == expected


def test_services_beyond_the_bound_are_a_sample_each_exact_the_rest_in_omitted_hits():
    lines, _, per_connection = service_traffic(servers=60, port_choices=(443, 80, 25))
    record = finish_ace(mapped(lines, SERVERS), BOUND)
    expected = unlisted_per_service(record, per_connection)
    assert record["services_sampled"] and 0 < len(record["services"]) <= BOUND < len(expected)
    for _, server, port, hits, *_ in record["services"]:
        assert hits == expected[(server, port)]
    assert record["omitted_hits"] == sum(expected.values())
    assert record["hits"] == len(lines)


def test_lists_and_services_are_the_same_however_the_input_is_split():
    lines, _, _ = service_traffic(servers=60, port_choices=(443, 80, 25))
    whole = finish_ace(merge_ace([mapped(lines, SERVERS)], BOUND), BOUND)
    rng = random.Random(2)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(lines)), 9))
        parts = [mapped(lines[a:b], SERVERS) for a, b in zip([0] + cuts, cuts + [len(lines)])]
        combined = [merge_ace(parts[:3], BOUND), merge_ace(parts[3:], BOUND)]
        assert in_order(finish_ace(merge_ace(combined, BOUND), BOUND)) == in_order(whole)


def test_a_list_cut_at_the_report_puts_what_it_cut_in_the_services():
    lines, _, per_connection = service_traffic(lines=40)
    record = mapped(lines, SERVERS, bound=1000)           # complete: every connection
    assert "services" not in record
    cut = finish_ace(record, 5)
    assert len(cut["connections"]) == 5 and not cut.get("sampled")
    assert {(s[1], s[2]): s[3] for s in cut["services"]} == \
        unlisted_per_service(cut, per_connection)


def test_cutting_a_list_keeps_the_fast_paths():
    # one header, ever new clients: after the first line every one takes a fast path
    lines = [built("inbound", "TCP", f"outside:198.51.{n // 250}.{n % 250 + 1}/4000",
                   "dmz:172.16.1.10/443", when="Jun 06 2014 14:00:00") for n in range(600)]
    analyzer = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=BOUND)
    general = []
    slow_add = analyzer.slow_add
    analyzer.slow_add = lambda *a: (general.append(1), slow_add(*a))
    for text in lines:
        analyzer.add(text)
    assert analyzer.samples[ACE][1] < SAMPLE_SPACE // 8       # the list was cut, often
    assert len(general) == 1


def test_a_task_holds_few_more_services_than_the_bound():
    lines, per_service, _ = service_traffic(servers=60, port_choices=(443, 80, 25))
    analyzer = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=BOUND)
    for text in lines:
        analyzer.add(text)
    held = [key for key in analyzer.facts if key[1] is None and len(key[0]) > 5]
    assert len(per_service) > 6 * BOUND and len(held) <= 3 * BOUND


def test_a_task_holds_about_the_bounds_connections_however_many_clients_an_ace_sees():
    # what a lowered threshold leaves out joins its service at once, not at the task's end
    lines = [built("inbound", "TCP", f"outside:198.{n // 62500}.{n // 250 % 250}.{n % 250 + 1}"
                   "/4000", "dmz:172.16.1.10/443", when="Jun 06 2014 14:00:00")
             for n in range(20000)]
    analyzer = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=BOUND)
    for text in lines:
        analyzer.add(text)
    held = [key for key in analyzer.facts if key[1] is not None]
    # (at most one more: the first client's, which the first line's cached flow counts into)
    assert len(held) <= BOUND + 1
    assert {tuple(k): v for k, v in analyzer.emit()}[ACE]["hits"] == len(lines)


def test_a_report_lists_the_services_of_what_a_list_leaves_out():
    from ruleset_analysis.records import collect
    from ruleset_analysis.report import text
    from ruleset_analysis.report.build import make_report
    lines, per_service, _ = service_traffic()
    analyzer = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=BOUND)
    for line in lines:
        analyzer.add(line)
    report = make_report({"fw01": firewall(SERVERS)}, collect(analyzer.finish()), BOUND)
    rule = report.rules[0]
    assert {(s.destination, s.port) for s in rule.services} == set(per_service)
    rendered = text.render(report)
    assert "Those not listed, per service:" in rendered
    top = rule.services[0]
    assert re.search(rf"\n\s*{top.hits}\s+TCP\s+{re.escape(top.destination)}\s+{top.port}\s",
                     rendered)
    from ruleset_analysis.report import html_report
    page = html_report.render(report)
    assert "Those not listed, per service:" in page
    assert f'<td class="num" data-value="{top.hits}">{top.hits}</td><td>TCP</td>' \
        f"<td>{top.destination}</td>" in page


def test_the_mappers_records_hold_at_most_max_connections_and_services():
    import io

    from ruleset_analysis.options import JobOptions
    from ruleset_analysis.records import decode
    from ruleset_analysis.streaming import map_lines
    lines, per_service, _ = service_traffic(servers=60, port_choices=(443, 80, 25))
    out = map_lines(io.BytesIO("\n".join(lines).encode()), {"fw01": firewall(SERVERS)},
                    JobOptions(year="2014", max_connections=5))
    aces = [value for key, value in map(decode, out) if key.startswith("ace")]
    assert len(per_service) > 5
    assert aces and all(len(value["connections"]) <= 5 for value in aces)
    assert all(len(value["services"]) <= 5 for value in aces)


def test_merging_finished_records_keeps_what_they_say_of_their_samples():
    lines, _, _ = service_traffic(servers=60, port_choices=(443, 80, 25))
    half = len(lines) // 2
    first = finish_ace(mapped(lines[:half], SERVERS), BOUND)   # two runs' results, read
    second = finish_ace(mapped(lines[half:], SERVERS), BOUND)  # together by one report
    merged = merge_ace([first, second])
    assert merged["sampled"] and merged["services_sampled"]
    assert merged["hits"] == len(lines)


def test_a_report_counts_the_hits_of_services_it_could_not_keep():
    from ruleset_analysis.records import collect
    from ruleset_analysis.report import html_report, text
    from ruleset_analysis.report.build import make_report
    lines, _, per_connection = service_traffic(servers=60, port_choices=(443, 80, 25))
    analyzer = LineAnalyzer({"fw01": firewall(SERVERS)}, "2014", max_connections=BOUND)
    for line in lines:
        analyzer.add(line)
    report = make_report({"fw01": firewall(SERVERS)}, collect(analyzer.finish()), BOUND)
    rule = report.rules[0]
    listed = {(c.source, c.destination, c.port) for c in rule.connections}
    kept = {(s.destination, s.port) for s in rule.services}
    expected = sum(n for (src, dst, port), n in per_connection.items()
                   if (src, dst, port) not in listed and (dst, port) not in kept)
    assert rule.services_sampled and rule.other_service_hits == expected > 0
    line = f"... and {expected} hits of other services (too many to keep)"
    assert line in text.render(report) and line in html_report.render(report)
