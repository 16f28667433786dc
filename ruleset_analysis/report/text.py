"""Plain-text report (tabulate): counters, the ruleset with hits, the unused ACEs, and per ACE
the traffic that used it with its per-object breakdown."""
from __future__ import annotations

import textwrap

from tabulate import tabulate as _guessing_tabulate

from .build import caveats, flow_text
from .model import AceReport, Report, periods_text
from .safe import printable


def tabulate(rows: list, headers=(), **options) -> str:
    """tabulate, without its guess of every cell's type (most of a large report's rendering
    time): a column of integers is right-aligned, as tabulate aligns one, the rest left. A
    float or a number written as text: tabulate guesses, as before."""
    rows = [list(row) for row in rows]
    if not rows:        # nothing to guess; and tabulate 0.9 (Python 3.9's) fails on colalign
        options.pop("colalign", None)
        return _guessing_tabulate(rows, headers=headers, **options)
    width = max(len(row) for row in rows)
    align = []
    for i in range(width):
        column = [row[i] for row in rows if i < len(row)]
        cells = [c for c in column if c not in (None, "")]
        numbers = bool(cells) and all(isinstance(c, int) for c in cells)
        # tabulate's versions disagree on "" among numbers: let it guess those too
        if any(isinstance(c, (float, bool)) or isinstance(c, str) and _numeric(c)
               for c in cells) or numbers and "" in column:
            return _guessing_tabulate(rows, headers=headers, **options)
        align.append("right" if numbers else "left")
    options.setdefault("colalign", align)
    fmt = options.get("tablefmt", "simple")
    if set(options) <= {"tablefmt", "colalign"} and (fmt == "plain" or fmt == "simple" and
                                                     headers):
        found = _aligned(rows, list(headers), list(options["colalign"]), width, fmt)
        if found is not None:
            return found
    return _guessing_tabulate(rows, headers=headers, disable_numparse=True, **options)


def _aligned(rows: list, headers: list, align: list, width: int, fmt: str):
    """What tabulate makes of rows of ints and strings in its "plain" format, or "simple"
    with headers, each column aligned as ``align`` says, without its per-cell type guess
    (half of a 120,000-rule report's time): its padding, widths and stripping. None where
    that is not all of it: ragged rows, or text that is not printable ASCII (its widths of
    wide characters and escape codes, its multiline cells)."""
    if any(len(row) != width for row in rows) or headers and len(headers) != width or \
            any(a not in ("left", "right") for a in align) or len(align) != width:
        return None
    cells = [["" if c is None else str(c).strip() for c in row] for row in rows]
    headers = [str(h) for h in headers]
    text = "".join(headers) + "".join("".join(row) for row in cells)
    if not (text.isascii() and text.isprintable()):
        return None
    widths = [max(len(row[i]) for row in cells) for i in range(width)]
    if headers:
        widths = [max(w, len(h) + 2) for w, h in zip(widths, headers)]

    def line(texts: list) -> str:
        return "  ".join(t.rjust(w) if a == "right" else t.ljust(w)
                         for t, w, a in zip(texts, widths, align)).rstrip()
    out = [line(headers)] if headers else []
    if headers and fmt == "simple":
        out.append("  ".join("-" * w for w in widths).rstrip())
    out += map(line, cells)
    return "\n".join(out)


# every character float() reads in an ASCII text (the digits, signs, point, exponent,
# underscores, whitespace, inf, infinity, nan), and the commas _numeric drops
FLOAT_CHARACTERS = "0123456789+-._eE,infatyINFATY \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _numeric(text: str) -> bool:
    # (exact shortcuts: float() reads no ASCII text with another character, nor two points)
    if text.isascii() and (text.strip(FLOAT_CHARACTERS) or text.count(".") > 1):
        return False
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True

