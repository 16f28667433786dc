"""Config parsing and expansion: what an engineer reads in the config is what gets matched."""
from conftest import firewall

from ruleset_analysis.model import Firewall
from ruleset_analysis.report.build import describe


def rules_of(fw, acl="acl", line=1):
    return next(a for a in fw.acls[acl].entries if a.line == line).rules


NESTED = """
object network obj-web
 host 10.1.2.3
object-group network leaf
 network-object 10.9.0.0 255.255.0.0
object-group network middle
 group-object leaf
 network-object host 10.8.8.8
object-group network top
 description nested two levels deep
 network-object object obj-web
 group-object middle
object-group service Web tcp
 port-object eq www
 port-object range 8080 8090
access-list acl extended permit tcp object-group top any object-group Web
"""


def test_nested_groups_expand_to_one_rule_per_member_combination():
    rules = rules_of(firewall(NESTED))
    assert len(rules) == 3 * 2
    assert [r.source.text for r in rules[::2]] == ["10.1.2.3", "10.9.0.0/16", "10.8.8.8"]
    assert [r.destination_port.text for r in rules[:2]] == ["eq www", "range 8080 8090"]


def test_expanded_rules_remember_the_member_path_they_came_from():
    rules = rules_of(firewall(NESTED))
    assert rules[0].members == {"source": ["top", "obj-web"], "service": ["Web", "eq www"]}
    assert rules[2].members["source"] == ["top", "middle", "leaf", "10.9.0.0/16"]


def test_rule_indexes_run_on_across_the_aces_of_an_acl():
    fw = firewall(NESTED + "access-list acl extended permit udp any any eq domain\n")
    assert [r.index for r in rules_of(fw, line=2)] == [6]


def test_remarks_take_line_numbers_like_show_access_list():
    fw = firewall("""
    access-list acl remark first remark
    access-list acl remark second remark
    access-list acl extended permit ip any any
    access-list acl remark third
    access-list acl extended deny ip any any
    """.replace("\n    ", "\n"))
    entries = fw.acls["acl"].entries
    assert [(a.line, a.remarks) for a in entries] == [
        (3, ["first remark", "second remark"]), (5, ["third"])]


def test_line_keyword_inserts_at_that_position():
    fw = firewall("""access-list acl extended permit tcp any any eq www
access-list acl extended permit tcp any any eq ssh
access-list acl line 1 extended deny ip host 10.0.0.1 any
""")
    assert [(a.line, a.action) for a in fw.acls["acl"].entries] == [
        (1, "deny"), (2, "permit"), (3, "permit")]


def test_a_line_keyword_with_nothing_after_it_is_an_ace_kept_unparsed():
    # found by the fuzzer: it raised IndexError (`access-list acl line 2` cut short)
    fw = firewall("access-list acl extended permit tcp any any eq www\n"
                  "access-list acl line 2\n")
    assert [(a.line, a.text, a.error) for a in fw.acls["acl"].entries] == [
        (1, "access-list acl extended permit tcp any any eq www", None),
        (2, "access-list acl line 2", "expected permit or deny")]


def test_inactive_log_and_time_range_are_kept():
    fw = firewall("access-list acl extended permit tcp any any eq www log 6 interval 300 "
                  "time-range office inactive\n")
    ace = fw.acls["acl"].entries[0]
    assert (ace.inactive, ace.log, ace.time_range) == (True, "6 interval 300", "office")
    assert not ace.matchable


def test_name_aliases_resolve_in_host_and_mask_forms():
    fw = firewall("""names
name 10.1.2.3 web-server description the web
name 10.2.0.0 office
access-list acl extended permit tcp office 255.255.0.0 host web-server eq https
""")
    rule = rules_of(fw)[0]
    assert (rule.source.text, rule.destination.text) == ("10.2.0.0/16", "10.1.2.3")


def test_port_literals_and_operators_become_inclusive_ranges():
    fw = firewall("""access-list acl extended permit tcp any lt 1024 any neq www
access-list acl extended permit udp any any gt 1023
""")
    first, second = rules_of(fw)[0], rules_of(fw, line=2)[0]
    assert first.source_port.ranges == ((0, 1023),)
    assert first.destination_port.ranges == ((0, 79), (81, 65535))
    assert second.destination_port.ranges == ((1024, 65535),)


