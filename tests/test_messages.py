"""Every message family the firewalls write, and each connection counted once."""
import bz2
import gzip
import json
import os
import subprocess
import sys

import pytest
from conftest import OUTSIDE_DMZ, ROOT, built, cli_runner, firewall

from ruleset_analysis.aggregate import LineAnalyzer, firewall_of_path
from ruleset_analysis.asa.syslog import LogParser, year_rule
from ruleset_analysis.cli import main

H = "Jun 06 2014 14:47:35 fw01 : "
CONFIG = OUTSIDE_DMZ + """
access-list outside_in extended permit icmp any any echo
access-list outside_in extended permit tcp any host 172.16.1.10 eq 8443 log
access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-list outside_in extended deny tcp any any eq telnet log
access-list outside_in extended deny ip any any
access-group outside_in in interface outside
route outside 0.0.0.0 0.0.0.0 203.0.113.1
"""
ICMP_IN = (H + "%ASA-6-302020: Built inbound ICMP connection for faddr 198.51.100.7/2318 "
           "gaddr 203.0.113.10/0 laddr 172.16.1.10/0 type 8 code 0")
PERMIT_8443 = built("inbound", "TCP", "outside:198.51.100.7/51000",
                    "dmz:172.16.1.10/8443 (203.0.113.10/8443)")
ACL_LOG_8443 = (H + "%ASA-6-106100: access-list outside_in permitted tcp "
                "outside/198.51.100.7(51000) -> dmz/172.16.1.10(8443) hit-cnt 1 first hit "
                "[0x1, 0x0]")
ACL_LOG_TELNET = (H + "%ASA-6-106100: access-list outside_in denied tcp "
                  "outside/198.51.100.7(51000) -> dmz/172.16.1.10(23) hit-cnt 7 300-second "
                  "interval [0x1, 0x0]")
DENY_SMB = (H + "%ASA-4-106023: Deny tcp src outside:198.51.100.7/51000 dst "
            "dmz:172.16.1.10/445 by access-group \"outside_in\" [0x0, 0x0]")


def analyze(lines, **kwargs):
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014", **kwargs)
    for line in lines:
        analyzer.add(line)
    records = dict((tuple(k), v) for k, v in analyzer.emit())
    hits = {k[3]: v["hits"] for k, v in records.items() if k[0] == "ace"}
    counters = {k[1]: v for k, v in records.items() if k[0] == "counter"}
    return hits, counters


# -- ICMP built (302020) -------------------------------------------------------------------
def test_icmp_inbound_foreign_address_initiates():
    c = LogParser("2014").parse(ICMP_IN)
    assert (c.protocol, c.source, c.destination, c.mapped_destination) == (
        "icmp", "198.51.100.7", "172.16.1.10", "203.0.113.10")
    assert (c.destination_port, c.icmp_code, c.ingress) == (8, 0, "")


def test_icmp_outbound_local_address_initiates():
    c = LogParser("2014").parse(
        H + "%ASA-6-302020: Built outbound ICMP connection for faddr 192.0.2.53/0 gaddr "
        "203.0.113.2/512 laddr 10.1.1.5/512 type 8 code 0")
    assert (c.source, c.mapped_source, c.destination) == ("10.1.1.5", "203.0.113.2",
                                                          "192.0.2.53")


def test_icmp_interfaces_are_inferred_from_routes_and_credit_the_ingress_acl():
    hits, counters = analyze([ICMP_IN])
    assert hits == {1: 1} and counters["matched"] == 1


def test_icmp_without_a_covering_route_is_interface_unknown():
    config = CONFIG.replace("route outside 0.0.0.0 0.0.0.0 203.0.113.1\n", "")
    analyzer = LineAnalyzer({"fw01": firewall(config)}, "2014")
    analyzer.add(ICMP_IN)
    assert analyzer.counts()["interface_unknown"] == 1


# -- ACL log (106100) and denies (106023) --------------------------------------------------
def test_a_permitted_connection_with_built_and_acl_log_lines_counts_once():
    hits, counters = analyze([PERMIT_8443, ACL_LOG_8443])
    assert hits == {2: 1}
    assert (counters["matched"], counters["acl_log_permit"]) == (1, 1)


