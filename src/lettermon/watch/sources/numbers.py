"""Whole numbers in page text, with any locale's thousands separators.

"Total Signatures: 1.234, showing 100 per page" holds 1234 and 100. Separators accepted
between groups of three digits: ``,`` ``.`` ``'`` ``’`` ``٬``, a space, a no-break space,
a thin space and a narrow no-break space. One number uses one separator throughout, so
"1,234.5" reads as 1234 then 5. Counts are integers: there are no decimals to tell apart.

A count shown abbreviated ("1.2k", "1,2 Tsd.", "3M") cannot be read exactly:
:func:`abbreviated` finds one, so that it is refused rather than read as 1 or 12.
"""

from __future__ import annotations

import re

_SEP = ",.'\u2019\u066c \u00a0\u2009\u202f"
_NUMBER = re.compile(
    rf"(?<!\d)(?:\d{{1,3}}(?P<sep>[{_SEP}])\d{{3}}(?:(?P=sep)\d{{3}})*(?!\d)"
    r"|\d{1,2}(?:,\d{2})+,\d{3}(?!\d)"  # Indian grouping: 12,34,567
    r"|\d+)"
)
_NOT_DIGIT = re.compile(r"\D")
_ABBREVIATED = re.compile(
    r"(?<![\d.,])\d+(?:[.,]\d+)?\s?(?:k|K|M|Mio|Mrd|Tsd|tsd|Md|mil|mill|lakh|crore|"
    r"thousand|million|tausend|millions?|mille)\b\.?")


def all_ints(text: str) -> list[int]:
    """Every whole number in ``text``, in order."""
    return [int(_NOT_DIGIT.sub("", m.group(0))) for m in _NUMBER.finditer(text)]


def first_int(text: str) -> int | None:
    """The first whole number in ``text``, or None when it holds none."""
    m = _NUMBER.search(text)
    return None if m is None else int(_NOT_DIGIT.sub("", m.group(0)))


def abbreviated(text: str) -> str | None:
    """The first number of ``text`` if it is shown abbreviated ("1.2k"), else None."""
    first = _NUMBER.search(text)
    short = _ABBREVIATED.search(text)
    if short is None or (first is not None and first.start() < short.start()):
        return None
    return short.group(0)


def spans(text: str) -> list[tuple[int, int, int]]:
    """(start, end, value) of every whole number in ``text``, in order."""
    return [(m.start(), m.end(), int(_NOT_DIGIT.sub("", m.group(0))))
            for m in _NUMBER.finditer(text)]
