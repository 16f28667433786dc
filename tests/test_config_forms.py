"""Every ACL-relevant form real ASA/FWSM configs contain, each pinned on the form a device
prints. tests/configs/every-form.cfg holds them all in one config."""
import os
import textwrap

import pytest
from conftest import ROOT, cli_runner, firewall

from ruleset_analysis.asa.config import ConfigError, parse_config
from ruleset_analysis.matcher import FirewallMatcher
from ruleset_analysis.model import Connection
from ruleset_analysis.preprocess import read_config
from ruleset_analysis.report.build import describe

EVERY_FORM = os.path.join(ROOT, "tests", "configs", "every-form.cfg")


@pytest.fixture(scope="module")
def every():
    return read_config(EVERY_FORM)


def first_line(fw, proto, src, dst, dport=0, sport=40000, ingress="outside", egress="servers"):
    """The line of the ACE the inbound chain credits, or None (implicit deny)."""
    verdict = FirewallMatcher(fw).evaluate(Connection(
        fw.name, "", proto, src, sport, dst, dport, ingress, egress, "inbound"))
    inbound = [hit for direction, _, hit in verdict.chains if direction == "inbound"]
    return inbound[0].ace_line if inbound and inbound[0] else None


def ace(fw, acl, line):
    return next(a for a in fw.acls[acl].entries if a.line == line)


def test_every_form_preprocesses_with_no_unparsed_ace_and_only_the_fqdn_warning(every):
    assert [a.text for a in every.aces() if a.error] == []
    assert len(every.warnings) == 1 and "fqdn 'updates.example.com'" in every.warnings[0]


# -- addresses -----------------------------------------------------------------------------
def test_any_matches_both_families_any4_and_any6_only_their_own():
    fw = firewall("""access-list acl extended permit tcp any4 any eq 1
access-list acl extended permit tcp any6 any eq 1
access-list acl extended permit tcp any any eq 2
access-group acl in interface outside
""")
    assert first_line(fw, "tcp", "192.0.2.1", "10.0.0.1", 1) == 1
    assert first_line(fw, "tcp", "2001:db8::1", "2001:db8::2", 1) == 2
    assert first_line(fw, "tcp", "2001:db8::1", "10.0.0.1", 2) == 3


def test_ipv6_host_and_prefix(every):
    rule = ace(every, "outside_in", 5).rules[0]
    assert (rule.source.text, rule.destination.text) == ("192.0.2.1", "2001:db8:20::10")
    assert ace(every, "outside_in", 6).rules[0].destination.text == "2001:db8:20::/64"
    assert first_line(every, "tcp", "192.0.2.77", "2001:db8:20::99", 443) == 6


def test_interface_keyword_is_the_interfaces_own_addresses_v4_and_v6(every):
    assert [r.destination.text for r in ace(every, "outside_in", 7).rules] == [
        "203.0.113.2", "2001:db8:ffff::2"]


def test_name_alias_for_ipv4_host_network_and_ipv6(every):
    assert ace(every, "outside_in", 8).rules[0].destination.text == "10.20.0.10"
    assert ace(every, "outside_in", 9).rules[0].destination.text == "10.20.0.0/24"
    assert ace(every, "outside_in", 10).rules[0].destination.text == "2001:db8:20::10"


def test_name_aliases_work_without_the_names_command():
    fw = firewall("name 10.9.9.9 nas\naccess-list acl extended permit ip any host nas\n")
    assert fw.acls["acl"].entries[0].rules[0].destination.text == "10.9.9.9"


def test_range_object_matches_exactly_its_bounds(every):
    line = 11                       # permit ip object obj-range object obj-subnet6
    assert ace(every, "outside_in", line).rules[0].source.text == "10.20.0.100-10.20.0.120"
    fw = firewall("""object network r
 range 10.0.0.100 10.0.0.120
access-list acl extended permit ip object r any
access-group acl in interface outside
""")
    assert first_line(fw, "tcp", "10.0.0.120", "1.1.1.1") == 1
    assert first_line(fw, "tcp", "10.0.0.121", "1.1.1.1") is None
    assert first_line(fw, "tcp", "10.0.0.99", "1.1.1.1") is None


def test_fqdn_object_is_kept_reported_unresolvable_and_matches_nothing(every):
    rules = ace(every, "outside_in", 12).rules
    assert [r.destination.text for r in rules] == ["fqdn updates.example.com"]
    assert ace(every, "outside_in", 12).error is None
    assert first_line(every, "tcp", "192.0.2.1", "10.0.0.1", 443) != 12


