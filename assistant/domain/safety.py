"""The emergency guard: red-flag phrases get the emergency guidance before any NLU.

Deterministic on purpose (DESIGN guarantee 5): it never depends on a model's
confidence. The `emergency` intent in Rasa is only a second net.

Diagnosis questions are guarded the same way (guarantee 6): they go to the care team
before any NLU, never to a tip; `ask_care_team` in Rasa is their second net.

Every language's red flags are checked, whatever the patient's language (a patient set
to English may write Spanish), and so are diagnosis questions: English here, Spanish in
`safety_es`. Another language is another such module, added to `_BY_LANGUAGE` and
`_DIAGNOSIS_BY_LANGUAGE`.

Pure: what is detected, and the numbers to give. What the patient is told (the catalog's
words) and raising the alert is `services.alerts.raise_emergency` / `relay_question`.
"""

from __future__ import annotations

import re
import unicodedata

from assistant.config import get_settings
from assistant.domain import safety_es
from assistant.storage.models import CareTeam

# Patients write fast, in their own words and spelling: "cant", "cnt", "breath" for
# "breathe", "sucidal". Each pattern is one way of saying something that needs help now;
# each is anchored on words, so "suspend my reminders" is not "end my" and "chest of
# drawers" or "blood pressure pill" are not chest pain or bleeding.
_CANT = r"(?:can'?t|cannot|can not|cnt|couldn'?t|unable to)"
_SOMEONE = r"(?:my|his|her|the|their)"
_RED_FLAGS = [
    # heart: pain, pressure or heaviness in the chest
    r"\bchest\s*(?:pain|hurts?|hurting|ache|aching|tight\w*|pressure|heav\w*|crush\w*)",
    r"\bchest\b(?! of drawers)[^.?!;]{0,40}?\b(?:pain\w*|hurt\w*|ach\w*|tight\w*|pressure|"
    r"heav(?:y|iness)|crush\w*|squeez\w*|elephant|weight)",
    r"\b(?:pain|pressure|tightness|heaviness|weight|crushing|squeezing|elephant)\b[^.?!;]{0,40}"
    rf"\b(?:on|in|across|around|to) {_SOMEONE} chest\b",
    r"heart attack", r"\bheart (?:has |is )?(?:stopp\w*)",
    # breathing
    rf"{_CANT} (?:really |even |hardly |properly )?breath(?:e|ing)?\b(?! (?:through|thru) "
    r"(?:my|the) nose)",
    r"\b(?:can|could) (?:hardly|barely) breath", r"\bcan'?t catch (?:my|his|her) breath",
    r"(?:hard|struggling|difficult|difficulty|trouble|unable) (?:to |for )?breath",
    r"short(?:ness)? of breath", r"gasping", r"\bchok(?:e|es|ed|ing)\b",
    rf"{_CANT} get (?:any )?air", r"(?:not|isn'?t|stopped|stop) breathing",
    r"\b(?:lips?|face|fingers?|skin|tongue) (?:\w+ ){0,2}(?:blue|gr[ae]y)\b",
    r"\bblue lips\b", r"\bturn(?:ed|ing)? blue\b",
    # bleeding
    r"\b(?:cough|vomit|throw|threw|spit|puk|bring|brought)\w* (?:up )?(?:\w+ )?(?:blood|bloody)",
    r"\bblood in (?:my|his|her) (?:vomit|sick|spit|cough)",
    r"bleeding (?:\w+ )?(?:won'?t|wont|will not|doesn'?t|does not|can'?t|cannot|not) stop",
    r"\b(?:severe|heavy|heavily|lots of|a lot of|so much|uncontrolled) bleed",
    r"bleeding (?:a lot|heavily|badly|everywhere|so much)", r"\blosing (?:a lot of )?blood",
    # sudden, worst-ever headache
    r"\bworst headache\b", r"\bthunderclap\b",
    r"\bsudden(?:ly)? (?:\w+ ){0,3}(?:headache|head pain|pain in my head)",
    r"\bheadache\b[^.?!;]{0,20}\b(?:worst|sudden\w*|exploding|explod\w*)",
    # allergy and airway: swelling of throat, tongue, lips or face
    r"\bthroat\b[^.?!;]{0,25}\b(?:clos\w*|swell\w*|swollen)",
    r"\b(?:tongue|lips?|face|mouth)\b[^.?!;]{0,25}\b(?:swell\w*|swollen|puff\w* up)",
    r"anaphyla\w*", r"\b(?:severe|bad|serious|strong) allergic reaction",
    # stroke: face drooping, arm or leg weakness, slurred speech
    r"\bstroke\b", r"\bdroop\w*", r"\bslurr?(?:ed|ing)\b",
    r"\b(?:half|one side|left side|right side) (?:of )?(?:my|his|her) (?:face|body)",
    r"\b(?:left|right|one) (?:arm|leg|side)\b[^.?!;]{0,25}\b(?:numb|weak|dead|limp|paraly\w*)",
    r"\b(?:arm|leg)s? (?:suddenly )?(?:went|is|are|feels?|has gone) (?:suddenly |all )?"
    r"(?:weak|limp|numb|dead|paraly\w*)",
    rf"{_CANT} (?:move|feel|lift) (?:my|his|her) (?:left |right )?(?:arm|leg|side)",
    # consciousness and seizures
    r"(?:pass(?:ed|es|ing)?|blacked|black(?:ing)?) out\b", r"\bunconscious", r"\bunresponsive",
    r"\b(?:not|isn'?t|is not|stopped) respond", r"(?:won'?t|wont|not|can'?t|cannot) wake",
    r"\bcollaps\w*", r"\bfaint(?:ed|ing)\b", r"\bseizure", r"\bconvuls\w*",
    r"\bhaving a fit\b",
    # too much medicine
    r"\boverdos\w*", r"\btoo (?:many|much) (?:of )?(?:my |his |her |the )?(?:pills?|tablets?|"
    r"meds?|medicines?|medication|insulin|capsules?|doses?)\b",
    r"\btook (?:way |far )?too (?:many|much)\b", r"\binsulin\b[^.?!;]{0,40}\btoo much\b",
    r"\btook (?:loads|lots|a handful) of\b",
    r"\b(?:took|swallowed|ate|taken|drank|eaten) (?:a |the |an )?(?:whole|entire|full) "
    r"(?:bottle|pack|packet|box|strip|blister)",
    r"\b(?:took|swallowed|ate) (?:every|all the) (?:pill|tablet)s? in the (?:box|bottle|pack)",
    r"\ball (?:of )?(?:my|his|her) \w+ at once\b", r"\b(?:took|swallowed) \d{2,} (?:pills|tablets)",
    # self-harm and suicide
    r"\bsuicid", r"\bsucid", r"\bkill (?:my ?self|me)\b", r"\bkilling my ?self\b",
    r"\bend(?:ing)? (?:my life|it all|my own life)", r"\b(?:want|going|gonna|plan\w*) to end it\b",
    r"\b(?:want|wanna|wish I could|going) (?:to )?die\b",
    r"\b(?:don'?t|dont|do not) want to (?:live|be alive|be here|wake up)",
    r"\bself[- ]?harm", r"\b(?:hurt|hurting|harm|harming|cut|cutting) my ?self\b",
    r"\b(?:i'?m|im|i am) dying\b(?! (?:to|for))", r"\bno reason to live\b",
    # pain in the heart ("my heart medicine is a pain to swallow" is not)
    r"\b(?:pain|ache|aching|pressure|tightness|squeez\w*)\b[^.?!;]{0,20}\b(?:in|around) "
    rf"{_SOMEONE} heart\b",
    r"\b(?:my|his|her) heart\b(?! (?:medicine|meds?|pills?|tablets?|doctor|specialist|"
    r"appointment|check\w*|scan|test|rate|monitor))[^.?!;]{0,20}?\b(?:hurts?|hurting|aches?|"
    r"aching|pain\w*)",
    # too much insulin, or pills counted in words ("took 30 tablets" is above)
    r"\b(?:took|taken|injected|given|had|gave (?:my ?self|him|her)) (?:a |the |my |his |her )?"
    r"(?:double|triple) (?:dose (?:of )?)?(?:my |his |her |the )?insulin\b",
    r"\b(?:took|taken|injected|did|had|gave) (?:him |her )?(?:my |his |her |the )?insulin "
    r"twice\b(?! a day| daily| per day)",
    r"\b(?:took|swallowed|taken|ate) (?:ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"a hundred) (?:pills|tablets|capsules)\b",
    # a very low sugar with confusion (a severe hypo)
    # (a low one: 3.9 mmol/l or 69 mg/dl at most; "sugar 6.1, confused about the diet" is not)
    r"\b(?:sugar|glucose|bg)\b[^.?!;]{0,30}"
    r"(?:\blow\b|(?<![\d.,])(?:[0-3](?:[.,]\d)?|[2-6]\d)(?![.,]?\d))[^.?!;]{0,40}"
    r"\b(?:confus\w*|disorient\w*|not making sense|not respond\w*|unresponsive|can'?t swallow)",
    r"\bsevere hypo\w*",
    # asking for emergency help ("it's not urgent" is not; "can someone help me?" asks how)
    r"\bemergency\b", r"\bambulance\b", r"\bcall (?:911|999|112|000|an ambulance)\b",
    r"(?<!not )(?<!non-)(?<!non )(?<!isn't )(?<!isnt )(?<!nothing )\burgent(?:ly)?\b",
    r"\b(?:some(?:one|body)|any(?:one|body)) (?:please )?help(?: me| us)?\s*(?:!|\.|$)",
    r"\bsend help\b", r"\bhelp,? help\b",
    r"\bi need help (?:right now|immediately|asap)\b",
]
_BY_LANGUAGE = {"en": _RED_FLAGS, "es": safety_es.RED_FLAGS}
_PATTERN = re.compile("|".join(f"(?:{p})" for flags in _BY_LANGUAGE.values() for p in flags),
                      re.IGNORECASE)


