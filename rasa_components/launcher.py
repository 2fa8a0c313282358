"""The Rasa server's entry point, run by the Rasa engine's own Python (3.10):
`python -m rasa_components.launcher run ...` is `rasa run ...` without the DeprecationWarnings
of its libraries (pkg_resources, keras, SQLAlchemy 1.4, ...). Sanic turns them back on
when it is imported, whatever PYTHONWARNINGS says, and an operator can do nothing
about them. Every other warning is shown as usual.

Nor do its log lines carry what a patient wrote: Rasa logs the message's text when a
turn times out or fails ("rest.message.received.timeout", text=...), and only its paid
edition masks such fields.

It imports nothing else of CareLoop's: it runs in the engine's environment.
"""

from __future__ import annotations

import sys
import warnings
from typing import TextIO

_show = warnings.showwarning
# Where Rasa's structured log lines carry what a person wrote or what was made of it
# (Rasa's own list, from `rasa.utils.log_utils._anonymizer`).
_WRITTEN = frozenset({
    "text", "response_text", "user_text", "slot_values", "parse_data_text",
    "parse_data_entities", "prediction_events", "tracker_latest_message", "prefilled_slots",
    "message", "response", "slot_candidates", "rasa_event", "rasa_events", "tracker_states",
    "current_states", "old_states", "successes", "current_entity", "next_entity", "states",
    "entity", "token_text", "user_message", "json_message"})


def _show_unless_deprecated(message: Warning | str, category: type[Warning], filename: str,
                            lineno: int, file: TextIO | None = None,
                            line: str | None = None) -> None:
    if not issubclass(category, DeprecationWarning | PendingDeprecationWarning):
        _show(message, category, filename, lineno, file, line)


def _hide_what_was_written(_logger: object, _method: str,
                           event: dict[str, object]) -> dict[str, object]:
    for key in _WRITTEN & event.keys():
        event[key] = "(hidden)"
    return event


def hide_what_patients_write() -> None:
    """Rasa's log lines name events, never what was written (a structlog processor in
    place of the one that masks nothing without Rasa's paid edition)."""
    from rasa.utils import log_utils

    log_utils._anonymizer = _hide_what_was_written


def main() -> None:
    warnings.showwarning = _show_unless_deprecated
    hide_what_patients_write()
    from rasa.__main__ import main as rasa

    sys.argv[0] = "rasa"  # as its messages name it
    rasa()


if __name__ == "__main__":
    main()
