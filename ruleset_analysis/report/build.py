"""Results + the ruleset database -> the report (the JSON contract every renderer renders).

Built in one place: every ACE of every ACL of every firewall, in config order, with its hits,
its traffic and its judgement (``judgement.py``); the evidence per firewall
(``evidence.py``); unused group members; shadowing; tightening; disagreements. Renderers only
render it.
"""
from __future__ import annotations

import datetime
import time
from typing import Optional

from ..aggregate import device_ids, identity_conflicts
from ..asa.captures import Capture
from ..asa.literals import protocol_name
from ..asa.syslog import OBSERVED_PROTOCOLS
from ..counters import attach_all
from ..model import Ace, Firewall, Rule, collector_paused
from ..options import DEFAULT_MAX_CONNECTIONS
from ..records import RESULTS_FORMAT, Results, ResultsError, finish_ace, seen
from ..shadowing import analyse_acl
from . import model
from .evidence import Evidence, Horizon, evidence_of, unread_logs
from .judgement import Status, claimed_period, judge, not_evaluated_code
from .members import member_usage
from .model import AceReport, ConnectionUse, FirewallReport, Report, RuleUse
from .rebase import matched_cut, rebase
from .tighten import suggest

UNKNOWN_DEVICES_LISTED = 10


class Filters:
    """What a report shows: ``firewall``/``acl`` (None: all), ACEs with at least
    ``min_hits``, the unused rule (``unused_since`` days before ``as_of``, a date;
    default: each firewall's last day of logs), and whether shadowing is analysed."""

    def __init__(self, firewall=None, acl=None, min_hits=0, as_of=None, unused_since=None,
                 shadowing=True):
        self.firewall, self.acl, self.min_hits = firewall, acl, min_hits
        self.as_of, self.unused_since, self.shadowing = as_of, unused_since, shadowing

    def keeps(self, firewall: str, acl) -> bool:
        return (self.firewall is None or firewall == self.firewall) and \
            (self.acl is None or acl is None or acl == self.acl)

    def horizon(self, evidence: Evidence) -> Optional[Horizon]:
        if self.unused_since is None:
            return None
        as_of = self.as_of or evidence.last or datetime.date.today().isoformat()
        return Horizon.of(self.unused_since, as_of)

    def check(self, firewalls: dict) -> None:
        """--firewall and --acl must name something: a filter that matches nothing would
        print an empty report that reads like "nothing to prune"."""
        if self.firewall is not None and self.firewall not in firewalls:
            raise ResultsError(f"--firewall {self.firewall}: no such firewall in the database "
                               f"(it has: {', '.join(firewalls) or 'none'})")
        if self.acl is not None and not any(
                self.acl in fw.acls for name, fw in firewalls.items()
                if self.firewall in (None, name)):
            raise ResultsError(f"--acl {self.acl}: no such ACL"
                               + (f" on {self.firewall}" if self.firewall else ""))


def check_rulesets(firewalls: dict, results: Results) -> dict:
    """Refuse results that were matched against another ruleset than the database's: their
    hits would land on the wrong ACEs. Results matched against an earlier state of a
    firewall's history (revisions added since) are moved onto the present one (``rebase``)
    -> {firewall: (the time its evidence ends, stale records)} for those."""
    if not results.rulesets and (results.aces or results.counters):
        raise ResultsError("the results carry no ruleset fingerprints: they were written by "
                           "an older version; run the job again")
    rebased = {}
    for name, fingerprints in sorted(results.rulesets.items()):
        firewall = firewalls.get(name)
        if firewall is None:
            continue                    # its records are reported as unknown_results
        expected = f"{RESULTS_FORMAT}:{firewall.fingerprint()}"
        cut = matched_cut(firewall, list(fingerprints)) \
            if list(fingerprints) != [expected] else None
        if cut is not None:
            rebased[name] = rebase(firewall, cut, results)
            continue
        if list(fingerprints) != [expected]:
            others = ", ".join(f for f in fingerprints if f != expected)
            formats = {f.split(":", 1)[0] for f in fingerprints} - {str(RESULTS_FORMAT)}
            if formats:
                raise ResultsError(
                    f"the results for {name} were written by another version of "
                    f"ruleset-analysis (results format {', '.join(sorted(formats))}; this one "
                    f"reads {RESULTS_FORMAT}): run the job again with this version")
            raise ResultsError(
                f"the results for {name} were matched against another ruleset ({others}) "
                f"than the database's ({expected}): it was preprocessed again, or results of "
                "several databases were merged; run the job again on this database")
    return rebased