def plain(text: str) -> str:
    """Lower case, straight apostrophes, single spaces and no accents ("respiración" is
    "respiracion", as patients often type it): the form the patterns are written for."""
    text = text.replace("’", "'").replace("‘", "'").lower()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.split())


def is_red_flag(text: str) -> bool:
    """Whether the message may be an emergency (deterministic, before any NLU), in any of
    the languages the guard knows."""
    return bool(_PATTERN.search(plain(text)))


def emergency_number(team: CareTeam | None) -> str:
    """The team's emergency number, else the configured one."""
    return (team.emergency_number if team else None) or get_settings().emergency_number


def crisis_line(team: CareTeam | None) -> str | None:
    """The team's crisis line, else the configured one; None when neither is set (the
    patient is then told of their local line in their own language)."""
    return (team.crisis_line if team else None) or get_settings().crisis_line


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
_DIAGNOSIS_BY_LANGUAGE = {"en": _DIAGNOSIS, "es": safety_es.DIAGNOSIS}
_DIAGNOSIS_PATTERN = re.compile(
    "|".join(f"(?:{p})" for flags in _DIAGNOSIS_BY_LANGUAGE.values() for p in flags),
    re.IGNORECASE)


def is_diagnosis_question(text: str) -> bool:
    """Whether the message asks for a diagnosis, in any of the languages the guard knows."""
    return bool(_DIAGNOSIS_PATTERN.search(plain(text)))
