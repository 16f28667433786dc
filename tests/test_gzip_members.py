"""GzipMembers (report/lines.py) reads a gzip file as gzip.open does, checked against it by
enumeration: members joined as `cat` joins rotated logs, zero padding, and what must stop a
read (a member cut short, a wrong checksum, bytes after a member that are not one)."""
import gzip
import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruleset_analysis.report.lines import BROKEN, GZIP_INPUT, GzipMembers


def _lines(seed: int, count: int) -> bytes:
    rng = random.Random(seed)
    return b"".join(f"Jun 01 2014 00:00:{n % 60:02d} fw : %ASA-6-302013: Built inbound TCP "
                    f"connection {rng.getrandbits(32)}\n".encode() for n in range(count))


def _read(reader, size: int) -> tuple:
    """(what was read, the exception that stopped the read or None), ``size`` a step."""
    out = []
    try:
        while True:
            piece = reader.read1(size)
            if not piece:
                return b"".join(out), None
            assert len(piece) <= size
            out.append(piece)
    except BROKEN as exc:
        return b"".join(out), exc


def _both(packed: bytes, size: int = 1 << 16) -> tuple:
    """What GzipMembers and gzip.open read of ``packed`` (each: bytes, error or None)."""
    return (_read(GzipMembers(io.BytesIO(packed)), size),
            _read(gzip.open(io.BytesIO(packed), "rb"), size))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1500), st.integers(0, 3)), min_size=1, max_size=4),
       st.sampled_from([97, 4096, 1 << 16]))
def test_joined_members_and_zero_padding_are_read_as_gzip_reads_them(members, size):
    packed = b"".join(gzip.compress(_lines(n, count)) + b"\0" * pad
                      for n, (count, pad) in enumerate(members))
    (ours, our_error), (theirs, their_error) = _both(packed, size)
    assert our_error is None and their_error is None
    assert ours == theirs == b"".join(_lines(n, count) for n, (count, _) in enumerate(members))


def test_a_member_boundary_inside_a_read_starts_the_next_member_there():
    first, second = gzip.compress(_lines(1, 5000)), gzip.compress(_lines(2, 5000))
    assert len(first) > GZIP_INPUT          # the boundary lies past the first read
    (ours, error), _ = _both(first + second)
    assert error is None and ours == _lines(1, 5000) + _lines(2, 5000)


@pytest.mark.parametrize("cut", [1, 5, 11, 300, -9, -1])
def test_a_member_cut_short_stops_the_read_with_an_error_after_what_it_held(cut):
    whole = gzip.compress(_lines(3, 2000))
    packed = gzip.compress(_lines(4, 10)) + whole[:cut if cut > 0 else len(whole) + cut]
    (ours, our_error), (theirs, their_error) = _both(packed)
    assert isinstance(our_error, EOFError) and their_error is not None
    assert ours == theirs and ours.startswith(_lines(4, 10))


def test_a_wrong_checksum_stops_the_read_with_an_error():
    packed = bytearray(gzip.compress(_lines(5, 100)))
    packed[-6] ^= 1                         # the CRC-32 in the trailer
    (_, our_error), (_, their_error) = _both(bytes(packed))
    assert our_error is not None and their_error is not None


@pytest.mark.parametrize("after", [b"garbage", b"\0\0\0junk", b"\x1f\x8b\x08"])
def test_bytes_after_a_member_that_are_not_a_whole_member_stop_the_read_with_an_error(after):
    packed = gzip.compress(_lines(6, 100)) + after
    (ours, our_error), (theirs, their_error) = _both(packed)
    assert our_error is not None and their_error is not None
    assert ours == theirs == _lines(6, 100)


def test_a_step_is_bounded_however_much_its_input_inflates_to():
    bomb = gzip.compress(b"\0" * (16 << 20), 9)        # 16 MiB of zeros in ~16 KiB
    reader = GzipMembers(io.BytesIO(bomb))
    sizes = [len(reader.read1(1 << 16)) for _ in range(50)]
    assert max(sizes) <= 1 << 16 and sum(sizes) == 50 << 16
