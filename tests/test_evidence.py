"""No verdict without evidence: a rule is only called unused where the logs could have shown
its use. One test per way the tool could otherwise advise deleting a rule that is in use."""
import datetime
import gzip
import json
import os
import shutil

import pytest
from conftest import OUTSIDE_DMZ, SAMPLE_CONFIGS, SAMPLE_LOGS, built, cli_runner, firewall

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.cli import main
from ruleset_analysis.records import RESULTS_FORMAT, collect
from ruleset_analysis.report import Filters, build_report

CONFIG = OUTSIDE_DMZ + """
time-range office
 periodic weekdays 8:00 to 18:00
access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-list outside_in extended permit tcp any host 172.16.1.11 eq ssh
access-list outside_in extended permit tcp any 172.16.1.0 255.255.255.0 time-range office
access-list outside_in extended deny tcp any any eq telnet
access-group outside_in in interface outside
"""
HTTPS, SSH, OFFICE, TELNET = 1, 2, 3, 4


def https(when="Jun 06 2014 14:47:35", host="fw01", src="198.51.100.7"):
    return built("inbound", "TCP", f"outside:{src}/51000", "dmz:172.16.1.10/443", host, when)


def days(first: str, last: str, host="fw01") -> list:
    """One HTTPS connection a day from ``first`` to ``last``: logs that cover those days."""
    day, stop = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last)
    lines = []
    while day <= stop:
        lines.append(https(day.strftime("%b %d %Y 12:00:00"), host))
        day += datetime.timedelta(days=1)
    return lines


def report_of(lines, firewalls=None, analyzer_options=None, **filters):
    firewalls = firewalls or {"fw01": firewall(CONFIG)}
    analyzer = LineAnalyzer(firewalls, "2014", **(analyzer_options or {}))
    for line in lines:
        analyzer.add(line)
    return build_report(firewalls, collect(analyzer.finish()), filters=Filters(**filters))


def ace(report, line, firewall_name="fw01", acl="outside_in"):
    return next(r for r in report["rules"] if (r["firewall"], r["acl"], r["line"]) ==
                (firewall_name, acl, line))


def candidates(report) -> list:
    return [(r["firewall"], r["line"]) for r in report["rules"] if r["unused"]]


def evidence(report, name="fw01") -> dict:
    return next(f for f in report["firewalls"] if f["firewall"] == name)


# -- 1. a firewall without log lines -------------------------------------------------------
def test_a_firewall_without_log_lines_has_no_data_and_no_candidates():
    fws = {"fw01": firewall(CONFIG, "fw01"), "fw02": firewall(CONFIG, "fw02")}
    report = report_of(days("2014-06-01", "2014-06-14"), fws)
    assert evidence(report, "fw02")["status"] == "no data"
    assert "no log line of it was read" in evidence(report, "fw02")["reason"]
    assert {ace(report, n, "fw02")["status"] for n in (HTTPS, SSH, OFFICE)} == {"no data"}
    assert candidates(report) == [("fw01", SSH), ("fw01", OFFICE)]


def test_a_firewall_that_logs_only_deny_messages_has_no_data_for_permits():
    deny = ('Jun 06 2014 14:47:35 fw01 : %ASA-4-106023: Deny tcp src outside:192.0.2.1/4000 '
            'dst dmz:172.16.9.10/23 by access-group "outside_in" [0x0, 0x0]')
    report = report_of([deny])
    assert evidence(report)["status"] == "no data"
    assert "no connection-built message" in evidence(report)["reason"]
    assert ace(report, TELNET)["status"] == "used" and candidates(report) == []


def test_since_after_all_the_data_leaves_no_data_not_candidates():
    report = report_of(days("2014-06-01", "2014-06-14"),
                       analyzer_options={"since": "2014-07-01"})
    assert evidence(report)["status"] == "no data" and candidates(report) == []


# -- 2. an unused claim about a period the logs do not cover -------------------------------
def test_unused_since_longer_than_the_logs_is_not_enough_data():
    report = report_of(days("2014-06-01", "2014-06-14"), unused_since=90)
    assert candidates(report) == []
    assert ace(report, SSH)["status"] == "not enough data"
    assert "the logs cover 2014-06-01 .. 2014-06-14" in ace(report, SSH)["reason"]
    assert evidence(report)["horizon"]["covered"] is False


