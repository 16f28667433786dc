"""Shadowed and redundant ACEs agree with exhaustive enumeration of packets."""
import json
import re

from conftest import firewall
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleset_analysis.aggregate import LineAnalyzer
from ruleset_analysis.matcher import (
    I_DST_HI,
    I_DST_LO,
    I_EXTRA,
    I_PROTO_HI,
    I_PROTO_LO,
    I_SRC_HI,
    I_SRC_LO,
    NOTHING,
    X_ACE,
    X_CODE,
    X_DPORTS,
    X_SPORTS,
    compile_rules,
)
from ruleset_analysis.records import collect, read_results
from ruleset_analysis.report import Filters
from ruleset_analysis.report.build import make_report
from ruleset_analysis.report.render import render_report
from ruleset_analysis.shadowing import (
    CODE_SPACE,
    FULL_PORTS,
    _boxes_of,
    _dimensions,
    _factors_by_position,
    _intersects,
    _meeting,
    _parts,
    _positions,
    analyse_acl,
)


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
         "10.0.0.0 255.255.255.0", "object-group g1", "object-group g2"]
PORTS = ["", " eq 22", " eq 80", " range 20 80", " gt 1023", " neq 80", " object-group s1"]
# Groups make an ACE's boxes a product of several sources, destinations and services.
GROUPS = """object-group network g1
 network-object host 10.0.0.1
 network-object 10.0.0.4 255.255.255.252
object-group network g2
 network-object host 10.0.0.2
 network-object host 10.0.0.5
 network-object 10.0.0.128 255.255.255.128
object-group service s1 tcp-udp
 port-object eq 22
 port-object range 80 81
object-group service m1
 service-object tcp destination eq 80
 service-object udp destination eq 53
 service-object icmp echo
"""


@st.composite
def acl_lines(draw, most=9):
    lines = []
    for _ in range(draw(st.integers(1, most))):
        action = draw(st.sampled_from(["permit", "deny"]))
        protocol = draw(st.sampled_from(["tcp", "udp", "ip", "icmp", "object-group m1"]))
        src, dst = draw(st.sampled_from(HOSTS)), draw(st.sampled_from(HOSTS))
        port = draw(st.sampled_from(PORTS)) if protocol in ("tcp", "udp") else ""
        sport = draw(st.sampled_from(["", " eq 53"])) if protocol in ("tcp", "udp") else ""
        icmp = draw(st.sampled_from(["", " echo", " unreachable 3"])) if protocol == "icmp" \
            else ""
        lines.append(f"access-list a extended {action} {protocol} {src}{sport} {dst}{port}{icmp}")
    return GROUPS + "\n".join(lines) + "\n"


def rule_boxes(rule) -> list:
    """A compiled rule's boxes (protocol, source, source port, destination, destination port,
    code), from its flat tuple: the reference the analysis's own are checked against."""
    source, destination = (rule[I_SRC_LO], rule[I_SRC_HI]), (rule[I_DST_LO], rule[I_DST_HI])
    if source == NOTHING or destination == NOTHING:
        return []
    extra = rule[I_EXTRA]
    code = CODE_SPACE if extra[X_CODE] is None else (extra[X_CODE], extra[X_CODE])
    return [((rule[I_PROTO_LO], rule[I_PROTO_HI]), source, sport, destination, dport, code)
            for sport in (extra[X_SPORTS] or FULL_PORTS)
            for dport in (extra[X_DPORTS] or FULL_PORTS)]


def boxes_by_line(acl) -> dict:
    """{ACE line: its compiled rules' boxes, in rule order} of the matchable ACEs."""
    boxes = {a.line: [] for a in acl.entries if a.matchable}
    for rule in compile_rules(acl):
        boxes[rule[I_EXTRA][X_ACE][1]].extend(rule_boxes(rule))
    return boxes


def packet_classes(boxes):
    """The boxes holding each packet of a finite set that tells apart everything these boxes
    can — one point in every elementary interval of every dimension — as bit masks (bit i: box
    i holds it); packets no box holds are left out."""
    per_dimension = []
    for d in range(6):
        cuts = sorted({b[d][0] for b in boxes} | {b[d][1] + 1 for b in boxes})
        per_dimension.append([sum(1 << i for i, b in enumerate(boxes) if b[d][0] <= v <= b[d][1])
                              for v in cuts[:-1]])

    def walk(d, mask):
        if not mask:
            return
        if d == 6:
            yield mask
            return
        for held in per_dimension[d]:
            yield from walk(d + 1, mask & held)
    return walk(0, (1 << len(boxes)) - 1)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acl_lines(), st.booleans())
def test_shadowed_and_redundant_agree_with_exhaustive_enumeration(config, falls_to_deny):
    acl = firewall(config).acls["a"]
    aces = [a for a in acl.entries if a.matchable]
    boxes = boxes_by_line(acl)
    actions = {a.line: a.action for a in aces}
    order = [a.line for a in aces]
    everything, owner_mask = [], {}
    for line in order:
        owner_mask[line] = sum(1 << (len(everything) + i) for i in range(len(boxes[line])))
        everything += boxes[line]
    first_hits = {line: 0 for line in order}
    verdict_without = {line: set() for line in order}
    for holding in packet_classes(everything):
        matching = [line for line in order if holding & owner_mask[line]]
        first = matching[0]
        first_hits[first] += 1
        after = matching[1] if len(matching) > 1 else None
        verdict_without[first].add(actions[after] if after else
                                   ("deny" if falls_to_deny else "fall through"))
    result = analyse_acl(acl, falls_to_deny)
    for line in order:
        shadowed = not first_hits[line]
        assert ("shadowed_by" in result.get(line, {})) == shadowed, (line, config)
        redundant = not shadowed and verdict_without[line] == {actions[line]}
        assert ("redundant_with" in result.get(line, {})) == redundant, (line, config)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acl_lines(most=40))
