"""The benchmark's workload is what it claims: clean configs, traffic that hits their rules."""
import importlib.util
import os
import re

from conftest import ROOT

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.asa.config import parse_config
from ruleset_analysis.expand import expand_config

spec = importlib.util.spec_from_file_location("benchmark",
                                              os.path.join(ROOT, "scripts", "benchmark.py"))
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)


def test_smaller_configs_are_prefixes_of_larger_ones():
    small, large = benchmark.make_config(20), benchmark.make_config(40)
    small_aces = [line for line in small.splitlines() if line.startswith("access-list")]
    large_aces = [line for line in large.splitlines() if line.startswith("access-list")]
    assert large_aces[:20] == small_aces


def test_generated_config_parses_without_warnings_and_log_traffic_hits_its_rules(tmp_path):
    firewall = expand_config(parse_config(benchmark.make_config(200), "bench.cfg"))
    assert firewall.warnings == [] and all(a.error is None for a in firewall.aces())
    log = tmp_path / "bench.log"
    benchmark.make_log(str(log), firewall, 2000)
    analyzer = LineAnalyzer({"bench": firewall}, "2014")
    for line in log.read_text().splitlines():
        analyzer.add(line)
    counts = analyzer.counts()
    assert counts["lines"] == 2000 and counts["not_relevant"] == 200
    assert counts["matched"] >= 0.95 * 1800
    used = {(key[2], key[3]) for key, value in analyzer.emit() if key[0] == "ace"}
    assert len(used) > 50                  # spread over the ruleset, not the first rules


def test_each_config_gets_logs_of_every_workload_whose_traffic_it_permits(tmp_path):
    # a config meeting a log made for another measures built connections nothing permits
    from ruleset_analysis.preprocess import read_config
    config = tmp_path / "bench-200.cfg"
    config.write_text(benchmark.make_config(200))
    logs = benchmark.make_logs(str(config), 1000)
    assert sorted(logs) == sorted(name for name, _ in benchmark.WORKLOADS)
    for path in logs.values():
        analyzer = LineAnalyzer({"bench": read_config(str(config))}, "2014")
        analyzer.add_lines(open(path).read().splitlines())
        counts = analyzer.counts()
        assert counts["lines"] == 1000 and counts["matched"] >= 0.95 * 900


def test_the_distinct_workload_has_no_repeated_flows(tmp_path):
    firewall = expand_config(parse_config(benchmark.make_config(200), "bench.cfg"))
    log = tmp_path / "bench.log"
    benchmark.make_log(str(log), firewall, 2000, distinct=1.0)
    built = [line for line in log.read_text().splitlines() if "Built" in line]
    pairs = {tuple(re.findall(r" \w+:([\d.]+)/", line)) for line in built}
    assert len(built) == 1800 and len(pairs) > 0.9 * len(built)     # host-only rules repeat


def test_the_log_generator_counts_what_it_writes_on_a_terminal():
    import io
    spec = importlib.util.spec_from_file_location(
        "generate_logs", os.path.join(ROOT, "scripts", "generate_logs.py"))
    generate_logs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate_logs)
    written, shown = io.StringIO(), io.StringIO()
    lines = (f"line {n}" for n in range(250_000))
    assert generate_logs.write_log(lines, written, "fw01", shown) == 250_000
    assert shown.getvalue() == ("\rfw01: 100,000 lines\rfw01: 200,000 lines"
                                "\rfw01: 250,000 lines\n")
    assert written.getvalue().count("\n") == 250_000


def test_the_reducer_benchmarks_task_records_are_what_a_mapper_emits():
    from conftest import built, firewall
    config = firewall("access-list outside_in extended permit tcp any host 172.16.1.10 eq 443\n"
                      "access-group outside_in in interface outside\n")
    made = benchmark._task_record(3, 700, 100)
    analyzer = LineAnalyzer({"fw01": config}, "2014", max_connections=100)
    clients = [f"1.3.{n >> 8 & 255}.{n & 255}" for n in range(700)]
    for client in clients:
        analyzer.add(built("inbound", "TCP", f"outside:{client}/5000", "dmz:172.16.1.10/443",
                           when="Jun 01 2014 00:00:00"))
    record = dict((tuple(k), v) for k, v in analyzer.emit())[("ace", "fw01", "outside_in", 1)]
    assert sorted(record["connections"]) == sorted(made["connections"])
    assert [record[k] for k in ("sample_below", "omitted_hits", "services")] == \
        [made[k] for k in ("sample_below", "omitted_hits", "services")]


def analysed(config: str, log: str) -> tuple:
    """A generated config and log: (its firewall, an analyzer that read the log, its lines)."""
    with open(config) as handle:
        firewall = expand_config(parse_config(handle.read(), os.path.basename(config)))
    analyzer = LineAnalyzer({"bench": firewall}, "2014")
    with open(log) as handle:
        lines = handle.read().splitlines()
    for line in lines:
        analyzer.add(line)
    return firewall, analyzer, lines


