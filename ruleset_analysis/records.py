"""The job's records: their kinds, their bytes on the wire, their exact merge, reading them.

Every producer (the MRJob, the mrjob-free streaming filters) writes ``KEY<TAB>VALUE`` lines,
both JSON from the standard library; the key is a string of tab-joined fields (Spark needs
hashable keys; ASA names never contain whitespace). The kinds:

  ace          FIREWALL ACL LINE  {"hits", "first", "last", "untimed",
                                   "rules": [[INDEX, HITS, FIRST, LAST]...],
                                   "connections": [[PROTO, SRC, DST, PORT, COUNT, FIRST, LAST]...],
                                   "days": {YYYY-MM-DD: HITS},
                                   "services": [[PROTO, DST, PORT, COUNT, FIRST, LAST]...],
                                   "omitted_hits", "omitted_connections", "sample_below",
                                   "service_below", "sampled"}
                                   ("untimed" only when not 0; see "Connection lists" below)
  disagreement FIREWALL ACL LINE  the same shape: messages whose verdict the ACE's first
                                   match contradicts (a deny message on a permit ACE, ...)
  rehashed     FIREWALL ACL LINE  the same shape: ACL messages whose hashes name this ACE (the
                                   one the device used, credited) while another is their first
                                   match; "rules" holds [FIRST MATCH'S LINE (0: none), ...]
  retired      FIREWALL ACL N     the same shape: hits of an ACE of an older revision that the
                                   newest lacks (N: its number in the firewall's history)
  coverage     FIREWALL           {"days", "deny_days": {YYYY-MM-DD: LINES}, "untimed",
                                   "deny_untimed", "lines": {CATEGORY: LINES},
                                   "protocols": {tcp|udp|icmp: {YYYY-MM-DD: 1}},
                                   "acl_log_days": {YYYY-MM-DD: LINES}, "acl_log_mode": 0|1}
                                   (the days with built lines, by protocol; 106100 permits
                                   and FTD events counted with --permits-from acl-log, which
                                   acl_log_mode 1 says;
                                   "before_first": lines dated before the first revision of a
                                   firewall with a history, matched against it)
  counter      NAME               lines of a category, all firewalls together
  device       DEVICE-ID          lines naming a device the database does not know
  ruleset      FIREWALL           ["FORMAT:FINGERPRINT"...] the rulesets the lines were
                                   matched against
  input_error  PATH               what could not be read (written by the CLI)

Counts add, first = min, last = max — everywhere the same functions, so every runner and the
cat-pipe give the same numbers. A time the log did not write is NO_FIRST / NO_LAST.

Connection lists are bounded (by --max-connections, the bound every task and every merge of
one job uses; CONNECTION_SAMPLE at most): an ACE keeps every distinct connection up to the
bound, and beyond that only those whose hash (``connection_hash``) is below ``sample_below``,
a threshold halved whenever the list would grow past the bound. Hits, first, last, days and
rules stay exact (a connection left out adds to ``omitted_hits``), every listed connection has
its exact count (its hash is below every threshold any task used, so every task kept it), and
the sample is a function of the set of connections alone — the same however the input is
split, on every runner: the final threshold is the largest that leaves at most the bound
listed, and no task's is lower.

The connections left out are not lost: their hits are summed per service — protocol,
destination and port — in ``services`` (what a server's ever new clients reduce to), bounded
the same way by ``service_below`` over ``service_hash``; ``omitted_hits`` counts every hit
not listed, so the hits of a service not kept are in it alone. A service is kept exactly when
the final service threshold admits it, and then holds every hit of its connections not
listed, for the same reason.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

# A record value as JSON gives it back; a record (fact) of one ACE; a key before joining.
Value = Any
Record = Dict[str, Any]
Fact = List[Any]                 # [count, first, last]
Key = Union[str, List[Any]]

RESULTS_FORMAT = 6           # bump when the meaning of a record changes (3: sampled lists;
#                              4: acl_log_mode, FTD events credited; 5: credits by hash;
#                              6: lists bounded by --max-connections in every task, services)

ACE = "ace"
DISAGREEMENT = "disagreement"
REHASHED = "rehashed"
RETIRED = "retired"
COVERAGE = "coverage"
COUNTER = "counter"
DEVICE = "device"
RULESET = "ruleset"
INPUT_ERROR = "input_error"

# Sentinels for "no time": they sort after / before every "YYYY-MM-DD HH:MM:SS".
NO_FIRST = "~"
NO_LAST = ""


# Connections listed per ACE before the list becomes a sample; --max-connections (what a report
# shows) is at most this, so every list a report shows is the exact top of its connections
# whenever the ACE had no more than this many.
CONNECTION_SAMPLE = 10_000
SAMPLE_SPACE = 1 << 32           # connection_hash values; sample_below starts here (all kept)


def service_hash(proto: str, dst: str, port: Any) -> int:
    """Which services a sampled service list keeps: a hash that is the same in every
    process."""
    return zlib.crc32(f"{proto} {dst} {port}".encode())


def connection_hash(proto: str, src: str, dst: str, port: Any) -> int:
    """Which connections a sampled list keeps: the CRC of the source continued from its
    service's, so the mapper hashes a new client of a known service by its address alone."""
    return zlib.crc32(src.encode(), service_hash(proto, dst, port))


