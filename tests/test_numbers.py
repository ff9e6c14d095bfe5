"""Reading counts out of caption text in any wording and any locale's digit grouping."""

from __future__ import annotations

import pytest

from lettermon.watch.sources.numbers import all_ints, first_int

CAPTIONS: list[tuple[str, int | None]] = [
    ("Total Signatures: 479, showing 100 per page", 479),
    ("Total Signatures: 1,234, showing 100 per page", 1234),
    ("Total Signatures: 1.234, showing 100 per page", 1234),
    ("Total Signatures: 1 234, showing 100 per page", 1234),
    ("Unterschriften insgesamt: 1\u00a0234 (100 pro Seite)", 1234),
    ("Signatures\u202f: 12\u202f345", 12345),
    ("Total: 1\u2009234\u2009567", 1234567),
    ("Unterschriften: 12'345", 12345),
    ("Unterschriften: 12\u2019345", 12345),
    ("Total Records Found: 1,234,567, showing 20 per page", 1234567),
    ("Signatures: 12,34,567", 1234567),
    ("توقيعات: ٣٬٤٥٦", 3456),
    ("署名総数：2,019件", 2019),
    ("0 signatures so far", 0),
    ("Total Signatures: 1234", 1234),
    ("Total Signatures: 1,2345", 1),  # not a thousands group: two numbers
    ("Total Signatures: 1,234.5", 1234),  # one number uses one separator
    ("Total Signatures:", None),
    ("", None),
    ("no digits at all, not even one", None),
]


@pytest.mark.parametrize(("text", "expected"), CAPTIONS)
def test_first_int_reads_the_total(text: str, expected: int | None) -> None:
    assert first_int(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Total Signatures: 1.234, showing 100 per page", [1234, 100]),
        ("Total Signatures: 12,500, showing 1,000 per page", [12500, 1000]),
        ("Showing 1 - 100 of 479", [1, 100, 479]),
        ("Page 3/12", [3, 12]),
        ("nothing", []),
    ],
)
def test_all_ints_reads_every_number_in_order(text: str, expected: list[int]) -> None:
    assert all_ints(text) == expected
