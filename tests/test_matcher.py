"""ACL evaluation: which ACL applies, first match wins, inactive never matches, each ACL
credits its own first match."""
from conftest import built, firewall

from ruleset_analysis.asa.syslog import LogParser
from ruleset_analysis.matcher import MATCHED, NO_ACL, UNMATCHED, FirewallMatcher

INTERFACES = """
interface GigabitEthernet0/0
 nameif outside
 security-level 0
 ip address 203.0.113.2 255.255.255.0
interface GigabitEthernet0/1
 nameif inside
 security-level 100
 ip address 10.1.0.1 255.255.0.0
interface GigabitEthernet0/2
 nameif dmz
 security-level 50
 ip address 172.16.1.1 255.255.255.0
"""


def verdict(config, line):
    return FirewallMatcher(firewall(INTERFACES + config)).evaluate(LogParser(2014).parse(line))


def lines_hit(v):
    return [(hit.acl, hit.ace_line) for hit, _, _ in v.hits]


INBOUND_WEB = built("inbound", "TCP", "outside:198.51.100.7/51234",
                    "dmz:172.16.1.10/443 (203.0.113.10/443)")


def test_first_match_wins_in_config_order():
    v = verdict("""access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-list outside_in extended permit tcp any any
access-group outside_in in interface outside
""", INBOUND_WEB)
    assert (v.category, lines_hit(v)) == (MATCHED, [("outside_in", 1)])


def test_inactive_ace_never_matches():
    v = verdict("""access-list outside_in extended permit tcp any host 172.16.1.10 eq https inactive
access-list outside_in extended permit tcp any any
access-group outside_in in interface outside
""", INBOUND_WEB)
    assert lines_hit(v) == [("outside_in", 2)]


def test_a_built_connection_whose_first_match_is_a_deny_is_a_disagreement_not_a_hit():
    v = verdict("""access-list outside_in extended deny tcp any any eq https
access-list outside_in extended permit ip any any
access-group outside_in in interface outside
""", INBOUND_WEB)
    assert (v.category, v.hits) == ("permit_disagrees", ())
    assert [(h.ace_line, h.action) for h, _, _ in v.against] == [(1, "deny")]


def test_acl_matches_real_addresses_on_asa_8_3_and_later():
    v = verdict("""ASA Version 9.8(4)
access-list outside_in extended permit tcp any host 203.0.113.10 eq https
access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-group outside_in in interface outside
""", INBOUND_WEB)
    assert lines_hit(v) == [("outside_in", 2)]


def test_acl_matches_mapped_destination_before_8_3():
    v = verdict("""ASA Version 8.2(5)
access-list outside_in extended permit tcp any host 172.16.1.10 eq https
access-list outside_in extended permit tcp any host 203.0.113.10 eq https
access-group outside_in in interface outside
""", INBOUND_WEB)
    assert lines_hit(v) == [("outside_in", 2)]
    assert v.hits[0][2] == "203.0.113.10"      # the fact records what the ACL matched


def test_outbound_connection_is_evaluated_on_the_initiators_interface():
    line = built("outbound", "TCP", "outside:93.184.216.34/80", "inside:10.1.1.5/51000")
    v = verdict("""access-list outside_in extended permit ip any any
access-list inside_in extended permit tcp 10.1.0.0 255.255.0.0 any eq www
access-group outside_in in interface outside
access-group inside_in in interface inside
""", line)
    assert lines_hit(v) == [("inside_in", 1)]


def test_global_acl_applies_when_the_interface_acl_has_no_match():
    v = verdict("""access-list outside_in extended permit udp any any
access-list global_acl extended permit tcp any any eq https
access-group outside_in in interface outside
access-group global_acl global
""", INBOUND_WEB)
    assert (v.category, lines_hit(v)) == (MATCHED, [("global_acl", 1)])


def test_global_acl_applies_to_interfaces_without_their_own_acl():
    v = verdict("""access-list global_acl extended permit tcp any any eq https
access-group global_acl global
""", INBOUND_WEB)
    assert lines_hit(v) == [("global_acl", 1)]


def test_interface_acl_match_stops_before_the_global_acl():
    v = verdict("""access-list outside_in extended permit tcp any any
access-list global_acl extended permit tcp any any eq https
access-group outside_in in interface outside
access-group global_acl global
""", INBOUND_WEB)
    assert lines_hit(v) == [("outside_in", 1)]


def test_outbound_acl_of_the_egress_interface_credits_its_own_first_match():
    v = verdict("""access-list outside_in extended permit tcp any any
access-list dmz_out extended permit tcp any host 172.16.1.10 eq https
access-group outside_in in interface outside
access-group dmz_out out interface dmz
""", INBOUND_WEB)
    assert lines_hit(v) == [("outside_in", 1), ("dmz_out", 1)]


def test_no_rule_in_an_applicable_acl_is_unmatched():
    v = verdict("""access-list outside_in extended permit udp any any
access-list dmz_out extended permit ip any any
access-group outside_in in interface outside
access-group dmz_out out interface dmz
""", INBOUND_WEB)
    assert v.category == UNMATCHED and lines_hit(v) == [("dmz_out", 1)]


def test_no_acl_on_the_interfaces():
    v = verdict("access-list inside_in extended permit ip any any\n"
                "access-group inside_in in interface inside\n", INBOUND_WEB)
    assert (v.category, v.hits) == (NO_ACL, ())


def test_source_port_range_and_icmp_rules_do_not_match_other_flows():
    v = verdict("""access-list outside_in extended permit icmp any any
access-list outside_in extended permit tcp any range 1 1023 any
access-list outside_in extended permit tcp any gt 1023 any eq https
access-group outside_in in interface outside
""", INBOUND_WEB)
    assert lines_hit(v) == [("outside_in", 3)]


def test_range_object_is_matched_exactly():
    config = """object network pool
 range 198.51.100.5 198.51.100.7
access-list outside_in extended permit tcp object pool any
access-list outside_in extended permit ip any any
access-group outside_in in interface outside
"""
    inside = verdict(config, INBOUND_WEB)
    outside = verdict(config, INBOUND_WEB.replace("198.51.100.7", "198.51.100.8"))
    assert lines_hit(inside) == [("outside_in", 1)]
    assert lines_hit(outside) == [("outside_in", 2)]