COUNTER_HELP = {
    "lines": "lines read",
    "matched": "connections every applicable ACL permitted by a rule",
    "unmatched": "connections an applicable ACL has no rule for (implicit deny: config and "
                 "log disagree)",
    "denied": "deny messages (106023, 106100 denied) credited to the ACE that denied them",
    "denied_implicit": "deny messages no ACE of their ACL matches (the implicit deny)",
    "deny_disagrees": "deny messages whose first match is a permit ACE (config and log "
                      "disagree; not a hit)",
    "permit_disagrees": "connections built, or ACL-log permits, whose first match is a deny "
                        "ACE (config and log disagree; not a hit)",
    "acl_log_no_hits": "ACL-log lines with hit-cnt 0 (an interval without a new flow)",
    "to_the_box": "connections to or from the firewall itself (not governed by interface "
                  "ACLs)",
    "ftd_connection_event": "FTD connection events (430002/430003) crediting no ACE (by "
                            "default LINA's 302013/302015 credit the connection)",
    "acl_log_permit": "ACL-log permits (106100) whose connection-built line counts them",
    "no_acl": "connections through interfaces with no ACL bound",
    "interface_unknown": "connections naming no interface (ICMP 302020, PIX 302001) whose "
                         "addresses no interface network or route covers",
    "direction_unknown": "PIX UDP connections (302005) without a direction: which side "
                         "initiated, so which ACL admitted them, is unknown",
    "unknown_firewall": "lines from a firewall not in the database",
    "outside_period": "connections before --since or after --until",
    "time_outlier": "connection messages dated after today (forged or misdated): not evidence",
    "unknown_acl": "ACL messages naming an ACL the config does not have",
    "icmp_without_type": "ICMP connections logged without type and code (older releases)",
    "no_timestamp": "connection messages with no time, not placed in --since/--until",
    "malformed": "connection messages that could not be read",
    "hash_disagrees": "ACL messages whose hashes name another ACE than their first match: "
                      "credited to the ACE the device used (config drift, or a matcher bug)",
    "not_relevant": "other firewall messages (teardowns, translations, ...)",
    "unrecognized": "lines with no firewall message",
}


def headline(ace: AceReport) -> str:
    if len(ace.objects) == 1:
        summary = flow_text(ace.objects[0], ace.action)
    else:
        summary = ace.text.split(f" {ace.acl} ", 1)[-1]
        if summary.startswith(("extended ", "standard ", "webtype ", "ethertype ")):
            summary = summary.split(" ", 1)[1]
        if ace.objects:
            summary += f" ({len(ace.objects)} objects)"
    return f"{ace.firewall}: access-list {ace.acl}, line {ace.line}: {summary}"


def render_captures(report: Report, out: list) -> None:
    if not report.captures:
        return
    out.append("\nDevice counters (`show access-list` captures)")
    for capture in report.captures:
        out.append(f"  {capture.firewall}: {capture.source}, taken {capture.taken_at}: "
                   f"{capture.aces} ACEs and {capture.elements} elements matched")
        for line in capture.unmatched:
            out.append(f"    {line['where']}: {line['why']}: {line['text']}")


def render_members(report: Report, out: list) -> None:
    out.append("\n== Unused object-group members ==")
    out.append("(a member no rule using its group matched, across every ACE that uses the "
               "group; check other references such as NAT before removing it)")
    found = False
    for group in report.groups:
        if not group.unused:
            continue
        found = True
        out.append(f"{group.firewall}: object-group {group.group} (used by "
                   f"{', '.join(group.used_by)})")
        rows = [[m.member, m.line or "", f"last seen {m.last_seen}"
                 if m.last_seen else "no hits"]
                for m in group.members if m.unused]
        out.append(textwrap.indent(tabulate(rows, tablefmt="plain"), "  "))
    if not found:
        out.append("(none)")
    blocked = [g for g in report.groups if g.not_evaluated]
    if blocked:
        out.append("Groups not evaluated (used by ACEs the analysis cannot judge):")
        for group in blocked:
            out.append(f"  {group.firewall}: object-group {group.group}: "
                       f"{', '.join(group.not_evaluated)}")


def render_shadowing(report: Report, out: list) -> None:
    out.append("\n== Shadowed and redundant ACEs (from the config alone) ==")
    found = False
    for ace in report.rules:
        where = f"{ace.firewall}: access-list {ace.acl}, line {ace.line}"
        if ace.shadowed_by:
            shadows = ", ".join(map(str, ace.shadowed_by))
            out.append(f"{where}: shadowed by line(s) {shadows}: it can never be hit")
        elif ace.redundant_with:
            lines = [str(n) for n in ace.redundant_with if n != "implicit deny"]
            givers = ([f"line(s) {', '.join(lines)}"] if lines else []) + \
                (["the implicit deny"] if "implicit deny" in ace.redundant_with else [])
            note = " (a final deny with `log` is usually kept for its log lines)" \
                if ace.action == "deny" and ace.log else ""
            out.append(f"{where}: redundant: removing it changes no verdict: "
                       f"{' then '.join(givers)} decide the same{note}")
        else:
            continue
        found = True
        out.append(f"    {ace.text}")
    if not found:
        out.append("(none)")
    skipped = [a for a in report.rules if a.shadowing_not_analysed]
    if skipped:
        out.append(f"Not analysed: {len(skipped)} ACE(s), e.g. {skipped[0].firewall}: "
                   f"{skipped[0].acl} line {skipped[0].line}: "
                   f"{skipped[0].shadowing_not_analysed}")