def test_acl_log_mode_counts_permits_from_106100_with_hit_count_and_skips_their_built_line():
    acl_log_7 = ACL_LOG_8443.replace("hit-cnt 1 first hit", "hit-cnt 7 300-second interval")
    https = built("inbound", "TCP", "outside:198.51.100.7/51001",
                  "dmz:172.16.1.10/443 (203.0.113.10/443)")
    hits, _ = analyze([PERMIT_8443, acl_log_7, https], permits_from="acl-log")
    assert hits == {2: 7, 3: 1}        # line 3 has no `log`: its built line counts it


def test_acl_log_deny_is_credited_to_the_deny_ace_with_its_hit_count():
    hits, counters = analyze([ACL_LOG_TELNET])
    assert hits == {4: 7} and counters["denied"] == 1


def test_deny_106023_is_credited_to_the_first_matching_ace_of_the_named_acl():
    hits, counters = analyze([DENY_SMB])
    assert hits == {5: 1} and counters["denied"] == 1


def test_deny_that_no_ace_matches_is_the_implicit_deny():
    config = CONFIG.replace("access-list outside_in extended deny ip any any\n", "")
    analyzer = LineAnalyzer({"fw01": firewall(config)}, "2014")
    analyzer.add(DENY_SMB)
    assert analyzer.counts()["denied_implicit"] == 1


def test_acl_message_naming_an_unknown_acl():
    _, counters = analyze([DENY_SMB.replace('"outside_in"', '"no_such_acl"')])
    assert counters["unknown_acl"] == 1


@pytest.mark.parametrize("line, protocol, source, destination, port, code", [
    ('%ASA-4-106023: Deny protocol 47 src outside:81.2.69.144 dst inside:172.31.98.44 by '
     'access-group "inbound"', "47", "81.2.69.144", "172.31.98.44", 0, None),
    ('%ASA-4-106023: Deny icmp src Inside:10.1.1.1 dst Outside:10.2.2.2 (type 11, code 0) by '
     'access-group "in" [0x0, 0x0]', "icmp", "10.1.1.1", "10.2.2.2", 11, 0),
    ('%ASA-4-106023: Deny icmp src OUTSIDE:2a02:cf40::6fc6 dst OUTSIDE:2a02:cf40::1 (type 128, '
     'code 0) by access-group "OUTSIDE_in"', "icmp6", "2a02:cf40::6fc6", "2a02:cf40::1", 128, 0),
    ('%ASA-4-106023: Deny udp src v1:outside:10.8.1.9/54864 dst v2:inside:172.16.1.3/53 by '
     'access-group "outside_acl" [0x0, 0x0]', "udp", "10.8.1.9", "172.16.1.3", 53, None),
    ('%ASA-4-106023: Deny udp src Inside:10.1.1.1/57621(LOCAL\\Elastic) dst Outside:10.2.2.2/'
     '57621 by access-group "Inside_access_in" [0x0, 0x0]', "udp", "10.1.1.1", "10.2.2.2",
     57621, None),
    ('%ASA-6-106100: access-list inside denied icmp inside/10.1.1.1(8) -> outside/10.2.2.2(0) '
     'hit-cnt 1 first hit [0x0, 0x0]', "icmp", "10.1.1.1", "10.2.2.2", 8, 0),
    ('%ASA-6-106100: access-list incoming permitted udp dmz2/10.1.1.1(56575)(LOCAL\\\\user) -> '
     'inside/10.2.2.2(53) hit-cnt 1 first hit [0x9, 0x5]', "udp", "10.1.1.1", "10.2.2.2", 53,
     None),
])
def test_acl_message_forms(line, protocol, source, destination, port, code):
    c = LogParser("2014").parse(H + line)
    assert (c.protocol, c.source, c.destination, c.destination_port, c.icmp_code) == (
        protocol, source, destination, port, code)


