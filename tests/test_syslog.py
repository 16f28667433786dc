"""Log lines as devices and relays write them: direction, real vs mapped, headers, categories."""
import ipaddress
import random

import pytest
from conftest import built

from ruleset_analysis.asa.syslog import (
    ACL_LOG_NO_HITS,
    MALFORMED,
    NOT_RELEVANT,
    UNRECOGNIZED,
    LogParser,
    header_device,
)

parse = LogParser(2014).parse


def test_inbound_for_side_is_the_initiator():
    c = parse(built("inbound", "TCP", "outside:198.51.100.7/51234",
                    "dmz:172.16.1.10/443 (203.0.113.10/443)"))
    assert (c.ingress, c.source, c.source_port) == ("outside", "198.51.100.7", 51234)
    assert (c.egress, c.destination, c.destination_port) == ("dmz", "172.16.1.10", 443)


def test_outbound_to_side_is_the_initiator():
    c = parse(built("outbound", "TCP", "outside:93.184.216.34/80",
                    "inside:10.1.1.5/51000 (203.0.113.2/40001)"))
    assert (c.ingress, c.source, c.source_port) == ("inside", "10.1.1.5", 51000)
    assert (c.egress, c.destination, c.destination_port) == ("outside", "93.184.216.34", 80)
    assert c.direction == "outbound"


def test_real_addresses_are_the_ones_before_the_parentheses():
    c = parse(built("inbound", "TCP", "outside:198.51.100.7/51234",
                    "dmz:172.16.1.10/443 (203.0.113.10/443)"))
    assert c.destination == "172.16.1.10" and c.mapped_destination == "203.0.113.10"


def test_udp_and_protocol_is_lowercase():
    c = parse(built("outbound", "UDP", "outside:192.0.2.53/53", "inside:10.1.1.5/5353"))
    assert (c.protocol, c.destination_port) == ("udp", 53)


@pytest.mark.parametrize("line, device, timestamp", [
    ("Jan  4 11:24:56 fw01 %ASA-6-302013: ", "fw01", "2014-01-04 11:24:56"),
    ("Jan 04 2015 11:24:56 fw01 : %ASA-6-302013: ", "fw01", "2015-01-04 11:24:56"),
    ("<166>Jan 04 2015 11:24:56: %ASA-6-302013: ", None, "2015-01-04 11:24:56"),
    ("2015-01-04T11:24:56+01:00 fw01 %ASA-6-302013: ", "fw01", "2015-01-04 11:24:56"),
    ("Jan  4 11:24:58 10.0.0.1 Jan 04 2015 11:24:56 fw01 : %ASA-6-302013: ", "fw01",
     "2015-01-04 11:24:56"),
    ("Oct 10 2018 12:34:56 localhost CiscoASA[999]: %FTD-6-302013: ", "localhost",
     "2018-10-10 12:34:56"),
    ("May  5 17:51:17 dev01: %FWSM-6-302013: ", "dev01", "2014-05-05 17:51:17"),
])
def test_header_variants_give_device_and_the_firewalls_own_timestamp(line, device, timestamp):
    body = ("Built inbound TCP connection 1 for outside:192.0.2.1/1000 (192.0.2.1/1000) "
            "to inside:10.0.0.1/80 (10.0.0.1/80)")
    c = parse(line + body)
    assert (c.firewall, c.timestamp) == (device, timestamp)


def test_year_less_lines_take_the_given_year():
    line = built("inbound", "TCP", "outside:192.0.2.1/1000", "inside:10.0.0.1/80",
                 when="Dec 31 23:59:59")
    assert LogParser(2013).parse(line).timestamp == "2013-12-31 23:59:59"


def test_identity_fields_after_the_mapped_address_are_skipped():
    line = ("Jun 21 2022 11:47:08: %ASA-6-302015: Built inbound UDP connection 7 for "
            "outside:81.2.69.142/3424 (81.2.69.142/3424)(LOCAL\\alice, 123) to "
            "inside:89.160.20.112/9803 (89.160.20.112/9803) (bob)")
    c = parse(line)
    assert (c.source, c.destination, c.destination_port) == ("81.2.69.142", "89.160.20.112",
                                                             9803)