def test_network_group_members_of_every_kind_and_depth(every):
    rules = ace(every, "outside_in", 13).rules
    assert [r.members["source"] for r in rules] == [
        ["all-nets", "obj-host"], ["all-nets", "2001:db8:30::/48"], ["all-nets", "db-server"],
        ["all-nets", "10.20.0.0/24"], ["all-nets", "mid-net", "leaf-net", "10.40.0.0/16"],
        ["all-nets", "mid-net", "10.50.0.5"]]
    assert {tuple(r.members["destination"]) for r in rules} == {
        ("grouped-nets", "leaf-net", "10.40.0.0/16")}


def test_undefined_member_reference_names_the_member_line():
    fw = firewall("""object-group network g
 network-object host 10.0.0.1
 group-object missing
access-list acl extended permit ip object-group g any
""")
    assert fw.acls["acl"].entries[0].error == \
        "object-group network 'missing' is not defined (test.cfg:4)"


# -- services ------------------------------------------------------------------------------
def test_object_service_with_source_and_destination_ports(every):
    rule = ace(every, "outside_in", 15).rules[0]
    assert (rule.protocol, rule.source_port.ranges, rule.destination_port.ranges) == (
        6, ((1024, 65535),), ((8443, 8443),))


def test_object_service_icmp_icmp6_protocol_and_tcp_udp(every):
    assert ace(every, "outside_in", 16).rules[0].destination_port.ranges == ((8, 8),)
    assert ace(every, "outside_in", 17).rules[0].destination_port.ranges == ((129, 129),)
    assert ace(every, "outside_in", 18).rules[0].protocol == 47
    assert [r.protocol for r in ace(every, "outside_in", 19).rules] == [6, 17]


def test_service_object_group_forms(every):
    described = [(describe(r)["protocol"], describe(r)["source_port"],
                  describe(r)["destination_port"]) for r in ace(every, "outside_in", 20).rules]
    assert described == [
        ("tcp", "any", "eq https"), ("udp", "any", "eq 1235"), ("udp", "eq 3", "eq 1236"),
        ("tcp", "range 1000 2000", "eq ssh"), ("icmp", "any", "echo"),
        ("icmp", "any", "3 code 4"), ("tcp", "range 1024 65535", "eq 8443"),
        ("icmp", "any", "any"), ("ip", "any", "any"), ("tcp", "any", "eq 53"),
        ("udp", "any", "eq 53"), ("esp", "any", "any")]


def test_protocol_group_by_name_and_number_nested(every):
    assert [r.protocol for r in ace(every, "outside_in", 21).rules] == [6, 17]
    assert [r.protocol for r in ace(every, "outside_in", 22).rules] == [47, 6, 17]


def test_port_group_as_source_port_and_destination_port(every):
    rules = ace(every, "outside_in", 23).rules
    assert [(r.source_port.text, r.destination_port.text) for r in rules] == [
        ("range 1024 65535", "eq www"), ("range 1024 65535", "range 8080 8090")]



def test_source_port_group_decides_the_match():
    fw = firewall("""object-group service high-src tcp
 port-object range 1024 65535
access-list acl extended permit tcp any object-group high-src any eq www
access-list acl extended permit tcp any any
access-group acl in interface outside
""")
    assert first_line(fw, "tcp", "192.0.2.1", "10.0.0.1", 80, sport=50000) == 1
    assert first_line(fw, "tcp", "192.0.2.1", "10.0.0.1", 80, sport=1000) == 2


def test_tcp_udp_port_group_nesting_and_bare_ports(every):
    assert [r.destination_port.text for r in ace(every, "outside_in", 25).rules] == [
        "eq 5060", "eq www", "range 8080 8090"]
    assert ace(every, "outside_in", 26).rules[0].destination_port.text == "eq 4444"


def test_predefined_service_objects(every):
    assert ace(every, "outside_in", 27).rules[0].destination_port.ranges == ((8, 8),)
    assert ace(every, "outside_in", 28).rules[0].protocol == 89


# -- ACE forms -----------------------------------------------------------------------------
def test_protocol_by_number(every):
    assert ace(every, "outside_in", 30).rules[0].protocol == 47
    assert ace(every, "outside_in", 31).rules[0].destination_port.ranges == ((8000, 8000),)


def test_icmp_types_by_name_and_number_with_code(every):
    assert ace(every, "outside_in", 33).rules[0].destination_port.ranges == ((8, 8),)
    rule = ace(every, "outside_in", 34).rules[0]
    assert (rule.destination_port.ranges, rule.icmp_code) == (((3, 3),), 4)
    assert ace(every, "outside_in", 35).rules[0].icmp_code == 13
    assert [r.destination_port.text for r in ace(every, "outside_in", 36).rules] == [
        "traceroute", "echo", "0"]
    assert ace(every, "outside_in", 37).rules[0].destination_port.ranges == ((2, 2),)


