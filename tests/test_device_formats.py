"""Log lines as real ASA, FTD and FWSM devices and their relays write them (issue 13)."""
import pytest
from conftest import OUTSIDE_DMZ, firewall

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.asa.syslog import LogParser, header_device

CONFIG = OUTSIDE_DMZ + """
access-list outside_in extended permit icmp any any echo
access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-list outside_in extended deny ip any any
access-group outside_in in interface outside
access-list mgmt extended permit tcp any any eq ssh
access-group mgmt in interface outside control-plane
route outside 0.0.0.0 0.0.0.0 203.0.113.1
"""
T = "Jun 06 2014 14:47:35 fw01 : "
HTTPS = ("%ASA-6-302013: Built inbound TCP connection 1 for outside:198.51.100.7/51000 "
         "(198.51.100.7/51000) to dmz:172.16.1.10/443 (172.16.1.10/443)")


def classify(line):
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014")
    category, _, _, verdict = analyzer.classify(line)
    return category, [(h.acl, h.ace_line) for h, _, _ in verdict.hits] if verdict else []


@pytest.mark.parametrize("tag", ["%ASA-session-6-302013:", "%FTD-session-6-302013:",
                                 "%ASA-ha-6-302013:"])
def test_class_tagged_message_ids_are_read(tag):
    assert classify(T + HTTPS.replace("%ASA-6-302013:", tag)) == (
        "matched", [("outside_in", 2)])


def test_a_class_tagged_deny_is_read():
    line = (T + '%FTD-session-4-106023: Deny tcp src outside:192.0.2.1/4000 dst '
                'dmz:172.16.1.10/22 by access-group "outside_in" [0x0, 0x0]')
    assert classify(line) == ("denied", [("outside_in", 3)])


@pytest.mark.parametrize("responder", ["NP Identity Ifc:203.0.113.2/22 (203.0.113.2/22)",
                                       "identity:203.0.113.2/22 (203.0.113.2/22)"])
def test_connections_to_the_box_are_their_own_category_never_a_hit(responder):
    line = (T + "%ASA-6-302013: Built inbound TCP connection 8 for outside:192.0.2.1/12523 "
                f"(192.0.2.1/12523) to {responder}")
    assert classify(line) == ("to_the_box", [])


def test_an_acl_log_line_to_the_box_credits_the_acl_it_names():
    line = (T + "%ASA-6-106100: access-list mgmt permitted tcp outside/192.0.2.1(5000) -> "
                "identity/203.0.113.2(22) hit-cnt 1 first hit [0x1, 0x0]")
    analyzer = LineAnalyzer({"fw01": firewall(CONFIG)}, "2014", permits_from="acl-log")
    category, _, _, verdict = analyzer.classify(line)
    assert category == "matched" and verdict.hits[0][0].acl == "mgmt"


def test_a_control_plane_acl_is_not_the_interface_acl_and_is_not_judged_from_logs():
    from ruleset_analysis.records import collect
    from ruleset_analysis.report import build_report
    fw = firewall(CONFIG)
    assert (fw.inbound, fw.control_plane) == ({"outside": "outside_in"}, {"outside": "mgmt"})
    analyzer = LineAnalyzer({"fw01": fw}, "2014")
    analyzer.add(T + HTTPS)
    report = build_report({"fw01": fw}, collect(analyzer.finish()))
    [mgmt] = [r for r in report["rules"] if r["acl"] == "mgmt"]
    assert (mgmt["bindings"], mgmt["status"], mgmt["judgement"]) == (
        ["control-plane outside"], "not evaluated", "control-plane")


def test_icmp_with_identity_firewall_users_keeps_its_type():
    line = (T + "%ASA-6-302020: Built inbound ICMP connection for faddr 192.0.2.1/1 "
                "(LOCAL\\alice) gaddr 172.16.1.10/0 laddr 172.16.1.10/0 (bob) type 8 code 0")
    connection = LogParser("2014").parse(line)
    assert (connection.kind, connection.destination_port, connection.icmp_code) == (
        "built", 8, 0)
    assert classify(line) == ("matched", [("outside_in", 1)])


@pytest.mark.parametrize("header, device", [
    ("Jun  6 14:47:35 fw01 asa ", "fw01"),
    ("Jun  6 14:47:35 fw01 asa[123]: ", "fw01"),
    ("Jun  6 14:47:35 fw01 CiscoASA: ", "fw01"),
    ("<166>1 2014-06-06T14:47:35.123+02:00 fw01 asa - - - ", "fw01"),
    ("Jun  6 14:47:36 10.0.0.1 Jun 06 2014 14:47:35 fw01 : ", "fw01"),
    ("<166>Jun 06 2014 14:47:35: ", None),
    ("LOCAL4.WARNING: fw01 ", "fw01"),
])
def test_the_device_is_the_host_after_the_time_not_a_program_tag(header, device):
    assert header_device(header) == device