def seen(value: Optional[str]) -> Optional[str]:
    """A first/last time as reports show it: None where the log wrote no time."""
    return None if value in (NO_FIRST, NO_LAST, None) else value


def encode(key: str, value: Value) -> str:
    """One record line, as every producer writes it."""
    return f"{json.dumps(key)}\t{json.dumps(value)}\n"


def decode(line: str) -> Tuple[Any, Value]:
    """(key, value) of one record line; ValueError if it is not one."""
    key_text, value_text = line.rstrip("\n").split("\t", 1)
    return json.loads(key_text), json.loads(value_text)


def _span(first: str, last: str, fact: Fact) -> None:
    if first < fact[1]:
        fact[1] = first
    if last > fact[2]:
        fact[2] = last


def _add(table: Dict[Any, Fact], key: Any, count: int, first: str, last: str) -> None:
    """Merge one [count, first, last] fact into ``table[key]``."""
    fact = table.get(key)
    if fact is None:
        table[key] = [count, first, last]
    else:
        fact[0] += count
        _span(first, last, fact)



def string_records(records: Iterable[Tuple[List[Any], Value]]) -> Iterator[Tuple[str, Value]]:
    """Records with their keys joined by tabs ("ace\tfw01\tinside_in\t12"): how the job
    and the streaming filters emit them (Spark needs hashable keys; ASA names never contain
    whitespace)."""
    for key, value in records:
        yield "\t".join(map(str, key)), value


def reduce_values(key: str, values: Iterable[Value], max_connections: Optional[int] = None,
                  finish: bool = False) -> Value:
    """Merge the values of one key: the combiner, and the reducer (``finish``). Connection
    lists are bounded by the job's ``max_connections`` (CONNECTION_SAMPLE where a reader
    merges records of unknown origin)."""
    kind = key.split("\t", 1)[0]
    if kind in (COUNTER, DEVICE):
        return sum(values)
    if kind == COVERAGE:
        return merge_coverage(values)
    if kind == RULESET:
        return sorted({fingerprint for value in values for fingerprint in value})
    bound = max_connections or CONNECTION_SAMPLE
    merged = merge_ace(values, bound)
    return finish_ace(merged, bound) if finish else merged


def empty_coverage() -> Record:
    """A firewall's evidence before any line (see the ``coverage`` record above)."""
    return {"days": {}, "deny_days": {}, "untimed": 0, "deny_untimed": 0, "lines": {},
            "protocols": {}, "acl_log_days": {}, "acl_log_mode": 0}