def test_icmp_code_must_match_when_given():
    fw = firewall("""access-list acl extended permit icmp any any unreachable 13
access-group acl in interface outside
""")
    matcher = FirewallMatcher(fw)
    key = (1, 4, 1, 0, 4, 2, 3)
    assert matcher.inbound["outside"].first_match(*key, icmp_code=13).ace_line == 1
    assert matcher.inbound["outside"].first_match(*key, icmp_code=1) is None


def test_log_options_time_range_and_inactive(every):
    assert ace(every, "outside_in", 39).log == "3"
    assert ace(every, "outside_in", 40).log == "informational interval 300"
    assert ace(every, "outside_in", 41).log == "disable"
    assert ace(every, "outside_in", 42).time_range == "maintenance"
    assert ace(every, "outside_in", 43).inactive


def test_line_keyword_inserts_and_renumbers(every):
    assert ace(every, "outside_in", 2).text.endswith("host 198.51.100.9 any eq ssh")
    assert ace(every, "outside_in", 3).text.endswith("permit ip any any4")


def test_standard_webtype_and_ethertype_acls_are_recognised(every):
    kinds = {name: every.acls[name].entries[0].kind for name in ("SPLIT", "WEBFILTER",
                                                                 "ETHER")}
    assert kinds == {"SPLIT": "standard", "WEBFILTER": "webtype", "ETHER": "ethertype"}


# -- bindings, identity, interfaces --------------------------------------------------------
def test_bindings_of_every_kind(every):
    assert (every.inbound, every.outbound, every.global_acl) == (
        {"outside": "outside_in"}, {"servers": "servers_out"}, "global_acl")


def test_logging_device_id_string_is_an_alias(every):
    assert every.aliases == ["edge01", "edge01-dc2"]


def test_logging_device_id_ipaddress_names_the_interface_address():
    fw = firewall("""interface Gi0/0
 nameif outside
 ip address 203.0.113.2 255.255.255.0
logging device-id ipaddress outside
""")
    assert fw.aliases == ["fw01", "203.0.113.2"]


def test_context_name_is_part_of_the_identity():
    fw = parse_config("FWSM Version 4.1(5) <context>\nhostname ctx1\n", "c.cfg",
                      "fw01/ctx1").firewall
    assert (fw.name, fw.aliases) == ("fw01/ctx1", ["fw01/ctx1", "ctx1"])


def test_interfaces_subinterfaces_shutdown_v6_and_routes(every):
    servers, lab = every.interfaces["servers"], every.interfaces["lab"]
    assert (servers.hardware, servers.security_level, servers.addresses) == (
        "GigabitEthernet0/1.20", 80, ["10.20.0.1/24"])
    assert lab.shutdown
    assert every.interfaces["outside"].addresses == ["203.0.113.2/24", "2001:db8:ffff::2/64"]
    assert every.routes == [["outside", "0.0.0.0/0", "203.0.113.1"],
                            ["servers", "10.40.0.0/16", "10.20.0.254"],
                            ["outside", "::/0", "2001:db8:ffff::1"]]


def test_routing_picks_the_longest_prefix_and_skips_shutdown_interfaces(every):
    from ruleset_analysis.routing import RoutingTable
    table = RoutingTable(every)
    assert table.interface_for("10.20.0.5") == "servers"        # connected
    assert table.interface_for("10.40.1.1") == "servers"        # static route
    assert table.interface_for("10.30.0.5") == "outside"        # lab is shut: default route
    assert table.interface_for("2001:db8::1") == "outside"


def test_ios_config_is_rejected_clearly():
    with pytest.raises(ConfigError, match="ios.cfg:3: not an ASA/FWSM config"):
        parse_config("hostname r1\n!\nip access-list extended acl1\n permit ip any any\n",
                     "ios.cfg")


@pytest.mark.parametrize("ace_text, expected", [
    ("permit tcp any any eq www", ("full", [])),
    ("permit ip host 10.0.0.1 any", ("other_protocols", [])),
    ("permit object-group mixed any any", ("partial", ["esp"])),
    ("permit icmp any any echo", ("full", [])),
    ("permit esp any any", ("none", ["esp"])),
    ("permit object-group mixed-ah any any", ("none", ["ah", "esp"])),
])
def test_visibility_says_whether_connection_logs_could_show_an_aces_traffic(ace_text,
                                                                           expected):
    from ruleset_analysis.report import visibility
    fw = firewall(f"""object-group service mixed
 service-object tcp destination eq https
 service-object esp
object-group service mixed-ah
 service-object esp
 service-object ah
access-list acl extended {ace_text}
""")
    assert visibility(fw.acls["acl"].entries[0]) == expected