def test_the_busy_services_log_spreads_ever_new_clients_over_every_services_ace(tmp_path):
    firewall, analyzer, lines = analysed(*benchmark.make_busy(str(tmp_path), 20_000,
                                                              services=30))
    assert firewall.warnings == [] and len(firewall.acls["outside_in"].entries) == 30
    counts = analyzer.counts()
    assert counts["lines"] == 20_000 and counts["matched"] == 18_000
    clients = {re.search(r"for outside:([\d.]+/\d+)", line).group(1) for line in lines
               if "Built" in line}
    assert len(clients) > 17_900           # (a few repeat by chance)
    aces = {tuple(key): value for key, value in analyzer.emit() if key[0] == "ace"}
    assert len(aces) == 30 and all(value["hits"] > 500 for value in aces.values())
    # every list of 100 filled and was sampled down (the flush bound's working set)
    assert all(50 <= len(value["connections"]) <= 100 and "sample_below" in value
               for value in aces.values())


def test_the_logged_busy_services_log_is_acl_log_first_hits_of_ever_new_clients(tmp_path):
    config, log = benchmark.make_busy(str(tmp_path), 20_000, services=30, logged=True)
    with open(config) as handle:
        firewall = expand_config(parse_config(handle.read(), os.path.basename(config)))
    assert all(ace.log for ace in firewall.acls["outside_in"].entries)
    analyzer = LineAnalyzer({"bench": firewall}, "2014", permits_from="acl-log")
    with open(log) as handle:
        lines = handle.read().splitlines()
    analyzer.add_lines(lines)
    counts = analyzer.counts()
    assert counts["lines"] == 20_000 and counts["matched"] == 18_000
    logged = [re.search(r"outside/([\d.]+)\(\d+\) .* hit-cnt (\d+) (first hit|300-second)",
                        line).groups() for line in lines if "106100" in line]
    assert len({source for source, _, _ in logged}) > 17_900     # (a few repeat by chance)
    first = sum(1 for _, count, kind in logged if count == "1" and kind == "first hit")
    assert 15_800 < first < 16_600                # a tenth count several flows
    aces = {tuple(key): value for key, value in analyzer.emit() if key[0] == "ace"}
    assert len(aces) == 30 and sum(value["hits"] for value in aces.values()) > 18_000


def test_the_acl_logged_log_gives_each_connection_its_acl_log_permit_counted_by_its_built_line(
        tmp_path):
    config = os.path.join(str(tmp_path), "bench.cfg")
    with open(config, "w") as handle:
        handle.write(benchmark.make_config(200))
    firewall = expand_config(parse_config(benchmark.make_config(200), "bench.cfg"))
    log = os.path.join(str(tmp_path), "bench.log")
    benchmark.make_log(log, firewall, 10_000, distinct=1.0)
    made = benchmark.with_acl_log(log, 15_000)
    with open(made) as handle:
        lines = handle.read().splitlines()
    analyzer = LineAnalyzer({"bench": firewall}, "2014")
    analyzer.add_lines(lines)
    counts = analyzer.counts()
    assert counts["lines"] == len(lines) in (14_999, 15_000)     # (a pair is not split)
    # every permit read, none unknown or malformed, and as many as the built lines matched
    assert counts["acl_log_permit"] == counts["matched"] > 6_000
    logged = [line for line in lines if "106100" in line]
    assert all("Built" in after and after[:20] == line[:20]
               for line, after in zip(lines, lines[1:]) if "106100" in line)
    permitted = LineAnalyzer({"bench": firewall}, "2014", permits_from="acl-log")
    permitted.add_lines(logged)
    assert permitted.counts()["matched"] == len(logged)    # each in its ingress ACL


def test_the_outbound_log_sends_few_users_to_ever_new_servers_through_the_inside_acls_last_rules(
        tmp_path):
    firewall, analyzer, lines = analysed(*benchmark.make_outbound(str(tmp_path), 20_000,
                                                                  users=50))
    assert firewall.warnings == []
    last = len(firewall.acls["inside_in"].entries)
    counts = analyzer.counts()
    assert counts["lines"] == 20_000 and counts["matched"] == 18_000
    built = [re.search(r"for outside:([\d.]+)/\d+ .* to inside:([\d.]+)/", line).groups()
             for line in lines if "Built" in line]
    assert len({user for _, user in built}) == 50
    assert len({server for server, _ in built}) > 17_900       # (a few repeat by chance)
    hits = {key[3]: value["hits"] for key, value in analyzer.emit()
            if key[0] == "ace" and key[2] == "inside_in"}
    assert hits[last - 1] + hits[last] > 17_900 and hits[last - 1] > hits[last] > 0


def test_the_denied_log_is_ever_new_internet_sources_probing_public_addresses_the_outside_acl_denies(  # noqa: E501
        tmp_path):
    firewall = expand_config(parse_config(benchmark.make_config(200), "bench.cfg"))
    log = benchmark.make_denied(str(tmp_path), 20_000)
    analyzer = LineAnalyzer({"bench": firewall}, "2014")
    with open(log) as handle:
        lines = handle.read().splitlines()
    analyzer.add_lines(lines)
    counts = analyzer.counts()
    assert counts["lines"] == 20_000 and counts["not_relevant"] == 2_000
    assert counts["denied_implicit"] > 17_900          # (a few a rule permits, by chance)
    probes = [re.search(r"src outside:([\d.]+)/\d+ dst inside:(203\.0\.113\.\d+/\d+) ",
                        line).groups() for line in lines if "Deny" in line]
    assert len({source for source, _ in probes}) > 17_900
    assert len({service for _, service in probes}) < 9_000     # (probed again and again)