def build_report(firewalls: dict, results: Results,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 filters: Optional[Filters] = None, captures: Optional[dict] = None) -> dict:
    """The JSON report (the contract): ``make_report(...).to_json()``."""
    return make_report(firewalls, results, max_connections, filters, captures).to_json()


# Its million objects at a million rules, each a container, set off collections that rescan
# them all: 11-12 s of the 1.2M-rule report, 4.6 s without.
@collector_paused()
def make_report(firewalls: dict, results: Results,
                max_connections: int = DEFAULT_MAX_CONNECTIONS,
                filters: Optional[Filters] = None, captures: Optional[dict] = None) -> Report:
    """The report. ``filters`` narrow what is reported; every ACL is analysed. ``captures``:
    {firewall: [`show access-list` capture JSON]} (``database.load_captures``)."""
    filters = filters or Filters()
    rebased = check_rulesets(firewalls, results)
    attached = {name: attach_all(firewalls[name], [Capture.from_json(c) for c in found])
                for name, found in (captures or {}).items() if name in firewalls}
    # Results of no map task (every log left out, or none given) name no ruleset: nothing
    # was matched against any, and their firewalls' reason is that no line was read, not
    # that the firewall came after the run.
    evidence = {name: evidence_of(name, results.coverage.get(name),
                                  name in results.rulesets or not results.rulesets,
                                  fw.history.starts[0] if fw.history else None,
                                  rebased[name][0] if name in rebased else None)
                for name, fw in firewalls.items()}
    unread = unread_logs(results.input_errors, device_ids(firewalls))
    no_data = {name: ev.no_data_reason() or unread.get(name) or unread.get("*")
               for name, ev in evidence.items()}
    horizons = {name: filters.horizon(ev) for name, ev in evidence.items()}
    rules = []
    unknown = dict(results.aces)
    disagreeing = dict(results.disagreements)
    disagreements = []
    shadowing_seconds = 0.0
    rehashed_first: dict = {}        # (fw, acl, line) -> messages it matches first
    for (fw, acl, _), rehashed in results.rehashed.items():
        for line, hits, *_ in rehashed["rules"]:
            rehashed_first[(fw, acl, line)] = rehashed_first.get((fw, acl, line), 0) + hits
    for firewall in firewalls.values():
        # Every ACL is analysed, whatever the filters: group members and results must see
        # all of them. The filters only narrow what is reported, at the end.
        for acl in firewall.acls.values():
            bindings = firewall.bindings(acl.name)
            # What passes an inbound ACL meets the global ACL, if there is one.
            falls_to_deny = not (firewall.global_acl and firewall.global_acl != acl.name
                                 and any(b.startswith("in ") for b in bindings))
            started = time.perf_counter()
            shadowing: dict = (analyse_acl(acl, falls_to_deny) if filters.shadowing else
                         {ace.line: {"not_analysed": "skipped (--no-shadowing)"}
                          for ace in acl.entries if ace.matchable})
            shadowing_seconds += time.perf_counter() - started
            for ace in acl.entries:
                key = (firewall.name, acl.name, ace.line)
                record = unknown.pop(key, None)
                if record is not None:
                    record = finish_ace(record, max_connections)
                entry = _ace_entry(firewall, ace, bindings, record)
                _lives(entry, firewall)
                _device_counts(entry, attached.get(firewall.name, []))
                against = disagreeing.pop(key, None)
                entry.disagreements = against["hits"] if against else 0
                if against:
                    disagreements.append(_disagreement(entry, finish_ace(against,
                                                                         max_connections)))
                entry.hash_disagreements = rehashed_first.get(key, 0)
                entry.judgement = not_evaluated_code(entry, ace.unresolved)
                verdict = judge(entry, evidence[firewall.name], no_data[firewall.name],
                                horizons[firewall.name], entry.disagreements,
                                shown_protocols(ace))
                entry.status, entry.reason = verdict.status.value, verdict.reason
                entry.unused = verdict.candidate
                entry.tightening = suggest(ace, record) if ace.action == "permit" else None
                found = shadowing.get(ace.line, {})
                entry.shadowed_by = found.get("shadowed_by", [])
                entry.redundant_with = found.get("redundant_with", [])
                entry.shadowing_not_analysed = found.get("not_analysed")
                rules.append(entry)
    removed = [_removed(firewalls[fw], number, finish_ace(record, max_connections))
               for (fw, _, number), record in sorted(results.retired.items())
               if fw in firewalls and firewalls[fw].history is not None
               and number < len(firewalls[fw].history.retired)]
    unknown.update(((fw, acl, -1 - number), record)     # never dropped silently
                   for (fw, acl, number), record in results.retired.items()
                   if fw not in firewalls or firewalls[fw].history is None
                   or number >= len(firewalls[fw].history.retired))
    # Results for ACEs the database does not have: never dropped silently.
    stale = [{"firewall": fw, "acl": acl, "line": line, "hits": record["hits"]}
             for (fw, acl, line), record in sorted(unknown.items())]
    stale += [{"firewall": fw, "acl": acl, "line": line, "hits": 0,
               "disagreements": record["hits"]}
              for (fw, acl, line), record in sorted(disagreeing.items())]
    # matched against an older revision, fitting no ACE now (never dropped silently)
    stale += [{"firewall": fw, "acl": acl, "line": line, "hits": record["hits"]}
              for _, found in rebased.values() for (fw, acl, line), record in found]
    blocked = {}
    for name, ev in evidence.items():
        horizon = horizons[name]
        reason = no_data[name] or (ev.horizon_reason(horizon) if horizon else None)
        if reason:
            blocked[name] = reason
    groups = member_usage(firewalls, rules, {n: h.cutoff if h else None
                                             for n, h in horizons.items()}, blocked,
                          {n: claimed_period(evidence[n], horizons[n]) for n in firewalls})
    counters = _counters(results.counters)
    if filters.firewall is not None:
        lines = evidence[filters.firewall].lines
        counters = _counters({k: v for k, v in lines.items() if k != "lines"})
    keep = [r for r in rules if filters.keeps(r.firewall, r.acl) and r.hits >= filters.min_hits]
    groups = [g for g in groups if filters.keeps(g.firewall, None)
              and (filters.acl is None or any(a.startswith(filters.acl + ":")
                                              for a in g.used_by))]
    shown = [name for name in firewalls if filters.keeps(name, None)]
    return Report(
        counters=counters,
        window=window([r for r in rules if r.firewall in shown]),
        # as_of: the one given, else the latest of the firewalls' own (see "firewalls")
        unused_rule={"as_of": filters.as_of or max(
            (h.as_of for h in (horizons[n] for n in shown) if h), default=None),
            "days": filters.unused_since} if filters.unused_since is not None else None,
        rules=keep, groups=groups, unknown_results=stale,
        input_errors=list(results.input_errors),
        firewalls=[_firewall_entry(evidence[n], no_data[n], horizons[n], firewalls[n])
                   for n in shown],
        disagreements=[d for d in disagreements if filters.keeps(d.firewall, d.acl)],
        unknown_devices=_devices(results.devices),
        results_format=RESULTS_FORMAT,
        identity_conflicts=identity_conflicts(firewalls),
        rehashed=[_rehashed(firewalls, key, record)
                  for key, record in sorted(results.rehashed.items())
                  if key[0] in firewalls and filters.keeps(key[0], key[1])],
        captures=[model.CaptureUse(name, a.capture.source, a.capture.taken_at, len(a.aces),
                                   len(a.rules), [{"where": w, "text": t, "why": why}
                                                  for w, t, why in a.unmatched])
                  for name, found in attached.items() if name in shown for a in found],
        removed=[r for r in removed if filters.keeps(r.firewall, r.acl)],
        seconds={"shadowing": shadowing_seconds})