def test_the_index_finds_exactly_the_aces_whose_boxes_meet_an_aces_own(config):
    acl = firewall(config).acls["a"]
    factors = _factors_by_position(acl, [a for a in acl.entries if a.matchable])
    boxes = {p: _boxes_of(found) for p, found in factors.items()}
    parts = _parts(factors)
    dimensions = _dimensions(parts)
    for position in parts:
        assert _meeting(parts[position], dimensions, parts) == {
            other for other in parts
            if any(_intersects(a, b) for a in boxes[position] for b in boxes[other])}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acl_lines(most=40))
def test_an_aces_boxes_made_from_its_factors_are_its_compiled_rules_boxes_in_order(config):
    acl = firewall(config).acls["a"]
    aces = [a for a in acl.entries if a.matchable]
    factors = _factors_by_position(acl, aces)
    expected = boxes_by_line(acl)
    assert {aces[p].line: _boxes_of(found) for p, found in factors.items()} == \
        {line: found for line, found in expected.items() if found}


@given(st.sets(st.integers(0, 600), max_size=400))
def test_a_masks_positions_are_its_set_bits_however_many(positions):
    assert _positions(sum(1 << p for p in positions)) == positions


def test_a_later_ace_with_unknown_addresses_and_another_action_blocks_a_redundancy_claim():
    # The fqdn's addresses may include 10.0.0.1: without line 1, its packets could be denied.
    fw = firewall("""object network f
 fqdn www.example.com
access-list a extended permit tcp host 10.0.0.1 any eq 80
access-list a extended deny ip any object f
access-list a extended permit ip any any
""")
    result = analyse_acl(fw.acls["a"], True)
    assert 1 not in result
    assert "not_analysed" in result[2]


COVERED = """access-list a extended permit tcp 10.0.0.0 255.255.255.128 any eq 80
access-list a extended permit tcp 10.0.0.128 255.255.255.128 any
access-list a extended permit tcp 10.0.0.0 255.255.255.0 any eq 80
access-group a in interface inside
"""


def covered_report(**filters):
    firewalls = {"fw01": firewall(COVERED)}
    return make_report(firewalls, collect(LineAnalyzer(firewalls, "2014").finish()),
                       filters=Filters(**filters))


def test_no_shadowing_skips_the_analysis_and_says_so_for_each_ace():
    analysed = next(r for r in covered_report().rules if r.line == 3)
    skipped = next(r for r in covered_report(shadowing=False).rules if r.line == 3)
    assert analysed.shadowed_by == [1, 2] and analysed.shadowing_not_analysed is None
    assert skipped.shadowed_by == [] and skipped.redundant_with == []
    assert skipped.shadowing_not_analysed == "skipped (--no-shadowing)"


def test_the_reports_time_counts_from_when_its_caller_began_loading_for_it(tmp_path):
    # analyze and report load the ruleset and the results for it: seconds at a million rules
    import io
    import time
    results = tmp_path / "results"
    results.write_text("")
    shown = io.StringIO()
    pieces, _ = render_report({"fw01": firewall(COVERED)}, read_results([str(results)]), "text",
                              10, Filters(), shown, started=time.monotonic() - 100)
    "".join(pieces)
    assert re.fullmatch(r"report: 100\.\d s \(shadowing \d+\.\d s\)\n", shown.getvalue())


def test_the_report_says_it_has_begun_on_a_line_of_its_own_before_its_time(tmp_path):
    # at a million rules, seconds of silence after "reduce: …" else; a line of its own: the
    # report may go to the same terminal
    import io

    from ruleset_analysis.cli import write_report
    from ruleset_analysis.database import save_firewalls
    db = str(tmp_path / "accesslists.db")
    save_firewalls(db, [firewall(COVERED)])
    results = tmp_path / "results"
    results.write_text("")
    shown = io.StringIO()
    write_report(str(tmp_path / "report.txt"), db, lambda: read_results([str(results)]),
                 "text", 10, Filters(), shown)
    assert re.fullmatch(r"report: making it …\nreport: \d+\.\d s \(shadowing \d+\.\d s\)\n",
                        shown.getvalue())


def test_the_reports_time_and_its_shadowings_go_to_the_progress_stream_not_the_report(
        tmp_path):
    import io
    results = tmp_path / "results"
    results.write_text("")
    shown = io.StringIO()
    pieces, _ = render_report({"fw01": firewall(COVERED)}, read_results([str(results)]), "json",
                              10, Filters(), shown)
    text = "".join(pieces)
    assert re.fullmatch(r"report: \d+\.\d s \(shadowing \d+\.\d s\)\n", shown.getvalue())
    assert "seconds" not in json.loads(text) and "shadowing" not in json.loads(text)