# -- headers and years ---------------------------------------------------------------------
def test_rfc5424_header():
    c = LogParser("2014").parse(
        "<166>1 2015-01-04T11:24:56.120+01:00 fw01 - - - - %ASA-6-302013: Built inbound TCP "
        "connection 1 for outside:192.0.2.1/1000 (192.0.2.1/1000) to dmz:10.0.0.1/80 "
        "(10.0.0.1/80)")
    assert (c.firewall, c.timestamp) == ("fw01", "2015-01-04 11:24:56")


def test_year_with_month_rolls_december_over_into_january():
    rule = year_rule("2013-12")
    assert (rule(12, 31), rule(1, 1), rule(11, 30)) == (2013, 2014, 2014)


def test_year_alone_is_the_year_of_every_line():
    assert year_rule("2013")(1, 1) == year_rule("2013")(12, 31) == 2013


def test_without_year_a_date_after_today_is_last_year():
    import datetime
    today = datetime.date.today()
    rule = year_rule(None)
    assert rule(today.month, today.day) == today.year
    if (today.month, today.day) != (12, 31):
        assert rule(12, 31) == today.year - 1


def test_bad_year_is_refused():
    with pytest.raises(ValueError, match="YYYY or YYYY-MM"):
        year_rule("13")


def test_year_option_with_month_applies_to_relay_lines():
    lines = [built("inbound", "TCP", "outside:192.0.2.1/1000", "dmz:172.16.1.10/443",
                   when=when) for when in ("Dec 31 23:59:59", "Jan  1 00:00:01")]
    parser = LogParser("2013-12")
    assert [parser.parse(line).timestamp[:10] for line in lines] == ["2013-12-31",
                                                                     "2014-01-01"]


# -- firewall identity ---------------------------------------------------------------------
def test_firewall_of_a_path_is_its_innermost_known_directory():
    ids = {"fw01": "fw01", "fw02": "fw02"}
    assert firewall_of_path("hdfs:///data/fw02/2014/06/asa.log.gz", ids) == "fw02"
    assert firewall_of_path("/logs/fw01.log", ids) == "fw01"
    assert firewall_of_path("/logs/all/asa.log", ids) is None


def test_device_id_in_the_line_wins_over_the_path_and_the_path_over_nothing():
    fws = {"fw01": firewall(CONFIG, "fw01"), "fw02": firewall(CONFIG, "fw02")}
    analyzer = LineAnalyzer(fws, "2014", path="/data/fw02/x.log")
    relay = PERMIT_8443.replace(" fw01 : ", " 10.9.0.5 : ")
    assert analyzer.classify(PERMIT_8443)[2] == "fw01"
    assert analyzer.classify(relay)[2] == "fw02"


def test_run_takes_the_firewall_from_the_log_directory(tmp_path, sample_db):
    directory = tmp_path / "fw02"
    directory.mkdir()
    line = ("Jun  6 14:47:36 10.9.0.5 : %FWSM-6-302013: Built inbound TCP connection 1 for "
            "outside:192.0.2.1/40000 (192.0.2.1/40000) to servers:10.2.16.10/443 "
            "(198.51.100.10/443)\n")
    (directory / "relay.log").write_text(line)
    results = tmp_path / "results"
    result = cli_runner().invoke(main, ["run", str(directory / "relay.log"), "--db", sample_db,
                                       "--year", "2014", "-o", str(results)])
    assert result.exit_code == 0, result.output
    text = results.read_text()
    assert '"ace\\tfw02\\toutside_in\\t2"' in text and '"counter\\tmatched"\t1' in text


# -- compressed input ----------------------------------------------------------------------
def test_bz2_logs_are_read_by_run_and_gz_by_the_cat_pipe_with_zcat(tmp_path, sample_db):
    lines = (PERMIT_8443 + "\n" + DENY_SMB + "\n").replace("fw01", "fw01")
    plain = tmp_path / "fw.log"
    plain.write_text(lines)
    packed = tmp_path / "fw.log.bz2"
    packed.write_bytes(bz2.compress(lines.encode()))
    zipped = tmp_path / "fw.log.gz"
    zipped.write_bytes(gzip.compress(lines.encode()))
    outputs = []
    for path in (plain, packed):
        results = tmp_path / (path.name + ".results")
        assert cli_runner().invoke(main, ["run", str(path), "--db", sample_db, "-o",
                                         str(results)]).exit_code == 0
        outputs.append(results.read_text())
    piped = subprocess.run(
        f"zcat {zipped} | {sys.executable} scripts/mapper.py --db {sample_db} | LC_ALL=C sort "
        f"| {sys.executable} scripts/reducer.py", shell=True, check=True, cwd=ROOT,
        capture_output=True, text=True).stdout
    assert outputs[0] == outputs[1] == piped


