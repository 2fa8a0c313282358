"""The emergency guard: red-flag phrases get the emergency guidance before any NLU.

Deterministic on purpose (DESIGN guarantee 5): it never depends on a model's
confidence. The `emergency` intent in Rasa is only a second net.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from assistant.models import Alert, AlertKind, AlertSeverity, CareTeam, Patient
from assistant.settings import get_settings

_RED_FLAGS = [
    r"chest (pain|hurts?|tight(ness)?|pressure)", r"heart attack",
    r"can'?t breathe?", r"cannot breathe?", r"(hard|struggling) to breathe?",
    r"short(ness)? of breath", r"\bstroke\b", r"face (is )?droop", r"slurr?ed speech",
    r"overdose", r"took (too many|all my|the whole)",
    r"suicid", r"kill (myself|me)", r"end (my|it all)", r"want to die", r"self[- ]?harm",
    r"hurt(ing)? myself", r"(pass(ed)?|passing) out", r"unconscious", r"seizure",
]
_PATTERN = re.compile("|".join(f"(?:{p})" for p in _RED_FLAGS), re.IGNORECASE)


def is_red_flag(text: str) -> bool:
    normalised = " ".join(text.replace("’", "'").split())
    return bool(_PATTERN.search(normalised))


def emergency_guidance(team: CareTeam | None) -> str:
    settings = get_settings()
    number = (team.emergency_number if team else None) or settings.emergency_number
    crisis = (team.crisis_line if team else None) or settings.crisis_line
    return (f"🚨 This may be an emergency. Call {number} now, or go to the nearest emergency "
            f"department. If you are thinking about harming yourself, call {crisis}. "
            "I have also alerted your care team, but please don't wait for them.")


def raise_emergency(db: Session, patient: Patient) -> str:
    """Record an urgent alert for the patient's team; return what to tell the patient."""
    team = db.get(CareTeam, patient.team_id)
    db.add(Alert(patient_id=patient.id, team_id=patient.team_id, kind=AlertKind.emergency,
                 severity=AlertSeverity.urgent,
                 summary="The patient wrote something that may be an emergency."))
    return emergency_guidance(team)
