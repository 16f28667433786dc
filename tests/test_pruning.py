"""Reports for a pruning decision: unused members, the unused rule, filters, CSV and prune."""
import csv
import datetime
import io
import json

import pytest
from conftest import SAMPLE_LOGS, built, cli_runner, firewall

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.cli import main
from ruleset_analysis.records import ResultsError, collect
from ruleset_analysis.report import Filters, build_report

CONFIG = """
object-group network leaf
 network-object host 10.0.0.1
 network-object host 10.0.0.2
object-group network top
 group-object leaf
 network-object host 10.0.0.9
object-group service web tcp
 port-object eq www
 port-object eq https
access-list outside_in extended permit tcp any object-group top object-group web
access-list outside_in extended permit tcp any host 10.0.0.50 eq ssh
access-list outside_in extended permit tcp any host 10.0.0.51 eq ssh
access-group outside_in in interface outside
"""


def report_of(lines, config=CONFIG, **filters):
    fw = firewall(config)
    analyzer = LineAnalyzer({"fw01": fw}, "2014")
    for line in lines:
        analyzer.add(line)
    filters = Filters(**filters)
    filters.check({"fw01": fw})
    return build_report({"fw01": fw}, collect(analyzer.finish()), filters=filters)


def hit(dst, port, when="Jun 06 2014 14:47:35"):
    return built("inbound", "TCP", "outside:192.0.2.1/40000", f"inside:{dst}/{port}",
                 when=when)


def group(report, name):
    return next(g for g in report["groups"] if g["group"] == name)


def test_a_member_is_unused_when_no_rule_through_it_matched():
    report = report_of([hit("10.0.0.1", 80)])
    top, leaf, web = group(report, "top"), group(report, "leaf"), group(report, "web")
    assert top["unused"] == ["10.0.0.9"]                   # `leaf` was used through 10.0.0.1
    assert leaf["unused"] == ["10.0.0.2"]
    assert web["unused"] == ["eq https"]
    assert {m["member"]: m["line"] for m in top["members"]} == {
        "leaf": "group-object leaf", "10.0.0.9": "network-object host 10.0.0.9"}


@pytest.mark.parametrize("extra, reason", [
    ("access-list outside_in extended permit tcp any any object-group web inactive",
     "outside_in:4 (inactive)"),
    ("access-list CAPTURE extended permit tcp object-group top any", "CAPTURE:1 (unbound)"),
    ("access-list outside_in extended permit tcp object-group top any frobnicate",
     "outside_in:4 (UNPARSED)"),
])
def test_members_of_a_group_also_used_by_an_unjudgeable_ace_are_not_called_unused(extra,
                                                                                  reason):
    config = CONFIG.replace("access-group", extra + "\naccess-group")
    report = report_of([hit("10.0.0.1", 80)], config)
    blocked = group(report, "web" if "web" in extra else "top")
    assert blocked["unused"] == [] and blocked["not_evaluated"] == [reason]
    if "UNPARSED" in reason:            # nested groups are blocked too
        assert group(report, "leaf")["unused"] == []


def daily_traffic(first: str, last: str) -> list:
    """One connection no rule permits on every day from ``first`` to ``last``: evidence that
    the firewall logged connections on those days."""
    day, stop = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last)
    lines = []
    while day <= stop:
        lines.append(hit("10.9.9.9", 22, day.strftime("%b %d %Y 12:00:00")))
        day += datetime.timedelta(days=1)
    return lines


def test_unused_since_counts_old_hits_as_unused():
    lines = [hit("10.0.0.50", 22, "Jan 10 2014 10:00:00"), hit("10.0.0.51", 22,
                                                                "Jun 06 2014 10:00:00")]
    lines += daily_traffic("2013-11-01", "2014-06-06")
    everything = report_of(lines)
    assert [r["line"] for r in everything["rules"] if r["unused"]] == [1]
    recent = report_of(lines, unused_since=90)
    assert [r["line"] for r in recent["rules"] if r["unused"]] == [1, 2]
    assert recent["unused_rule"] == {"as_of": "2014-06-06", "days": 90}
    earlier = report_of(lines, unused_since=90, as_of="2014-03-01")
    assert [r["line"] for r in earlier["rules"] if r["unused"]] == [1]


def test_window_is_the_period_the_hits_cover():
    report = report_of([hit("10.0.0.50", 22, "Jan 10 2014 10:00:00"),
                        hit("10.0.0.51", 22, "Jan 12 2014 09:00:00")])
    assert report["window"] == {"first": "2014-01-10 10:00:00",
                                "last": "2014-01-12 09:00:00", "days": 3}


def test_filters_narrow_the_report():
    report = report_of([hit("10.0.0.50", 22)], acl="outside_in", min_hits=1)
    assert [(r["acl"], r["line"]) for r in report["rules"]] == [("outside_in", 2)]
    with pytest.raises(ResultsError, match="fw99"):
        report_of([], firewall="fw99")


def test_a_filter_that_names_nothing_is_an_error_not_an_empty_report():
    with pytest.raises(ResultsError, match="--acl nope"):
        report_of([hit("10.0.0.50", 22)], acl="nope")


def cli(*args):
    result = cli_runner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from conftest import SAMPLE_CONFIGS
    tmp = tmp_path_factory.mktemp("prune")
    db, out = tmp / "db", tmp / "results"
    cli("preprocess", *SAMPLE_CONFIGS, "--db", db)
    cli("run", *SAMPLE_LOGS, "--db", db, "-o", out)
    return str(out), str(db)