def test_a_space_after_the_interface_of_a_deny_is_read():
    line = (T + '%ASA-4-106023: Deny tcp src outside: 192.0.2.1/4000 dst dmz: 172.16.1.10/22 '
                'by access-group "outside_in" [0x0, 0x0]')
    connection = LogParser("2014").parse(line)
    assert (connection.ingress, connection.source, connection.destination) == (
        "outside", "192.0.2.1", "172.16.1.10")


def test_an_acl_name_quoted_as_a_csv_export_writes_it_is_read():
    line = (T + '%ASA-4-106023: Deny tcp src outside:192.0.2.1/4000 dst dmz:172.16.1.10/22 '
                'by access-group ""outside_in"" [0x0, 0x0]')
    assert LogParser("2014").parse(line).acl == "outside_in"


def test_an_address_that_is_not_an_ip_is_malformed():
    line = T + HTTPS.replace("198.51.100.7/51000 (", "198.51.100.256/51000 (")
    assert classify(line)[0] == "malformed"


# -- FTD (LINA) access lists ---------------------------------------------------------------
FTD = """\
NGFW Version 6.4.0
interface GigabitEthernet0/0
 nameif Outside
 security-level 0
 ip address 203.0.113.2 255.255.255.0
interface GigabitEthernet0/1
 nameif Inside
 security-level 0
 ip address 10.10.10.1 255.255.255.0
access-list CSM_FW_ACL_ remark rule-id 268434433: L4 RULE: Block-web-from-inside
access-list CSM_FW_ACL_ advanced deny tcp ifc Inside 10.10.10.0 255.255.255.0 \
ifc Outside host 203.0.113.80 eq www rule-id 268434433 event-log flow-start
access-list CSM_FW_ACL_ remark rule-id 268434434: L4 RULE: Trust-ssh
access-list CSM_FW_ACL_ advanced trust tcp any any eq ssh rule-id 268434434 event-log both
access-list CSM_FW_ACL_ remark rule-id 268434432: ACCESS POLICY: Default - Default
access-list CSM_FW_ACL_ advanced permit ip any any rule-id 268434432
access-group CSM_FW_ACL_ global
"""


def ftd():
    return firewall(FTD.replace("\\\n", ""), "ftd01")


def test_ftd_advanced_aces_are_extended_aces_and_trust_permits():
    fw = ftd()
    entries = fw.acls["CSM_FW_ACL_"].entries
    assert [(e.line, e.kind, e.action, e.rule_id, e.error) for e in entries] == [
        (2, "extended", "deny", "268434433", None),
        (4, "extended", "permit", "268434434", None),
        (6, "extended", "permit", "268434432", None)]
    assert (entries[0].ingress_ifc, entries[0].egress_ifc) == ("Inside", "Outside")
    assert entries[0].remarks == ["rule-id 268434433: L4 RULE: Block-web-from-inside"]
    assert fw.acl_addresses == "real"


def web(ingress, egress, host="ftd01"):
    """An FTD connection to 203.0.113.80:80, from the Inside or the Outside."""
    inside = f"{ingress}:10.10.10.5/50000 (10.10.10.5/50000)"
    server = f"{egress}:203.0.113.80/80 (203.0.113.80/80)"
    return (f"Jun 06 2014 14:47:35 {host} : %FTD-6-302013: Built outbound TCP connection 7 "
            f"for {server} to {inside}")


def test_an_ifc_scoped_ace_matches_only_traffic_through_its_interfaces():
    analyzer = LineAnalyzer({"ftd01": ftd()}, "2014")
    category, _, _, verdict = analyzer.classify(web("Inside", "Outside"))
    # built, yet its first match is the deny: a disagreement, never a hit
    assert (category, verdict.hits, verdict.against[0][0].ace_line) == (
        "permit_disagrees", (), 2)
    category, _, _, verdict = analyzer.classify(web("Dmz", "Outside"))
    assert (category, verdict.hits[0][0].ace_line) == ("matched", 6)      # not scoped to Dmz


def test_a_deny_logged_against_csm_fw_acl_is_credited():
    line = ('Jun 06 2014 14:47:35 ftd01 : %FTD-4-106023: Deny tcp src Inside:10.10.10.5/50000 '
            'dst Outside:203.0.113.80/80 by access-group "CSM_FW_ACL_" [0x0, 0x0]')
    analyzer = LineAnalyzer({"ftd01": ftd()}, "2014")
    category, _, _, verdict = analyzer.classify(line)
    assert (category, verdict.hits[0][0].ace_line) == ("denied", 2)