def test_as_of_after_the_last_line_does_not_make_the_busiest_ace_a_candidate():
    report = report_of(days("2014-01-01", "2014-06-14"), unused_since=30, as_of="2014-09-01")
    assert ace(report, HTTPS)["hits"] == 165 and ace(report, HTTPS)["status"] == \
        "not enough data"
    assert candidates(report) == []


def test_unused_since_inside_the_logs_finds_candidates():
    report = report_of(days("2014-01-01", "2014-06-14"), unused_since=30)
    assert candidates(report) == [("fw01", SSH), ("fw01", OFFICE)]
    assert ace(report, HTTPS)["status"] == "used"


def test_a_long_gap_in_the_logs_of_the_horizon_is_not_enough_data():
    lines = days("2014-01-01", "2014-05-01") + days("2014-06-01", "2014-06-14")
    report = report_of(lines, unused_since=60)
    assert candidates(report) == []
    assert "30 of the 61 days" in ace(report, SSH)["reason"]
    assert ["2014-05-02", "2014-05-31", 30] in evidence(report)["gaps"]


def test_the_unused_claim_is_judged_per_firewall():
    fws = {"fw01": firewall(CONFIG, "fw01"), "fw02": firewall(CONFIG, "fw02")}
    lines = days("2014-01-01", "2014-06-14", "fw01") + days("2014-06-01", "2014-06-14", "fw02")
    report = report_of(lines, fws, unused_since=30)
    assert ("fw01", SSH) in candidates(report)
    assert ace(report, SSH, "fw02")["status"] == "not enough data"


# -- 3. results matched against another ruleset --------------------------------------------
def write_config(path, text):
    path.write_text("hostname fw01\n" + text)
    return str(path)


@pytest.mark.parametrize("command", ["report", "prune"])
def test_results_of_a_changed_ruleset_are_refused(tmp_path, command):
    config = write_config(tmp_path / "fw01.cfg", CONFIG)
    log = tmp_path / "fw01.log"
    log.write_text("\n".join(days("2014-06-01", "2014-06-14")) + "\n")
    db, results = str(tmp_path / "db"), str(tmp_path / "results")
    runner = cli_runner()
    assert runner.invoke(main, ["preprocess", config, "--db", db]).exit_code == 0
    assert runner.invoke(main, ["run", str(log), "--db", db, "-o", results]).exit_code == 0
    assert runner.invoke(main, [command, results, "--db", db]).exit_code == 0
    changed = CONFIG.replace("access-list outside_in extended permit tcp any host 172.16.1.10",
                             "access-list outside_in extended permit tcp any host 172.16.1.99 "
                             "eq www\naccess-list outside_in extended permit tcp any host "
                             "172.16.1.10", 1)
    write_config(tmp_path / "fw01.cfg", changed)
    assert runner.invoke(main, ["preprocess", config, "--db", db]).exit_code == 0
    result = runner.invoke(main, [command, results, "--db", db])
    assert result.exit_code == 1
    assert "matched against another ruleset" in result.output and "run the job again" in \
        result.output
    assert len(result.output.strip().splitlines()) == 1


def test_results_without_fingerprints_are_refused(tmp_path, sample_db):
    old = tmp_path / "results"
    old.write_text('"counter\\tlines"\t1\n"counter\\tmatched"\t1\n')
    result = cli_runner().invoke(main, ["report", str(old), "--db", sample_db])
    assert result.exit_code == 1 and "older version" in result.output


def test_results_of_another_results_format_are_refused_naming_it(tmp_path, sample_db):
    results = tmp_path / "results"
    assert run("run", SAMPLE_LOGS[0], "--db", sample_db, "-o", results).exit_code == 0
    older = results.read_text().replace(f'["{RESULTS_FORMAT}:', f'["{RESULTS_FORMAT - 1}:')
    assert older != results.read_text()
    results.write_text(older)
    result = run("report", results, "--db", sample_db)
    assert result.exit_code == 1 and "another version of ruleset-analysis (results format " \
        f"{RESULTS_FORMAT - 1}; this one reads {RESULTS_FORMAT})" in result.output


