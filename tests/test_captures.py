"""`show access-list` captures: the device's own counters beside the logs' hits, and never an
"unused" verdict the device's counter contradicts."""
import os

import pytest
from conftest import SAMPLE_CONFIGS, built, cli_runner, firewall

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.asa.captures import ace_text, parse_capture
from ruleset_analysis.cli import main
from ruleset_analysis.counters import attach
from ruleset_analysis.preprocess import read_config
from ruleset_analysis.records import collect
from ruleset_analysis.report import build_report

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURE = os.path.join(HERE, "captures", "fw01-2014-06-01.txt")

CONFIG = """interface Gi0/0
 nameif outside
 security-level 0
 ip address 203.0.113.1 255.255.255.0
interface Gi0/1
 nameif dmz
 security-level 50
 ip address 172.16.1.1 255.255.255.0
access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-list outside_in extended permit tcp any host 172.16.1.11 eq ssh log
access-group outside_in in interface outside
"""


def capture_of(taken_at, https, ssh):
    """fw01's counters as the device prints them at ``taken_at``."""
    text = f"""fw01# show access-list
access-list outside_in; 2 elements; name hash: 0x8c0e1e0b
access-list outside_in line 1 extended permit tcp any host 172.16.1.10 eq https \
(hitcnt={https}) 0x1111aaaa
access-list outside_in line 2 extended permit tcp any host 172.16.1.11 eq ssh log \
informational interval 300 (hitcnt={ssh}) 0x2222bbbb
"""
    capture = parse_capture(text, f"fw01-{taken_at}.txt")
    capture.taken_at = taken_at
    return capture.to_json()


def https(day):
    return built("inbound", "TCP", "outside:198.51.100.7/51000", "dmz:172.16.1.10/443",
                 "fw01", f"Jun {day:02d} 2014 12:00:00")


def report_of(captures, days=range(1, 15)):
    """A report over logs of Jun 1..14 (line 1 used every day, line 2 never)."""
    firewalls = {"fw01": firewall(CONFIG)}
    analyzer = LineAnalyzer(firewalls, "2014")
    for day in days:
        analyzer.add(https(day))
    return build_report(firewalls, collect(analyzer.finish()), captures={"fw01": captures})


def ssh_ace(report):
    return next(r for r in report["rules"] if r["line"] == 2)


# -- reading captures ----------------------------------------------------------------------
def test_a_capture_is_read_with_its_firewall_time_aces_and_elements():
    capture = parse_capture(open(CAPTURE).read(), CAPTURE)
    assert (capture.firewall, capture.taken_at) == ("fw01", "2014-06-01T14:03:52")
    assert capture.headers == {"outside_in": (14, "0x8c0e1e0b")}
    assert [(e.ace.line, e.ace.hits, len(e.elements)) for e in capture.entries] == [
        (3, 2210, 6), (4, 75, 3), (6, 3, 2), (9, 0, 1), (11, 41, 0), (12, 7, 0)]
    assert capture.entries[0].elements[1].text == \
        "extended permit tcp any host 172.16.1.10 eq https"
    assert capture.entries[0].elements[1].hash == "0x1a2b3c02"


def test_remarks_the_cached_flows_lines_and_a_pager_prompt_are_not_unread_lines():
    capture = parse_capture(open(CAPTURE).read(), CAPTURE)
    assert capture.unread == []
    assert any("pager prompt" in w for w in capture.warnings)
    # the element after the prompt still belongs to line 4
    assert capture.entries[1].elements[-1].text.endswith("eq imap4")


def test_an_inactive_ace_and_its_elements_are_marked_inactive():
    capture = parse_capture(open(CAPTURE).read(), CAPTURE)
    inactive = capture.entries[3]
    assert inactive.ace.inactive and inactive.elements[0].inactive
    assert "inactive" not in inactive.ace.text.split()


