"""`show route` captures: learned routes place ICMP connections (302020 names no interface)."""
import textwrap

from conftest import cli_runner

from ruleset_analysis.asa.routes import parse_routes
from ruleset_analysis.cli import main
from ruleset_analysis.database import load_firewalls
from ruleset_analysis.routing import RoutingTable

SHOW_ROUTE = """\
fw01# show route

Codes: L - local, C - connected, S - static, R - RIP, M - mobile, B - BGP
       D - EIGRP, EX - EIGRP external, O - OSPF, IA - OSPF inter area
       N1 - OSPF NSSA external type 1, N2 - OSPF NSSA external type 2
       E1 - OSPF external type 1, E2 - OSPF external type 2, V - VPN
       i - IS-IS, su - IS-IS summary, L1 - IS-IS level-1, L2 - IS-IS level-2
       ia - IS-IS inter area, * - candidate default, U - per-user static route
       o - ODR, P - periodic downloaded static route, + - replicated route
Gateway of last resort is 203.0.113.1 to network 0.0.0.0

S*       0.0.0.0 0.0.0.0 [1/0] via 203.0.113.1, outside
C        10.1.0.0 255.255.0.0 is directly connected, inside
L        10.1.0.1 255.255.255.255 is directly connected, inside
O        10.2.0.0 255.255.0.0 [110/20] via 10.1.0.254, 1:02:03, inside
O E2     172.16.5.0 255.255.255.0 [110/20] via 10.1.0.254, 2d01h, inside
B        198.51.100.0 255.255.255.0 [20/0] via 203.0.113.1, 1w2d, outside
D EX     10.3.0.0 255.255.0.0
           [170/2816] via 10.1.0.253, 0:00:10, inside
S        10.4.0.0 255.255.0.0 [1/0] via 10.1.0.254, inside
                              [1/0] via 10.1.0.253, inside
<--- More --->
C        172.16.1.0 255.255.255.0 is directly connected, dmz
"""

SHOW_IPV6_ROUTE = """\
IPv6 Routing Table - 5 entries
Codes: C - Connected, L - Local, S - Static
       O - OSPF intra, OI - OSPF inter, OE1 - OSPF ext 1, OE2 - OSPF ext 2
C   2001:db8:1::/64 [0/0]
     via inside, directly connected
L   2001:db8:1::1/128 [0/0]
     via inside, receive
O   2001:db8:9::/48 [110/2]
     via fe80::1, inside
"""


def test_every_route_form_of_show_route_is_read():
    warnings = []
    routes = parse_routes(SHOW_ROUTE, "fw01.routes", warnings)
    assert [(nameif, prefix) for nameif, prefix, _ in routes] == [
        ("outside", "0.0.0.0/0"), ("inside", "10.1.0.0/16"), ("inside", "10.1.0.1/32"),
        ("inside", "10.2.0.0/16"), ("inside", "172.16.5.0/24"), ("outside", "198.51.100.0/24"),
        ("inside", "10.3.0.0/16"), ("inside", "10.4.0.0/16"), ("dmz", "172.16.1.0/24")]
    assert routes[4][2] == "O E2"
    assert warnings == ["fw01.routes: 1 pager prompt(s) ('<--- More --->') removed: it "
                        "was captured with paging on (set 'terminal pager 0')"]


def test_ipv6_routes_are_read():
    assert [(n, p) for n, p, _ in parse_routes(SHOW_IPV6_ROUTE)] == [
        ("inside", "2001:db8:1::/64"), ("inside", "2001:db8:1::1/128"),
        ("inside", "2001:db8:9::/48")]


def test_a_route_line_that_cannot_be_read_is_a_warning_with_its_line():
    warnings = []
    parse_routes("O        10.2.0.0 255.255.0.0 [110/20] garbled\n", "r", warnings)
    assert warnings == ["r:1: route without an interface"]


CONFIG = """\
hostname fw01
interface Gi0/0
 nameif outside
 security-level 0
 ip address 203.0.113.2 255.255.255.0
interface Gi0/1
 nameif inside
 security-level 100
 ip address 10.1.0.1 255.255.0.0
"""


def test_preprocess_routes_place_addresses_learned_by_ospf(tmp_path):
    (tmp_path / "fw01.cfg").write_text(CONFIG)
    (tmp_path / "routes").mkdir()
    (tmp_path / "routes" / "fw01.routes").write_text(SHOW_ROUTE)
    db = tmp_path / "db"
    result = cli_runner().invoke(main, ["preprocess", str(tmp_path / "fw01.cfg"), "--db",
                                       str(db), "--routes", str(tmp_path / "routes")])
    assert result.exit_code == 0, result.output
    assert "'dmz', an interface the config does not have" in result.output
    table = RoutingTable(load_firewalls(str(db))["fw01"])
    assert table.interface_for("10.2.3.4") == "inside"          # OSPF, not in the config
    assert table.interface_for("192.0.2.1") == "outside"        # the default route


def test_a_routes_file_goes_with_one_config(tmp_path):
    (tmp_path / "a.cfg").write_text(CONFIG)
    (tmp_path / "b.cfg").write_text(CONFIG.replace("fw01", "fw02"))
    (tmp_path / "r").write_text(textwrap.dedent(SHOW_ROUTE))
    result = cli_runner().invoke(main, ["preprocess", str(tmp_path / "a.cfg"),
                                       str(tmp_path / "b.cfg"), "--routes", str(tmp_path / "r"),
                                       "--db", str(tmp_path / "db")])
    assert result.exit_code == 1 and "--routes FILE goes with exactly one config" in result.output