def _counters(counters: dict) -> dict:
    ordered = {"lines": sum(v for k, v in counters.items() if k != "lines")}
    ordered.update((k, v) for k, v in sorted(counters.items()) if k != "lines")
    return ordered


def _firewall_entry(evidence: Evidence, no_data: Optional[str],
                    horizon: Optional[Horizon], firewall: Firewall) -> FirewallReport:
    entry = FirewallReport(**evidence.to_json(no_data))
    history = firewall.history
    if history is not None:
        entry.revisions = [{"since": r.since, "source": r.source} for r in history.older] + \
            [{"since": history.since, "source": history.source}]
    if horizon is not None:
        short = None if no_data else evidence.horizon_reason(horizon)
        entry.horizon = model.Horizon(horizon.start, horizon.as_of, horizon.days,
                                      not no_data and not short, no_data or short or "")
    return entry


def _lives(entry: AceReport, firewall: Firewall) -> None:
    """With a config history: when the ACE and its members began their present life."""
    history = firewall.history
    if history is None:
        return
    entry.since = history.ace_since.get(f"{entry.acl} {entry.line}")
    entry.periods = history.ace_periods.get(f"{entry.acl} {entry.line}", [])
    for obj in entry.objects:
        obj.since = history.rule_since.get(f"{entry.acl} {entry.line} {obj.index}", entry.since)