# -- 4. connection lines without a time ----------------------------------------------------
UNTIMED = ("%ASA-6-302013: Built inbound TCP connection 1 for outside:198.51.100.7/51000 "
           "(198.51.100.7/51000) to dmz:172.16.1.11/22 (172.16.1.11/22)")


def test_a_connection_without_a_time_is_a_hit_with_unknown_times():
    report = report_of(days("2014-06-01", "2014-06-14") + [UNTIMED])
    ssh = ace(report, SSH)
    assert (ssh["status"], ssh["hits"], ssh["untimed_hits"]) == ("used", 1, 1)
    assert ssh["first_seen"] is None and ssh["last_seen"] is None
    assert ssh["connections"][0]["first_seen"] is None
    assert evidence(report)["untimed"] == 1


def test_only_untimed_lines_prove_use_but_not_disuse():
    report = report_of([UNTIMED])
    assert ace(report, SSH)["status"] == "used"
    assert evidence(report)["status"] == "no data" and candidates(report) == []


def test_untimed_hits_are_not_enough_data_for_unused_since():
    report = report_of(days("2014-01-01", "2014-06-14") + [UNTIMED], unused_since=30)
    assert ace(report, SSH)["status"] == "not enough data"
    assert "without a time" in ace(report, SSH)["reason"]


def test_untimed_lines_cannot_be_placed_in_a_since_until_period():
    report = report_of([UNTIMED], analyzer_options={"since": "2014-06-01"})
    assert report["counters"]["no_timestamp"] == 1 and ace(report, SSH)["hits"] == 0


# -- 5. the same connections twice ---------------------------------------------------------
def run(*args):
    return cli_runner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("runner", ["local", "inline"])
