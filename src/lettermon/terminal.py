"""Text for a terminal: page text shown, never obeyed.

Names and titles come from a letter's page, written by strangers, so every text that can
reach a terminal goes through :func:`terminal_safe` (text) or :func:`dumps_json` (JSON):
a character a terminal would act on is shown as an escape, never sent as itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

# What a terminal acts on: C0 controls (ESC starts every escape sequence, BEL ends OSC),
# DEL, C1 controls (U+009B is a one-character CSI), line and paragraph separators, bidi
# marks, embeddings, overrides and isolates, and lone surrogates, which cannot be written.
_BEYOND_C0 = r"\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_CHAR = re.compile(rf"[\x00-\x1f{_BEYOND_C0}]")
_UNSAFE_BUT_NEWLINE = re.compile(rf"[\x00-\x09\x0b-\x1f{_BEYOND_C0}]")


def terminal_safe(text: str, *, newlines: bool = False) -> str:
    """``text`` with every character a terminal would act on shown as a Python escape.

    ESC becomes ``\\x1b``, a bidi override ``\\u202e``, a tab ``\\t``; a line break
    stays a line break only with ``newlines=True``, else it is shown as ``\\n``. Every
    other character, emoji and their joiners included, is kept.
    """
    pattern = _UNSAFE_BUT_NEWLINE if newlines else _UNSAFE_CHAR
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape", "backslashreplace").decode("ascii")


def dumps_json(value: Any, *, indent: int | None = None,
               default: Callable[[Any], Any] | None = None) -> str:
    """JSON text, as :func:`json.dumps` writes it, that is safe to print to a terminal.

    ``json.dumps`` escapes C0 controls but writes DEL, C1 controls and bidi overrides as
    they are; here they become ``\\u`` escapes too, so the JSON parses to the same value.
    """
    # A raw "\n" can only be indentation: json.dumps escapes every C0 control in strings.
    text = json.dumps(value, ensure_ascii=False, indent=indent, default=default)
    return _UNSAFE_BUT_NEWLINE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def one_line(text: str, limit: int = 200) -> str:
    """Hostile page text on one line, at most ``limit`` characters before escaping, with
    whitespace collapsed and every other character a terminal acts on shown as an escape."""
    cleaned = " ".join(text.split())
    cleaned = cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
    return terminal_safe(cleaned)
