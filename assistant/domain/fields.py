"""What people type into a field, cleaned the one way: whitespace collapsed, required or
not, no longer than the field holds. A refusal is an `InvalidInput` naming the field."""

from __future__ import annotations

from assistant.errors import InvalidInput


def clean_text(value: str, what: str, max_length: int, required: bool = True) -> str:
    value = " ".join(value.split())
    if required and not value:
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > max_length:
        raise InvalidInput(f"{what} is too long (at most {max_length} characters)")
    return value
