"""Text from outside (server errors, IdP documents, container logs) made safe to print literally."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "********"  # how every secret value is shown
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, limit: int | None = None) -> str:
    """Control characters (ESC included) become visible \\xNN escapes, so a terminal never interprets them."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret value replaced by MASK (give the longest first, so a secret inside another goes too)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