def test_firewalls_whose_every_log_was_left_out_have_no_data_as_no_line_was_read(
        tmp_path, sample_db, runner):
    # not "matched against another ruleset" nor "added to the database after the run": no
    # map task ran, so the results name no ruleset
    unread = tmp_path / "fw01.log.lz4"
    unread.write_bytes(b"\x04\x22\x4d\x18 not read")
    results = tmp_path / "results"
    assert run("run", "-r", runner, unread, "--db", sample_db, "-o", results).exit_code == 0
    result = run("report", results, "--db", sample_db, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {f["status"] for f in report["firewalls"]} == {"no data"}
    assert all(f["reason"].startswith("no log line of it was read")
               for f in report["firewalls"])
    assert candidates(report) == []


def test_the_same_log_given_twice_is_read_once(tmp_path, sample_db):
    once, twice = tmp_path / "once", tmp_path / "twice"
    assert run("run", SAMPLE_LOGS[0], "--db", sample_db, "-o", once).exit_code == 0
    directory = os.path.dirname(SAMPLE_LOGS[0])
    assert run("run", SAMPLE_LOGS[0], directory, "--db", sample_db, "-o", twice).exit_code == 0
    assert once.read_text() == twice.read_text()


@pytest.mark.parametrize("runner", ["local", "inline"])
def test_a_log_reached_through_a_hard_link_is_read_once(tmp_path, sample_db, runner):
    # snapshot trees (rsync --link-dest, cp -l) hold each day's logs as links to one file:
    # its lines counted once per snapshot
    once, linked = tmp_path / "once", tmp_path / "linked"
    for snapshot in ("daily.0", "daily.1"):
        (tmp_path / snapshot / "fw01").mkdir(parents=True)
    shutil.copy(SAMPLE_LOGS[0], tmp_path / "daily.0" / "fw01" / "fw01.log")
    os.link(tmp_path / "daily.0" / "fw01" / "fw01.log", tmp_path / "daily.1" / "fw01" / "fw01.log")
    assert run("run", "-r", runner, tmp_path / "daily.0", "--db", sample_db, "-o",
               once).exit_code == 0
    assert run("run", "-r", runner, tmp_path / "daily.0", tmp_path / "daily.1", "--db",
               sample_db, "-o", linked).exit_code == 0
    assert once.read_text() == linked.read_text()


@pytest.mark.parametrize("runner", ["hadoop", "spark"])
def test_a_cluster_is_given_each_local_log_once_however_it_is_reached(tmp_path, runner):
    # a file and its directory, a hard link: each local path was expanded alone and given
    from ruleset_analysis.runner import job_inputs
    (tmp_path / "fw01").mkdir()
    log = tmp_path / "fw01" / "fw01.log"
    shutil.copy(SAMPLE_LOGS[0], log)
    os.link(log, tmp_path / "link.log")
    given = [str(log), str(tmp_path / "fw01"), str(tmp_path / "link.log"), "hdfs:///logs/fw02"]
    assert job_inputs(given, runner) == [str(log), "hdfs:///logs/fw02"]


def test_a_log_beside_its_compressed_copy_is_an_error_naming_both(tmp_path, sample_db):
    directory = tmp_path / "fw01"
    directory.mkdir()
    shutil.copy(SAMPLE_LOGS[0], directory / "x.log")
    (directory / "x.log.gz").write_bytes(gzip.compress(open(SAMPLE_LOGS[0], "rb").read()))
    result = run("run", directory, "--db", sample_db, "-o", tmp_path / "results")
    assert result.exit_code == 1
    assert "x.log and " in result.output and "x.log.gz" in result.output
    assert not (tmp_path / "results").exists()


# -- 6. messages that disagree with the config ---------------------------------------------
DENY_ON_PERMIT = ('Jun 06 2014 14:47:35 fw01 : %ASA-4-106023: Deny tcp src '
                  'outside:198.51.100.7/51000 dst dmz:172.16.1.11/22 by access-group '
                  '"outside_in" [0x0, 0x0]')
PERMIT_ON_DENY = ("Jun 06 2014 14:47:35 fw01 : %ASA-6-106100: access-list outside_in permitted "
                  "tcp outside/198.51.100.7(51000) -> dmz/172.16.9.12(23) hit-cnt 1 first hit "
                  "[0x1, 0x0]")


def test_a_deny_message_whose_first_match_is_a_permit_is_a_disagreement_not_a_hit():
    report = report_of(days("2014-06-01", "2014-06-14") + [DENY_ON_PERMIT])
    ssh = ace(report, SSH)
    assert (ssh["hits"], ssh["disagreements"], ssh["status"]) == (0, 1, "disagreement")
    assert report["counters"]["deny_disagrees"] == 1 and "denied" not in report["counters"]
    [found] = report["disagreements"]
    assert (found["line"], found["messages"], found["count"]) == (SSH, "deny", 1)
    assert found["connections"][0]["source"] == "198.51.100.7"
    assert ("fw01", SSH) not in candidates(report)


def test_a_disagreement_with_more_connections_than_listed_shows_the_rest_per_service():
    denies = [DENY_ON_PERMIT.replace("198.51.100.7/", f"198.51.100.{n}/") for n in range(1, 9)]
    report = report_of(days("2014-06-01", "2014-06-14") + denies,
                       analyzer_options={"max_connections": 2})
    [found] = report["disagreements"]
    assert found["count"] == 8 and len(found["connections"]) <= 2
    [service] = found["services"]
    assert (service["protocol"], service["destination"], service["port"]) == \
        ("tcp", "172.16.1.11", 22)
    assert service["hits"] + sum(c["count"] for c in found["connections"]) == 8


def test_a_deny_on_a_time_range_permit_says_the_time_range_may_have_been_inactive():
    deny = DENY_ON_PERMIT.replace("172.16.1.11/22", "172.16.1.20/80")
    report = report_of(days("2014-06-01", "2014-06-14") + [deny])
    assert ace(report, OFFICE)["status"] == "disagreement"
    assert "time-range office may have been inactive" in ace(report, OFFICE)["reason"]


def test_a_permit_message_whose_first_match_is_a_deny_is_a_disagreement():
    report = report_of(days("2014-06-01", "2014-06-14") + [PERMIT_ON_DENY],
                       analyzer_options={"permits_from": "acl-log"})
    assert report["counters"]["permit_disagrees"] == 1
    assert ace(report, TELNET)["hits"] == 0 and ace(report, TELNET)["disagreements"] == 1


# -- 7. pager prompts in captured configs --------------------------------------------------
def test_pager_prompts_inside_a_group_are_removed_with_one_warning():
    fw = firewall("""
    object-group network Servers
     network-object host 172.16.1.10
    <--- More --->\r              \r network-object host 172.16.1.11
     <--- More --->
     network-object host 172.16.1.12
    access-list outside_in extended permit tcp any object-group Servers eq https
    access-group outside_in in interface outside
    """)
    [acl_entry] = fw.acls["outside_in"].entries
    assert acl_entry.rule_count == 3
    assert [w for w in fw.warnings if "pager prompt" in w] == [
        "test.cfg: 2 pager prompt(s) ('<--- More --->') removed: it was captured with "
        "paging on (set 'terminal pager 0')"]


def test_a_form_feed_in_a_remark_does_not_start_a_new_config_line():
    fw = firewall("access-list outside_in remark old\x0caccess-list outside_in extended "
                  "permit ip any any\naccess-list outside_in extended deny ip any any\n"
                  "access-group outside_in in interface outside\n")
    assert [a.action for a in fw.acls["outside_in"].entries] == ["deny"]
    assert any("control characters" in w for w in fw.warnings)


# -- 8. one meaning per option -------------------------------------------------------------
def test_assume_firewall_does_not_take_lines_that_name_another_known_firewall():
    fws = {"fw01": firewall(CONFIG, "fw01"), "fw02": firewall(CONFIG, "fw02")}
    lines = [https(host="fw02"), https(host="10.9.9.9")]
    report = report_of(lines, fws, analyzer_options={"firewall": "fw01"})
    assert ace(report, HTTPS, "fw02")["hits"] == 1 and ace(report, HTTPS, "fw01")["hits"] == 1


def test_analyze_firewall_filters_the_report_and_assume_firewall_attributes(tmp_path):
    args = ["analyze", "-c", SAMPLE_CONFIGS[0], "-c", SAMPLE_CONFIGS[1], "-r", "inline",
            "--format", "json", *SAMPLE_LOGS]
    result = run(*args, "--firewall", "fw02")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {r["firewall"] for r in report["rules"]} == {"fw02"}
    assert [f["firewall"] for f in report["firewalls"]] == ["fw02"]
    assert report["counters"]["lines"] == evidence(report, "fw02")["lines"]["lines"]
    assert "unrecognized" not in report["counters"]          # fw02's own lines only
    assert run(*args, "--assume-firewall", "fw99").exit_code == 1


# -- smaller things seen on the same runs --------------------------------------------------
def test_unknown_device_ids_are_named_with_their_line_counts():
    fws = {"fw01": firewall(CONFIG, "fw01"), "fw02": firewall(CONFIG, "fw02")}
    lines = [https(host="10.9.9.9")] * 3 + [https(host="fw77")]
    report = report_of(lines, fws)
    assert report["unknown_devices"] == {"lines": 4, "ids": 2, "top": [
        {"device": "10.9.9.9", "lines": 3}, {"device": "fw77", "lines": 1}]}


def test_icmp_without_type_is_counted_per_firewall_and_period():
    untyped = ("Jun 06 2014 14:47:35 fw01 : %ASA-6-302020: Built inbound ICMP connection for "
               "faddr 192.0.2.1/1 gaddr 203.0.113.10/0 laddr 172.16.1.10/0")
    report = report_of([untyped, untyped.replace("Jun 06", "Jul 06")],
                       analyzer_options={"until": "2014-06-30"})
    assert evidence(report)["lines"]["icmp_without_type"] == 1
    assert report["counters"]["outside_period"] == 1


def test_tightening_keeps_the_time_range():
    lines = [built("inbound", "TCP", "outside:198.51.100.7/51000", "dmz:172.16.1.20/80")]
    suggestion = ace(report_of(lines), OFFICE)["tightening"]
    assert suggestion["lines"] == ["access-list outside_in extended permit tcp host "
                                   "198.51.100.7 host 172.16.1.20 eq 80 time-range office"]


def test_a_corrupt_gzip_keeps_the_lines_before_the_break(tmp_path, sample_db):
    data = bytearray(gzip.compress(open(SAMPLE_LOGS[0], "rb").read()))
    data[len(data) // 2] ^= 0xFF
    log = tmp_path / "fw01" / "broken.log.gz"
    log.parent.mkdir()
    log.write_bytes(bytes(data))
    results = tmp_path / "results"
    result = run("run", log, "--db", sample_db, "-o", results)
    assert result.exit_code == 0, result.output
    assert "broken.log.gz:" in result.output and "the lines before it are analysed" in \
        result.output
    report = json.loads(run("report", results, "--db", sample_db, "--format", "json").stdout)
    assert report["input_errors"] and 0 < evidence(report)["lines"]["lines"]


def logs_with(tmp_path, lost_name: str, lost: bytes) -> list:
    """The two sample firewalls' logs, each in its directory, and ``lost`` at ``lost_name``."""
    logs = []
    for path in SAMPLE_LOGS[:2]:
        target = tmp_path / os.path.basename(os.path.dirname(path)) / os.path.basename(path)
        target.parent.mkdir(exist_ok=True)
        shutil.copy(path, target)
        logs.append(target)
    (tmp_path / lost_name).parent.mkdir(exist_ok=True)
    (tmp_path / lost_name).write_bytes(lost)
    return logs + [tmp_path / lost_name]


def statuses(tmp_path, sample_db, logs) -> dict:
    results = tmp_path / "results"
    assert run("run", *logs, "--db", sample_db, "-o", results).exit_code == 0
    report = json.loads(run("report", results, "--db", sample_db, "--format", "json").stdout)
    assert not any(rule["unused"] for rule in report["rules"]
                   if evidence(report, rule["firewall"])["status"] != "ok")
    return {f["firewall"]: (f["status"], f["reason"]) for f in report["firewalls"]}


LZ4 = b"\x04\x22\x4d\x18" + b"\x00" * 64        # a compressor's output no runner reads


@pytest.mark.parametrize("lost", ["left out", "broken"])
def test_a_log_not_read_whole_leaves_its_firewall_without_unused_verdicts(tmp_path, sample_db,
                                                                         lost):
    # its lines were not read: a rule used only in them would look unused
    data = LZ4 if lost == "left out" else \
        gzip.compress(open(SAMPLE_LOGS[0], "rb").read())[:20_000]
    name = "fw01/older.log.lz4" if lost == "left out" else "fw01/older.log.gz"
    found = statuses(tmp_path, sample_db, logs_with(tmp_path, name, data))
    status, reason = found["fw01"]
    assert status == "no data" and reason.startswith("a log that may hold its lines was not "
                                                     f"read whole ({tmp_path / name}:")
    assert found["fw02"] == ("ok", "")


def test_a_log_not_read_whole_that_names_no_firewall_may_be_any_firewalls(tmp_path,
                                                                          sample_db):
    found = statuses(tmp_path, sample_db, logs_with(tmp_path, "archive/older.log.lz4", LZ4))
    assert {status for status, _ in found.values()} == {"no data"}


def test_a_misnamed_log_read_whole_leaves_its_firewalls_verdicts_as_they_are(tmp_path,
                                                                            sample_db):
    plain = open(SAMPLE_LOGS[0], "rb").read()
    found = statuses(tmp_path, sample_db, logs_with(tmp_path, "fw01/older.log.gz", plain))
    assert found["fw01"] == ("ok", "") and found["fw02"] == ("ok", "")


def test_until_before_since_is_an_error(sample_db):
    result = run("run", SAMPLE_LOGS[0], "--db", sample_db, "--since", "2014-06-10", "--until",
                 "2014-06-01")
    assert result.exit_code == 1 and "before --since" in result.output


def test_results_and_reports_are_created_with_the_users_umask(tmp_path, sample_db):
    old = os.umask(0o022)
    try:
        results = tmp_path / "results"
        assert run("run", SAMPLE_LOGS[0], "--db", sample_db, "-o", results).exit_code == 0
        assert run("report", results, "--db", sample_db, "-o", tmp_path / "r").exit_code == 0
    finally:
        os.umask(old)
    assert oct(results.stat().st_mode & 0o777) == oct(0o644)
    assert oct((tmp_path / "r").stat().st_mode & 0o777) == oct(0o644)


def test_acl_messages_on_an_unbound_acl_keep_their_source_ports_in_the_flow_cache():
    fw = firewall(CONFIG + "access-list vpnf extended permit tcp any eq 1000 any\n"
                           "access-list vpnf extended permit tcp any any\n")
    line = ("Jun 06 2014 14:47:35 fw01 : %ASA-6-106100: access-list vpnf permitted tcp "
            "outside/198.51.100.7({port}) -> dmz/172.16.1.10(443) hit-cnt 1 first hit "
            "[0x1, 0x0]")
    report = report_of([line.format(port=1000), line.format(port=2000)], {"fw01": fw},
                       analyzer_options={"permits_from": "acl-log"})
    assert ace(report, 1, acl="vpnf")["hits"] == 1 and ace(report, 2, acl="vpnf")["hits"] == 1


def test_an_acl_log_line_with_hit_cnt_0_credits_nothing():
    line = PERMIT_ON_DENY.replace("172.16.9.12(23)", "172.16.1.10(443)").replace(
        "hit-cnt 1 first hit", "hit-cnt 0 300-second interval")
    report = report_of([line], analyzer_options={"permits_from": "acl-log"})
    assert report["counters"]["acl_log_no_hits"] == 1
    assert ace(report, HTTPS)["hits"] == 0 and ace(report, HTTPS)["first_seen"] is None


def test_members_of_a_group_used_by_a_deny_ace_are_never_unused():
    fw = firewall(CONFIG.replace("access-list outside_in extended deny tcp any any eq telnet",
                                 "object-group network Bad\n network-object host 192.0.2.66\n"
                                 "access-list outside_in extended deny ip object-group Bad any"))
    report = report_of(days("2014-06-01", "2014-06-14"), {"fw01": fw})
    [bad] = [g for g in report["groups"] if g["group"] == "Bad"]
    assert bad["unused"] == [] and "removing a member opens access" in bad["not_evaluated"][0]


# -- the samples, as a new user would run them ---------------------------------------------
@pytest.fixture(scope="module")
def fw02_left_out(tmp_path_factory):
    """Results of the samples with fw02's logs left out, and their database."""
    tmp = tmp_path_factory.mktemp("left-out")
    db, results = tmp / "db", tmp / "results"
    assert run("preprocess", *SAMPLE_CONFIGS, "--db", db).exit_code == 0
    assert run("run", SAMPLE_LOGS[0], "--db", db, "-o", results).exit_code == 0
    return str(results), str(db)


def test_the_report_says_at_the_top_that_a_firewall_has_no_data(fw02_left_out):
    results, db = fw02_left_out
    result = run("report", results, "--db", db)
    top = result.stdout.split("\nLog lines")[0]
    assert "fw02: NO DATA: no log line of it was read" in top
    assert "warning: fw02: no data" in result.output         # on standard error too
    candidates_section = result.stdout.split("pruning candidates ==")[1].split("\n\n")[0]
    assert "fw01: access-list" in candidates_section and "fw02:" not in candidates_section


def test_prune_writes_nothing_for_a_firewall_without_data_and_says_why(fw02_left_out):
    results, db = fw02_left_out
    script = run("prune", results, "--db", db).stdout
    assert "! SKIPPED fw02: no data: no log line of it was read" in script
    assert "---- fw02" not in script and "---- fw01" in script
    assert "no access-list inside_in extended permit tcp object obj-inside any eq ftp" in script


def test_every_format_carries_each_aces_status_and_reason(fw02_left_out):
    results, db = fw02_left_out
    report = json.loads(run("report", results, "--db", db, "--format", "json").stdout)
    fw02 = [r for r in report["rules"] if r["firewall"] == "fw02" and r["action"] == "permit"
            and not r["judgement"]]
    assert fw02 and {r["status"] for r in fw02} == {"no data"}
    rows = run("report", results, "--db", db, "--format", "csv").stdout.splitlines()
    header = rows[0].split(",")
    assert header[13:15] == ["status", "reason"]     # columns are only ever added, at the end
    assert any(row.startswith("ace,fw02,") and ',no data,"no log line of it was read' in row
               for row in rows)
    assert any(row.startswith("firewall,fw02,") and ",no data," in row for row in rows)
    page = run("report", results, "--db", db, "--format", "html").stdout
    assert 'title="no log line of it was read' in page and ">no data</td>" in page
    assert '<table id="not-judged"' in page and '<table id="evidence"' in page


def test_a_misnamed_compressed_log_is_read_by_its_content(tmp_path, sample_db):
    log = tmp_path / "fw01" / "plain.log.gz"
    log.parent.mkdir()
    shutil.copy(SAMPLE_LOGS[0], log)
    results, expected = tmp_path / "results", tmp_path / "expected"
    result = run("run", log, "--db", sample_db, "-o", results)
    assert result.exit_code == 0 and "named gzip but holds plain data" in result.output
    assert run("run", SAMPLE_LOGS[0], "--db", sample_db, "-o", expected).exit_code == 0
    read = [line for line in results.read_text().splitlines() if "input_error" not in line]
    assert read == expected.read_text().splitlines()


# -- evidence per protocol -----------------------------------------------------------------
PROTOCOLS = """
access-list p extended permit tcp any host 172.16.1.20 eq 22
access-list p extended permit udp any host 172.16.1.20 eq 53
object-group protocol TCP-UDP
 protocol-object tcp
 protocol-object udp
access-list p extended permit object-group TCP-UDP any host 172.16.1.21 eq 53
access-list p extended permit ip any host 172.16.1.22
access-list p extended permit tcp any host 172.16.1.10 eq https
access-group p in interface outside
"""


def test_a_firewall_that_logs_no_udp_connections_has_no_data_for_udp_rules():
    """`no logging message 302015`: TCP connections are logged, UDP ones are not."""
    fw = firewall(OUTSIDE_DMZ + PROTOCOLS)
    report = report_of(days("2014-06-01", "2014-06-14"), {"fw01": fw})
    statuses = {r["line"]: r["status"] for r in report["rules"] if r["acl"] == "p"}
    assert statuses == {1: "unused", 2: "no data", 3: "no data", 4: "no data", 5: "used"}
    udp = ace(report, 2, acl="p")
    assert "show no UDP connection" in udp["reason"] and "302015" in udp["reason"]
    assert evidence(report)["protocols"] == {"tcp": 14}


def test_udp_rules_are_judged_where_udp_connections_are_logged():
    fw = firewall(OUTSIDE_DMZ + PROTOCOLS)
    dns = built("inbound", "UDP", "outside:198.51.100.7/5353", "dmz:172.16.1.99/53")
    report = report_of(days("2014-06-01", "2014-06-14") + [dns], {"fw01": fw})
    assert ace(report, 2, acl="p")["status"] == "unused"


def test_with_acl_log_permits_only_aces_with_log_can_be_judged():
    fw = firewall(OUTSIDE_DMZ + """
access-list q extended permit tcp any host 172.16.1.10 eq https log
access-list q extended permit tcp any host 172.16.1.11 eq ssh log
access-list q extended permit tcp any host 172.16.1.12 eq smtp
access-group q in interface outside
""")
    line = ("Jun {day:02d} 2014 12:00:00 fw01 : %ASA-6-106100: access-list q permitted tcp "
            "outside/198.51.100.7(51000) -> dmz/172.16.1.10(443) hit-cnt 1 first hit [0x1, 0x0]")
    report = report_of([line.format(day=d) for d in range(1, 15)], {"fw01": fw},
                       analyzer_options={"permits_from": "acl-log"})
    statuses = {r["line"]: r["status"] for r in report["rules"]}
    assert statuses == {1: "used", 2: "unused", 3: "no data"}   # no built line shows line 3


def test_an_unused_ace_never_seen_names_no_last_hit():
    # the claimed period's last day must not pass for the ACE's last hit
    report = report_of(days("2014-06-01", "2014-06-30"), unused_since=10)
    assert ace(report, SSH)["reason"] == "no hit in the 10 days 2014-06-20 .. 2014-06-30"