def test_a_line_that_is_not_show_access_list_output_is_kept_as_unread():
    capture = parse_capture("fw01# show access-list\nERROR: % Invalid input detected\n"
                            "access-list a line 1 extended permit ip any any (hitcnt=1) 0x1\n",
                            "c.txt")
    assert capture.unread == [("c.txt:2", "ERROR: % Invalid input detected")]


def test_the_log_clause_does_not_tell_a_config_ace_from_the_devices_print_of_it():
    config = "access-list a extended deny ip any any log 3"
    device = "access-list a line 5 extended deny ip any any log errors interval 300"
    assert ace_text(config) == ace_text(device) == ("extended deny ip any any", False)
    assert ace_text("access-list a extended permit ip any any log disable time-range t") == \
        ("extended permit ip any any time-range t", False)


def test_a_time_range_ace_out_of_its_hours_matches_its_config_text():
    text = ("access-list a line 2 extended permit tcp any any eq ssh time-range office "
            "(inactive) (hitcnt=4) 0x1\n")
    [entry] = parse_capture(text, "c.txt").entries
    assert entry.ace.text == ace_text("access-list a extended permit tcp any any eq ssh "
                                      "time-range office")[0]


def test_a_capture_without_a_clock_takes_its_time_from_its_file_name():
    text = "access-list a line 1 extended permit ip any any (hitcnt=1) 0x1\n"
    assert parse_capture(text, "/x/fw01_2014-06-01_1200.txt").taken_at == "2014-06-01T12:00:00"
    assert parse_capture(text, "/x/fw01.txt").taken_at is None


# -- attaching them to the ruleset ---------------------------------------------------------
def test_ace_lines_match_by_text_and_elements_match_their_expanded_rules():
    fw = read_config(SAMPLE_CONFIGS[0])
    attached = attach(fw, parse_capture(open(CAPTURE).read(), CAPTURE))
    assert sorted(line for _, line in attached.aces) == [3, 4, 6, 9, 11]
    assert len(attached.rules) == 12
    web = {r.index: r for r in fw.acls["outside_in"].entries[0].rules}
    counted = {web[i].destination.text + " " + web[i].destination_port.text: reading.hits
               for (_, line, i), reading in attached.rules.items() if line == 3}
    assert counted["172.16.1.10 eq https"] == 1000
    assert counted["172.16.1.11 range 8080 8090"] == 0


def test_a_capture_line_the_config_does_not_have_is_listed_with_why():
    fw = read_config(SAMPLE_CONFIGS[0])
    attached = attach(fw, parse_capture(open(CAPTURE).read(), CAPTURE))
    assert attached.unmatched == [
        (f"{CAPTURE}:29", "extended permit tcp any host 172.16.1.99 eq telnet",
         "no such ACE in outside_in (the config changed since the capture?)")]


def test_an_element_no_expanded_rule_matches_is_listed():
    fw = firewall(CONFIG)
    capture = parse_capture(
        "access-list outside_in line 1 extended permit tcp any host 172.16.1.10 eq https "
        "(hitcnt=5) 0x1\n  access-list outside_in line 1 extended permit tcp any host "
        "172.16.1.12 eq https (hitcnt=5) 0x2\n", "c-2014-06-01.txt")
    attached = attach(fw, capture)
    assert attached.rules == {}
    assert attached.unmatched[0][2] == ("no expanded rule of outside_in line 1 matches this "
                                        "element")


# -- the judgement -------------------------------------------------------------------------
def test_a_counter_that_grew_in_the_window_makes_a_no_hit_permit_evidence_disagrees():
    report = report_of([capture_of("2014-06-02T08:00:00", 10, 500),
                        capture_of("2014-06-09T08:00:00", 90, 912)])
    ace = ssh_ace(report)
    assert ace["hits"] == 0 and not ace["unused"]
    assert ace["status"] == "evidence disagrees"
    assert "+412 hits between 2014-06-02T08:00:00 and 2014-06-09T08:00:00" in ace["reason"]


