"""Make text from TikTok harmless for terminals.

Nicknames and bios are written by strangers. Before they reach a terminal, control
characters (which can move the cursor, retitle the window or hide text) and bidi
controls (which reorder what the reader sees) are shown as visible escapes.
Machine formats (JSON lines) never go through this: they keep the text exact.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls except tab and newline, DEL, C1 controls (CSI/OSC introducers among them).
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
# Bidi controls ("Trojan Source" reordering), line/paragraph separators, and lone
# surrogates (which cannot even be encoded). Joiners stay: emoji sequences need them.
_FORMATTING = "\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[{_CONTROLS}{_FORMATTING}]")
_UNSAFE_OR_LAYOUT = re.compile(f"[\t\n{_CONTROLS}{_FORMATTING}]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str, *, keep_newlines: bool = False) -> str:
    """Escape every character that could change how a terminal shows the rest."""
    pattern = _UNSAFE if keep_newlines else _UNSAFE_OR_LAYOUT
    return pattern.sub(_escape, text)


def shown(value: Any, limit: int = 60) -> str:
    """A value from outside (an argument, a file's line, an API's field) as an error message
    quotes it: repr() escapes control characters, long text is cut at ``limit`` characters,
    and a JSON null, object or list is named rather than dumped."""
    if value is None:
        return "missing"
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    if not isinstance(value, str):
        return repr(value)  # a number or a boolean: short
    return repr(value[:limit] + ("…" if len(value) > limit else ""))
