"""Connection facts per ACE, and their exact merge (counts add, first = min, last = max).

The mapper aggregates in memory (``LineAnalyzer``) and emits little; the combiner, the reducer
and the report merge records with ``merge_ace`` — the same function everywhere, so every runner
and the cat-pipe give the same numbers. Only the reducer truncates connection lists
(``finish_ace``), because only it sees everything a rule got.

Records (keys are lists here; the job joins them with tabs into strings):
  key ["counter", NAME]              value: int
  key ["ace", FIREWALL, ACL, LINE]   value: {"hits", "first", "last",
        "rules": [[INDEX, HITS, FIRST, LAST]...],
        "connections": [[PROTO, SRC, DST, PORT, COUNT, FIRST, LAST]...],
        "days": {YYYY-MM-DD: HITS},
        "omitted_connections", "omitted_hits"}   (the last two only after the reducer)
"""
from __future__ import annotations

from typing import Iterable, Iterator, Optional

from .asa.syslog import (BUILT_RE, HEADER_CACHE_LENGTH, MALFORMED, MESSAGE_RE, LogParser,
                         no_connection)
from .matcher import FirewallMatcher
from .model import Connection

UNKNOWN_FIREWALL = "unknown_firewall"
ACL_LOG_PERMIT = "acl_log_permit"      # a 106100 permit whose connection-built line counts it
OUTSIDE_PERIOD = "outside_period"      # a connection before --since or after --until
PERMIT_SOURCES = ("built", "acl-log")
FLOW_CACHE_LIMIT = 1_000_000
FACTS_FLUSH_LIMIT = 500_000
HEADS_LIMIT = 65_536


def _span(first: str, last: str, fact: list) -> None:
    if first < fact[1]:
        fact[1] = first
    if last > fact[2]:
        fact[2] = last


def _add(table: dict, key, count: int, first: str, last: str) -> None:
    """Merge one [count, first, last] fact into ``table[key]``."""
    fact = table.get(key)
    if fact is None:
        table[key] = [count, first, last]
    else:
        fact[0] += count
        _span(first, last, fact)