# -- accounting and parse-log on a mixed log -----------------------------------------------
MIXED = [
    PERMIT_8443, ACL_LOG_8443, ICMP_IN, ACL_LOG_TELNET, DENY_SMB,
    H + "%ASA-6-302014: Teardown TCP connection 1 for outside:198.51.100.7/51000 to "
        "dmz:172.16.1.10/8443 duration 0:00:01 bytes 100 TCP FINs",
    H + "%ASA-6-302020: Built inbound ICMP connection for faddr 198.51.100.7/1 gaddr "
        "203.0.113.10/0 laddr 172.16.1.10/0",
    H + "%ASA-6-302013: Built inbound TCP connection 9 for outside:",
    "Jun 06 2014 14:47:35 fw77 : %ASA-6-302013: Built inbound TCP connection 3 for "
    "outside:1.2.3.4/5 (1.2.3.4/5) to dmz:172.16.1.10/443 (172.16.1.10/443)",
    "LOCAL4.WARNING: fw01 %ASA-4-106023: Deny tcp src outside:1.2.3.4/5 dst dmz:10.0.0.1/23 "
    "by access-group \"outside_in\"",
    "garbage \x00 line", "",
]


def test_counters_of_a_mixed_log_sum_to_its_lines():
    fws = {"fw01": firewall(CONFIG, "fw01"), "fw02": firewall(CONFIG, "fw02")}
    analyzer = LineAnalyzer(fws, "2014")
    for line in MIXED:
        analyzer.add(line)
    counters = dict(analyzer.counts())
    assert counters.pop("lines") == len(MIXED) == sum(counters.values())
    assert counters == {"matched": 2, "acl_log_permit": 1, "denied": 3, "not_relevant": 1,
                        "icmp_without_type": 1, "malformed": 1, "unknown_firewall": 1,
                        "unrecognized": 2}


def test_parse_log_explains_every_line_as_the_job_counts_it(tmp_path, sample_db):
    log = tmp_path / "mixed.log"
    log.write_text("\n".join(MIXED) + "\n")
    fws_db = tmp_path / "db"
    (tmp_path / "fw.cfg").write_text("hostname fw01\n" + CONFIG)
    assert cli_runner().invoke(main, ["preprocess", str(tmp_path / "fw.cfg"), "--db",
                                     str(fws_db)]).exit_code == 0
    result = cli_runner().invoke(main, ["parse-log", str(log), "--db", str(fws_db)])
    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["line"] for e in entries] == list(range(1, len(MIXED) + 1))
    first = entries[0]
    assert (first["category"], first["direction"], first["source"], first["credited"]) == (
        "matched", "inbound", "198.51.100.7",
        [{"acl": "outside_in", "line": 2, "rule": 1, "action": "permit",
          "source": "198.51.100.7", "destination": "172.16.1.10"}])
    assert entries[3]["acl"] == "outside_in" and entries[3]["count"] == 7
    assert entries[8]["category"] == "unknown_firewall"   # fw77 is not the database's fw01
    assert all(e["meaning"] for e in entries)              # every category is explained


def test_parse_log_without_database_reads_every_corpus_like_line():
    path = os.path.join(ROOT, "sample_logs", "fw01", "fw01-2014-06.log")
    result = cli_runner().invoke(main, ["parse-log", path])
    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(entries) == sum(1 for _ in open(path))
    assert {e["category"] for e in entries} == {"connection", "not_relevant", "unrecognized"}
    assert all(e["meaning"] for e in entries)
