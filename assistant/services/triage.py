"""Triage: the order of the patient list ("most at risk first") and the reasons shown
beside each patient. Pure: it weighs what `services/ward.py` gathered for the whole team
in a few grouped queries, and reads nothing itself.

The order, most at risk first (the README's "Most at risk first" says the same):

1. patients with an open (or acknowledged) **urgent** alert, the most urgent alerts
   first (100 points each, on top of the score below);
2. then active patients by a **clinical score**, highest first, made of points:

   - adherence this week, once 2 doses were answered: (100 − %) ÷ 2, so 29 % is 35.5
     points ("29 % this week", said below 80 %);
   - doses missed in a row (2 or more): 8 each, at most 40 ("3 missed in a row");
   - doses missed today, in the patient's local day: 4 each, at most 12 ("2 missed today");
   - a measure out of range (reading alerts of the last 7 days): 12 when twice or more,
     else 6 ("BP high twice");
   - other open alerts: high 8, normal 4, at most 24 together ("2 open alerts");
   - the chat unreachable (messages fail): 20 ("unreachable"); no chat linked yet: 6
     ("no chat yet"); a linked patient silent for 3 days or more: 2 a day, at most 14
     ("no reply for 4 days");

   so a patient at 29 % this week (35.5) ranks above patients at 97–100 % with a couple
   of non-urgent alerts (1.5 + 2 × 8 = 17.5);
3. then paused and stopped patients (no reminders go out: their numbers mean little),
   by the same score.

Ties: the lower adherence this week first, then by name. The reasons are listed by weight,
the heaviest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Short names a nurse writes; others are the measure's name with spaces.
SHORT = {"blood_pressure": "BP", "heart_rate": "pulse", "resting_heart_rate": "resting pulse",
         "spo2": "SpO₂", "respiratory_rate": "breathing rate"}
LOW_ADHERENCE = 80      # a reason below this (the score counts every point)
SILENT_FROM_DAYS = 3
URGENT_CHARS = 60


@dataclass(frozen=True)
class Today:
    """A patient's doses in their own local day."""
    due: int = 0
    taken: int = 0
    skipped: int = 0
    missed: int = 0

    @property
    def answered(self) -> int:
        return self.taken + self.skipped

    @property
    def pending(self) -> int:
        return self.due - self.answered - self.missed


@dataclass(frozen=True)
class Signals:
    """What the team's data says about one patient (gathered by services/ward.py)."""
    active: bool = True
    adherence_7: int | None = None
    answered_7: int = 0
    urgent: tuple[str, ...] = ()          # summaries of open urgent alerts, newest first
    high_alerts: int = 0                  # open, not urgent
    normal_alerts: int = 0
    out_of_range: dict[tuple[str, str], int] = field(default_factory=dict)  # (measure, dir)
    missed_in_a_row: int = 0
    chat: str = "not linked"              # "linked", "unreachable" or "not linked"
    silent_days: int | None = None        # days since the linked patient last wrote
    today: Today = Today()


@dataclass(frozen=True)
class Assessment:
    tier: int                 # 0 urgent, 1 active, 2 paused or stopped
    score: float
    reasons: tuple[str, ...]

    def key(self, adherence_7: int | None, name: str) -> tuple[int, float, int, str]:
        """Sort key, most at risk first."""
        return (self.tier, -self.score, adherence_7 if adherence_7 is not None else 101,
                name.lower())


def measure_name(measure: str) -> str:
    return SHORT.get(measure, measure.replace("_", " "))


def _times(n: int) -> str:
    return "" if n == 1 else " twice" if n == 2 else f" {n} times"


def _urgent_reason(summary: str) -> str:
    short = summary.split("; ")[0].rstrip(".")
    for measure, name in SHORT.items():
        long = measure.replace("_", " ")
        if short.lower().startswith(long + " "):
            short = name + short[len(long):]
    if len(short) > URGENT_CHARS:
        short = short[:URGENT_CHARS - 1].rstrip() + "…"
    return f"urgent: {short}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def assess(s: Signals) -> Assessment:
    """The patient's tier, score and reasons (heaviest first)."""
    weighed: list[tuple[float, str]] = []
    if s.answered_7 >= 2 and s.adherence_7 is not None:
        points = (100 - s.adherence_7) / 2
        weighed.append((points, f"{s.adherence_7} % this week"
                        if s.adherence_7 < LOW_ADHERENCE else ""))
    if s.missed_in_a_row >= 2:
        weighed.append((min(8 * s.missed_in_a_row, 40), f"{s.missed_in_a_row} missed in a row"))
    if s.today.missed:
        weighed.append((min(4 * s.today.missed, 12), f"{s.today.missed} missed today"))
    for (measure, direction), n in sorted(s.out_of_range.items(), key=lambda i: -i[1]):
        weighed.append((12 if n >= 2 else 6, f"{measure_name(measure)} {direction}{_times(n)}"))
    others = s.high_alerts + s.normal_alerts
    if others:
        weighed.append((min(8 * s.high_alerts + 4 * s.normal_alerts, 24),
                        f"{_plural(others, 'open alert')}"))
    if s.chat == "unreachable":
        weighed.append((20, "unreachable"))
    elif s.chat == "not linked":
        weighed.append((6, "no chat yet"))
    elif s.silent_days is not None and s.silent_days >= SILENT_FROM_DAYS:
        weighed.append((min(2 * s.silent_days, 14), f"no reply for {s.silent_days} days"))
    score = sum(points for points, _ in weighed) + 100 * len(s.urgent)
    reasons = [_urgent_reason(u) for u in s.urgent]
    reasons += [text for _, text in sorted(weighed, key=lambda w: -w[0]) if text]
    tier = 0 if s.urgent else 1 if s.active else 2
    return Assessment(tier, round(score, 1), tuple(reasons))
