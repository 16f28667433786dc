"""Shadowed and redundant ACEs agree with exhaustive enumeration of packets."""
from itertools import product

from conftest import firewall
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleset_analysis.matcher import I_HIT, compile_rules
from ruleset_analysis.shadowing import _boxes, analyse_acl


def test_an_ace_covered_by_several_earlier_aces_together_is_shadowed():
    fw = firewall("""access-list a extended permit tcp 10.0.0.0 255.255.255.128 any eq 80
access-list a extended permit tcp 10.0.0.128 255.255.255.128 any
access-list a extended permit tcp 10.0.0.0 255.255.255.0 any eq 80
""")
    assert analyse_acl(fw.acls["a"], True)[3] == {"shadowed_by": [1, 2]}


def test_an_ace_whose_packets_later_aces_decide_alike_is_redundant():
    fw = firewall("""access-list a extended permit tcp host 10.9.9.9 any eq 22
access-list a extended deny tcp any any eq 23
access-list a extended permit tcp 10.9.9.0 255.255.255.0 any eq 22
access-list a extended deny ip any any log
""")
    result = analyse_acl(fw.acls["a"], True)
    assert result[1] == {"redundant_with": [3]}
    assert result[2] == {"redundant_with": [4]}          # the final deny decides alike
    assert result[4] == {"redundant_with": ["implicit deny"]}
    assert 3 not in result


def test_a_final_deny_is_needed_when_a_global_acl_follows():
    fw = firewall("access-list a extended permit tcp any any eq 80\n"
                  "access-list a extended deny ip any any\n")
    assert analyse_acl(fw.acls["a"], falls_to_deny=False) == {}


def test_unparsed_and_fqdn_aces_are_not_guessed():
    fw = firewall("""object network f
 fqdn www.example.com
access-list a extended permit tcp any object f eq 443
access-list b extended permit tcp any any eq 80
access-list b extended permit tcp any any frobnicate
""")
    assert analyse_acl(fw.acls["a"], True)[1] == {
        "not_analysed": "uses addresses not in the config (fqdn, DHCP/PPPoE interface)"}
    assert "unparsed" in analyse_acl(fw.acls["b"], True)[1]["not_analysed"]


HOSTS = ["host 10.0.0.1", "host 10.0.0.2", "10.0.0.0 255.255.255.252", "any",
         "10.0.0.0 255.255.255.0"]
PORTS = ["", " eq 22", " eq 80", " range 20 80", " gt 1023", " neq 80"]


@st.composite
def acl_lines(draw):
    lines = []
    for _ in range(draw(st.integers(1, 9))):
        action = draw(st.sampled_from(["permit", "deny"]))
        protocol = draw(st.sampled_from(["tcp", "udp", "ip", "icmp"]))
        src, dst = draw(st.sampled_from(HOSTS)), draw(st.sampled_from(HOSTS))
        port = draw(st.sampled_from(PORTS)) if protocol in ("tcp", "udp") else ""
        sport = draw(st.sampled_from(["", " eq 53"])) if protocol in ("tcp", "udp") else ""
        icmp = draw(st.sampled_from(["", " echo", " unreachable 3"])) if protocol == "icmp" \
            else ""
        lines.append(f"access-list a extended {action} {protocol} {src}{sport} {dst}{port}{icmp}")
    return "\n".join(lines) + "\n"


def representatives(boxes):
    """One point in every elementary interval of every dimension: a finite packet set that
    tells apart everything these boxes can."""
    points = []
    for d in range(6):
        cuts = sorted({b[d][0] for b in boxes} | {b[d][1] + 1 for b in boxes})
        points.append(cuts[:-1] or [0])
    return product(*points)


def inside(packet, box):
    return all(lo <= value <= hi for value, (lo, hi) in zip(packet, box))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acl_lines(), st.booleans())
def test_shadowed_and_redundant_agree_with_exhaustive_enumeration(config, falls_to_deny):
    acl = firewall(config).acls["a"]
    aces = [a for a in acl.entries if a.matchable]
    boxes = {a.line: [] for a in aces}
    for rule in compile_rules(acl):
        boxes[rule[I_HIT].ace_line].extend(_boxes(rule))
    actions = {a.line: a.action for a in aces}
    order = [a.line for a in aces]
    everything = [box for found in boxes.values() for box in found]
    first_hits = {line: [] for line in order}
    verdict_without = {line: set() for line in order}
    for packet in representatives(everything):
        matching = [line for line in order if any(inside(packet, b) for b in boxes[line])]
        if not matching:
            continue
        first = matching[0]
        first_hits[first].append(packet)
        after = matching[1] if len(matching) > 1 else None
        verdict_without[first].add(actions[after] if after else
                                   ("deny" if falls_to_deny else "fall through"))
    result = analyse_acl(acl, falls_to_deny)
    for line in order:
        shadowed = not first_hits[line]
        assert ("shadowed_by" in result.get(line, {})) == shadowed, (line, config)
        redundant = not shadowed and verdict_without[line] == {actions[line]}
        assert ("redundant_with" in result.get(line, {})) == redundant, (line, config)