def test_a_counter_that_went_down_says_reset_and_still_counts_what_it_shows_after():
    report = report_of([capture_of("2014-06-02T08:00:00", 10, 500),
                        capture_of("2014-06-09T08:00:00", 12, 3)])
    ace = ssh_ace(report)
    assert ace["device"]["intervals"] == [{"start": "2014-06-02T08:00:00",
                                           "end": "2014-06-09T08:00:00", "grew": None,
                                           "since_reset": 3}]
    assert ace["status"] == "evidence disagrees" and "reset in between" in ace["reason"]


def test_a_counter_reset_to_zero_is_said_and_does_not_strengthen_unused():
    report = report_of([capture_of("2014-06-02T08:00:00", 10, 500),
                        capture_of("2014-06-09T08:00:00", 90, 0)])
    ace = ssh_ace(report)
    assert ace["unused"]
    assert "the device's counter went down between 2014-06-02T08:00:00 and " \
           "2014-06-09T08:00:00 (a reload or a counter clear)" in ace["reason"]
    assert "did not move" not in ace["reason"]


def test_a_counter_that_did_not_move_in_the_window_strengthens_unused():
    report = report_of([capture_of("2014-06-02T08:00:00", 10, 500),
                        capture_of("2014-06-09T08:00:00", 90, 500)])
    ace = ssh_ace(report)
    assert ace["unused"] and ace["status"] == "unused"
    assert "the device's counter did not move between 2014-06-02T08:00:00 and " \
           "2014-06-09T08:00:00" in ace["reason"]


def test_growth_entirely_outside_the_window_does_not_contradict_it():
    report = report_of([capture_of("2014-05-01T08:00:00", 10, 100),
                        capture_of("2014-05-20T08:00:00", 90, 500)])
    ace = ssh_ace(report)
    assert ace["unused"]
    assert "the device counted 500 hits by 2014-05-20T08:00:00" in ace["reason"]


def test_the_device_counts_are_in_the_json_beside_the_logs_hits():
    report = report_of([capture_of("2014-06-02T08:00:00", 10, 500)])
    used = next(r for r in report["rules"] if r["line"] == 1)
    assert used["hits"] == 14
    assert used["device"] == {"readings": [{"taken_at": "2014-06-02T08:00:00", "hits": 10}],
                              "intervals": []}
    assert report["captures"][0]["aces"] == 2


# -- the command ---------------------------------------------------------------------------
@pytest.fixture
def fw01_db(tmp_path):
    db = str(tmp_path / "t.db")
    result = cli_runner().invoke(main, ["preprocess", SAMPLE_CONFIGS[0], SAMPLE_CONFIGS[1],
                                       "--db", db])
    assert result.exit_code == 0, result.stderr
    return db


def test_hitcounts_attaches_a_capture_and_lists_what_matches_nothing(fw01_db):
    result = cli_runner().invoke(main, ["hitcounts", CAPTURE, "--db", fw01_db])
    assert result.exit_code == 0, result.stderr
    assert f"{CAPTURE}: fw01, taken 2014-06-01T14:03:52: 5 of 6 ACE lines and 12 of 12 " \
           "element lines matched" in result.stderr
    assert f"{CAPTURE}:29: no such ACE in outside_in" in result.stderr
    from ruleset_analysis.database import load_captures
    assert [c["taken_at"] for c in load_captures(fw01_db)["fw01"]] == ["2014-06-01T14:03:52"]


def test_hitcounts_refuses_a_capture_it_cannot_date_in_one_line(fw01_db, tmp_path):
    undated = tmp_path / "fw01.txt"
    undated.write_text("fw01# show access-list\naccess-list outside_in line 11 extended deny "
                       "ip any any log errors interval 300 (hitcnt=41) 0xe1d2c3b4\n")
    result = cli_runner().invoke(main, ["hitcounts", str(undated), "--db", fw01_db])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {undated}: no `show clock` output and no date in the file "
                             "name: give the time it was taken (hitcounts --taken-at)\n")
    result = cli_runner().invoke(main, ["hitcounts", str(undated), "--db", fw01_db,
                                       "--taken-at", "2014-06-01T12:00"])
    assert result.exit_code == 0, result.stderr


