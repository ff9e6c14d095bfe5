"""Who signed: signatories counted by country, by role or by institution.

The raw values are read as typed and never changed; the normalised value (an ISO 3166
code, a role group, an institution's most used spelling) is what is counted. Which field
holds what is found by name: ``country``; ``title`` (with ``honorific``) for the role;
``institution`` (or ``affiliation``, ``organisation``, ``organization``, ``university``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

By = Literal["country", "role", "institution"]
BY: tuple[By, ...] = ("country", "role", "institution")

FIELDS: dict[str, tuple[str, ...]] = {
    "country": ("country", "nation"),
    "role": ("title", "job_title", "position", "role"),
    "honorific": ("honorific", "salutation"),
    "institution": ("institution", "affiliation", "organisation", "organization",
                    "university", "employer"),
}


def field(fields: Mapping[str, str], what: str) -> str:
    """The value of the field that holds ``what`` (exact name first, then a name that
    contains it), or "" when the letter has no such field."""
    names = FIELDS[what]
    for name in names:
        if name in fields:
            return fields[name]
    for key, value in fields.items():
        if any(name in key.lower() for name in names):
            return value
    return ""


@dataclass(frozen=True)
class Line:
    """One line of a breakdown: what is counted, its code if any, how many, the spellings."""

    label: str
    count: int
    code: str | None = None
    spellings: tuple[str, ...] = ()
    known: bool = True

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "code": self.code, "count": self.count,
                "known": self.known, "spellings": list(self.spellings)}


@dataclass(frozen=True)
class Breakdown:
    by: By
    lines: tuple[Line, ...]

    @property
    def total(self) -> int:
        return sum(line.count for line in self.lines)


def breakdown(by: By, signatories: Iterable[Mapping[str, str]]) -> Breakdown:
    """Count signatories (their fields) by country, role or institution, most first.

    Countries named by no known spelling are listed as written, after the known ones.
    """
    if by == "country":
        from lettermon.report.countries import breakdown_by_country

        found = breakdown_by_country(field(f, "country").strip() for f in signatories)
        lines = [Line(r.name, r.count, r.code, r.spellings) for r in found.rows]
        lines += [Line(u.raw, u.count, None, (u.raw,), known=False) for u in found.unknown]
        return Breakdown(by, tuple(lines))
    if by == "role":
        from lettermon.report.roles import breakdown_by_role

        roles = breakdown_by_role((field(f, "role"), field(f, "honorific"))
                                  for f in signatories)
        return Breakdown(by, tuple(Line(group, count) for group, count in roles))
    return Breakdown(by, _institutions(field(f, "institution") for f in signatories))


def _institutions(values: Iterable[str]) -> tuple[Line, ...]:
    """Institutions grouped by their text with case, accents and spacing folded; each
    shown in its most used spelling. A blank value is counted as "(none given)"."""
    import unicodedata

    spellings: dict[str, Counter[str]] = {}
    for raw in values:
        text = " ".join(raw.split())
        key = unicodedata.normalize("NFKD", text.casefold())
        key = "".join(ch for ch in key if not unicodedata.combining(ch))
        spellings.setdefault(key, Counter())[text] += 1
    lines = []
    for key, used in spellings.items():
        ordered = tuple(text for text, _ in used.most_common())
        label = ordered[0] if key else "(none given)"
        lines.append(Line(label, sum(used.values()), None, ordered, known=bool(key)))
    lines.sort(key=lambda line: (not line.known, -line.count, line.label.casefold()))
    return tuple(lines)