def render_tightening(report: Report, out: list) -> None:
    out.append("\n== Tightening suggestions for broad ACEs ==")
    out.append("(the observed traffic of ACEs with any, large networks, `ip` or wide port "
               "ranges, as specific ACEs that would have permitted all of it)")
    found = False
    for ace in report.rules:
        if not ace.tightening:
            continue
        found = True
        suggestion = ace.tightening
        out.append(f"{ace.firewall}: access-list {ace.acl}, line {ace.line} "
                   f"({ace.hits} hits, {suggestion.connections} connections): "
                   f"{ace.text}")
        if not suggestion.complete:
            out.append("  INCOMPLETE: not every connection is covered (too many to list, or "
                       "the reducer kept only the top --max-connections)")
        out += [f"  {line}" for line in suggestion.lines]
    if not found:
        out.append("(none)")


def render_evidence(report: Report, out: list) -> None:
    out.append("Evidence per firewall (what the logs can prove)")
    rows = [[f.firewall, f.status.upper() if f.status != "ok" else "ok",
             f"{f.first} .. {f.last}" if f.first else "-", f.days,
             f.days_with_logs, f.untimed] for f in report.firewalls]
    out.append(tabulate(rows, headers=["FIREWALL", "EVIDENCE", "LOGS", "DAYS",
                                       "DAYS WITH LOGS", "WITHOUT TIME"], tablefmt="simple"))
    for entry in report.firewalls:
        if entry.status != "ok":
            out.append(f"{entry.firewall}: NO DATA: {entry.reason}. None of its ACEs or "
                       "group members is judged unused.")
        if entry.evidence == "not enough data" and entry.horizon:
            out.append(f"{entry.firewall}: NOT ENOUGH DATA for --unused-since "
                       f"{entry.horizon.days}: {entry.why}.")
        out += [f"{entry.firewall}: {note}" for note in entry.notes]
        if entry.revisions:
            out.append(f"{entry.firewall}: {len(entry.revisions)} config revision(s), each line "
                       "matched against the one in force at its time: " +
                       ", ".join(f"{r['since']} ({r['source']})" for r in entry.revisions))
    devices = report.unknown_devices
    if devices["lines"]:
        top = ", ".join(f"{d['device']} ({d['lines']})" for d in devices["top"])
        out.append(f"{devices['lines']} lines from {devices['ids']} device id(s) not in the "
                   f"database: {top}")


def render_disagreements(report: Report, out: list) -> None:
    if not report.disagreements:
        return
    out.append("\n== Logs that disagree with the config (never counted as hits) ==")
    out.append("(the firewall logged a verdict the ACE that matches first contradicts: the "
               "config changed, or the logs are another context's)")
    for entry in report.disagreements:
        out.append(f"{entry.firewall}: access-list {entry.acl}, line {entry.line}: "
                   f"{entry.count} {entry.messages} message(s) for flows this "
                   f"{entry.action} ACE matches first, {entry.first_seen or '?'} .. "
                   f"{entry.last_seen or '?'}")
        out.append(f"    {entry.text}")
        for c in entry.connections[:5]:
            out.append(f"    {c.count} x {c.protocol} {c.source} -> "
                       f"{c.destination} {c.port}")


def render_rehashed(report: Report, out: list) -> None:
    if not report.rehashed:
        return
    out.append("\n== ACL messages whose hashes name another ACE than their first match ==")
    out.append("(credited to the ACE the device used, by its hash from `show access-list`; "
               "the config changed since, or the first match is wrong)")
    for entry in report.rehashed:
        others = ", ".join(f"line {m['line']}" if m["line"] else "no ACE (implicit deny)"
                           for m in entry.first_matches)
        out.append(f"{entry.firewall}: access-list {entry.acl}, line {entry.line}: "
                   f"{entry.count} message(s), {entry.first_seen or '?'} .. "
                   f"{entry.last_seen or '?'}; first match: {others}")
        out.append(f"    {entry.text}")