def _removed(firewall: Firewall, number: int, record: dict) -> model.RemovedAce:
    assert firewall.history is not None
    gone = firewall.history.retired[number]
    return model.RemovedAce(firewall.name, gone.acl, gone.line, gone.text, gone.periods,
                            record["hits"], seen(record["first"]), seen(record["last"]),
                            _connections(record), record.get("days", {}), _services(record))


def _devices(devices: dict) -> dict:
    top = sorted(devices.items(), key=lambda item: (-item[1], item[0]))
    return {"lines": sum(devices.values()), "ids": len(devices),
            "top": [{"device": name, "lines": n} for name, n in top[:UNKNOWN_DEVICES_LISTED]]}


def _disagreement(entry: AceReport, record: dict) -> model.Disagreement:
    return model.Disagreement(entry.firewall, entry.acl, entry.line, entry.text, entry.action,
                              "deny" if entry.action == "permit" else "permit", record["hits"],
                              seen(record["first"]), seen(record["last"]),
                              _connections(record), _services(record))


def window(rules: list) -> dict:
    """The period the hits cover: the first and last timed hit of any ACE."""
    firsts = [r.first_seen for r in rules if r.first_seen]
    lasts = [r.last_seen for r in rules if r.last_seen]
    if not firsts:
        return {"first": None, "last": None, "days": 0}
    first, last = min(firsts), max(lasts)
    days = (datetime.date.fromisoformat(last[:10]) -
            datetime.date.fromisoformat(first[:10])).days + 1
    return {"first": first, "last": last, "days": days}


def visibility(ace: Ace) -> tuple:
    """Whether the analysed log messages could show this ACE's traffic.

    -> ("full" | "other_protocols" | "partial" | "none", protocols the logs cannot show).
    ``other_protocols``: some rules permit any protocol, which includes ones logs do not show.
    """
    protocols = [service[0] for service in ace.services] if ace.rule_count else []
    hidden = sorted({protocol_name(p) for p in protocols
                     if p is not None and p not in OBSERVED_PROTOCOLS})
    shown = [p for p in protocols if p is None or p in OBSERVED_PROTOCOLS]
    if not protocols or not shown:
        return ("none" if protocols else "full"), hidden
    if hidden:
        return "partial", hidden
    if None in shown:
        return "other_protocols", hidden
    return "full", hidden


def shown_protocols(ace: Ace) -> list:
    """The protocols whose connection-built messages would show this ACE's traffic (``ip``:
    TCP and UDP at least); protocols no message shows are the visibility's business."""
    names = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}
    found: set = set()
    for protocol, *_ in ace.services:
        found |= {"tcp", "udp"} if protocol is None else {names[protocol]} \
            if protocol in names else set()
    return sorted(found)


def describe(rule: Rule) -> dict:
    """The report's view of an expanded rule (an ``objects`` entry, without its hits)."""
    return {
        "index": rule.index,
        "protocol": protocol_name(rule.protocol),
        "source": _shown(rule.source),
        "source_port": _shown(rule.source_port),
        "destination": _shown(rule.destination),
        "destination_port": _port_shown(rule.destination_port, rule.icmp_code),
    }


def _shown(value) -> str:
    """An address's or ports' text as the report shows it: "any" for none."""
    return value.text if value else "any"


def _port_shown(port, code: Optional[int]) -> str:
    """A destination port (an ICMP type) and the ICMP code, as the report shows them."""
    return _shown(port) if code is None else f"{_shown(port)} code {code}"


def _rehashed(firewalls: dict, key: tuple, record: dict) -> model.Rehashed:
    name, acl, line = key
    ace = next((a for a in firewalls[name].acls[acl].entries if a.line == line), None) \
        if acl in firewalls[name].acls else None
    return model.Rehashed(name, acl, line, ace.text if ace else "", record["hits"],
                          seen(record["first"]), seen(record["last"]),
                          [{"line": index, "count": hits}
                           for index, hits, *_ in sorted(record["rules"])])


def _device_counts(entry: AceReport, attached: list) -> None:
    """The device's counters for an ACE and its expanded rules, from every capture."""
    if not attached:                # (a call per rule for nothing: 1 s at 1.2M rules)
        return
    entry.device = _counts([a.aces.get((entry.acl, entry.line)) for a in attached])
    for rule in entry.objects:
        rule.device = _counts([a.rules.get((entry.acl, entry.line, rule.index))
                               for a in attached])


def _counts(found: list) -> Optional[model.DeviceCounts]:
    readings = sorted((r for r in found if r is not None), key=lambda r: r.taken_at)
    if not readings:
        return None
    intervals = []
    for before, after in zip(readings, readings[1:]):
        grew = after.hits - before.hits if after.hits >= before.hits else None
        intervals.append(model.DeviceInterval(before.taken_at, after.taken_at, grew,
                                              0 if grew is not None else after.hits))
    return model.DeviceCounts([model.DeviceReading(r.taken_at, r.hits) for r in readings],
                              intervals)


