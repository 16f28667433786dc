"""The indexed matcher gives exactly the brute-force first match, on random rulesets."""
import ipaddress
from bisect import bisect_right

from conftest import firewall
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleset_analysis.matcher import (
    EXCEPTIONS_LIMIT,
    SMALL_SOURCES,
    AclMatcher,
    _Node,
    _Pending,
    leaf_rules,
)

# A small address and port space, so random rules overlap and shadow each other often.
HOSTS = [f"10.0.{a}.{b}" for a in range(4) for b in (1, 2, 130)] + ["2001:db8::1",
                                                                    "2001:db8::2"]
NETS = ["10.0.0.0 255.255.255.0", "10.0.0.0 255.255.254.0", "10.0.2.128 255.255.255.128",
        "10.0.0.0 255.255.0.0", "2001:db8::/64"]
PORTS = [22, 53, 80, 443, 1024, 8080]

address = st.one_of(st.just("any"), st.just("any4"), st.just("any6"),
                    st.sampled_from(HOSTS).map(lambda h: f"host {h}"), st.sampled_from(NETS),
                    st.just("object-group grp"), st.just("object pool"))
port = st.one_of(st.just(""), st.sampled_from(PORTS).map(lambda p: f" eq {p}"),
                 st.sampled_from(PORTS).map(lambda p: f" neq {p}"),
                 st.sampled_from(PORTS).map(lambda p: f" lt {p}"),
                 st.sampled_from(PORTS).map(lambda p: f" gt {p}"),
                 st.tuples(st.sampled_from(PORTS), st.sampled_from(PORTS)).map(
                     lambda t: f" range {min(t)} {max(t)}"),
                 st.just(" object-group web"))


@st.composite
def ace(draw):
    action = draw(st.sampled_from(["permit", "deny"]))
    protocol = draw(st.sampled_from(["ip", "tcp", "udp", "icmp", "object-group l4", "gre"]))
    src, dst = draw(address), draw(address)
    inactive = " inactive" if draw(st.integers(0, 9)) == 0 else ""
    if protocol in ("tcp", "udp", "object-group l4"):
        return f"{action} {protocol} {src}{draw(port)} {dst}{draw(port)}{inactive}"
    if protocol == "icmp":
        icmp = draw(st.sampled_from(["", " echo", " echo-reply", " unreachable 3"]))
        return f"{action} icmp {src} {dst}{icmp}{inactive}"
    return f"{action} {protocol} {src} {dst}{inactive}"


DEFINITIONS = """object-group network grp
 network-object host 10.0.1.2
 network-object 10.0.3.0 255.255.255.0
 network-object host 2001:db8::2
object network pool
 range 10.0.0.100 10.0.1.200
object-group service web tcp-udp
 port-object eq 80
 port-object range 440 450
object-group protocol l4
 protocol-object tcp
 protocol-object udp
"""

flow = st.tuples(st.sampled_from([6, 17, 1, 47, 50]),
                 st.sampled_from(HOSTS + ["10.0.0.150", "10.0.5.5", "192.0.2.1", "9.9.9.9"]),
                 st.sampled_from(PORTS + [0, 3, 8, 445, 60000]),
                 st.sampled_from(HOSTS + ["10.0.0.150", "10.0.3.9", "192.0.2.1"]),
                 st.sampled_from(PORTS + [0, 3, 8, 445, 60000]),
                 st.sampled_from([None, 0, 3]))


def first_rule(acl, protocol, src, sport, dst, dport, code):
    """The reference: every rule in config order, through the model's own predicates; a
    source (destination) of None matches every rule's source (destination)."""
    return next(matching_rules(acl, protocol, src, sport, dst, dport, code), None)


def matching_rules(acl, protocol, src, sport, dst, dport, code):
    """(entry, rule) of every rule the flow matches, in config order."""
    s, d = src and ipaddress.ip_address(src), dst and ipaddress.ip_address(dst)
    for entry in acl.entries:
        if not entry.matchable:
            continue
        for rule in entry.rules:
            if rule.protocol is not None and rule.protocol != protocol:
                continue
            if s and rule.source is not None and not rule.source.contains(s.version, int(s)):
                continue
            if d and rule.destination is not None and \
                    not rule.destination.contains(d.version, int(d)):
                continue
            if rule.source_port is not None and not rule.source_port.contains(sport):
                continue
            if rule.destination_port is not None and \
                    not rule.destination_port.contains(dport):
                continue
            if rule.icmp_code is not None and rule.icmp_code != code:
                continue
            yield entry, rule


def acl_of(aces: list):
    """The ACL of ``aces`` (random ones: ace()), with the objects they may name."""
    return firewall(DEFINITIONS + "".join(f"access-list acl extended {a}\n" for a in aces)).acls[
        "acl"]


def brute_force(acl, protocol, src, sport, dst, dport, code):
    found = first_rule(acl, protocol, src, sport, dst, dport, code)
    return found and (found[0].line, found[1].index)