def render_removed(report: Report, out: list) -> None:
    if not report.removed:
        return
    out.append("\n== ACEs of older config revisions, removed since ==")
    for entry in report.removed:
        periods = periods_text(entry.periods)
        seen = f", {entry.first_seen or '?'} .. {entry.last_seen or '?'}" if entry.hits else ""
        out.append(f"{entry.firewall}: access-list {entry.acl} (last at line {entry.line}), in "
                   f"force {periods}: {entry.hits} hits{seen}")
        out.append(f"    {entry.text}")


def render_not_judged(aces: list, out: list) -> None:
    """ACEs that are not candidates although they have no hits, each with the reason."""
    no_data: dict = {}
    for ace in aces:
        if ace.status == "no data":
            no_data.setdefault((ace.firewall, ace.reason), []).append(ace)
    short = [a for a in aces if a.status == "not enough data"]
    against = [a for a in aces if a.status == "disagreement"]
    counted = [a for a in aces if a.status == "evidence disagrees"]
    young = [a for a in aces if a.status == "too new to judge"]
    skipped = [a for a in aces if a.status == "not evaluated" and a.judgement != "n/a"]
    if not (no_data or short or against or counted or young or skipped):
        return
    out.append("\n== Not judged: no hits, but the evidence cannot tell (never candidates) ==")
    for (firewall, reason), entries in no_data.items():
        out.append(f"  {firewall}: {len(entries)} permit ACE(s): no data: {reason}")
    for title, entries in (("Not enough data", short), ("Disagreement", against),
                           ("Evidence disagrees", counted), ("Too new", young)):
        for ace in entries:
            out.append(f"  {ace.firewall}: access-list {ace.acl}, line {ace.line}: "
                       f"{title.lower()}: {ace.reason}")
    if skipped:
        out.append("  Not evaluated (the analysis cannot tell whether these are used; review "
                   "by hand):")
        if any(a.judgement == "UNPARSED" for a in skipped):
            out.append("  (traffic an UNPARSED ACE would have matched is credited to a later "
                       "ACE of its ACL, or counted unmatched)")
        for ace in skipped:
            out.append(f"  {ace.firewall}: access-list {ace.acl}, line {ace.line}: "
                       f"{ace.reason}")