def _connections(record: Optional[dict]) -> list:
    if not record:
        return []
    return [ConnectionUse(proto, src, dst, port, count, seen(first), seen(last))
            for proto, src, dst, port, count, first, last in record["connections"]]


def _services(record: Optional[dict]) -> list:
    """The services of the connections a record's list leaves out (records.py)."""
    return [model.ServiceUse(proto, dst, port, count, seen(first), seen(last))
            for proto, dst, port, count, first, last in (record or {}).get("services", ())]


_UNSEEN = (0, None, None)


def _objects(ace: Ace, per_rule: dict) -> list:
    """The ACE's expanded rules as describe() shows them, with their hits (``per_rule``:
    rule index -> (hits, first, last) as the results have them), each member's text made
    once: made from Rules and describe()'s dicts, a 1.2M-rule report took 3.5 s more."""
    services = [(protocol_name(protocol), _shown(source_port), _port_shown(port, code), paths)
                for protocol, source_port, port, code, paths in ace.services]
    destinations = [(_shown(address), path) for address, path in ace.destinations]
    used = {index: (hits, seen(first), seen(last))
            for index, (hits, first, last) in per_rule.items()}
    objects = []
    index = ace.first_index
    for address, source_path in ace.sources:
        source = _shown(address)
        for destination, destination_path in destinations:
            members = {}
            if source_path:
                members["source"] = source_path
            if destination_path:
                members["destination"] = destination_path
            for protocol, source_port, port, paths in services:
                hits, first, last = used.get(index, _UNSEEN)
                objects.append(RuleUse(index, protocol, source, source_port, destination, port,
                                       hits, first, last, {**members, **paths}))
                index += 1
    return objects


def _ace_entry(firewall: Firewall, ace: Ace, bindings: list,
               record: Optional[dict]) -> AceReport:
    shows, unseen = visibility(ace)
    per_rule = {r[0]: r[1:] for r in record["rules"]} if record else {}
    gone = per_rule.get(-1)            # members older revisions had (history.Translation)
    objects = _objects(ace, per_rule)
    record = record or {}
    return AceReport(
        firewall=firewall.name, acl=ace.acl, line=ace.line, text=ace.text,
        remarks=ace.remarks, action=ace.action, inactive=ace.inactive,
        hits=record.get("hits", 0), untimed_hits=record.get("untimed", 0),
        first_seen=seen(record.get("first")), last_seen=seen(record.get("last")),
        objects=objects, connections=_connections(record), daily=record.get("days", {}),
        connections_truncated=bool(record.get("omitted_connections")),
        omitted_connections=record.get("omitted_connections", 0),
        omitted_hits=record.get("omitted_hits", 0), kind=ace.kind, bindings=bindings,
        connections_sampled=record.get("sampled", False), event_log=ace.event_log,
        services=_services(record),
        services_sampled=record.get("services_sampled", False),
        time_range=ace.time_range, log=ace.log, error=ace.error, visibility=shows,
        unseen_protocols=unseen, removed_member_hits=gone[0] if gone else 0)


def caveats(report: Report, entry: AceReport) -> list:
    """What to weigh before removing an unused ACE, one sentence each."""
    notes = []
    if entry.time_range:
        notes.append(f"time-range {entry.time_range}: active only part of the time")
    found = report.firewall(entry.firewall)
    untyped = found.lines.get("icmp_without_type", 0) if found else 0
    if untyped and any(o.protocol in ("icmp", "icmp6", "ip") for o in entry.objects):
        notes.append(f"{untyped} ICMP connections of {entry.firewall} were logged without a "
                     "type and could not be attributed: some may be this ACE's")
    if entry.visibility == "other_protocols":
        notes.append("also permits protocols other than TCP, UDP and ICMP, which the log "
                     "messages do not show")
    return notes


def flow_text(obj, action: str = "") -> str:
    """``[action] proto src [sport] -> dst [dport]`` from a rule's description (a RuleUse,
    or the dict ``describe`` gives)."""
    get = obj.get if isinstance(obj, dict) else (lambda name: getattr(obj, name))
    text = f"{action + ' ' if action else ''}{get('protocol')} {get('source')}"
    if get("source_port") != "any":
        text += f" {get('source_port')}"
    text += f" -> {get('destination')}"
    if get("destination_port") != "any":
        text += f" {get('destination_port')}"
    return text


__all__ = ["Filters", "Status", "build_report", "caveats", "flow_text", "visibility", "window"]
