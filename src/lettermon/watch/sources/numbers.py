"""Whole numbers in page text, with any locale's thousands separators.

"Total Signatures: 1.234, showing 100 per page" holds 1234 and 100. Separators accepted
between groups of three digits: ``,`` ``.`` ``'`` ``’`` ``٬``, a space, a no-break space,
a thin space and a narrow no-break space. One number uses one separator throughout, so
"1,234.5" reads as 1234 then 5. Counts are integers: there are no decimals to tell apart.
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


def all_ints(text: str) -> list[int]:
    """Every whole number in ``text``, in order."""
    return [int(_NOT_DIGIT.sub("", m.group(0))) for m in _NUMBER.finditer(text)]


def first_int(text: str) -> int | None:
    """The first whole number in ``text``, or None when it holds none."""
    m = _NUMBER.search(text)
    return None if m is None else int(_NOT_DIGIT.sub("", m.group(0)))