def test_a_port_name_the_device_refuses_for_the_protocol_is_not_a_rule():
    fw = firewall("""
    access-list a extended permit udp any any eq bgp
    access-list a extended permit tcp any any eq bgp
    object-group service Udp udp
     port-object eq ssh
    access-list a extended permit udp any any object-group Udp
    access-group a in interface outside
    """)
    first, second, third = fw.acls["a"].entries
    assert "'bgp' is not a udp port name" in first.error and first.rule_count == 0
    assert second.error is None and second.rule_count == 1
    assert "'ssh' is not a udp port name" in third.error


# -- what real ASA, FWSM and PIX configs write (issue 13) ---------------------------------
def test_ipsec_and_pptp_are_the_protocol_names_of_esp_and_gre():
    fw = firewall("""
    access-list a extended permit ipsec any any
    access-list a extended permit pptp any any
    access-group a in interface outside
    """)
    assert [ace.services[0][0] for ace in fw.acls["a"].entries] == [50, 47]


def test_access_list_mode_is_a_setting_not_an_acl():
    fw = firewall("access-list mode auto\naccess-list commit\n"
                  "access-list a extended permit ip any any\n")
    assert list(fw.acls) == ["a"]


def test_a_route_in_cli_shorthand_is_the_default_route():
    fw = firewall("route outside 0 0 203.0.113.1 1\n")
    assert fw.routes == [["outside", "0.0.0.0/0", "203.0.113.1"]]


def test_pix6_top_level_nameif_and_ip_address_define_interfaces():
    fw = firewall("""
    PIX Version 6.3(5)
    interface ethernet0 auto
    nameif ethernet0 outside security0
    nameif ethernet1 inside security100
    ip address outside 203.0.113.2 255.255.255.0
    ip address inside 10.1.1.1 255.255.255.0
    """)
    assert {n: (i.hardware, i.security_level, i.addresses) for n, i in fw.interfaces.items()} \
        == {"outside": ("ethernet0", 0, ["203.0.113.2/24"]),
            "inside": ("ethernet1", 100, ["10.1.1.1/24"])}


def test_an_undefined_trailing_object_group_is_named_as_undefined():
    fw = firewall("access-list a extended permit tcp any any object-group Nope\n")
    assert fw.acls["a"].entries[0].error == "object-group Nope is not defined"


DHCP = """
interface Gi0/0
 nameif outside
 security-level 0
 ip address dhcp setroute
access-list outside_in extended permit tcp any interface outside eq ssh
access-group outside_in in interface outside
"""


def test_an_ace_on_a_dhcp_interface_address_is_kept_matching_nothing():
    [entry] = firewall(DHCP).acls["outside_in"].entries
    assert entry.error is None and entry.unresolved == [
        "interface outside (address not in the config)"]


def test_interface_address_supplies_what_dhcp_assigned(tmp_path):

    from ruleset_analysis.cli import main
    from ruleset_analysis.database import load_firewalls
    config = tmp_path / "fw.cfg"
    config.write_text("hostname fw01\n" + textwrap.dedent(DHCP))
    db = tmp_path / "db"
    result = cli_runner().invoke(main, ["preprocess", str(config), "--db", str(db),
                                       "--interface-address", "outside=203.0.113.7"])
    assert result.exit_code == 0, result.output
    [entry] = load_firewalls(str(db))["fw01"].acls["outside_in"].entries
    assert entry.unresolved == [] and entry.destinations[0][0].text == "203.0.113.7"


def test_a_member_reached_twice_through_nested_groups_counts_once_under_its_first_path():
    fw = firewall("""
    object-group network B
     network-object host 10.0.0.1
     network-object host 10.0.0.2
    object-group network A
     network-object host 10.0.0.1
     group-object B
    access-list a extended permit tcp object-group A host 10.9.9.9 eq 22
    access-group a in interface outside
    """)
    [entry] = fw.acls["a"].entries
    assert [(address.text, path) for address, path in entry.sources] == [
        ("10.0.0.1", ["A", "10.0.0.1"]), ("10.0.0.2", ["A", "B", "10.0.0.2"])]


SHOW_ACCESS_LIST = """\
access-list cached ACL log flows: total 0, denied 0 (deny-flow-max 4096)
            alert-interval 300
access-list outside_in; 2 elements; name hash: 0x8c0e1e0b
access-list outside_in line 1 remark web servers
access-list outside_in line 2 extended permit tcp any host 203.0.113.10 eq www (hitcnt=412) \
0x5f3b1e2d
"""


@pytest.mark.parametrize("start", [0, 2, 4])
def test_show_access_list_output_given_as_a_config_is_refused_in_one_line(start):
    from ruleset_analysis.asa.config import ConfigError, parse_config
    lines = SHOW_ACCESS_LIST.replace("\\\n", "").splitlines()[start:]
    with pytest.raises(ConfigError, match=r"^capture.txt:\d+: this is `show access-list` "
                                          r"output \(the device's hit counts\), not a config"):
        parse_config("hostname fw01\n" + "\n".join(lines) + "\n", "capture.txt")
