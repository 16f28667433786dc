"""``parse-log``: how each log line is read and, with a database, what the job makes of it."""
from __future__ import annotations

import bz2
import importlib
import io
import lzma
import os
import stat
import zlib
from typing import Any, Callable, Dict, Iterator, Optional

from zlib_ng import zlib_ng

from ..asa.syslog import READ_BUFFER, LogParser, log_lines
from ..options import DEFAULTS, JobOptions
from .text import COUNTER_HELP


class LogError(OSError):
    """A log that cannot be read to its end; the message names the file and line."""


# What a file holds, by its first bytes; read: plain, gzip, bzip2, xz and (with Python 3.14 or
# the zstd extra) zstd. The others are known so that they are said to be unread, not read as
# lines of garbage.
MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"),
         (b"\x28\xb5\x2f\xfd", "zstd"), (b"\x04\x22\x4d\x18", "lz4"), (b"PK\x03\x04", "zip"),
         (b"7z\xbc\xaf\x27\x1c", "7z"))
# A tar archive's first block: "ustar" at 257, and a checksum of the block at 148 (so that a
# log that happens to hold "ustar" there is still a log).
TAR_BLOCK = 512
NAMED = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd", ".lz4": "lz4",
         ".zip": "zip", ".7z": "7z"}
# What reading a broken archive raises (gzip: EOFError, zlib_ng.error; bzip2: OSError,
# EOFError; xz: EOFError, lzma.LZMAError; zstd: EOFError, ZstdError).
BROKEN: tuple = (EOFError, OSError, zlib.error, lzma.LZMAError, zlib_ng.error)
# Compressed bytes read at a time: ~53 KB of a log's lines, a step's output (a read's size
# bounds it). 250,000 lines read in 0.055 s so, 0.060 in 32 KB pieces (plain: 0.043).
GZIP_INPUT = 1 << 12