def assert_answers_as_brute_force(acl, flows):
    matcher = AclMatcher(acl)
    for protocol, src, sport, dst, dport, code in flows:
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        hit = matcher.first_match(protocol, s.version, int(s), sport, d.version, int(d), dport,
                                  code)
        got = None if hit is None else (hit.ace_line, hit.rule_index)
        assert got == brute_force(acl, protocol, src, sport, dst, dport, code)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ace(), min_size=1, max_size=60), st.lists(flow, min_size=1, max_size=40))
def test_index_agrees_with_brute_force(aces, flows):
    acl = acl_of(aces)
    assert_answers_as_brute_force(acl, flows)


MEMBERS = [f"host {h}" for h in HOSTS] + NETS      # hosts inside networks, and outside
# overlapping networks within 10.0.0.0/23: more than SMALL_SOURCES, whose first holding a
# source the matcher finds through its interval table
DENSE_MEMBERS = ["10.0.0.0 255.255.255.192", "10.0.0.64 255.255.255.192",
                 "10.0.0.128 255.255.255.192", "10.0.0.192 255.255.255.192",
                 "10.0.0.0 255.255.255.128", "10.0.0.128 255.255.255.128",
                 "10.0.0.0 255.255.255.0", "10.0.1.0 255.255.255.0", "10.0.0.0 255.255.254.0",
                 "host 10.0.0.130", "10.0.1.128 255.255.255.128"]


def test_a_rule_its_scattered_source_members_share_is_indexed_where_they_are():
    # 40 ACEs of 10 hosts each across 10/8, to any: one rule each, which the tree's source
    # split puts under its own hosts only, not under the span between them
    hosts = [[f"10.{(a * 37 + m * 91) % 256}.{(a * 11 + m * 53) % 256}.{a + 1}"
              for m in range(10)] for a in range(40)]
    config = "".join(f"object-group network g{a}\n" + "".join(
        f" network-object host {h}\n" for h in members) for a, members in enumerate(hosts))
    config += "".join(f"access-list acl extended permit tcp object-group g{a} any eq 443\n"
                      for a in range(40))
    matcher = AclMatcher(firewall(config).acls["acl"])
    assert len(matcher.rules) == 40
    node = matcher.index
    while node.__class__ is _Node and node.position != 1:      # down to the source split
        node = node.wild
    assert node.__class__ is _Node and node.position == 1
    for host in {host for members in hosts for host in members}:
        value = 4 << 128 | int(ipaddress.ip_address(host))
        bucket = node.children[bisect_right(node.points, value) - 1]
        rules = bucket.rules if bucket.__class__ is _Pending else leaf_rules(bucket)
        assert rules == tuple(rule for rule, members in zip(matcher.rules, hosts)
                              if host in members)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.permutations(MEMBERS), st.permutations(DENSE_MEMBERS)),
       st.lists(ace(), min_size=1, max_size=30), st.integers(0, 30),
       st.lists(flow, min_size=1, max_size=40))
def test_a_source_group_of_many_overlapping_members_credits_the_first_member_holding_the_source(  # noqa: E501
        members, aces, position, flows):
    # members in any order, dense (one rule, its interval table) or not (runs of them)
    group = "object-group network many\n" + "".join(f" network-object {m}\n" for m in members)
    aces = [a.replace("object-group grp", "object-group many") for a in aces]
    aces.insert(position, "permit tcp object-group many any")
    config = DEFINITIONS + group + "".join(f"access-list acl extended {a}\n" for a in aces)
    acl = firewall(config).acls["acl"]
    assert max(len(entry.sources) for entry in acl.entries) > SMALL_SOURCES
    assert_answers_as_brute_force(acl, flows)


def test_large_rulesets_are_split_into_small_leaves():
    lines = "".join(f"access-list acl extended permit tcp host 10.{i // 250}.{i % 250}.1 any "
                    f"eq {1000 + i % 50}\n" for i in range(5000))
    matcher = AclMatcher(firewall(lines).acls["acl"])
    assert matcher.index.__class__ is not list
    hit = matcher.first_match(6, 4, int(ipaddress.ip_address("10.19.249.1")), 5000, 4, 1, 1049)
    assert (hit.ace_line, hit.rule_index) == (4999 + 1, 4999)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ace(), min_size=1, max_size=60), st.lists(flow, min_size=1, max_size=40),
       st.sampled_from([4, 6]))
