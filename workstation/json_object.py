"""A JSON object read from text: anything else is refused with a message saying what the text holds."""

from __future__ import annotations

import json
from typing import Any


def json_object(text: str) -> dict[str, Any]:
    """Return the JSON object ``text`` holds.

    Raises
    ------
    ValueError
        ``is not JSON: <reason>`` or ``holds <type>, not an object``; the caller puts where the text is from first.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"holds {type(value).__name__}, not an object")
    return value