def test_ipv6_addresses_and_interface_names_with_punctuation():
    line = ("Jun 06 2014 14:47:35 fw01 : %ASA-6-302013: Built inbound TCP connection 9 for "
            "out-side_1.2:2001:db8::1/51000 (2001:db8::1/51000) to in.side:2001:db8:1::5/443 "
            "(2001:db8:1::5/443)")
    c = parse(line)
    assert (c.ingress, c.source, c.egress, c.destination) == (
        "out-side_1.2", "2001:db8::1", "in.side", "2001:db8:1::5")


@pytest.mark.parametrize("line, category", [
    ("garbage", UNRECOGNIZED),
    ("", UNRECOGNIZED),
    ("Jun 06 2014 14:47:35 fw01 : %ASA-6-302014: Teardown TCP connection 1 for "
     "outside:1.2.3.4/80 to inside:10.0.0.1/1000 duration 0:00:01 bytes 1 TCP FINs",
     NOT_RELEVANT),
    ("Jun 06 2014 14:47:35 fw01 : %ASA-6-302013: Built inbound TCP connection 1 for "
     "outside:1.2.3.4/80 to inside:", MALFORMED),
    ("Jun 06 2014 14:47:35 fw01 : %ASA-4-106023: Deny tcp src outside:1.2.3.4/5 by "
     "access-group", MALFORMED),
])
def test_every_other_line_gets_a_category(line, category):
    assert parse(line) == category


def test_an_icmp_line_without_type_is_a_connection_that_cannot_be_matched():
    connection = parse("Jun 06 2014 14:47:35 fw01 : %ASA-6-302020: Built inbound ICMP "
                       "connection for faddr 192.0.2.1/1 gaddr 203.0.113.10/0 laddr "
                       "172.16.1.10/0")
    assert (connection.kind, connection.firewall, connection.timestamp) == (
        "icmp_untyped", "fw01", "2014-06-06 14:47:35")


def test_a_connection_line_without_a_time_is_still_a_connection():
    connection = parse("LOCAL4.WARNING: fw-1 %ASA-4-106023: Deny udp src outside:10.8.1.9/54864 "
                       "dst inside:172.16.1.3/53 by access-group \"outside_acl\" [0x0, 0x0]")
    assert (connection.kind, connection.firewall, connection.timestamp) == (
        "acl_deny", "fw-1", None)


def test_an_acl_log_line_with_no_new_hits_is_its_own_category():
    assert parse("Jun 06 2014 14:47:35 fw01 : %ASA-6-106100: access-list outside_in permitted "
                 "tcp outside/198.51.100.7(51000) -> dmz/172.16.1.10(8443) hit-cnt 0 "
                 "300-second interval [0x1, 0x0]") == ACL_LOG_NO_HITS


def test_device_is_none_when_the_header_ends_with_a_time():
    assert header_device("<166>Jan 04 2015 11:24:56:") is None


@pytest.mark.parametrize("seed", range(30))
def test_lines_read_a_chunk_at_a_time_are_the_lines_read_one_at_a_time(monkeypatch, seed):
    import io

    from ruleset_analysis.asa import syslog
    # small chunks and bound: lines, CRs, bad UTF-8 and overlong lines cross every boundary
    monkeypatch.setattr(syslog, "READ_CHUNK", 7)
    monkeypatch.setattr(syslog, "MAX_LINE_BYTES", 12)
    rng = random.Random(seed)
    pieces = [b"\n", b"\r", b"\r\n", b"a", b"Built ", "é".encode(), b"\xff", b"x" * 13,
              b"y" * 12, b"z" * 30]
    data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 60)))
    one_at_a_time = [syslog.decode_line(raw) for raw in syslog.capped_lines(io.BytesIO(data))]
    assert list(syslog.log_lines(io.BytesIO(data))) == one_at_a_time


def test_an_endpoints_address_is_what_ipaddress_reads_the_dotted_quads_checked_in_c_first():
    from ruleset_analysis.asa.syslog import _is_ip

    def reads(text):
        try:
            ipaddress.ip_address(text)
            return True
        except ValueError:
            return False
    tricky = ["10.1.2.3", "010.1.2.3", "10.1.2", "10.1.2.3.4", "256.1.1.1", " 10.1.2.3",
              "10.1.2.3 ", "0x0a.1.2.3", "10.1.2.3\x00", "", "10..2.3", "+10.1.2.3",
              "10.1.2.3%eth0", "0.0.0.0", "255.255.255.255", "2001:db8::1", "fe80::1%eth0",
              "::ffff:10.1.2.3", "2001:db8::1::2", "outside", "١٠.1.2.3"]
    assert [_is_ip(text) for text in tricky] == [reads(text) for text in tricky]