def test_shadowing_is_not_guessed_for_acls_with_interface_scoped_aces():
    from ruleset_analysis.shadowing import analyse_acl
    found = analyse_acl(ftd().acls["CSM_FW_ACL_"], True)
    assert {v["not_analysed"] for v in found.values()} == {
        "the ACL has interface-scoped (ifc) ACEs (line 2)"}


def test_ftd_connection_events_are_counted_not_credited():
    line = ("Jun 06 2014 14:47:35 ftd01 : %FTD-1-430002: EventPriority: Low, ConnectionID: 1, "
            "AccessControlRuleAction: Allow, SrcIP: 192.0.2.155, DstIP: 172.16.10.12, "
            "SrcPort: 2512, DstPort: 443, Protocol: tcp, IngressInterface: outside, "
            "EgressInterface: dmz, ACPolicy: Policy, AccessControlRuleName: Allow-Web")
    analyzer = LineAnalyzer({"ftd01": ftd()}, "2014")
    analyzer.add(line)
    assert analyzer.counts() == {"ftd_connection_event": 1, "lines": 1}


PIX6 = """
PIX Version 6.3(5)
nameif ethernet0 outside security0
nameif ethernet1 inside security100
ip address outside 203.0.113.2 255.255.255.0
ip address inside 10.1.1.1 255.255.255.0
static (inside,outside) 203.0.113.10 10.1.1.10 netmask 255.255.255.255
access-list outside_in permit tcp any host 203.0.113.10 eq www
access-list outside_in permit udp any host 203.0.113.10 eq domain
access-list inside_in permit tcp 10.1.1.0 255.255.255.0 any eq smtp
access-group outside_in in interface outside
access-group inside_in in interface inside
route outside 0.0.0.0 0.0.0.0 203.0.113.1 1
"""
P = "Jun 06 2014 14:47:35 pix01 : "


def pix_analyzer():
    return LineAnalyzer({"pix01": firewall(PIX6, "pix01")}, "2014")


def pix_classify(line):
    category, connection, _, verdict = pix_analyzer().classify(P + line)
    hits = [(h.acl, h.ace_line, src, dst) for h, src, dst in verdict.hits] if verdict else []
    return category, hits


def test_a_pix6_inbound_tcp_connection_is_the_foreign_side_matched_on_the_global_address():
    assert pix_classify(
        "%PIX-6-302001: Built inbound TCP connection 12 for faddr 198.51.100.7/51000 "
        "gaddr 203.0.113.10/80 laddr 10.1.1.10/80") == (
        "matched", [("outside_in", 1, "198.51.100.7", "203.0.113.10")])


def test_a_pix6_outbound_tcp_connection_is_the_local_side_on_the_inside_acl():
    assert pix_classify(
        "%PIX-6-302001: Built outbound TCP connection 13 for faddr 192.0.2.25/25 "
        "gaddr 203.0.113.5/1025 laddr 10.1.1.20/3345") == (
        "matched", [("inside_in", 1, "10.1.1.20", "192.0.2.25")])


@pytest.mark.parametrize("line", [
    "%PIX-6-302001: Teardown TCP connection 12 faddr 198.51.100.7/51000 gaddr "
    "203.0.113.10/80 laddr 10.1.1.10/80 duration 0:00:01 bytes 512 TCP FINs",
    "%PIX-6-302005: Teardown UDP connection for faddr 198.51.100.7/5300 gaddr "
    "203.0.113.10/53 laddr 10.1.1.10/53"])
def test_a_pix6_teardown_is_not_relevant_not_malformed(line):
    assert pix_classify(line) == ("not_relevant", [])


def test_a_pix6_connection_with_a_port_over_65535_is_malformed():
    assert pix_classify(
        "%PIX-6-302001: Built inbound TCP connection 12 for faddr 198.51.100.7/99999 "
        "gaddr 203.0.113.10/80 laddr 10.1.1.10/80") == ("malformed", [])


UDP_NO_DIRECTION = ("%PIX-6-302005: Built UDP connection for faddr 198.51.100.7/5300 "
                    "gaddr 203.0.113.10/53 laddr 10.1.1.10/53")


def test_a_pix6_udp_connection_without_a_direction_credits_no_acl():
    assert pix_classify(UDP_NO_DIRECTION) == ("direction_unknown", [])