class LineAnalyzer:
    """The mapper's state: parse a line, match its flow once (cached), aggregate in memory.

    ``permits_from`` decides which message counts a permitted connection, so that none is
    counted twice: "built" (connection-built messages; ACL-log permits are only counted as
    lines) or "acl-log" (106100 permits, for logs without built messages; a built line is then
    not credited to an ACE with `log`, whose 106100 line counts it).
    """

    def __init__(self, firewalls: dict, year: Optional[str] = None,
                 firewall: Optional[str] = None, path: Optional[str] = None,
                 permits_from: str = "built", facts_limit: int = FACTS_FLUSH_LIMIT,
                 flows_limit: int = FLOW_CACHE_LIMIT, since: Optional[str] = None,
                 until: Optional[str] = None):
        self.parser = LogParser(year)
        self.matchers = {name: FirewallMatcher(fw) for name, fw in firewalls.items()}
        if firewall is not None and firewall not in self.matchers:
            raise ValueError(f"firewall '{firewall}' is not in the database "
                             f"(it has: {', '.join(self.matchers) or 'none'})")
        if permits_from not in PERMIT_SOURCES:
            raise ValueError(f"permits come from {' or '.join(PERMIT_SOURCES)}, "
                             f"not {permits_from!r}")
        self.override = firewall
        self.device_ids = device_ids(firewalls)
        self.fallback = firewall_of_path(path, self.device_ids) if path else None
        if self.fallback is None and len(self.matchers) == 1:
            self.fallback = next(iter(self.matchers))
        self.from_acl_log = permits_from == "acl-log"
        # Only connections from `since` to `until` (days, inclusive) are analysed.
        self.period = (f"{since} 00:00:00" if since else "",
                       f"{until} 23:59:59" if until else "9999")
        # Memory stays bounded: facts are flushed (emitted) at facts_limit, and the flow
        # caches are dropped when they reach flows_limit entries.
        self.facts_limit, self.flows_limit = facts_limit, flows_limit
        self.flows: dict = {}
        self.facts: dict = {}
        self.daily: dict = {}         # (firewall, acl, line) -> {YYYY-MM-DD: hits}
        # The fast path for TCP/UDP connection-built lines, filled by the slow one:
        # header text -> (timestamp, that firewall's flow table, whether source ports matter);
        # flow table: regex groups (minus the initiator's port) -> (counter cell, fact lists).
        self.heads: dict = {}
        self.fast_flows: dict = {}
        self.fast_size = 0
        self.cells: dict = {}
        self.full = False         # the facts reached their bound: emit() them (a flush)

    def firewall_of(self, connection: Connection) -> Optional[str]:
        """--firewall, else the device id in the line, else the input's directory, else the
        database's only firewall."""
        if self.override is not None:
            return self.override
        return self.device_ids.get(connection.firewall, self.fallback)

    def classify(self, line: str) -> tuple:
        """What the job makes of one line: (category, Connection or None, firewall or None,
        Verdict or None). Every line gets exactly one category."""
        connection = self.parser.parse(line)
        if connection.__class__ is str:
            return connection, None, None, None
        if not self.period[0] <= connection.timestamp <= self.period[1]:
            return OUTSIDE_PERIOD, connection, None, None
        kind = connection.kind
        if kind == "acl_permit" and not self.from_acl_log:
            return ACL_LOG_PERMIT, connection, None, None   # its built line counts it
        name = self.firewall_of(connection)
        if name is None:
            return UNKNOWN_FIREWALL, connection, None, None
        matcher = self.matchers[name]
        # A source port only matters to rulesets that filter on it: leaving it out of the key
        # lets one cache entry serve every connection of the same flow.
        flow = (name, connection.ingress, connection.egress, connection.protocol,
                connection.source,
                connection.source_port if matcher.uses_source_port else 0,
                connection.destination, connection.destination_port, connection.icmp_code,
                kind, connection.acl)
        if matcher.uses_mapped:
            flow += (connection.mapped_source, connection.mapped_destination)
        verdict = self.flows.get(flow, False)
        if verdict is False:
            if len(self.flows) >= self.flows_limit:
                self.flows.clear()
            verdict = self.flows[flow] = (matcher.evaluate(connection) if kind == "built"
                                          else matcher.evaluate_named(connection))
        if verdict is None:
            return MALFORMED, connection, name, None
        return verdict.category, connection, name, verdict

    def credited(self, connection: Connection, verdict) -> list:
        """The hits a classified connection credits: (Hit, source, destination)."""
        if connection.kind == "built" and self.from_acl_log:
            return [h for h in verdict.hits if not h[0].logged]   # its 106100 line counts it
        return verdict.hits

    def add(self, line: str) -> None:
        """Account for one line. The hot path: a TCP/UDP connection-built line whose header
        and flow were seen before costs one regex and two dictionary lookups."""
        match = BUILT_RE.search(line) if "Built" in line else None
        if match is not None:
            head = self.heads.get(line[:match.start()])
            if head is not None:
                when, day, flows, keep_port = head
                entry = flows.get(flow_key(match.groups(), keep_port))
                if entry is not None:
                    entry[0][0] += 1
                    for fact, days in entry[1]:
                        fact[0] += 1
                        if when < fact[1]:
                            fact[1] = when
                        elif when > fact[2]:
                            fact[2] = when
                        days[day] = days.get(day, 0) + 1
                    return
        else:
            category = no_connection(MESSAGE_RE.search(line))
            if category is not None:          # teardowns and the like: settled at once
                cell = self.cells.get(category) or self.cell(category)
                cell[0] += 1
                return
        self.slow_add(line, match)

    def cell(self, category: str) -> list:
        cell = self.cells.get(category)
        if cell is None:
            cell = self.cells[category] = [0]
        return cell

    def slow_add(self, line: str, match) -> None:
        category, connection, name, verdict = self.classify(line)
        cell = self.cell(category)
        cell[0] += 1
        facts = []
        if verdict is not None and verdict.hits:
            when, count = connection.timestamp, connection.count
            day = when[:10]
            for hit, source, destination in self.credited(connection, verdict):
                days = self.daily.setdefault((name, hit.acl, hit.ace_line), {})
                days[day] = days.get(day, 0) + count
                key = (name, hit.acl, hit.ace_line, hit.rule_index, connection.protocol,
                       source, destination, connection.destination_port)
                fact = self.facts.get(key)
                if fact is None:
                    fact = self.facts[key] = [count, when, when]
                    self.full = len(self.facts) >= self.facts_limit
                else:
                    fact[0] += count
                    _span(when, when, fact)
                facts.append((fact, days))
        if match is None or name is None or connection.kind != "built" \
                or match.start() > HEADER_CACHE_LENGTH:
            return
        # Teach the fast path this header and this flow.
        self.fast_size += 1
        if self.fast_size >= self.flows_limit or len(self.heads) >= HEADS_LIMIT:
            self.forget()
        flows = self.fast_flows.setdefault(name, {})
        keep_port = self.matchers[name].uses_source_port
        self.heads[line[:match.start()]] = (connection.timestamp, connection.timestamp[:10],
                                            flows, keep_port)
        flows[flow_key(match.groups(), keep_port)] = (cell, facts)

    def forget(self) -> None:
        """Drop the fast path's caches (they hold the fact lists a flush replaces)."""
        self.heads.clear()
        self.fast_flows.clear()
        self.fast_size = 0

    def counts(self) -> dict:
        """Lines per category so far, and ``lines``: what the next emit() reports."""
        counts = {name: cell[0] for name, cell in self.cells.items() if cell[0]}
        counts["lines"] = sum(counts.values())
        return counts

    def emit(self) -> Iterator[tuple]:
        """Yield the aggregated records and forget them (a flush)."""
        aces: dict = {}
        for (fw, acl, line, index, proto, src, dst, port), (count, first, last) in \
                self.facts.items():
            record = aces.get((fw, acl, line))
            if record is None:
                record = aces[(fw, acl, line)] = {"hits": 0, "first": first, "last": last,
                                                   "rules": {}, "connections": []}
            record["hits"] += count
            record["first"] = min(record["first"], first)
            record["last"] = max(record["last"], last)
            _add(record["rules"], index, count, first, last)
            record["connections"].append([proto, src, dst, port, count, first, last])
        for (fw, acl, line), record in aces.items():
            record["rules"] = [[index] + rule for index, rule in record["rules"].items()]
            record["days"] = self.daily.get((fw, acl, line), {})
            yield ["ace", fw, acl, line], record
        counts = self.counts()
        if counts["lines"]:
            for name, count in sorted(counts.items()):
                yield ["counter", name], count
        self.facts.clear()
        self.daily = {}
        self.cells.clear()
        self.forget()
        self.full = False


