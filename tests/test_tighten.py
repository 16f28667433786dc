"""Tightening suggestions cover exactly the observed traffic of broad ACEs."""
from conftest import firewall

from ruleset_analysis.report.tighten import is_broad, suggest


def ace_of(text, definitions=""):
    return firewall(definitions + f"access-list in extended {text}\n").acls["in"].entries[0]


def record(*connections, omitted=0):
    rows = [[proto, src, dst, port, 1, "a", "b"] for proto, src, dst, port in connections]
    found = {"connections": rows}
    if omitted:
        found["omitted_connections"] = omitted
    return found


def test_only_broad_aces_get_suggestions():
    assert is_broad(ace_of("permit tcp any host 10.0.0.1 eq 80"))
    assert is_broad(ace_of("permit ip host 10.0.0.2 host 10.0.0.1"))
    assert is_broad(ace_of("permit tcp host 10.0.0.2 host 10.0.0.1 range 1 1024"))
    assert is_broad(ace_of("permit tcp 10.0.0.0 255.255.0.0 host 10.0.0.1 eq 80"))
    assert not is_broad(ace_of("permit tcp 10.0.0.0 255.255.255.0 host 10.0.0.1 eq 80"))
    assert suggest(ace_of("permit tcp host 10.0.0.2 host 10.0.0.1 eq 80"),
                   record(("tcp", "10.0.0.2", "10.0.0.1", 80))) is None


def test_addresses_merge_exactly_and_ports_join_into_ranges():
    found = suggest(ace_of("permit ip any any"), record(
        ("tcp", "10.0.0.0", "192.0.2.1", 8080), ("tcp", "10.0.0.1", "192.0.2.1", 8080),
        ("tcp", "10.0.0.0", "192.0.2.1", 8081), ("tcp", "10.0.0.1", "192.0.2.1", 8081),
        ("udp", "10.0.0.7", "192.0.2.53", 53)))
    assert found.lines == [
        "access-list in extended permit tcp 10.0.0.0 255.255.255.254 host 192.0.2.1 "
        "range 8080 8081",
        "access-list in extended permit udp host 10.0.0.7 host 192.0.2.53 eq 53"]
    assert found.complete


def test_too_many_lines_keep_the_aces_own_value_for_the_busier_field():
    clients = [("udp", f"10.1.{n}.9", "192.0.2.123", 123) for n in range(0, 40, 3)]
    found = suggest(ace_of("permit udp 10.1.0.0 255.255.0.0 any eq ntp"), record(*clients))
    assert found.lines == [
        "access-list in extended permit udp 10.1.0.0 255.255.0.0 host 192.0.2.123 eq 123"]
    assert found.widened == ["source"]


def test_a_suggestion_from_truncated_connections_says_it_is_incomplete():
    found = suggest(ace_of("permit tcp any any"), record(("tcp", "10.0.0.1", "10.0.0.2", 22),
                                                         omitted=5))
    assert not found.complete


def with_services(found, *services, hits_in_neither=0):
    rows = [[proto, dst, port, hits, "a", "b"] for proto, dst, port, hits in services]
    return dict(found, services=rows,
                omitted_hits=sum(s[3] for s in services) + hits_in_neither)


def test_connections_known_by_their_service_keep_the_aces_sources_and_complete_it():
    found = suggest(ace_of("permit tcp any any"), with_services(
        record(("tcp", "198.51.100.7", "192.0.2.10", 443), omitted=900),
        ("tcp", "192.0.2.10", 443, 800), ("tcp", "192.0.2.11", 443, 100)))
    assert found.lines == [
        "access-list in extended permit tcp any 192.0.2.10 255.255.255.254 eq 443"]
    assert found.widened == ["source"] and found.complete


def test_hits_in_no_kept_service_leave_the_suggestion_incomplete():
    found = suggest(ace_of("permit tcp any any"), with_services(
        record(("tcp", "198.51.100.7", "192.0.2.10", 443), omitted=900),
        ("tcp", "192.0.2.10", 443, 800), hits_in_neither=3))
    assert not found.complete