def test_hitcounts_refuses_a_capture_whose_prompt_names_another_firewall(fw01_db):
    result = cli_runner().invoke(main, ["hitcounts", CAPTURE, "--db", fw01_db,
                                       "--firewall", "fw02"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {CAPTURE}: its prompt names fw01, not --firewall fw02\n"


def test_hitcounts_refuses_a_capture_that_matches_no_ace(fw01_db, tmp_path):
    other = tmp_path / "fw02-2014-06-01.txt"
    other.write_text("access-list web_in line 1 extended permit tcp any any eq www "
                     "(hitcnt=1) 0x1\n")
    result = cli_runner().invoke(main, ["hitcounts", str(other), "--db", fw01_db,
                                       "--firewall", "fw02"])
    assert result.exit_code == 1
    assert "none of its 1 ACE lines is an ACE of fw02 (another firewall's capture?)" in \
        result.stderr


def test_a_capture_without_a_prompt_needs_a_firewall_when_the_database_has_several(fw01_db,
                                                                                   tmp_path):
    bare = tmp_path / "counters-2014-06-01.txt"
    bare.write_text("access-list outside_in line 11 extended deny ip any any log errors "
                    "interval 300 (hitcnt=41) 0xe1d2c3b4\n")
    result = cli_runner().invoke(main, ["hitcounts", str(bare), "--db", fw01_db])
    assert result.exit_code == 1 and "name it (hitcounts --firewall)" in result.stderr


GROUP_CONFIG = CONFIG.replace(
    "access-list outside_in extended permit tcp any host 172.16.1.10 eq https\n",
    "object-group network Web\n network-object host 172.16.1.10\n"
    " network-object host 172.16.1.12\n"
    "access-list outside_in extended permit tcp any object-group Web eq https\n")


def group_capture(taken_at, first, second):
    text = f"""fw01# show access-list
access-list outside_in line 1 extended permit tcp any object-group Web eq https \
(hitcnt={first + second}) 0x1111aaaa
  access-list outside_in line 1 extended permit tcp any host 172.16.1.10 eq https \
(hitcnt={first}) 0x1111aaa1
  access-list outside_in line 1 extended permit tcp any host 172.16.1.12 eq https \
(hitcnt={second}) 0x1111aaa2
"""
    capture = parse_capture(text, "c.txt")
    capture.taken_at = taken_at
    return capture.to_json()


def member_report(captures):
    firewalls = {"fw01": firewall(GROUP_CONFIG)}
    analyzer = LineAnalyzer(firewalls, "2014")
    for day in range(1, 15):
        analyzer.add(https(day))            # 172.16.1.10 only
    report = build_report(firewalls, collect(analyzer.finish()), captures={"fw01": captures})
    return next(g for g in report["groups"] if g["group"] == "Web")


def test_a_member_whose_element_counter_grew_is_not_called_unused():
    assert member_report([])["unused"] == ["172.16.1.12"]
    group = member_report([group_capture("2014-06-02T08:00:00", 5, 7),
                           group_capture("2014-06-09T08:00:00", 60, 19)])
    assert group["unused"] == []
    assert any(note.startswith("172.16.1.12: evidence disagrees: the device counted +12 hits")
               for note in group["not_evaluated"])
    member = next(m for m in group["members"] if m["member"] == "172.16.1.12")
    assert member["hits"] == 0 and not member["unused"]


def test_a_member_whose_element_counter_did_not_move_stays_unused():
    group = member_report([group_capture("2014-06-02T08:00:00", 5, 7),
                           group_capture("2014-06-09T08:00:00", 60, 7)])
    assert group["unused"] == ["172.16.1.12"]


def test_analyze_takes_captures_and_prune_leaves_out_what_the_device_counted(tmp_path):
    from conftest import SAMPLE_LOGS
    captures = []
    for taken, hits in (("2014-06-02T0800", 100), ("2014-06-10T0800", 250)):
        path = tmp_path / f"fw01-{taken}.txt"
        path.write_text("fw01# show access-list\naccess-list inside_in line 7 extended permit "
                        f"tcp object obj-inside any eq ftp (hitcnt={hits}) 0x33cc44dd\n")
        captures += ["-s", str(path)]
    db, results = str(tmp_path / "t.db"), str(tmp_path / "results")
    report = tmp_path / "report.json"
    result = cli_runner().invoke(main, ["analyze", "-c", SAMPLE_CONFIGS[0], "-c",
                                       SAMPLE_CONFIGS[1], *captures, "--year", "2014",
                                       "--db", db, "--results", results, "--format", "json",
                                       "-o", str(report), *SAMPLE_LOGS])
    assert result.exit_code == 0, result.stderr
    import json
    ftp = next(r for r in json.loads(report.read_text())["rules"]
               if (r["firewall"], r["acl"], r["line"]) == ("fw01", "inside_in", 7))
    assert ftp["status"] == "evidence disagrees" and ftp["hits"] == 0
    script = tmp_path / "prune.txt"
    pruned = cli_runner().invoke(main, ["prune", results, "--db", db, "-o", str(script)])
    assert pruned.exit_code == 0, pruned.output
    assert "eq ftp" not in script.read_text() and "no access-list" in script.read_text()


# -- attribution by hash -------------------------------------------------------------------
DENY_CONFIG = CONFIG.replace("access-group", "access-list outside_in extended deny tcp any "
                             "host 172.16.1.10 eq telnet\naccess-list outside_in extended deny "
                             "tcp any any eq telnet\naccess-group")
DENY_CAPTURE = """fw01# show access-list
access-list outside_in line 1 extended permit tcp any host 172.16.1.10 eq https (hitcnt=1) \
0x1111aaaa
access-list outside_in line 3 extended deny tcp any host 172.16.1.10 eq telnet (hitcnt=1) \
0x3333cccc
access-list outside_in line 4 extended deny tcp any any eq telnet (hitcnt=9) 0x4444dddd
"""


def deny(hashes=""):
    return ("Jun 06 2014 14:47:35 fw01 : %ASA-4-106023: Deny tcp src outside:198.51.100.7/5000 "
            f"dst dmz:172.16.1.10/23 by access-group \"outside_in\"{hashes}")


def hashed_report(*lines):
    from ruleset_analysis.counters import hash_map
    fw = firewall(DENY_CONFIG)
    fw.hashes = hash_map([attach(fw, parse_capture(DENY_CAPTURE, "c-2014-06-01.txt"))])
    analyzer = LineAnalyzer({"fw01": fw}, "2014")
    for line in lines:
        analyzer.add(line)
    report = build_report({"fw01": fw}, collect(analyzer.finish()))
    return report, {r["line"]: r["hits"] for r in report["rules"]}


def test_a_deny_message_is_credited_to_the_ace_its_hash_names_and_the_first_match_listed():
    report, hits = hashed_report(deny(" [0x4444DDDD, 0x0]"))
    assert (hits[3], hits[4]) == (0, 1)
    assert report["counters"]["hash_disagrees"] == 1
    [rehashed] = report["rehashed"]
    assert (rehashed["line"], rehashed["count"], rehashed["first_matches"]) == \
        (4, 1, [{"line": 3, "count": 1}])


def test_a_hash_that_names_the_first_match_changes_nothing():
    report, hits = hashed_report(deny(" [0x3333cccc, 0x0]"))
    assert (hits[3], hits[4]) == (1, 0) and report["rehashed"] == []
    assert report["counters"]["denied"] == 1


def test_a_hash_no_capture_knows_leaves_the_first_match():
    report, hits = hashed_report(deny(" [0x99999999, 0x0]"), deny())
    assert (hits[3], hits[4]) == (2, 0) and "hash_disagrees" not in report["counters"]


def test_a_hash_naming_an_ace_of_the_other_action_is_not_trusted():
    report, hits = hashed_report(deny(" [0x1111aaaa, 0x0]"))
    assert (hits[1], hits[3]) == (0, 1) and report["rehashed"] == []


def test_hitcounts_stores_what_the_hashes_name_and_preprocess_keeps_it_current(fw01_db):
    from ruleset_analysis.database import load_firewalls
    result = cli_runner().invoke(main, ["hitcounts", CAPTURE, "--db", fw01_db])
    assert result.exit_code == 0, result.stderr
    fw01 = load_firewalls(fw01_db)["fw01"]
    line, elements = fw01.hashes["outside_in 0xe1d2c3b4"]
    # a single-rule ACE's messages name no element: 0x0, or its own hash again
    assert line == 11 and sorted(elements) == ["0x0", "0xe1d2c3b4"]
    assert fw01.hashes["outside_in 0x5f3b1e2d"][1]["0x1a2b3c02"] == \
        next(r.index for r in fw01.acls["outside_in"].entries[0].rules
             if r.destination.text == "172.16.1.10" and r.destination_port.text == "eq https")
    result = cli_runner().invoke(main, ["preprocess", SAMPLE_CONFIGS[0], "--db", fw01_db])
    assert result.exit_code == 0, result.stderr
    assert load_firewalls(fw01_db)["fw01"].hashes == fw01.hashes


@pytest.mark.parametrize("tail", ["hit-cnt 1 first hit [0x5F3B1E2D, 0x1A2B3C02]",
                                  "hit-cnt 3 300-second interval [0x5f3b1e2d, 0x1a2b3c02]",
                                  "hit-cnt 1 (first hit) [0x5f3b1e2d,0x1a2b3c02]"])
def test_an_acl_log_line_carries_its_ace_and_element_hashes(tail):
    from ruleset_analysis.asa.syslog import LogParser
    connection = LogParser("2014").parse(
        "Jun 06 2014 14:47:35 fw01 : %ASA-6-106100: access-list outside_in permitted tcp "
        f"outside/198.51.100.7(51000) -> dmz/172.16.1.10(443) {tail}")
    assert (connection.ace_hash, connection.element_hash) == ("0x5f3b1e2d", "0x1a2b3c02")


def test_text_and_html_show_a_device_column_only_when_captures_were_given():
    from ruleset_analysis.report import html_report, text
    from ruleset_analysis.report.build import make_report
    firewalls = {"fw01": firewall(CONFIG)}
    analyzer = LineAnalyzer(firewalls, "2014")
    analyzer.add(https(1))
    results = collect(analyzer.finish())
    captures = {"fw01": [capture_of("2014-06-02T08:00:00", 10, 500),
                         capture_of("2014-06-09T08:00:00", 90, 912)]}
    with_them = make_report(firewalls, results, captures=captures)
    without = make_report(firewalls, results)
    assert "912 (+412 since 2014-06-02)" in text.render(with_them)
    assert "DEVICE" not in text.render(without)
    page = html_report.render(with_them)
    assert "Device counter" in page and "<td>912 (+412 since 2014-06-02)</td>" in page
    assert "Device counter" not in html_report.render(without)


def test_parse_log_shows_the_hashes_and_the_first_match_the_hash_overrode(tmp_path):
    from ruleset_analysis.counters import hash_map
    from ruleset_analysis.options import JobOptions
    from ruleset_analysis.report.lines import explain
    fw = firewall(DENY_CONFIG)
    fw.hashes = hash_map([attach(fw, parse_capture(DENY_CAPTURE, "c-2014-06-01.txt"))])
    log = tmp_path / "fw01.log"
    log.write_text(deny(" [0x4444dddd, 0x00000000]") + "\n")
    [entry] = explain([str(log)], {"fw01": fw}, JobOptions(year="2014"))
    assert (entry["ace_hash"], entry["element_hash"]) == ("0x4444dddd", "0x0")
    assert entry["category"] == "hash_disagrees"
    assert [(c["line"], c["rule"]) for c in entry["credited"]] == [(4, fw.acls["outside_in"]
                                                                     .entries[3].first_index)]
    assert entry["first_match"] == [{"acl": "outside_in", "line": 3}]


def test_the_text_report_shows_each_objects_element_counter():
    from ruleset_analysis.report import text
    from ruleset_analysis.report.build import make_report
    firewalls = {"fw01": firewall(GROUP_CONFIG)}
    analyzer = LineAnalyzer(firewalls, "2014")
    analyzer.add(https(1))
    report = make_report(firewalls, collect(analyzer.finish()), captures={"fw01": [
        group_capture("2014-06-02T08:00:00", 5, 7), group_capture("2014-06-09T08:00:00", 60, 19)]})
    per_object = text.render(report).split("Per object:")[1]
    assert "60 (+55 since 2014-06-02)" in per_object
    assert "19 (+12 since 2014-06-02)" in per_object


def test_the_csv_carries_the_device_counter_in_its_last_column():
    import csv
    import io

    from ruleset_analysis.report import csv_report
    from ruleset_analysis.report.build import make_report
    firewalls = {"fw01": firewall(CONFIG)}
    report = make_report(firewalls, collect(LineAnalyzer(firewalls, "2014").finish()),
                         captures={"fw01": [capture_of("2014-06-02T08:00:00", 10, 500),
                                            capture_of("2014-06-09T08:00:00", 90, 912)]})
    rows = list(csv.DictReader(io.StringIO(csv_report.render(report))))
    assert [r["device"] for r in rows if r["record"] == "ace"] == [
        "90 (+80 since 2014-06-02)", "912 (+412 since 2014-06-02)"]


def test_a_capture_of_several_contexts_is_refused_not_credited_to_the_first(fw01_db, tmp_path):
    both = tmp_path / "contexts-2014-06-01.txt"
    both.write_text("fw01# show access-list\naccess-list outside_in line 11 extended deny ip "
                    "any any log errors interval 300 (hitcnt=41) 0xe1d2c3b4\nfw01# changeto "
                    "context fw02\nfw02# show access-list\naccess-list outside_in line 6 "
                    "extended deny ip any any (hitcnt=3) 0x1\n")
    result = cli_runner().invoke(main, ["hitcounts", str(both), "--db", fw01_db])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {both}: its prompts name several devices (fw01, fw02): "
                             "give one capture per firewall or context\n")


def test_a_permit_ace_whose_first_matches_the_device_gave_to_another_is_not_called_unused():
    # The device denied by line 4 (its hash) traffic that a permit inserted since matches
    # first: removing that permit is not shown safe by these logs.
    from ruleset_analysis.counters import hash_map
    config = DENY_CONFIG.replace("access-list outside_in extended deny tcp any host "
                                 "172.16.1.10 eq telnet\n", "access-list outside_in extended "
                                 "permit tcp any host 172.16.1.10 eq telnet\n")
    fw = firewall(config)
    fw.hashes = hash_map([attach(fw, parse_capture(DENY_CAPTURE, "c-2014-06-01.txt"))])
    analyzer = LineAnalyzer({"fw01": fw}, "2014")
    for day in range(1, 15):
        analyzer.add(https(day))
    analyzer.add(deny(" [0x4444dddd, 0x0]"))
    report = build_report({"fw01": fw}, collect(analyzer.finish()))
    permit = next(r for r in report["rules"] if r["line"] == 3)
    assert permit["hits"] == 0 and not permit["unused"]
    assert permit["status"] == "disagreement" and permit["hash_disagreements"] == 1
