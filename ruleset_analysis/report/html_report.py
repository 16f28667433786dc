"""Self-contained HTML report: no external assets, works offline.

Charts are inline SVG drawn here (hits per day per ACE, and a sparkline per ruleset row);
tables sort when a header is clicked (a few lines of inline script), or on load from the
address fragment `#sort=COLUMN-asc|desc`.
"""
from __future__ import annotations

import datetime
import hashlib
import html
from typing import Optional

from .build import caveats
from .model import AceReport, Report, periods_text
from .safe import printable

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; cursor: pointer; } td.num { text-align: right; }
code { font-size: 0.95em; } .unused { background: #fff3e0; } .muted { color: #888; }
svg.chart rect { fill: #4a7bd0; } svg.spark rect { fill: #4a7bd0; }
"""

SCRIPT = """
function sortTable(table, column, descending) {
  var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var x = a.cells[column].getAttribute('data-value') || a.cells[column].textContent;
    var y = b.cells[column].getAttribute('data-value') || b.cells[column].textContent;
    var nx = parseFloat(x), ny = parseFloat(y), r;
    r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
    return descending ? -r : r;
  });
  rows.forEach(function (row) { body.appendChild(row); });
  table.setAttribute('data-sorted', column + (descending ? '-desc' : '-asc'));
}
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, column) {
    th.addEventListener('click', function () {
      var now = table.getAttribute('data-sorted') === column + '-asc';
      sortTable(table, column, now);
    });
  });
});
var wanted = /^#sort=([a-z_]+)-(asc|desc)$/.exec(location.hash);
if (wanted) {
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, column) {
      if (th.getAttribute('data-key') === wanted[1]) {
        sortTable(table, column, wanted[2] === 'desc');
      }
    });
  });
}
"""


def _e(value) -> str:
    """Every interpolation of text into the page, attribute values included."""
    return html.escape(printable("" if value is None else str(value)), quote=True)


def _days(report: Report) -> list:
    """Every day of the analysis window (at most ~3 years are drawn day by day)."""
    span = report.window
    if not span["first"]:
        return []
    first = datetime.date.fromisoformat(span["first"][:10])
    last = datetime.date.fromisoformat(span["last"][:10])
    count = min((last - first).days + 1, 1100)
    return [(first + datetime.timedelta(days=n)).isoformat() for n in range(count)]


def _bars(daily: dict, days: list, width: int, height: int, css: str, title: str) -> str:
    if not days:
        return ""
    peak = max(daily.values(), default=0) or 1
    step = width / len(days)
    bars = []
    for n, day in enumerate(days):
        hits = daily.get(day, 0)
        if hits:
            h = max(1.0, hits / peak * (height - 2))
            bars.append(f'<rect x="{n * step:.2f}" y="{height - h:.2f}" '
                        f'width="{max(step - 0.5, 0.5):.2f}" height="{h:.2f}">'
                        f'<title>{day}: {hits}</title></rect>')
    return (f'<svg class="{css}" width="{width}" height="{height}" role="img" '
            f'aria-label="{_e(title)}" viewBox="0 0 {width} {height}">{"".join(bars)}</svg>')


def _table(headers: list, rows: list, table_id: str = "", sortable: bool = True) -> str:
    head = "".join(f'<th data-key="{key}">{_e(label)}</th>' for key, label in headers)
    body = "".join(f"<tr{attrs}>{cells}</tr>" for attrs, cells in rows)
    ident = f' id="{table_id}"' if table_id else ""
    css = ' class="sortable"' if sortable else ""
    return f"<table{ident}{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value, number: bool = False, raw: Optional[str] = None) -> str:
    css = ' class="num"' if number else ""
    data = f' data-value="{_e(value)}"' if number else ""
    return f"<td{css}{data}>{raw if raw is not None else _e(value)}</td>"


def _anchor(ace: AceReport) -> str:
    """A section id from a digest of the ACE's place, never from its names."""
    place = f"{ace.firewall}\t{ace.acl}\t{ace.line}".encode("utf-8", "surrogatepass")
    return "ace-" + hashlib.sha256(place).hexdigest()[:16]


