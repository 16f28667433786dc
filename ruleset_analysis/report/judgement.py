"""Where a judgement is made: is this ACE used, unused, or why can it not be told?

Every report format, ``prune`` and ``diff`` read the status decided here, never their own. An
ACE is UNUSED only when the analysis could have seen its use (the ACE can be matched, the
analysed messages show its protocols) and its firewall's logs cover the period the claim is
about (``evidence.py``); everything else says why not.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import Enum
from typing import List, Optional, Tuple

from ..model import logs_connections
from .evidence import Evidence, Horizon
from .model import AceReport, DeviceCounts


class Status(str, Enum):
    USED = "used"
    UNUSED = "unused"                      # a pruning candidate
    NO_DATA = "no data"                    # the firewall's logs show no permitted traffic
    NOT_ENOUGH_DATA = "not enough data"    # the logs do not cover the period claimed
    NOT_EVALUATED = "not evaluated"        # the ACE cannot be judged from logs at all
    DISAGREEMENT = "disagreement"          # the logs contradict the config for this ACE
    DENY_NO_HITS = "deny, no hits"         # never a candidate: removing a deny opens access
    EVIDENCE_DISAGREES = "evidence disagrees"    # the device counted hits the logs do not show
    TOO_NEW = "too new to judge"           # in force for less than the period a claim is about


@dataclass(frozen=True)
class Judgement:
    status: Status
    reason: str

    @property
    def candidate(self) -> bool:
        return self.status is Status.UNUSED


# Why an ACE cannot be judged from logs (the JSON's ``judgement`` code) -> the sentence.
NOT_EVALUATED = {
    "UNPARSED": "could not be parsed: {error}",
    "n/a": "not an extended ACL: not used for traffic through the firewall",
    "unbound": "ACL not bound by access-group (VPN, NAT, capture, ...?)",
    "control-plane": "a control-plane ACL: it filters traffic to the firewall itself, which "
                     "connection messages do not credit to ACLs",
    "inactive": "inactive",
    "fqdn": "uses fqdn objects, which cannot be resolved offline: their traffic is not "
            "attributed",
    "dynamic address": "uses the address of an interface that DHCP or PPPoE assigns (not in "
                       "the config): give it with preprocess --interface-address IF=ADDRESS",
    "not seen": "permits {unseen}, which the analysed log messages do not show",
}


def not_evaluated_code(entry: AceReport, unresolved: List[str]) -> str:
    """Why the analysis cannot tell whether an ACE is used ('' when it can); ``unresolved``:
    the addresses it uses that cannot be resolved offline."""
    if entry.error:
        return "UNPARSED"
    if entry.kind != "extended":
        return "n/a"
    if not entry.bindings:
        return "unbound"
    if all(b.startswith("control-plane ") for b in entry.bindings):
        return "control-plane"
    if entry.inactive:
        return "inactive"
    if any(text.startswith("fqdn ") for text in unresolved):
        return "fqdn"
    if unresolved:
        return "dynamic address"
    if entry.visibility in ("none", "partial"):
        return "not seen"
    return ""


def judge(entry: AceReport, evidence: Evidence, no_data: Optional[str],
          horizon: Optional[Horizon], disagreements: int, needed: List[str]) -> Judgement:
    """The judgement of one ACE of the report, given its firewall's
    evidence, why that firewall has no data (or None), the unused horizon (or None for "no
    hit at all"), how many messages disagree with its first match, and the protocols whose
    connections its use would show in (tcp, udp, icmp)."""
    code = entry.judgement
    if code:
        return Judgement(Status.NOT_EVALUATED, NOT_EVALUATED[code].format(
            error=entry.error, unseen=", ".join(entry.unseen_protocols)))
    hits, untimed, last = entry.hits, entry.untimed_hits, entry.last_seen
    if horizon is None:
        if hits:
            return Judgement(Status.USED, f"{hits} hits")
    else:
        if last is not None and last >= horizon.cutoff:
            return Judgement(Status.USED, f"last hit {last}")
        if untimed:
            return Judgement(Status.NOT_ENOUGH_DATA, f"{untimed} hit(s) without a time: "
                             f"they may fall in {horizon.start} .. {horizon.as_of}")
    if disagreements:
        message = "deny" if entry.action == "permit" else "permit"
        # Time-ranges are not evaluated: outside its period the ACE does not match.
        why = f"its time-range {entry.time_range} may have been inactive" \
            if entry.time_range else "changed config, another context?"
        return Judgement(Status.DISAGREEMENT,
                         f"{disagreements} {message} message(s) for flows this "
                         f"{entry.action} ACE matches first: the config and the logs "
                         f"disagree ({why})")
    if entry.hash_disagreements:
        # The device decided them by another ACE: the config changed since, and this ACE
        # would take that traffic now. "No hit" says nothing about it.
        return Judgement(Status.DISAGREEMENT,
                         f"{entry.hash_disagreements} ACL message(s) for flows this ACE "
                         "matches first were decided by another ACE, by the device's own "
                         "hashes: the config and the logs disagree (changed config?)")
    if entry.action != "permit":
        return Judgement(Status.DENY_NO_HITS,
                         "a deny ACE shows only where deny messages (106023, 106100) are "
                         "logged; removing a deny opens access")
    if no_data:
        return Judgement(Status.NO_DATA, no_data)
    since = entry.since
    # in force for the whole horizon, from its first second, or too new
    if since is not None and horizon is not None and since > f"{horizon.start} 00:00:00":
        return Judgement(Status.TOO_NEW, f"in force since {since} (config history), after the "
                         f"start of the {horizon.days} days {horizon.start} .. "
                         f"{horizon.as_of}: too new to judge")
    born = since[:10] if since else ""
    # younger than the logs (from their first second): judged over its own life
    young = since is not None and horizon is None and evidence.first is not None \
        and since > f"{evidence.first} 00:00:00"
    if young and (evidence.last is None or evidence.last < born):
        return Judgement(Status.NO_DATA, f"in force since {since} (config history): no "
                         "logs since")
    short = evidence.horizon_reason(horizon) if horizon is not None else None
    if short:
        return Judgement(Status.NOT_ENOUGH_DATA, short)
    gap = evidence.protocol_reason(needed, horizon,
                                   logged=logs_connections(entry.log, entry.event_log))
    if gap:
        return Judgement(Status.NO_DATA, gap)
    period = claimed_period(evidence, horizon)
    if young:
        period = (born, period[1])
    counted = device_counted(entry.device, *period)
    if counted:
        return Judgement(Status.EVIDENCE_DISAGREES, counted)
    device = device_note(entry.device, *period)
    if horizon is not None:
        before = f" (last seen {last})" if last else ""
        return Judgement(Status.UNUSED, f"no hit in the {horizon.days} days "
                         f"{horizon.start} .. {horizon.as_of}{before}{device}")
    if young:
        days = (datetime.date.fromisoformat(period[1]) -
                datetime.date.fromisoformat(period[0])).days + 1
        return Judgement(Status.UNUSED, f"no hit since it came into force at {since} (config "
                         f"history): logs of {period[0]} .. {period[1]} ({days} days){device}")
    # (the days with logs said where fewer: the span is not what the logs cover)
    logged = len(evidence.days)
    covered = f", logs on {logged} of them" if logged < evidence.span_days else ""
    return Judgement(Status.UNUSED, f"no hit in the logs of {evidence.first} .. "
                     f"{evidence.last} ({evidence.span_days} days{covered}){device}")


def claimed_period(evidence: Evidence, horizon: Optional[Horizon]) -> Tuple[str, str]:
    """The days an unused claim is about: the --unused-since horizon, else the logs' days."""
    if horizon is not None:
        return horizon.start, horizon.as_of
    return evidence.first or "", evidence.last or ""


def device_counted(device: Optional[DeviceCounts], first: str, last: str) -> str:
    """Why the device's own counter (of an ACE or an element) contradicts "no hit" in
    first .. last ('' if it does not): it grew between two captures whose interval shares time
    with the period, or counted after a reset in between."""
    if device is None:
        return ""
    for interval in device.intervals:
        if interval.grew or (interval.grew is None and interval.since_reset):
            if overlaps(interval.start, interval.end, first, last):
                what = f"+{interval.grew}" if interval.grew is not None else \
                    f"at least {interval.since_reset} (it was reset in between)"
                return (f"the device counted {what} hits between {interval.start} and "
                        f"{interval.end}, which overlaps {first} .. {last}, but no log line "
                        "shows one: a logging level, a missing log source or sampling? "
                        "Not a pruning candidate")
    return ""


def device_note(device: Optional[DeviceCounts], first: str, last: str) -> str:
    """What the device's counter adds to an unused verdict ('' when nothing)."""
    if device is None:
        return ""
    still = [i for i in device.intervals if i.grew == 0 and
             overlaps(i.start, i.end, first, last)]
    if still:
        return (f"; the device's counter did not move between {still[0].start} and "
                f"{still[0].end} either (unless it was cleared in between)")
    reset = [i for i in device.intervals if i.grew is None and
             overlaps(i.start, i.end, first, last)]
    if reset:
        return (f"; the device's counter went down between {reset[0].start} and "
                f"{reset[0].end} (a reload or a counter clear): what it counted before that "
                "is unknown")
    latest = device.readings[-1]
    if latest.hits:
        return (f"; the device counted {latest.hits} hits by {latest.taken_at}, since its "
                "last reload or counter clear (when is unknown)")
    return ""


def overlaps(start: str, end: str, first: str, last: str) -> bool:
    """Whether start .. end (ISO times) shares time with the days first .. last."""
    return start < f"{last}T24" and end > first