def test_sample_report_names_the_unused_members(results):
    report = json.loads(cli("report", results[0], "--db", results[1], "--format", "json"))
    groups = {(g["firewall"], g["group"]): g for g in report["groups"]}
    assert groups[("fw01", "Partners")]["unused"] == ["198.51.100.0/24"]
    assert groups[("fw01", "Mail-Services")]["unused"] == ["tcp destination eq imap4"]
    assert groups[("fw02", "vpn-protocols")]["not_evaluated"] == ["outside_in:5 (not seen)"]


def test_prune_writes_the_asa_commands_for_review(results):
    commands = cli("prune", results[0], "--db", results[1])
    assert commands.startswith("! ruleset-analysis prune: candidates for review, NOT applied.")
    assert ("no access-list inside_in remark legacy ftp, to be removed\n"
            "no access-list inside_in extended permit tcp object obj-inside any eq ftp\n"
            ) in commands
    assert "object-group network Partners\n no network-object 198.51.100.0 255.255.255.0\n" \
        in commands
    assert "vpn-protocols" not in commands and "CAPTURE" not in commands
    assert not any(line.startswith("no access-list") and " deny " in line
                   for line in commands.splitlines())


def test_csv_has_a_row_per_ace_and_per_member(results):
    rows = list(csv.DictReader(io.StringIO(cli("report", results[0], "--db", results[1],
                                               "--format", "csv"))))
    report = json.loads(cli("report", results[0], "--db", results[1], "--format", "json"))
    assert sum(r["record"] == "ace" for r in rows) == len(report["rules"])
    assert sum(r["record"] == "member" for r in rows) == sum(
        len(g["members"]) for g in report["groups"])
    partner = next(r for r in rows if r["member"] == "198.51.100.0/24")
    assert (partner["hits"], partner["unused"], partner["text"]) == (
        "0", "True", "network-object 198.51.100.0 255.255.255.0")


def test_protocol_and_port_group_paths_are_kept_apart():
    fw = firewall("""object-group protocol l4
 protocol-object tcp
object-group service web tcp
 port-object eq www
access-list acl extended permit object-group l4 any any object-group web
""")
    assert fw.acls["acl"].entries[0].rules[0].members == {"protocol": ["l4", "tcp"],
                                                         "service": ["web", "eq www"]}


def test_diff_shows_aces_whose_use_started_or_stopped(tmp_path):
    def report(hits):
        rules = [{"firewall": "fw01", "acl": "in", "line": n + 1, "text": f"ace {n}",
                  "hits": h, "last_seen": "2014-06-01 00:00:00" if h else None}
                 for n, h in enumerate(hits)]
        return {"window": {"first": "a", "last": "b"}, "rules": rules}
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(report([0, 5, 3, 1])))
    new_report = report([4, 0, 3, 2])
    new_report["rules"].pop(3)
    new_report["rules"].append({"firewall": "fw01", "acl": "in", "line": 9, "text": "ace new",
                                "hits": 1, "last_seen": None})
    new.write_text(json.dumps(new_report))
    text = cli("diff", old, new)
    started = text.split("== Started being used (1) ==")[1].split("==")[0]
    stopped = text.split("== Stopped being used (1) ==")[1].split("==")[0]
    assert "ace 0" in started and "ace 1" in stopped
    assert "== Hits changed (0) ==" in text
    assert "== Only in the new report (1) ==\nfw01: ace new" in text
    assert "== Only in the old report (1) ==\nfw01: ace 3" in text


def test_diff_of_a_file_that_is_not_a_report_is_one_clear_error(tmp_path):
    bogus = tmp_path / "x.json"
    for text in ("[1, 2]", '{"rules": [' + "[" * 100_000 + "]" * 100_000 + "]}"):
        bogus.write_text(text)
        result = cli_runner().invoke(main, ["diff", str(bogus), str(bogus)])
        assert result.exit_code == 1 and "not a JSON report" in result.output


def test_sample_shadowing_finds_the_final_deny_before_the_implicit_one(results):
    report = json.loads(cli("report", results[0], "--db", results[1], "--format", "json"))
    by_line = {(r["firewall"], r["acl"], r["line"]): r for r in report["rules"]}
    assert by_line[("fw02", "inside_in", 8)]["redundant_with"] == ["implicit deny"]
    assert by_line[("fw01", "outside_in", 11)]["redundant_with"] == []   # the global ACL follows


def test_diff_of_two_periods_of_the_samples(tmp_path, results):
    reports = []
    for since, until in (("2014-06-01", "2014-06-07"), ("2014-06-08", "2014-06-14")):
        out = tmp_path / f"{since}.results"
        cli("run", *SAMPLE_LOGS, "--db", results[1], "--since", since, "--until", until,
            "-o", out)
        page = tmp_path / f"{since}.json"
        cli("report", out, "--db", results[1], "--format", "json", "-o", page)
        reports.append(page)
    first = json.loads(reports[0].read_text())
    assert first["window"]["last"] < "2014-06-08" and first["counters"]["outside_period"] > 0
    text = cli("diff", *reports)
    assert text.startswith("Periods: 2014-06-01") and "== Started being used (" in text


def test_a_filtered_report_still_counts_every_acl_for_members_and_results(results):
    report = json.loads(cli("report", results[0], "--db", results[1], "--format", "json",
                            "--acl", "dmz_in"))
    assert {r["acl"] for r in report["rules"]} == {"dmz_in"}
    assert report["unknown_results"] == []
    groups = {g["group"]: g for g in report["groups"]}
    assert groups["Web-Servers"]["unused"] == []        # obj-web02 carries outside_in traffic