def render(report: Report) -> str:
    days = _days(report)
    span = report.window
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>ruleset-analysis report</title>", f"<style>{STYLE}</style></head><body>",
           "<h1>Ruleset analysis</h1>"]
    for problem in report.input_errors:
        out.append(f'<p class="unused">Input: {_e(problem["error"])}</p>')
    if span["first"]:
        out.append(f'<p id="window">Analysis window: {_e(span["first"])} .. '
                   f'{_e(span["last"])} ({span["days"]} days). Times are the wall-clock times '
                   "written in the logs.</p>")
    for conflict in report.identity_conflicts:
        out.append(f'<p class="unused">{_e(conflict)}</p>')
    out.append("<h2>Evidence per firewall</h2>")
    rows = []
    for fw in report.firewalls:
        status, why = fw.evidence, fw.why
        revisions = [f"{len(fw.revisions)} config revisions, each line matched against the "
                     "one in force: " + ", ".join(r["since"] for r in fw.revisions)] \
            if fw.revisions else []
        notes = "; ".join(([why] if why else []) + fw.notes + revisions)
        attrs = ' class="unused"' if status != "ok" else ""
        rows.append((attrs, _cell(fw.firewall) + _cell(status) +
                     _cell(f"{fw.first} .. {fw.last}" if fw.first else "-") +
                     _cell(fw.days_with_logs, True) + _cell(fw.untimed, True) +
                     _cell(notes)))
    out.append(_table([("firewall", "Firewall"), ("evidence", "Evidence"), ("logs", "Logs"),
                       ("days", "Days with logs"), ("untimed", "Lines without time"),
                       ("notes", "Why / notes")], rows, "evidence"))
    devices = report.unknown_devices
    if devices["lines"]:
        top = ", ".join(f"{d['device']} ({d['lines']})" for d in devices["top"])
        out.append(f'<p id="unknown-devices">{devices["lines"]} lines from {devices["ids"]} '
                   f"device id(s) not in the database: {_e(top)}</p>")
    out.append("<h2>Log lines</h2>")
    out.append(_table([("category", "Category"), ("lines", "Lines")],
                      [("", _cell(k) + _cell(v, True)) for k, v in report.counters.items()],
                      "counters"))

    out.append("<h2>Ruleset</h2>")
    rows = []
    for ace in report.rules:
        status = ace.status
        link = f'<a href="#{_anchor(ace)}">{_e(ace.text)}</a>' if ace.hits \
            else _e(ace.text)
        attrs = ' class="unused"' if ace.unused else ""
        device = _cell(ace.device.summary if ace.device else "") if report.captures else ""
        rows.append((attrs, _cell(ace.firewall) + _cell(ace.acl) +
                     _cell(ace.line, True) + _cell(ace.hits, True) + device +
                     _cell(ace.last_seen or "") +
                     f'<td title="{_e(ace.reason)}">{_e(status)}</td>' +
                     _cell("", raw=_bars(ace.daily, days, 120, 18, "spark",
                                         f"hits per day, line {ace.line}")) +
                     _cell("", raw=link)))
    device_column = [("device", "Device counter")] if report.captures else []
    out.append(_table([("firewall", "Firewall"), ("acl", "ACL"), ("line", "Line"),
                       ("hits", "Hits")] + device_column + [
                       ("last_seen", "Last seen"), ("status", "Status"),
                       ("activity", "Hits per day"), ("ace", "ACE")], rows, "ruleset"))

    out.append("<h2>Pruning candidates</h2>")
    unused = [a for a in report.rules if a.unused]
    if unused:
        out.append('<ul id="unused-aces">')
        for ace in unused:
            notes = "".join(f"<br><span class='muted'>{_e(n)}</span>"
                            for n in caveats(report, ace))
            remarks = "".join(f"<br><span class='muted'>remark: {_e(r)}</span>"
                              for r in ace.remarks)
            out.append(f"<li>{_e(ace.firewall)}: line {ace.line}: "
                       f"<code>{_e(ace.text)}</code><br>{_e(ace.reason)}{remarks}"
                       f"{notes}</li>")
        out.append("</ul>")
    else:
        out.append("<p>None.</p>")

    out.append("<h2>Not candidates: no hits, but not judged unused</h2>")
    rows = [("", _cell(a.firewall) + _cell(a.acl) + _cell(a.line, True) +
             _cell(a.status) + _cell(a.reason) +
             _cell("", raw=f"<code>{_e(a.text)}</code>"))
            for a in report.rules
            if a.status not in ("used", "unused") and a.judgement != "n/a"]
    out.append(_table([("firewall", "Firewall"), ("acl", "ACL"), ("line", "Line"),
                       ("status", "Status"), ("reason", "Why"), ("ace", "ACE")], rows,
                      "not-judged") if rows else "<p>None.</p>")

    if report.disagreements:
        out.append("<h2>Logs that disagree with the config</h2>")
        rows = [("", _cell(d.firewall) + _cell(d.acl) + _cell(d.line, True) +
                 _cell(d.count, True) + _cell(d.messages) + _cell(d.last_seen or "") +
                 _cell("", raw=f"<code>{_e(d.text)}</code>"))
                for d in report.disagreements]
        out.append(_table([("firewall", "Firewall"), ("acl", "ACL"), ("line", "Line"),
                           ("count", "Messages"), ("messages", "Verdict logged"),
                           ("last_seen", "Last seen"), ("ace", "ACE matched first")], rows,
                          "disagreements"))

    if report.removed:
        out.append("<h2>ACEs of older config revisions, removed since</h2>")
        rows = [("", _cell(r.firewall) + _cell(r.acl) + _cell(r.line, True) +
                 _cell(periods_text(r.periods)) +
                 _cell(r.hits, True) + _cell(r.last_seen or "") +
                 _cell("", raw=f"<code>{_e(r.text)}</code>"))
                for r in report.removed]
        out.append(_table([("firewall", "Firewall"), ("acl", "ACL"), ("line", "Last line"),
                           ("periods", "In force"), ("hits", "Hits"),
                           ("last_seen", "Last seen"), ("ace", "ACE")], rows, "removed"))

    out.append("<h2>Unused object-group members</h2>")
    rows = [("", _cell(g.firewall) + _cell(g.group) + _cell(m.member) +
             _cell("", raw=f"<code>{_e(m.line)}</code>") + _cell(", ".join(g.used_by)))
            for g in report.groups for m in g.members if m.unused]
    out.append(_table([("firewall", "Firewall"), ("group", "Group"), ("member", "Member"),
                       ("line", "Config line"), ("used_by", "Used by")], rows,
                      "unused-members") if rows else "<p>None.</p>")

    out.append("<h2>Shadowed and redundant ACEs</h2>")
    rows = []
    for ace in report.rules:
        if ace.shadowed_by or ace.redundant_with:
            what = (f"shadowed by {', '.join(map(str, ace.shadowed_by))}"
                    if ace.shadowed_by else
                    f"redundant with {', '.join(map(str, ace.redundant_with))}")
            rows.append(("", _cell(ace.firewall) + _cell(ace.acl) +
                         _cell(ace.line, True) + _cell(what) +
                         _cell("", raw=f"<code>{_e(ace.text)}</code>")))
    out.append(_table([("firewall", "Firewall"), ("acl", "ACL"), ("line", "Line"),
                       ("finding", "Finding"), ("ace", "ACE")], rows, "shadowing")
               if rows else "<p>None.</p>")

    out.append("<h2>Tightening suggestions</h2>")
    suggestions = [(a, a.tightening) for a in report.rules if a.tightening]
    for ace, suggestion in suggestions:
        lines = "\n".join(suggestion.lines)
        flag = "" if suggestion.complete else " (incomplete)"
        out.append(f"<p>{_e(ace.firewall)}: line {ace.line}{flag}: "
                   f"<code>{_e(ace.text)}</code></p><pre>{_e(lines)}</pre>")
    if not suggestions:
        out.append("<p>None.</p>")

    out.append("<h2>Traffic per ACE</h2>")
    for ace in report.rules:
        if not ace.hits:
            continue
        out.append(f'<section id="{_anchor(ace)}"><h3>{_e(ace.firewall)}: access-list '
                   f'{_e(ace.acl)}, line {ace.line}</h3><p><code>{_e(ace.text)}'
                   f'</code><br>Total number of hits: {ace.hits}</p>')
        out.append(_bars(ace.daily, days, 600, 80, "chart",
                         f"hits per day of line {ace.line}"))
        rows = [("", _cell(c.count, True) + _cell(c.protocol.upper()) +
                 _cell(c.source) + _cell(c.destination) + _cell(c.port, True) +
                 _cell(c.first_seen) + _cell(c.last_seen))
                for c in ace.connections]
        out.append(_table([("count", "Count"), ("protocol", "Proto"), ("source", "From"),
                           ("destination", "To"), ("port", "Port"), ("first_seen", "First"),
                           ("last_seen", "Last")], rows))
        if ace.connections_truncated:
            about, sample = ("about ", ": the list is a sample, each count exact") \
                if ace.connections_sampled else ("", "")
            out.append(f"<p>... and {about}{ace.omitted_connections} more connections "
                       f"({ace.omitted_hits} hits){sample}</p>")
        if ace.services:
            rows = [("", _cell(s.hits, True) + _cell(s.protocol.upper()) +
                     _cell(s.destination) + _cell(s.port, True) + _cell(s.first_seen) +
                     _cell(s.last_seen)) for s in ace.services]
            out.append("<p>Those not listed, per service:</p>")
            out.append(_table([("hits", "Hits"), ("protocol", "Proto"), ("destination", "To"),
                               ("port", "Port"), ("first_seen", "First"),
                               ("last_seen", "Last")], rows))
            if ace.other_service_hits:
                out.append(f"<p>... and {ace.other_service_hits} hits of other services (too "
                           "many to keep)</p>")
        out.append("</section>")
    out.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(out) + "\n"