def flow_key(groups: tuple, keep_port: bool) -> tuple:
    """The fast path's key for a BUILT_RE match: every group but the initiator's ephemeral
    port (group 5 of an inbound line, 9 of an outbound one), unless a rule filters on it."""
    if keep_port:
        return groups
    return groups[:4] + groups[5:] if groups[0] == "inbound" else groups[:8] + groups[9:]


def string_records(records) -> Iterator[tuple]:
    """Records with their keys joined by tabs ("ace\tfw01\tinside_in\t12"): how the job
    and the streaming filters emit them (Spark needs hashable keys; ASA names never contain
    whitespace)."""
    for key, value in records:
        yield "\t".join(map(str, key)), value


def reduce_values(key: str, values, max_connections: Optional[int] = None):
    """Merge the values of one key: the combiner (no cap) and the reducer (capped)."""
    if key.startswith("counter\t"):
        return sum(values)
    merged = merge_ace(values)
    return merged if max_connections is None else finish_ace(merged, max_connections)


def firewall_of_path(path: str, ids: dict) -> Optional[str]:
    """The firewall of logs stored one directory per firewall (``/data/fw01/2014/x.log``):
    the file name's stem or the innermost directory that is a known device id."""
    parts = path.replace("\\", "/").split("/")
    stem = parts[-1].split(".")[0]
    for part in reversed(parts[:-1] + [stem]):
        if part in ids:
            return ids[part]
    return None


def device_ids(firewalls: dict) -> dict:
    """Device id in a log line -> firewall name. Names win over aliases; an alias two
    firewalls claim (two contexts with one hostname) identifies neither."""
    claims: dict = {}
    for name, firewall in firewalls.items():
        for alias in firewall.aliases:
            claims.setdefault(alias, set()).add(name)
    table = {alias: next(iter(names)) for alias, names in claims.items() if len(names) == 1}
    table.update((name, name) for name in firewalls)
    return table


def merge_ace(values: Iterable[dict]) -> dict:
    """Merge records of one ACE exactly; connection lists come back unsorted and complete."""
    hits, first, last = 0, None, None
    rules: dict = {}
    connections: dict = {}
    days: dict = {}
    omitted_connections = omitted_hits = 0
    for value in values:
        hits += value["hits"]
        if first is None or value["first"] < first:
            first = value["first"]
        if last is None or value["last"] > last:
            last = value["last"]
        for index, count, r_first, r_last in value["rules"]:
            _add(rules, index, count, r_first, r_last)
        for proto, src, dst, port, count, c_first, c_last in value["connections"]:
            _add(connections, (proto, src, dst, port), count, c_first, c_last)
        for day, count in value.get("days", {}).items():
            days[day] = days.get(day, 0) + count
        omitted_connections += value.get("omitted_connections", 0)
        omitted_hits += value.get("omitted_hits", 0)
    merged = {"hits": hits, "first": first, "last": last,
              "rules": [[index] + rules[index] for index in sorted(rules)],
              "connections": [list(k) + v for k, v in connections.items()],
              "days": dict(sorted(days.items()))}
    if omitted_connections or omitted_hits:
        merged["omitted_connections"] = omitted_connections
        merged["omitted_hits"] = omitted_hits
    return merged


def connection_order(connection: list) -> tuple:
    """Most used first; ties in a fixed order so every runner prints the same list."""
    proto, src, dst, port, count = connection[:5]
    return (-count, proto, src, dst, port)


def finish_ace(record: dict, max_connections: int) -> dict:
    """Sort connections and keep the ``max_connections`` most used; hits stay exact."""
    connections = sorted(record["connections"], key=connection_order)
    kept, dropped = connections[:max_connections], connections[max_connections:]
    if dropped:
        record["omitted_connections"] = record.get("omitted_connections", 0) + len(dropped)
        record["omitted_hits"] = record.get("omitted_hits", 0) + sum(c[4] for c in dropped)
    record["connections"] = kept
    return record