def test_object_group_after_source_is_a_source_port_group_when_it_is_one():
    fw = firewall("""object-group service high-ports tcp
 port-object range 1024 65535
object-group network servers
 network-object host 10.0.0.5
access-list acl extended permit tcp any object-group high-ports object-group servers eq ssh
""")
    rule = rules_of(fw)[0]
    assert rule.source_port.ranges == ((1024, 65535),)
    assert rule.destination.text == "10.0.0.5"


def test_service_group_as_protocol_supplies_protocols_and_ports():
    fw = firewall("""object service svc-8443
 service tcp destination eq 8443
object-group service Mixed
 service-object tcp destination eq https
 service-object udp destination range 5000 5010
 service-object icmp echo
 service-object object svc-8443
access-list acl extended permit object-group Mixed any host 192.0.2.10
""")
    described = [(describe(r)["protocol"], describe(r)["destination_port"])
                 for r in rules_of(fw)]
    assert described == [("tcp", "eq https"), ("udp", "range 5000 5010"), ("icmp", "echo"),
                         ("tcp", "eq 8443")]


def test_protocol_group_expands_protocols():
    fw = firewall("""object-group protocol tcpudp
 protocol-object tcp
 protocol-object udp
access-list acl extended permit object-group tcpudp any any eq domain
""")
    assert [r.protocol for r in rules_of(fw)] == [6, 17]


def test_object_range_is_kept_exact_not_rounded_to_a_prefix():
    fw = firewall("""object network pool
 range 10.1.5.10 10.1.5.29
access-list acl extended permit ip object pool any
""")
    source = rules_of(fw)[0].source
    assert (source.first & 0xFF, source.last & 0xFF, source.text) == (10, 29,
                                                                        "10.1.5.10-10.1.5.29")


def test_interface_address_resolves_to_the_interface_host_address():
    fw = firewall("""interface GigabitEthernet0/0
 nameif outside
 security-level 0
 ip address 203.0.113.2 255.255.255.0
access-list acl extended permit tcp any interface outside eq https
""")
    assert rules_of(fw)[0].destination.text == "203.0.113.2"


def test_unparseable_ace_is_kept_with_its_error_and_a_warning_naming_file_and_line():
    fw = firewall("access-list acl extended permit tcp any any eq www\n"
                  "access-list acl extended permit frobnicate any any\n")
    ace = fw.acls["acl"].entries[1]
    assert ace.error and "frobnicate" in ace.error and ace.rules == []
    assert any(w.startswith("test.cfg:3:") for w in fw.warnings)   # line 1 is the hostname


def test_undefined_group_reference_is_an_error_that_names_it():
    fw = firewall("access-list acl extended permit ip object-group nowhere any\n")
    assert "nowhere" in fw.acls["acl"].entries[0].error


def test_group_cycle_is_an_error_not_a_hang():
    fw = firewall("""object-group network a
 group-object b
object-group network b
 group-object a
access-list acl extended permit ip object-group a any
""")
    assert "cycle" in fw.acls["acl"].entries[0].error


def test_bindings_in_out_and_global():
    fw = firewall("""access-list a extended permit ip any any
access-list b extended permit ip any any
access-group a in interface inside
access-group b out interface dmz
access-group a global
""")
    assert (fw.inbound, fw.outbound, fw.global_acl) == ({"inside": "a"}, {"dmz": "b"}, "a")
    assert fw.bindings("a") == ["in inside", "global"]


def test_standard_acl_is_recognised_and_not_applicable():
    fw = firewall("access-list split standard permit 10.0.0.0 255.0.0.0\n")
    ace = fw.acls["split"].entries[0]
    assert (ace.kind, ace.action, ace.error, ace.matchable) == ("standard", "permit", None,
                                                                 False)


def test_version_line_decides_real_or_mapped_acl_addresses():
    assert firewall("ASA Version 9.8(4)\n").acl_addresses == "real"
    assert firewall("ASA Version 8.2(5)\n").acl_addresses == "mapped"
    assert firewall("FWSM Version 4.1(5) <context>\n").acl_addresses == "mapped"


def test_firewall_survives_a_json_round_trip():
    fw = firewall(NESTED)
    assert Firewall.from_json(fw.to_json()).to_json() == fw.to_json()


def test_malformed_name_line_is_a_warning_with_file_and_line():
    fw = firewall("names\nname 10.0.0.1\n")
    assert fw.warnings == ["test.cfg:3: cannot read name: expected 'name ADDRESS ALIAS'"]