def test_a_first_match_is_source_independent_exactly_when_the_first_rule_ignoring_the_source_admits_every_source(  # noqa: E501
        aces, flows, version):
    acl = acl_of(aces)
    matcher = AclMatcher(acl)
    everyone = (1 << (32 if version == 4 else 128)) - 1
    for protocol, _, sport, dst, dport, code in flows:
        d = ipaddress.ip_address(dst)
        hit, every = matcher.first_match_any_source(protocol, version, sport, d.version,
                                                    int(d), dport, code)
        reference = first_rule(acl, protocol, None, sport, dst, dport, code)
        if reference is None:
            assert (hit, every) == (None, True)
            continue
        entry, rule = reference
        assert (hit.ace_line, hit.rule_index) == (entry.line, rule.index)
        assert every == (rule.source is None or (rule.source.version == version and
                                                 rule.source.first == 0 and
                                                 rule.source.last == everyone))
        if every:           # and then each source of that version gets that first match
            for src in HOSTS + ["10.0.0.150", "10.0.5.5", "192.0.2.1"]:
                s = ipaddress.ip_address(src)
                if s.version == version:
                    assert brute_force(acl, protocol, src, sport, dst, dport, code) == \
                        (entry.line, rule.index)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ace(), min_size=1, max_size=60), st.lists(flow, min_size=1, max_size=40),
       st.sampled_from([4, 6]))
def test_without_the_destination_the_first_match_is_the_first_rule_for_every_destination_and_the_ranges_ahead_of_it_are_the_exceptions(  # noqa: E501
        aces, flows, version):
    acl = acl_of(aces)
    matcher = AclMatcher(acl)
    base, everyone = version << 128, (1 << (32 if version == 4 else 128)) - 1
    for protocol, src, sport, _, dport, code in flows:
        s = ipaddress.ip_address(src)
        found = matcher.first_match_any_destination(protocol, s.version, int(s), sport,
                                                    version, dport, code)
        expected, ahead = None, []
        for entry, rule in matching_rules(acl, protocol, src, sport, None, dport, code):
            d = rule.destination
            if d is None or (d.version == version and d.first == 0 and d.last == everyone):
                expected = (entry.line, rule.index)
                break
            if d.version == version:
                ahead.append((base | d.first, base | d.last))
        if found is None:
            assert len(ahead) > EXCEPTIONS_LIMIT
            continue
        hit, ranges = found
        assert (hit and (hit.ace_line, hit.rule_index)) == expected
        assert list(ranges) == ahead
        # and every destination of that version outside them gets that first match
        for dst in HOSTS + ["10.0.0.150", "10.0.3.9", "192.0.2.1", "2001:db8::9"]:
            d = ipaddress.ip_address(dst)
            if d.version == version and not any(lo <= base | int(d) <= hi for lo, hi in ranges):
                assert brute_force(acl, protocol, src, sport, dst, dport, code) == expected


def _built(node) -> int:
    """How many inner nodes of the tree are built (_Pending subtrees not counted; a leaf is
    the bucket its parent made, nothing to build)."""
    if node is None or node.__class__ is not _Node:
        return 0
    return 1 + sum(_built(child) for child in node.children) + _built(node.wild)


def _build_all(node):
    if node.__class__ is _Pending:
        node = node.build()
    if node.__class__ is _Node:
        node.children = [None if c is None else _build_all(c) for c in node.children]
        node.wild = None if node.wild is None else _build_all(node.wild)
    return node


WIDE_ACL = "".join(f"access-list acl extended permit tcp 10.{i % 7}.{i // 250}.0 255.255.255.0 "
                   f"host 172.16.{i // 250}.{i % 250} eq {1000 + i % 50}\n" for i in range(5000))


# 20 rules per server: each server's rules a subtree of the destination split
SERVERS_ACL = "".join(f"access-list acl extended permit tcp 10.{i % 20}.0.0 255.255.0.0 "
                      f"host 172.16.{i // 5000}.{i // 20 % 250} eq {1000 + i % 7}\n"
                      for i in range(5000))


def test_an_index_builds_only_the_subtrees_its_lookups_reach():
    matcher = AclMatcher(firewall(SERVERS_ACL).acls["acl"])
    before = _built(matcher.index)
    matcher.first_match(6, 4, int(ipaddress.ip_address("10.3.5.9")), 5000, 4,
                        int(ipaddress.ip_address("172.16.0.5")), 1003)
    after = _built(matcher.index)
    assert before == 1
    assert before < after < _built(_build_all(matcher.index)) // 10


def test_a_lazily_built_index_answers_as_the_fully_built_one():
    acl = firewall(WIDE_ACL).acls["acl"]
    lazy, full = AclMatcher(acl), AclMatcher(acl)
    full.index = _build_all(full.index)
    # flows near rule r's: another source network, destination or port now and then
    flows = [(6, 4, int(ipaddress.ip_address(f"10.{r % 7 + (i % 5 == 0)}.{r // 250}.9")), 5000,
              4, int(ipaddress.ip_address(f"172.16.{r // 250}.{r % 250 + (i % 7 == 0)}")),
              1000 + r % 50 + (i % 11 == 0))
             for i, r in enumerate(range(0, 5000, 2))]
    answers = [lazy.first_match(*flow) for flow in flows]
    assert answers == [full.first_match(*flow) for flow in flows]
    assert sum(hit is not None for hit in answers) > 100