def merge_coverage(values: Iterable[Record]) -> Record:
    """Merge a firewall's evidence records: every count adds; a protocol's days are marked
    (1), as the mapper marks them."""
    merged = empty_coverage()
    for value in values:
        for part in ("days", "deny_days", "lines", "acl_log_days"):
            table = merged[part]
            for name, count in value.get(part, {}).items():
                table[name] = table.get(name, 0) + count
        for protocol, days in value.get("protocols", {}).items():
            merged["protocols"].setdefault(protocol, {}).update(dict.fromkeys(days, 1))
        merged["untimed"] += value.get("untimed", 0)
        merged["deny_untimed"] += value.get("deny_untimed", 0)
        # a mode, not a count: 1 whatever the number of tasks and flushes that wrote it
        merged["acl_log_mode"] = max(merged["acl_log_mode"], value.get("acl_log_mode", 0))
        if value.get("before_first"):            # only firewalls with a history have it
            merged["before_first"] = merged.get("before_first", 0) + value["before_first"]
    for part in ("days", "deny_days", "lines", "acl_log_days"):
        merged[part] = dict(sorted(merged[part].items()))
    merged["protocols"] = {p: dict(sorted(days.items()))
                           for p, days in sorted(merged["protocols"].items())}
    return merged


def merge_ace(values: Iterable[Record], bound: int = CONNECTION_SAMPLE) -> Record:
    """Merge records of one ACE exactly; connection lists come back unsorted, complete up to
    ``bound`` and sampled beyond, the rest by service (see the module's note)."""
    hits, first, last = 0, None, None
    rules: Dict[int, Fact] = {}
    connections, services = HashSample(bound), HashSample(bound)
    days: Dict[str, int] = {}
    omitted_connections = omitted_hits = untimed = 0
    sampled = services_sampled = False       # a finished record's lists were samples
    for value in values:
        omitted_hits += _leave_out(connections.lower(value.get("sample_below", SAMPLE_SPACE)),
                                   services)
        services.lower(value.get("service_below", SAMPLE_SPACE))
        hits += value["hits"]
        untimed += value.get("untimed", 0)
        if first is None or value["first"] < first:
            first = value["first"]
        if last is None or value["last"] > last:
            last = value["last"]
        for index, count, r_first, r_last in value["rules"]:
            _add(rules, index, count, r_first, r_last)
        for proto, src, dst, port, count, c_first, c_last in value["connections"]:
            key = (proto, src, dst, port)
            fact = connections.kept.get(key)
            if fact is not None:
                fact[0] += count
                _span(c_first, c_last, fact)
            else:
                omitted_hits += _leave_out(connections.add(key, connection_hash(*key),
                                                           [count, c_first, c_last]), services)
        for proto, dst, port, count, s_first, s_last in value.get("services", ()):
            _add_service(services, (proto, dst, port), count, s_first, s_last)  # in omitted
        for day, count in value.get("days", {}).items():
            days[day] = days.get(day, 0) + count
        omitted_connections += value.get("omitted_connections", 0)
        omitted_hits += value.get("omitted_hits", 0)
        sampled = sampled or value.get("sampled", False)
        services_sampled = services_sampled or value.get("services_sampled", False)
    merged = {"hits": hits, "first": first, "last": last,
              "rules": [[index] + rules[index] for index in sorted(rules)],
              "connections": [list(k) + v for k, v in connections.kept.items()],
              "days": dict(sorted(days.items()))}
    if untimed:
        merged["untimed"] = untimed
    if omitted_connections or omitted_hits:
        merged["omitted_connections"] = omitted_connections
        merged["omitted_hits"] = omitted_hits
    if services.kept:
        merged["services"] = _services(services)
    if connections.below < SAMPLE_SPACE:
        merged["sample_below"] = connections.below
    if services.below < SAMPLE_SPACE:
        merged["service_below"] = services.below
    if sampled:
        merged["sampled"] = True
    if services_sampled:
        merged["services_sampled"] = True
    return merged


