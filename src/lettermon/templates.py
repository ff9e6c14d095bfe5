"""Post templates: the variables they may use, and the check each one passes at load.

A template is Python's format syntax over named variables: ``{milestone} {noun} have
signed``. The numbers (``count``, ``milestone``, ``since_last_post``, ``rate_per_day``,
``next_milestone``) are numbers, written "1,500" unless the template gives a format of its
own (``{count:,}``, ``{count:>8d}``, ``{rate_per_day:.1f}``); the other variables are text.
A variable with no value yet is empty, whatever its format.

Every template is rendered when the config loads, with a sample value for every variable
and again with the values that may be missing left empty, so a template that cannot be
rendered stops the load instead of a poll. Attribute access and indexing
(``{title.__class__}``, ``{title[0]}``), a variable inside a format
(``{count:{title}}``, which would let a page's title choose the format) and widths no post
can hold are refused outright.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

MAX_WIDTH = 500  # no post is longer than 4,000 characters; a wider field is a mistake


class Number(int):
    """A whole number in a post: "1,500" (or as its locale writes it: "1.500" in German)
    unless the template gives a format of its own."""

    locale: str | None

    def __new__(cls, value: int, locale: str | None = None) -> Number:
        number = super().__new__(cls, value)
        number.locale = locale
        return number

    def __format__(self, spec: str) -> str:
        if spec or self.locale is None:
            return super().__format__(spec or ",")
        from lettermon.l10n import number

        return number(int(self), self.locale)


class Rate(float):
    """A rate in a post: "1,235" (rounded, or as its locale writes it) unless the template
    gives a format of its own."""

    locale: str | None

    def __new__(cls, value: float, locale: str | None = None) -> Rate:
        rate = super().__new__(cls, value)
        rate.locale = locale
        return rate

    def __format__(self, spec: str) -> str:
        if spec or self.locale is None:
            return super().__format__(spec or ",.0f")
        from lettermon.l10n import number

        return number(float(self), self.locale)


class Missing(str):
    """A number with no value yet: empty, whatever format the template gives it."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return ""


MISSING = Missing()

TEXT = frozenset({"name", "title", "url", "noun", "took", "next_eta", "names"})
NUMBERS = frozenset({"count", "milestone", "since_last_post", "rate_per_day",
                     "next_milestone"})
VARIABLES = TEXT | NUMBERS
MAY_BE_MISSING = frozenset({"since_last_post", "rate_per_day", "next_milestone"})

SAMPLE: Mapping[str, object] = {
    "name": "rekognition", "title": "Open Letter to Amazon", "url": "https://example.org/l/",
    "noun": "researchers", "count": Number(1234), "milestone": Number(1200),
    "since_last_post": Number(34), "took": "3 days", "rate_per_day": Rate(11.5),
    "next_milestone": Number(1300), "next_eta": "1 March 2027",
    "names": " Among the latest: Ada Lovelace and Alan Turing.",
}
"""A value of every variable, of the type it has in a real post."""


def fill(template: str, values: Mapping[str, object]) -> str:
    """The template with every variable replaced by its value."""
    return template.format_map(values)


def check(template: str) -> None:
    """Raise :class:`ValueError`, saying which ``{field}`` and why, unless ``template``
    renders for every value its variables can take."""
    try:
        fields = [(name, spec or "", conversion)
                  for _, name, spec, conversion in string.Formatter().parse(template)
                  if name is not None]
    except ValueError as exc:
        raise ValueError(f"not a valid template: {exc} (write {{{{ and }}}} for a brace)"
                         ) from None
    for name, spec, conversion in fields:
        _check_field(name, spec, conversion)
    missing = {**SAMPLE, **dict.fromkeys(MAY_BE_MISSING, MISSING)}
    for values in (SAMPLE, missing):
        try:
            fill(template, values)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError,
                OverflowError) as exc:
            raise ValueError(f"cannot be rendered: {exc}") from None


def _check_field(name: str, spec: str, conversion: str | None) -> None:
    shown = "{" + name + (f"!{conversion}" if conversion else "") + (
        f":{spec}" if spec else "") + "}"
    if name == "" or name.isdigit():
        raise ValueError(f"{shown}: name a variable ({_known()})")
    if "." in name or "[" in name:
        raise ValueError(f"{shown}: attribute access and indexing are not allowed; "
                         "use the variable as it is")
    if name not in VARIABLES:
        raise ValueError(f"{shown} uses unknown variable {{{name}}} ({_known()})")
    if "{" in spec or "}" in spec:
        raise ValueError(f"{shown}: a variable inside a format is not allowed")
    if any(int(digits) > MAX_WIDTH for digits in re.findall(r"\d+", spec)):
        raise ValueError(f"{shown}: a width or precision over {MAX_WIDTH} is not allowed")
    if name in NUMBERS and spec.endswith("c"):
        raise ValueError(f"{shown}: a number cannot be written as a character")
    if conversion not in (None, "s", "r", "a"):
        raise ValueError(f"{shown}: unknown conversion !{conversion} (use !s, !r or !a)")
    try:
        string.Formatter().format_field(
            string.Formatter().convert_field(SAMPLE[name], conversion), spec)
    except (ValueError, TypeError) as exc:
        kind = "a number" if name in NUMBERS else "text"
        detail = re.sub(r" for object of type '\w+'", "", str(exc))
        raise ValueError(f"{shown}: {{{name}}} is {kind}, which cannot take this format "
                         f"({detail})") from None


def _known() -> str:
    return "known: " + ", ".join(sorted(VARIABLES))