def render(report: Report) -> str:
    out = []
    for problem in report.input_errors:
        out.append(f"WARNING: input: {problem['error']}")
    for conflict in report.identity_conflicts:
        out.append(f"WARNING: {conflict}")
    render_evidence(report, out)
    render_captures(report, out)
    counters = report.counters
    out.append("\nLog lines")
    out.append(tabulate([[counters[k], k, COUNTER_HELP.get(k, "")] for k in counters],
                        tablefmt="plain", colalign=("right", "left", "left")))
    aces = report.rules

    span = report.window
    if span["first"]:
        out.append(f"Analysis window: {span['first']} .. {span['last']} ({span['days']} days)")
    out.append("Times are the wall-clock times written in the logs (time-zone offsets are not "
               "applied).")

    out.append("\n== Ruleset: every ACE with its hits ==")
    groups: dict = {}
    for ace in aces:
        groups.setdefault((ace.firewall, ace.acl), []).append(ace)
    for (firewall, acl), entries in groups.items():
        bound = ", ".join(entries[0].bindings) or "not bound to an interface: not evaluated"
        out.append(f"\n{firewall}: access-list {acl} ({bound})")
        if report.captures:         # the device's own counters, beside the logs' hits
            rows = [[a.line, a.judgement or a.hits, a.device.summary if a.device else "",
                     a.status,
                     a.first_seen or "", a.last_seen or "", a.text] for a in entries]
            out.append(tabulate(rows, headers=["LINE", "HITS", "DEVICE", "STATUS",
                                               "FIRST SEEN", "LAST SEEN", "ACE"],
                                tablefmt="simple", colalign=("right", "right", "right",
                                                             "left", "left", "left", "left")))
            continue
        rows = [[a.line, a.judgement or a.hits, a.status, a.first_seen or "",
                 a.last_seen or "", a.text] for a in entries]
        out.append(tabulate(rows, headers=["LINE", "HITS", "STATUS", "FIRST SEEN", "LAST SEEN",
                                           "ACE"], tablefmt="simple",
                            colalign=("right", "right", "left", "left", "left", "left")))

    rule = report.unused_rule
    if rule:
        days = {f.horizon.as_of for f in report.firewalls if f.horizon}
        as_of = days.pop() if len(days) == 1 else "each firewall's last day of logs"
        out.append(f"\n== ACEs not used in the {rule['days']} days before {as_of}: "
                   "pruning candidates ==")
    else:
        out.append("\n== ACEs with no hits: pruning candidates ==")
    unused = [a for a in aces if a.unused]
    if not unused:
        out.append("(none)")
    for ace in unused:
        out.append(f"{ace.firewall}: access-list {ace.acl}, line {ace.line}: "
                   f"{ace.text}")
        out.append(f"    {ace.reason}")
        for remark in ace.remarks:
            out.append(f"    remark: {remark}")
        out += [f"    {note}" for note in caveats(report, ace)]
    quiet_denies = [a for a in aces if a.status == "deny, no hits"]
    if quiet_denies:
        out.append("\nDeny ACEs with no hits (they show only where deny messages 106023/106100 "
                   "are logged; then they denied nothing, but removing a deny opens access):")
        for ace in quiet_denies:
            out.append(f"  {ace.firewall}: access-list {ace.acl}, line {ace.line}: "
                       f"{ace.text}")
    render_not_judged(aces, out)
    render_disagreements(report, out)
    render_rehashed(report, out)
    render_removed(report, out)

    render_members(report, out)
    render_shadowing(report, out)
    render_tightening(report, out)

    if report.unknown_results:
        out.append("\nWARNING: results for ACEs that are not in the database (was it "
                   "preprocessed again after the run?):")
        for entry in report.unknown_results:
            out.append(f"  {entry['firewall']}: access-list {entry['acl']}, line "
                       f"{entry['line']}: {entry['hits']} hits")

    out.append("\n== Traffic per ACE ==")
    for ace in aces:
        if ace.hits == 0:
            continue
        out.append("")
        out.append(headline(ace))
        out.append(ace.text)
        out.append(f"Total number of hits: {ace.hits}")
        if ace.periods:
            out.append(f"In force {periods_text(ace.periods)} (config history)")
        elif ace.since:
            out.append(f"In force since {ace.since} (config history)")
        if ace.removed_member_hits:
            out.append(f"{ace.removed_member_hits} of them on members older revisions had and "
                       "this one has not")
        rows = [[c.count, c.protocol.upper(), c.source, c.destination, c.port,
                 c.first_seen, c.last_seen] for c in ace.connections]
        out.append(tabulate(rows, headers=["COUNT", "PROTO", "FROM IP", "TO IP", "PORT",
                                           "FIRST SEEN", "LAST SEEN"], tablefmt="plain"))
        if ace.connections_sampled:
            out.append(f"... and about {ace.omitted_connections} more connections "
                       f"({ace.omitted_hits} hits): too many to keep, the list is the most "
                       "used of a sample (each count exact)")
        elif ace.connections_truncated:
            out.append(f"... and {ace.omitted_connections} more connections "
                       f"({ace.omitted_hits} hits)")
        if ace.services:
            out.append("Those not listed, per service:")
            rows = [[s.hits, s.protocol.upper(), s.destination, s.port, s.first_seen,
                     s.last_seen] for s in ace.services]
            out.append(tabulate(rows, headers=["HITS", "PROTO", "TO IP", "PORT", "FIRST SEEN",
                                               "LAST SEEN"], tablefmt="plain"))
            if ace.other_service_hits:
                out.append(f"... and {ace.other_service_hits} hits of other services (too "
                           "many to keep)")
        if len(ace.objects) > 1:
            out.append("Per object:")
            device = bool(report.captures)      # the element counters, when captured
            rows = [[o.index, o.hits] + ([o.device.summary if o.device else ""]
                                         if device else []) +
                    [o.protocol, o.source, o.source_port, o.destination, o.destination_port,
                     o.first_seen or "", o.last_seen or ""] for o in ace.objects]
            out.append(tabulate(rows, headers=["INDEX", "HITS"] + (["DEVICE"] if device
                                                                   else []) +
                                ["PROTO", "SOURCE", "SPORT", "DESTINATION", "DPORT",
                                 "FIRST SEEN", "LAST SEEN"], tablefmt="plain"))
    return printable("\n".join(out) + "\n")