class HashSample:
    """What a bounded list keeps (see "Connection lists"): every key while there are at most
    ``bound``, beyond that those whose hash is below ``below``, a threshold halved until they
    are within the bound again. ``kept``: key -> its value."""
    __slots__ = ("bound", "below", "kept", "hashes")

    def __init__(self, bound: int) -> None:
        self.bound, self.below = bound, SAMPLE_SPACE
        self.kept: Dict[Any, Any] = {}
        self.hashes: Dict[Any, int] = {}

    def add(self, key: Any, hashed: int, value: Any = None) -> List[Tuple[Any, Any]]:
        """Keep a new ``key`` if its hash is below the threshold: the (key, value) pairs not
        kept — the key's own when its hash is not, those a halving dropped."""
        if hashed >= self.below:
            return [(key, value)]
        self.kept[key], self.hashes[key] = value, hashed
        return self.lower(self.below) if len(self.kept) > self.bound else []

    def lower(self, below: int) -> List[Tuple[Any, Any]]:
        """Keep only the keys below ``below`` (if lower), then halve the threshold while over
        the bound: the (key, value) pairs dropped."""
        dropped: List[Tuple[Any, Any]] = []
        if below < self.below:
            self.below = below
            dropped += self._cut()
        while len(self.kept) > self.bound:
            self.below //= 2
            dropped += self._cut()
        return dropped

    def _cut(self) -> List[Tuple[Any, Any]]:
        out = [key for key, hashed in self.hashes.items() if hashed >= self.below]
        for key in out:
            del self.hashes[key]
        return [(key, self.kept.pop(key)) for key in out]


def _add_service(services: HashSample, service: Tuple[Any, ...], count: int, first: str,
                 last: str) -> None:
    """Add hits of connections not listed to their service's (if the sample keeps it)."""
    fact = services.kept.get(service)
    if fact is None:
        services.add(service, service_hash(*service), [count, first, last])
    else:
        fact[0] += count
        _span(first, last, fact)


def _leave_out(dropped: List[Tuple[Any, Any]], services: HashSample) -> int:
    """Connections no longer listed join their services: their hits."""
    hits = 0
    for (proto, _, dst, port), (count, first, last) in dropped:
        _add_service(services, (proto, dst, port), count, first, last)
        hits += count
    return hits


def _services(services: HashSample) -> List[List[Any]]:
    """Services most used first, ties in a fixed order."""
    return [list(k) + v for k, v in sorted(services.kept.items(), key=lambda item: (
        -item[1][0], item[0][0], item[0][1], str(item[0][2])))]


def connection_order(connection: List[Any]) -> Tuple[Any, ...]:
    """Most used first; ties in a fixed order so every runner prints the same list."""
    proto, src, dst, port, count = connection[:5]
    return (-count, proto, src, dst, port)