class GzipMembers:
    """A gzip file's members one after another, as gzip.open reads them (zeros after a
    member are padding; anything else must be a member), inflated by zlib-ng: 0.037 s for
    the 44 MB of 250,000 lines, zlib 0.084 (the mapper over two such gzipped logs: 1.48 s,
    1.57 through gzip.open; ISA-L, faster alone, 1.63: the rest ran slower beside it). Each
    step gives what it inflated before the next is read, so where the archive breaks every
    line before the break has been given (zlib-ng's and ISA-L's own readers lose ~150 KB
    there). Its own read1 and context: no buffer between it and log_chunks."""

    def __init__(self, source, mode: str = "rb"):     # (mode: as OPENERS are called)
        self.mine = not hasattr(source, "read")
        self.raw = open(source, "rb") if self.mine else source
        self.member: Any = None     # the member being inflated; None: between members
        self.pending = b""          # bytes read and not yet inflated
        self.held: Optional[bytes] = None   # of a member cut short, what it held

    def read1(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of what the next step inflates (b"": the end)."""
        size = size if size > 0 else GZIP_INPUT * 8
        while True:
            member = self.member
            if member is None:
                data = self.pending or self.raw.read(GZIP_INPUT)
                if not data:
                    return b""              # the end, between members
                self.pending = data.lstrip(b"\0")
                if not self.pending:
                    continue                # padding
                member = self.member = zlib_ng.decompressobj(31)
            data = member.unconsumed_tail or self.pending or self.raw.read(GZIP_INPUT)
            self.pending = b""
            if not data:            # cut short: first what it holds of the input it took
                if self.held is None:
                    self.held = member.flush()
                if self.held:
                    out, self.held = self.held[:size], self.held[size:]
                    return out
                raise EOFError("Compressed file ended before the end-of-stream marker was "
                               "reached")
            out = member.decompress(data, size)
            if member.eof:
                self.pending, self.member = member.unused_data, None
            if out:
                return out

    def close(self) -> None:
        if self.mine:
            self.raw.close()

    def __enter__(self) -> "GzipMembers":
        return self

    def __exit__(self, *_) -> None:
        self.close()


OPENERS: Dict[str, Callable[..., Any]] = {"gzip": GzipMembers, "bzip2": bz2.open,
                                          "xz": lzma.open}


def _zstd() -> Any:
    """Python 3.14's zstd module, or its backport (the zstd extra), or None. Not the
    zstandard package: its reader ends a truncated file without an error."""
    for name in ("compression.zstd", "backports.zstd"):
        try:
            return importlib.import_module(name)
        except ImportError:
            pass
    return None


ZSTD = _zstd()
if ZSTD is not None:
    OPENERS["zstd"] = ZSTD.open
    BROKEN += (ZSTD.ZstdError,)


def misnamed(path: str, named: str, content: str) -> str:
    """The problem of a file not what its name says: read whole, by what it holds."""
    return f"{path}: named {named} but holds {content} data: read as {content}"


def lost_lines(message: str) -> bool:
    """Whether an input problem (its message) left lines unread: every one but a misnamed
    file's (``misnamed``)."""
    return " but holds " not in message


def readable(content: str) -> bool:
    """Whether a file holding ``content`` (compression's) is read."""
    return content == "plain" or content in OPENERS


def unread(path: str, content: str) -> str:
    """Why a file holding ``content``, which no runner reads, is not read."""
    if content == "stream":
        return f"{path}: holds a stream (a pipe or a device, not a file), which the job does " \
               "not read (it reads a log more than once: its kind, then its lines, in " \
               "parts): not read; save it to a file first"
    if content == "zstd":
        return f"{path}: holds zstd data, which is read with Python 3.14 or the zstd extra " \
               "(pip install 'ruleset-analysis[zstd]'), not here: not read"
    if content.startswith("tar"):
        return f"{path}: holds a tar archive{content[3:]}, whose logs are not read: " \
               "extract them first"
    return f"{path}: holds {content} data, which is not read (plain, gzip, bzip2, xz and " \
           "zstd logs are): decompress it first"


def decompressed(content: str, source) -> Any:
    """The decompressed bytes of ``source`` (a path or a binary file) holding ``content``
    (a kind OPENERS has): gzip's as GzipMembers gives them, the others' through a buffer of
    their own (BZ2File reads a line in Python code, a BufferedReader in C)."""
    if not readable(content):
        raise LogError(unread(getattr(source, "name", source), content))
    handle = OPENERS[content](source, "rb")
    if isinstance(handle, GzipMembers):
        return handle               # its reads are its steps, bounded: no buffer needed
    return io.BufferedReader(_Steps(handle), READ_BUFFER)


class _Steps(io.RawIOBase):
    """A decompressing file as a raw stream whose every read returns what one step gave
    (``read1``): where the archive breaks, the lines before the break have been returned
    (a read filling the whole buffer would lose those it had gathered)."""

    def __init__(self, handle):
        super().__init__()
        self.handle = handle

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.handle.read1(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.handle.close()
        super().close()


def compression(path: str, inside: bool = True) -> tuple:
    """(what the content is: "plain", a kind MAGIC knows, or "stream" — a pipe or a device,
    not looked into: what is read of it is gone —, what the name says), so a misnamed file
    is read by what it holds. ``inside``: what a compressed file decompresses to is looked
    at too ("gzip in gzip", "tar in gzip": not read); not where that was decided before (a
    task of a file the job took)."""
    named = next((kind for ending, kind in NAMED.items() if path.endswith(ending)), "plain")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "stream", named
        with open(path, "rb") as handle:
            head = handle.read(TAR_BLOCK)
    except OSError as exc:
        raise LogError(f"{path}: cannot read log: {exc.strerror}") from None
    content = _kind(head)
    if inside and content in OPENERS:
        inner = _kind(_decompressed_head(path, content))
        if inner != "plain":        # a .gz compressed again, a year of logs in a .tar.gz:
            return f"{inner} in {content}", named       # read, they were lines of garbage
    return content, named


def _kind(head: bytes) -> str:
    """What data beginning with ``head`` is: "plain", a kind MAGIC knows, or "tar"."""
    found = next((kind for magic, kind in MAGIC if head.startswith(magic)), "plain")
    if found == "plain" and len(head) >= TAR_BLOCK and head[257:262] == b"ustar":
        try:
            checksum = int(head[148:156].strip(b" \x00") or b"x", 8)
        except ValueError:
            return found
        if checksum == sum(head[:148]) + 8 * 32 + sum(head[156:TAR_BLOCK]):
            return "tar"
    return found


def _decompressed_head(path: str, content: str) -> bytes:
    """The first TAR_BLOCK bytes that a file holding ``content`` decompresses to (fewer at
    its end; none where it breaks before: that is said when it is read)."""
    head = b""
    try:
        with decompressed(content, path) as handle:
            while len(head) < TAR_BLOCK:
                data = handle.read1(TAR_BLOCK - len(head))
                if not data:
                    break
                head += data
    except BROKEN:
        return b""
    return head


def read_lines(path: str) -> Iterator[str]:
    """Lines of a plain or compressed log (by its content, whatever its name), decoded as the
    job decodes them (UTF-8, else Latin-1), without their line ending. A pipe (``zcat x.gz |
    … /dev/stdin``) is opened once: its first bytes, which say its kind, are read again."""
    content = compression(path)[0]
    number = 0
    try:
        source: Any = path
        if content == "stream":
            raw = open(path, "rb")
            head = raw.read(6)          # (a buffered read: till 6 bytes or the end)
            content = _kind(head)
            source = io.BufferedReader(_Prefixed(head, raw), READ_BUFFER)
        if content != "plain":
            handle = decompressed(content, source)
        else:
            handle = open(path, "rb") if source is path else source
        with handle:
            for number, line in enumerate(log_lines(handle), 1):   # noqa: B007 (the error
                yield line                                           # names it)
    except BROKEN as exc:
        if isinstance(exc, LogError):
            raise
        raise LogError(f"{path}:{number + 1}: cannot read further: {exc}") from None
    finally:
        if source is not path:
            source.close()


class _Prefixed(io.RawIOBase):
    """A stream's bytes read already (``head``), then the rest of it."""

    def __init__(self, head: bytes, rest):
        super().__init__()
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size], self.head = self.head[:size], self.head[size:]
            return size
        return self.rest.readinto(buffer)

    def close(self) -> None:
        self.rest.close()
        super().close()


def several_streams(path: str) -> bool:
    """Whether a gzip or bzip2 file holds more than one member (stream): rotated logs joined
    with cat, rsyslog's compressed output, pbzip2. mrjob's own reading stops after the first,
    silently. Decompresses the first one in bounded pieces; a file that breaks before the
    end of it is check_compressed's to report."""
    content = compression(path, inside=False)[0]
    if content not in ("gzip", "bzip2"):
        return False
    piece = 1 << 20
    with open(path, "rb") as handle:
        if content == "gzip":
            inflate = zlib.decompressobj(31)
            while not inflate.eof:
                data = inflate.unconsumed_tail or handle.read(piece)
                if not data:
                    return False
                inflate.decompress(data, piece)
            rest = inflate.unused_data
        else:
            bunzip = bz2.BZ2Decompressor()
            while not bunzip.eof:
                data = handle.read(piece) if bunzip.needs_input else b""
                if bunzip.needs_input and not data:
                    return False
                bunzip.decompress(data, piece)
            rest = bunzip.unused_data
        return bool(rest or handle.read(1))


def check_compressed(path: str) -> None:
    """Read a .gz/.bz2 log to its end, raising LogError where it breaks or when its content
    is not what its name says."""
    content, named = compression(path)
    for _ in read_lines(path):
        pass
    if content != named:
        raise LogError(misnamed(path, named, content))


# What each category means, as the text report's counters say it.
MEANINGS = dict(COUNTER_HELP, connection="a connection message (with --db: what the job "
                                         "makes of it)")


def explain(paths: list, firewalls: Optional[dict],
            options: JobOptions = DEFAULTS) -> Iterator[dict]:
    """One entry per line of ``paths``: its category (with ``firewalls``: as the job with
    ``options`` counts it, and what it credits), and the connection it carries."""
    for path in paths:
        analyzer = options.analyzer(firewalls, path) if firewalls is not None else None
        parser = LogParser(options.year)
        for number, line in enumerate(read_lines(path), 1):
            if analyzer is not None:
                category, connection, name, verdict = analyzer.classify(line)
            else:                   # parsing only: a connection, or the line's category
                connection, name, verdict = parser.parse(line), None, None
                category = connection if isinstance(connection, str) else "connection"
                if isinstance(connection, str):
                    connection = None
            entry = {"file": path, "line": number, "text": line, "category": category,
                     "meaning": MEANINGS.get(category, "")}
            if connection is not None:
                c = connection
                entry.update(kind=c.kind, device=c.firewall, timestamp=c.timestamp,
                             protocol=c.protocol, source=c.source, source_port=c.source_port,
                             source_interface=c.ingress, destination=c.destination,
                             destination_port=c.destination_port,
                             destination_interface=c.egress, direction=c.direction,
                             mapped_source=c.mapped_source,
                             mapped_destination=c.mapped_destination, acl=c.acl or None,
                             count=c.flows, icmp_code=c.icmp_code)
                if c.ace_hash:
                    entry.update(ace_hash=c.ace_hash, element_hash=c.element_hash)
            if analyzer is not None:
                entry["firewall"] = name
                entry["credited"] = [_credit(analyzer, name, hit, src, dst)
                                     for hit, src, dst in (analyzer.credited(connection, verdict)
                                                           if verdict else ())]
                if verdict is not None and verdict.against:     # first matches that
                    entry["disagrees_with"] = [                   # contradict the log
                        {"acl": hit.acl, "line": hit.ace_line, "action": hit.action}
                        for hit, _, _ in verdict.against]
                if verdict is not None and verdict.rehashed:     # the hash names another
                    entry["first_match"] = [{"acl": hit.acl, "line": hit.rule_index or None}
                                            for hit, _, _ in verdict.rehashed]
            yield entry


def _credit(analyzer, name: str, hit, source: str, destination: str) -> dict:
    """A hit as parse-log shows it: the newest revision's line and rule; an ACE that only
    older revisions had is shown by its text ("retired")."""
    if hit.retired:
        gone = analyzer.firewalls[name].history.retired[hit.ace_line]
        return {"acl": hit.acl, "line": None, "retired": gone.text, "last_line": gone.line,
                "rule": hit.rule_index, "action": hit.action, "source": source,
                "destination": destination}
    return {"acl": hit.acl, "line": hit.ace_line, "rule": hit.rule_index, "action": hit.action,
            "source": source, "destination": destination}
