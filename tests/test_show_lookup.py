"""`show` prints the expanded ruleset; `lookup` says which ACE and rule a flow hits first."""
from conftest import SAMPLE_CONFIGS, built, cli_runner, firewall

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.cli import main


def run(*args):
    return cli_runner().invoke(main, [str(a) for a in args])


def test_show_prints_every_ace_with_its_rule_identifiers_and_members(sample_db):
    result = run("show", "--db", sample_db, "--firewall", "fw01", "--acl", "inside_in")
    assert result.exit_code == 0
    assert "line 4: access-list inside_in extended permit object-group Admin-Services" in \
        result.output
    assert "#7  tcp 10.1.2.10 -> 172.16.1.10 eq ssh    [source: Admin-Hosts > 10.1.2.10; " \
           "destination: DMZ-Servers > Web-Servers > obj-web01; service: Admin-Services > " \
           "svc-ssh]" in result.output
    assert "outside_in" not in result.output


def test_lookup_names_the_ace_the_rule_and_the_acl(sample_db):
    result = run("lookup", "--db", sample_db, "--firewall", "fw01", "--interface", "inside",
                 "tcp", "10.1.2.10", "172.16.1.10", "ssh")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "fw01: tcp 10.1.2.10/any -> 172.16.1.10/22, ingress inside, egress dmz"
    assert lines[1:3] == ["inbound: inside_in",
                          "  PERMIT by access-list inside_in, line 4: access-list inside_in "
                          "extended permit object-group Admin-Services object-group Admin-Hosts "
                          "object-group DMZ-Servers"]
    assert lines[3].startswith("  rule #7  tcp 10.1.2.10 -> 172.16.1.10 eq ssh")
    assert lines[4:6] == ["outbound: dmz_out",
                          "  PERMIT by access-list dmz_out, line 2: access-list dmz_out "
                          "extended permit ip any any"]


def test_lookup_reports_the_implicit_deny_and_the_global_fallback(sample_db):
    result = run("lookup", "--db", sample_db, "--firewall", "fw01", "--interface", "inside",
                 "tcp", "10.1.4.20", "172.16.1.20", "3389")
    assert "inbound: inside_in then global_acl\n  no rule matches: implicit deny" in \
        result.output


def test_lookup_with_a_source_port_and_the_fwsm_mapped_address(sample_db):
    result = run("lookup", "--db", sample_db, "--firewall", "fw02", "--interface", "outside",
                 "tcp", "192.0.2.25", "40000", "198.51.100.10", "smtp")
    assert "PERMIT by access-list outside_in, line 3" in result.output


def test_lookup_needs_a_firewall_when_the_database_has_several(sample_db):
    result = run("lookup", "--db", sample_db, "--interface", "inside", "tcp", "1.1.1.1",
                 "2.2.2.2", "80")
    assert result.exit_code == 1 and "name one with --firewall" in result.output


def test_lookup_rejects_an_unknown_interface(sample_db):
    result = run("lookup", "--db", sample_db, "--firewall", "fw01", "--interface", "nope",
                 "tcp", "1.1.1.1", "2.2.2.2", "80")
    assert result.exit_code == 1 and "has no interface 'nope'" in result.output


def test_preprocess_name_option_names_a_context(tmp_path):
    db = tmp_path / "db"
    result = run("preprocess", SAMPLE_CONFIGS[1], "--db", db, "--name", "fw02/admin")
    assert result.exit_code == 0
    assert "fw02/admin" in run("show", "--db", db).output


def test_preprocess_name_goes_with_one_config(tmp_path):
    result = run("preprocess", *SAMPLE_CONFIGS, "--db", tmp_path / "db", "--name", "x")
    assert result.exit_code == 1


def test_log_lines_are_attributed_by_logging_device_id():
    one = firewall("logging device-id string dc2-edge\n"
                   "access-list a extended permit ip any any\n"
                   "access-group a in interface outside\n", "fw01")
    two = firewall("access-list a extended permit ip any any\n", "fw02")
    analyzer = LineAnalyzer({"fw01": one, "fw02": two}, 2014)
    analyzer.add(built("inbound", "TCP", "outside:192.0.2.1/1000", "inside:10.0.0.1/80",
                       host="dc2-edge"))
    analyzer.add(built("inbound", "TCP", "outside:192.0.2.1/1000", "inside:10.0.0.1/80",
                       host="elsewhere"))
    assert (analyzer.counts()["matched"], analyzer.counts()["unknown_firewall"]) == (1, 1)


def test_an_alias_two_firewalls_claim_identifies_neither():
    one = firewall("access-list a extended permit ip any any\n", "fw01/ctx1")
    two = firewall("access-list a extended permit ip any any\n", "fw02/ctx1")
    analyzer = LineAnalyzer({"fw01/ctx1": one, "fw02/ctx1": two}, 2014)
    analyzer.add(built("inbound", "TCP", "outside:192.0.2.1/1000", "inside:10.0.0.1/80",
                       host="ctx1"))
    assert analyzer.counts()["unknown_firewall"] == 1