def finish_ace(record: Record, max_connections: int) -> Record:
    """Sort connections and keep the ``max_connections`` most used (the rest join their
    services); hits stay exact. A sampled list becomes ``sampled``, its threshold replaced by
    an estimate of the connections it left out (the sample's size times the factor the
    threshold cut), a sampled service list ``services_sampled``, so finishing a finished
    record changes nothing."""
    below = record.pop("sample_below", SAMPLE_SPACE)
    if below < SAMPLE_SPACE:
        record["sampled"] = True
        unsampled = len(record["connections"]) * (SAMPLE_SPACE // below - 1)
        record["omitted_connections"] = max(1, record.get("omitted_connections", 0) +
                                            unsampled)
        record.setdefault("omitted_hits", 0)
    found = record.pop("services", ())
    services = HashSample(max(CONNECTION_SAMPLE, len(found)))
    services.lower(record.pop("service_below", SAMPLE_SPACE))
    for proto, dst, port, count, first, last in found:
        _add_service(services, (proto, dst, port), count, first, last)
    connections = sorted(record["connections"], key=connection_order)
    kept, dropped = connections[:max_connections], connections[max_connections:]
    if dropped:
        record["omitted_connections"] = record.get("omitted_connections", 0) + len(dropped)
        record["omitted_hits"] = record.get("omitted_hits", 0) + sum(c[4] for c in dropped)
        for proto, _, dst, port, count, first, last in dropped:
            _add_service(services, (proto, dst, port), count, first, last)
    record["connections"] = kept
    if services.below < SAMPLE_SPACE or record.get("services_sampled"):
        record["services_sampled"] = True
    if services.kept:
        record["services"] = _services(services)
    return record


class ResultsError(ValueError):
    """A results file that cannot be read, or does not belong to the database; the message
    names the file and line."""


AceKey = Tuple[str, str, int]    # firewall, ACL, line


@dataclass
class Results:
    """What one or more results files say, merged."""
    counters: Dict[str, int] = field(default_factory=dict)          # category -> lines
    aces: Dict[AceKey, Record] = field(default_factory=dict)
    disagreements: Dict[AceKey, Record] = field(default_factory=dict)
    rehashed: Dict[AceKey, Record] = field(default_factory=dict)
    retired: Dict[AceKey, Record] = field(default_factory=dict)     # (fw, acl, number)
    coverage: Dict[str, Record] = field(default_factory=dict)       # fw -> evidence
    devices: Dict[str, int] = field(default_factory=dict)           # unknown id -> lines
    rulesets: Dict[str, List[str]] = field(default_factory=dict)    # fw -> ["FORMAT:FP"]
    input_errors: List[Dict[str, str]] = field(default_factory=list)    # {"file", "error"}


def read_results(paths: Iterable[str]) -> Results:
    """Read and merge the records of several results files."""
    collector = _Collector()
    for path in paths:
        try:
            handle = open(path, "rb")
        except OSError as exc:
            raise ResultsError(f"{path}: cannot read results: {exc.strerror}") from None
        with handle:
            collector.add_lines(path, handle)
    return collector.results()


def results_of_lines(lines: Iterable[str], name: str = "the job's results") -> Results:
    """The records of results lines held in memory (a job's output), merged."""
    collector = _Collector()
    collector.add_lines(name, lines)
    return collector.results()


def collect(records: Iterable[Tuple[Key, Value]]) -> Results:
    """Results from (key, value) records in memory, as a mapper's ``finish()`` yields them."""
    collector = _Collector()
    for key, value in records:
        collector.add(key, value)
    return collector.results()


class _Collector:
    """Checks each record's shape and merges the records of one key."""

    def __init__(self) -> None:
        self.values: Dict[Tuple[str, Any], List[Value]] = {}
        self.input_errors: List[Dict[str, str]] = []

    def add(self, key: Key, value: Value) -> None:
        fields = key.split("\t") if isinstance(key, str) else [str(k) for k in key]
        kind = fields[0]
        if kind == INPUT_ERROR:
            self.input_errors.append({"file": fields[1], "error": str(value)})
            return
        name: Union[str, AceKey]
        if kind in (ACE, DISAGREEMENT, REHASHED, RETIRED):
            name = (fields[1], fields[2], int(fields[3]))
            _check_ace(value)
        elif kind in (COUNTER, DEVICE, COVERAGE, RULESET):
            name = fields[1]
            if kind in (COUNTER, DEVICE):
                int(value)
            elif not isinstance(value, (dict, list)):
                raise TypeError(f"{kind} value")
        else:
            raise ValueError(f"unknown record {kind!r}")
        self.values.setdefault((kind, name), []).append(value)

    def add_lines(self, name: str, lines: Iterable[Union[bytes, str]]) -> None:
        """Results lines (bytes as read from a file, or text); ``name`` where they come from,
        for the error of a line that is not a record."""
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                self.add(*decode(raw.decode("utf-8") if isinstance(raw, bytes) else raw))
            except (ValueError, IndexError, TypeError, KeyError, AttributeError,
                    RecursionError) as exc:         # (a value nested thousands deep)
                raise ResultsError(f"{name}:{number}: not a results line ({exc})") from None

    def results(self) -> Results:
        results = Results(input_errors=self.input_errors)
        tables: Dict[str, Dict[Any, Any]] = {
            ACE: results.aces, DISAGREEMENT: results.disagreements, REHASHED: results.rehashed,
            RETIRED: results.retired,
            COVERAGE: results.coverage, COUNTER: results.counters, DEVICE: results.devices,
            RULESET: results.rulesets}
        for (kind, name), values in self.values.items():
            tables[kind][name] = reduce_values(kind, values) if len(values) > 1 or \
                kind == RULESET else values[0]
        return results


def _check_ace(value: Value) -> None:
    if not isinstance(value, dict):
        raise TypeError("record value")
    for name in ("hits", "first", "last", "rules", "connections"):
        value[name]
