"""The emergency guard: red-flag phrases get the emergency guidance before any NLU.

Deterministic on purpose (DESIGN guarantee 5): it never depends on a model's
confidence. The `emergency` intent in Rasa is only a second net.

Diagnosis questions are guarded the same way (guarantee 6): they go to the care team
before any NLU, never to a tip; `ask_care_team` in Rasa is their second net.
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


# A question asking whether the patient has a condition ("do i have diabetes?", "could
# this be cancer") asks for a diagnosis: the assistant never answers one, not even with a
# tip. Plan questions that sound alike ("do i have any pills left?", "do i have my flu jab
# today?", "do i have diabetes tablets tonight?") name no condition and go on to Rasa.
_CONDITION = (
    r"(?:a |an |the |any )?(?:pre-?diabet\w*|diabet\w*|cancer\w*|tumou?r\w*|covid\w*|corona\w*"
    r"|flu|influenza|infection\w*|pneumonia|sepsis|hypertension|hypotension"
    r"|(?:high|low) (?:blood pressure|bp|blood sugar|sugar|cholesterol)"
    r"|(?:heart|kidney|liver|lung) (?:disease|failure|problems?|condition|issues?)"
    r"|dementia|alzheimer\w*|parkinson\w*|depression|anxiety|asthma|copd|arthritis|gout"
    r"|anaemi\w*|anemi\w*|\w*thyroid\w*|hiv|hepatitis|std|sti|uti"
    r"|disease|illness|condition|virus|disorder|something (?:serious|wrong|bad))\b"
    r"(?! (?:jab|shot|vaccin\w*|test|appointment|check|pills?|tablets?|meds?|medicines?"
    r"|medications?|doses?|injections?|pens?))"
)
_DIAGNOSIS = [
    r"\bdiagnos", r"\bwhat'?s? (?:is )?wrong with me\b",
    rf"\b(?:do|did|could|might|may|can|would) i (?:have|hav|hv|have got|got) {_CONDITION}",
    rf"\bhave i (?:got|caught|developed) {_CONDITION}",
    rf"\b(?:do|would) you think i(?: might| may| could)? (?:have|hav|got|'ve got) {_CONDITION}",
    rf"\b(?:is|could|might|would|can) (?:it|this|that) (?:be )?{_CONDITION}",
    r"\bam i (?:pre-?diabetic|diabetic|an(?:a)?emic|hypertensive|sick|ill|dying|depressed)\b",
]
_DIAGNOSIS_PATTERN = re.compile("|".join(f"(?:{p})" for p in _DIAGNOSIS), re.IGNORECASE)

RELAYED = ("That's a question for your care team, so I won't guess. I've passed it on and "
           "they will reply here. Until then, keep taking your medicines as planned.")


def is_diagnosis_question(text: str) -> bool:
    return bool(_DIAGNOSIS_PATTERN.search(" ".join(text.replace("’", "'").split())))


def relay_question(db: Session, patient: Patient, text: str) -> str:
    """Pass the patient's question to their care team; return what to tell the patient."""
    db.add(Alert(patient_id=patient.id, team_id=patient.team_id, kind=AlertKind.question,
                 summary=f"Question from the patient: {text}"[:2000]))
    return RELAYED
