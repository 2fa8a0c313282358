"""Alarm fatigue: one open alert per measure and direction. Given the open alerts and new
findings and readings (in effective-time order), say which alerts to open, update or clear.

As Nightscout, xDrip and Tidepool users ask: new evidence updates the open alert rather than
opening another; a resolved alert is not re-raised by the same evidence; values back in range
clear it ("all clear"); an update is news only when it escalates to urgent; while a snooze
lasts, a warning for its key opens no alert and an update of the open one is no news, but an
urgent value always comes through (opens, or escalates the snoozed warning with news: a
nurse who silenced "BP 165 again" did not mean to miss "BP 190"); and since the key is
measure *and* direction, snoozing a high never silences a low.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from assistant.domain.findings import Direction, Finding, Reading, Severity
from assistant.domain.targets import Target

Key = tuple[str, Direction | None]
# A clear needs this long without a finding for the key, so a forecast flickering around
# its threshold does not open and clear an alert every five minutes. Not for missing data:
# the reading that was missing clears it at once (it was raised at the scheduler's check,
# so waiting QUIET after it kept it open until a second reading came, a day later for a
# daily weight).
QUIET = timedelta(minutes=30)


class Action(StrEnum):
    open = "open"
    update = "update"
    clear = "clear"


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """What the store keeps of an open (or acknowledged) alert."""
    finding: Finding
    last_finding_at: datetime

    @property
    def key(self) -> Key:
        return self.finding.key


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    key: Key
    at: datetime
    finding: Finding | None   # the new evidence; None for a clear
    notify: bool              # tell the team now (an open, an escalation, an all-clear)


def _worst(findings: Iterable[Finding]) -> Finding:
    return max(findings, key=lambda f: (f.severity == Severity.urgent, f.evidence_at))


def reconcile(*, open_alerts: Iterable[OpenAlert], findings: Iterable[Finding],
              readings: Iterable[Reading], targets: Mapping[str, Target],
              resolved: Mapping[Key, datetime] | None = None,
              snoozed: Mapping[Key, datetime] | None = None
              ) -> tuple[list[Decision], dict[Key, OpenAlert]]:
    """Decisions in time order and the open alerts after them. `resolved` holds, per key,
    the evidence time of the last alert a clinician resolved (no evidence as old or older
    re-raises it); `snoozed`, per key, when a snooze ends."""
    state = {a.key: a for a in open_alerts}
    closed = dict(resolved or {})
    snoozes = snoozed or {}
    by_time: dict[datetime, list[Finding]] = {}
    for finding in findings:
        by_time.setdefault(finding.concluded_at, []).append(finding)
    events: dict[datetime, list[Reading]] = {t: [] for t in by_time}
    for reading in readings:
        events.setdefault(reading.at, []).append(reading)
    decisions: list[Decision] = []
    for at in sorted(events):
        now_found: dict[Key, list[Finding]] = {}
        for finding in by_time.get(at, []):
            now_found.setdefault(finding.key, []).append(finding)
        for key, group in now_found.items():
            decision = _take(state, closed, key, _worst(group), at,
                             snoozed=key in snoozes and at < snoozes[key])
            if decision is not None:
                decisions.append(decision)
        for reading in events[at]:
            for key, alert in list(state.items()):
                if key[0] != reading.measure or key in now_found:
                    continue
                if key[1] is None:    # missing data: any newer reading is the data
                    back = at > alert.finding.evidence_at
                else:
                    target = targets.get(reading.measure)
                    back = (target is None or target.in_range(reading, key[1])) and (
                        at - alert.last_finding_at >= QUIET)
                if back:
                    del state[key]
                    closed[key] = alert.finding.evidence_at
                    decisions.append(Decision(Action.clear, key, at, None, notify=True))
    return decisions, state


def _take(state: dict[Key, OpenAlert], closed: Mapping[Key, datetime], key: Key,
          finding: Finding, at: datetime, *, snoozed: bool) -> Decision | None:
    urgent = finding.severity == Severity.urgent
    alert = state.get(key)
    if alert is None:
        if key in closed and finding.evidence_at <= closed[key]:
            return None          # the evidence a clinician already resolved
        if snoozed and not urgent:
            return None          # held back: opens at the first evaluation after the snooze
        state[key] = OpenAlert(finding, at)
        return Decision(Action.open, key, at, finding, notify=True)
    if finding.evidence_at <= alert.finding.evidence_at:
        # nothing new; an evaluation replays older findings too, which must not move the
        # last finding back (a reopened alert was cleared by the all-clear before it)
        state[key] = replace(alert, last_finding_at=max(alert.last_finding_at, at))
        return None
    escalated = urgent and alert.finding.severity != Severity.urgent
    state[key] = replace(alert, finding=finding, last_finding_at=at)
    return Decision(Action.update, key, at, finding, notify=escalated)