def test_udp_rules_of_a_pix_logging_only_undirected_udp_are_not_judged_unused():
    from ruleset_analysis.records import collect
    from ruleset_analysis.report import build_report
    fw = firewall(PIX6, "pix01")
    analyzer = LineAnalyzer({"pix01": fw}, "2014")
    for day in range(1, 31):
        when = f"Jun {day:02d} 2014 14:47:35 pix01 : "
        analyzer.add(when + UDP_NO_DIRECTION)
        analyzer.add(when + "%PIX-6-302001: Built inbound TCP connection 12 for faddr "
                            "198.51.100.7/51000 gaddr 203.0.113.10/80 laddr 10.1.1.10/80")
    report = build_report({"pix01": fw}, collect(analyzer.finish()))
    status = {(r["acl"], r["line"]): r["status"] for r in report["rules"]}
    assert status[("outside_in", 1)] == "used"
    assert status[("outside_in", 2)] != "unused"      # the UDP rule: its traffic is unseen
    assert status[("inside_in", 1)] == "unused"       # TCP: the logs could have shown it


def ftd_event(message="430002", rule="Trust-ssh", action="Allow", protocol="tcp", day="06"):
    return (f"Jun {day} 2014 14:47:35 ftd01 : %FTD-1-{message}: EventPriority: Low, "
            "DeviceUUID: 8f2a6a2e-0000-11e9-bb6e-000000000001, InstanceID: 1, "
            f"ConnectionID: 12, AccessControlRuleAction: {action}, SrcIP: 10.10.10.5, "
            f"DstIP: 198.51.100.22, SrcPort: 50022, DstPort: 22, Protocol: {protocol}, "
            "IngressInterface: Inside, EgressInterface: Outside, IngressZone: IN, "
            f"EgressZone: OUT, ACPolicy: Policy, AccessControlRuleName: {rule}, "
            "User: No Authentication Required")


def ftd_classify(line, permits_from="acl-log"):
    analyzer = LineAnalyzer({"ftd01": ftd()}, "2014", permits_from=permits_from)
    category, _, _, verdict = analyzer.classify(line)
    return category, [(h.acl, h.ace_line) for h, _, _ in verdict.hits] if verdict else []


def test_an_ftd_start_event_credits_the_ace_of_the_rule_it_names_with_acl_log_permits():
    assert ftd_classify(ftd_event()) == ("matched", [("CSM_FW_ACL_", 4)])


def test_an_ftd_end_event_of_an_ace_logging_both_is_counted_not_credited_twice():
    assert ftd_classify(ftd_event("430003")) == ("ftd_connection_event", [])


@pytest.mark.parametrize("event", [ftd_event(rule="Rule-not-in-config"),
                                   ftd_event(action="Block"),
                                   ftd_event(protocol="icmp")])
def test_ftd_events_that_name_no_ace_or_no_permitted_flow_are_counted(event):
    assert ftd_classify(event) == ("ftd_connection_event", [])


def test_ftd_events_are_counted_not_credited_when_built_lines_count_connections():
    assert ftd_classify(ftd_event(), permits_from="built") == ("ftd_connection_event", [])


def test_an_event_logging_ace_without_events_is_no_data_when_acl_log_permits_count():
    from ruleset_analysis.records import collect
    from ruleset_analysis.report import build_report
    fw = ftd()
    analyzer = LineAnalyzer({"ftd01": fw}, "2014", permits_from="acl-log")
    for day in range(1, 31):            # built lines (the default rule) every day, no event
        analyzer.add(web("Inside", "Outside").replace("Jun 06", f"Jun {day:02d}")
                     .replace("203.0.113.80/80", "203.0.113.81/443"))
    report = build_report({"ftd01": fw}, collect(analyzer.finish()))
    [trust] = [r for r in report["rules"] if r["line"] == 4]
    assert trust["event_log"] == "both" and trust["status"] == "no data"
    assert "--permits-from acl-log" in trust["reason"]


def test_a_logged_ace_is_no_data_when_acl_log_permits_count_and_the_logs_have_none():
    from ruleset_analysis.records import collect
    from ruleset_analysis.report import build_report
    fw = firewall(OUTSIDE_DMZ + """
access-list outside_in extended permit tcp any host 172.16.1.10 eq https log
access-list outside_in extended permit tcp any host 172.16.1.11 eq https
access-group outside_in in interface outside
""")
    analyzer = LineAnalyzer({"fw01": fw}, "2014", permits_from="acl-log")
    for day in range(1, 31):            # built lines every day, no 106100
        analyzer.add(T.replace("Jun 06", f"Jun {day:02d}") +
                     HTTPS.replace("172.16.1.10/443", "172.16.1.11/443"))
    report = build_report({"fw01": fw}, collect(analyzer.finish()))
    status = {r["line"]: (r["status"], r["hits"]) for r in report["rules"]}
    assert status == {1: ("no data", 0), 2: ("used", 30)}
