"""The deterministic emergency guard: how patients really write about an emergency trips
it; ordinary messages, and every non-emergency example of the NLU data, do not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from assistant.domain.safety import is_red_flag
from tests.conftest import REPO

EMERGENCIES = [
    # chest
    "my chest feels like an elephant is sitting on it",
    "there's a heavy weight on my chest",
    "chest feels heavy and tight since an hour",
    "pressure in my chest going down my left arm",
    "i have this squeezing pain across my chest",
    "my chest hurts when i breathe and i'm sweating",
    "crushing feeling in my chest",
    "chest pains again, worse than before",
    "I think I'm having a heart attack",
    "My chest is really tight and I feel sick",
    # breathing and colour
    "i cant breath",
    "can't catch my breath even sitting down",
    "i can barely breathe",
    "having trouble breathing, it's getting worse",
    "wheezing and struggling for breath",  # "struggling ... breath"
    "my lips are turning blue",
    "her lips look blue and she is very pale",
    "my fingers and lips went grey",
    "he's choking on something",
    "my dad stopped breathing",
    # bleeding
    "i'm coughing up blood",
    "coughed up some blood this morning",
    "vomiting blood",
    "threw up blood twice",
    "the cut is bleeding heavily",
    "nosebleed wont stop for an hour, bleeding won't stop",
    # headache
    "sudden worst headache of my life",
    "worst headache i've ever had",
    "suddenly got a terrible headache out of nowhere",
    "my headache came on suddenly, like being hit",
    # allergy / airway
    "my throat is closing",
    "throat feels like it's closing up after the new antibiotic",
    "my tongue is swelling",
    "my face and lips are swollen after the tablet",
    "i think im having anaphylaxis",
    "bad allergic reaction, hives everywhere and dizzy",
    # stroke
    "my mum's face has dropped on one side and she's drooping",
    "his words are slurred all of a sudden",
    "my right arm went numb and i can't lift it",
    "i can't move my left leg",
    "one side of my face is numb",
    "I think my husband is having a stroke",
    # consciousness, seizures
    "i blacked out in the bathroom",
    "she collapsed and isn't responding",
    "he won't wake up",
    "my son is having a fit",
    "i keep fainting",
    # medicines
    "i accidentally took a double dose of insulin, way too much",
    "took too many of my heart tablets",
    "my toddler swallowed a whole strip of my pills",
    "i think i overdosed on my painkillers",
    "took 30 tablets",
    # self-harm
    "i want to end my life",
    "I don't want to live anymore",
    "i keep thinking about killing myself",
    "feeling suicidal tonight",
    "i wanna die",
    "i've been hurting myself again",
    "i'm going to end it tonight",
    # asking for help
    "please call an ambulance",
    "EMERGENCY",
    "help me i'm dying",
    "URGENT my dad is not well",
    "somebody help!",
    "send help",
    "help help",
    "i need help right now",
    # as the Spanish guard reads them: the heart, insulin, pills in words, a severe hypo
    "my heart hurts",
    "pain in my heart and i feel faint",
    "i took a double dose of my insulin",
    "gave him his insulin twice by mistake",
    "she swallowed twenty tablets",
    "my sugar is 2.1 and i'm confused",
    "dad's sugar is low and he's not making sense",
    "severe hypo",
]

ORDINARY = [
    "my chest of drawers broke",
    "i took my blood pressure pill",
    "blue pen",
    "what do i take today?",
    "my bp is 135/85",
    "blood sugar 7.2 this morning",
    "i have a blood test on friday",
    "i have a bad headache",
    "mild headache again today",
    "i have a sore throat",
    "my ankles swelled up a bit again",
    "my feet are swollen",
    "took all my tablets for tonight",
    "Took Every Pill Today",
    "suspend my notifications pls",
    "can you send my reminder at 7:45 from now on",
    "stop my reminders for a week",
    "i can't breathe through my nose with this cold",
    "the blue pill is for my blood pressure",
    "my chest x-ray is next week",
    "small red spots on my chest, they itch",
    "i hurt my knee gardening",
    "my back is killing me",
    "i'm dying to know my cholesterol result",
    "i passed my driving test",
    "i feel a bit dizzy when i stand up",
    "can i take ibuprofen",
    "pressure in my ears on the plane",
    "i'm out of the green tablets",
    "the pharmacy gave me a blue box",
    "i missed my evening dose",
    "snooze 10 min",
    "what is metformin for?",
    "thanks, bye",
    "it's not urgent, the nurse can call me tomorrow",
    "nothing urgent, just a question about my pills",
    "can someone help me change my reminder?",
    "my heart medicine is a pain to swallow",
    "my heart rate was 72",
    "i take insulin twice a day",
    "took my insulin",
    "sugar 6.1 this morning, confused about what to eat",
]


@pytest.mark.parametrize("text", EMERGENCIES)
def test_emergency_wordings_trip_the_guard(text: str) -> None:
    assert is_red_flag(text)


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_messages_do_not_trip_the_guard(text: str) -> None:
    assert not is_red_flag(text)


def test_curly_apostrophes_and_odd_spacing_are_read_as_plain() -> None:
    assert is_red_flag("I  can’t\tbreathe")


def _examples(path: Path) -> list[tuple[str, str]]:
    found = []
    for item in yaml.safe_load(path.read_text()).get("nlu", []):
        if "intent" not in item:
            continue
        for line in item["examples"].splitlines():
            if line.strip().startswith("- "):
                # "[metformin](medication)" → "metformin"
                text = re.sub(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})", r"\1", line.strip()[2:])
                found.append((item["intent"], text))
    return found


NLU_FILES = [*sorted((REPO / "tests" / "rasa_data").glob("nlu_heldout*.yml")),
             *sorted((REPO / "nlu_data").glob("nlu*.yml")),
             *sorted(path for path in (REPO / "nlu_data" / "es").glob("*.yml")
                     if path.stem not in {"lookups", "regexes", "synonyms"})]


@pytest.mark.parametrize("path", NLU_FILES, ids=lambda path: path.name)
def test_the_guard_agrees_with_the_nlu_examples(path: Path) -> None:
    examples = _examples(path)
    assert examples
    tripped = [(intent, text) for intent, text in examples
               if (intent == "emergency") != is_red_flag(text)]
    assert tripped == []
