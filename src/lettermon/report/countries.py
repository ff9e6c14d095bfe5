"""Which country a signatory's typed country field names, and how many signed from each.

Signatories type their country freely: "USA", "United States", "U.S.A.", "United Statqes",
"The Netherlands", "Deutschland", and jokes such as "Republic of Fenerbahce".
`normalise_country` maps one such value to an ISO 3166-1 alpha-2 code, in this order:

1. clean the text (`clean_country`): NFKC, invisible characters removed, case and accents
   folded, dots and apostrophes dropped, other punctuation and symbols made spaces, "&"
   read as "and", "st" as "saint", a leading "the" dropped, and spaced initials joined
   ("U. S. A." → "usa");
2. a flag emoji alone is its country;
3. a value listed as unknown in the data file is unknown: those that say there is no
   country ("N/A", "-", "none", and "NA", which would otherwise be Namibia's code) and
   names of more than one country ("Congo");
4. the alias table `data/country_aliases.toml` (common and non-English spellings);
5. pycountry: alpha-2 and alpha-3 codes, then the ISO name, official name and common name,
   each also without its bracketed part and with an inverted name turned round
   ("Korea, Republic of" → "Republic of Korea");
6. a conservative fuzzy match for typos (see `_fuzzy`): whole names compared by edit
   distance, at most 1 edit for 5 to 11 letters and 2 edits from 12 letters, the runner-up
   country at least 2 edits further, and the name's distinctive words (without
   "republic", "of", "kingdom", ...) matching too. So "United Statqes" is the United States,
   but "Republic of Fenerbahce", "Kingdom of Spam" and "Mars" are unknown.

Anything else is unknown: never guessed. pycountry and rapidfuzz are imported on first use
and the lookup tables built once (`functools.cache`); this module keeps no other state.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

__all__ = [
    "Country",
    "CountryBreakdown",
    "CountryCount",
    "UnknownSpelling",
    "breakdown_by_country",
    "clean_country",
    "normalise_country",
]

How = Literal["exact", "alias", "fuzzy", "unknown"]

# Fuzzy matching, see _fuzzy.
MIN_FUZZY_LETTERS = 5  # shorter inputs ("Mali", "Iran", "Mars") are never fuzzy-matched
LONG_NAME_LETTERS = 12  # from this many letters, two edits are allowed instead of one
RUNNER_UP_MARGIN = 2  # the next country must be at least this many edits further away

# Words that say what kind of state a country is, not which one. A fuzzy match must also
# hold on the words left after removing these, so "Republic of Fenerbahce" cannot reach a
# "Republic of X" on the strength of "republic of".
GENERIC_WORDS = frozenset({
    "and", "arab", "bolivarian", "democratic", "federal", "federated", "federation",
    "federative", "independent", "islamic", "kingdom", "of", "people", "peoples",
    "plurinational", "republic", "socialist", "state", "states", "the", "union", "united",
})

_DROPPED = re.compile(r"[.'’‘ʼ`´]")  # dots and apostrophes vanish
_BRACKETED = re.compile(r"\s*\([^)]*\)")


@dataclass(frozen=True)
class Country:
    """What a typed country value names.

    `raw` is the value as typed; `code` the ISO 3166-1 alpha-2 code ("US"), or None when
    the value names no country lettermon can be sure of; `name` the name to show ("United
    States": the data file's, else pycountry's common name or name), or None; `how` the
    step that decided: "exact" (an ISO code, name or flag), "alias" (the alias table),
    "fuzzy" (a typo of a known name) or "unknown".
    """

    raw: str
    code: str | None
    name: str | None
    how: How


@dataclass(frozen=True)
class CountryCount:
    """One country's line in a breakdown: how many signed, and every spelling used."""

    code: str
    name: str
    count: int
    spellings: tuple[str, ...]  # as typed, most used first


@dataclass(frozen=True)
class UnknownSpelling:
    """A value that named no known country, as typed ("" when left empty), and its count."""

    raw: str
    count: int


@dataclass(frozen=True)
class CountryBreakdown:
    """Signatories per country, most first, and the values that named no country."""

    rows: tuple[CountryCount, ...]
    unknown: tuple[UnknownSpelling, ...]

    @property
    def total(self) -> int:
        """Every value counted, known or not."""
        return sum(row.count for row in self.rows) + sum(u.count for u in self.unknown)

    def to_dict(self) -> dict[str, Any]:
        """The breakdown as plain JSON-ready data."""
        return {
            "total": self.total,
            "countries": [
                {"code": r.code, "name": r.name, "count": r.count, "spellings": list(r.spellings)}
                for r in self.rows
            ],
            "unknown": [{"raw": u.raw, "count": u.count} for u in self.unknown],
        }


def clean_country(raw: str) -> str:
    """The comparable form of a typed country: "  The U.S.A. " → "usa"."""
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf").casefold()
    text = unicodedata.normalize("NFKD", text)
    text = unicodedata.normalize(
        "NFC", "".join(ch for ch in text if not unicodedata.combining(ch)))
    text = _DROPPED.sub("", text).replace("&", " and ")
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    words = ["saint" if word == "st" else word for word in text.split()]
    if words[:1] == ["the"]:
        words = words[1:]
    if len(words) > 1 and all(len(word) == 1 for word in words):
        return "".join(words)  # "u s a" → "usa"
    return " ".join(words)


def normalise_country(raw: str) -> Country:
    """The country a typed value names; see the module's docstring for the steps."""
    tables = _tables()
    cleaned = clean_country(raw)
    if not cleaned and (flag := _flag(raw)) is not None:
        return flag
    if cleaned in tables.unknown or not cleaned:
        return Country(raw, None, None, "unknown")
    if (code := tables.aliases.get(cleaned)) is not None:
        return Country(raw, code, _name(code), "alias")
    if (code := _exact(cleaned)) is not None:
        return Country(raw, code, _name(code), "exact")
    if (code := _fuzzy(cleaned)) is not None:
        return Country(raw, code, _name(code), "fuzzy")
    return Country(raw, None, None, "unknown")


def breakdown_by_country(values: Iterable[str]) -> CountryBreakdown:
    """Count signatories per country from their typed country values.

    Rows are sorted by count, most first, then by name; each lists the spellings that
    led to it. Values naming no country are listed as typed, one entry per distinct
    spelling, most frequent first.
    """
    spellings = Counter(values)
    by_code: dict[str, Counter[str]] = {}
    unknown: list[UnknownSpelling] = []
    for raw, count in spellings.items():
        country = normalise_country(raw)
        if country.code is None:
            unknown.append(UnknownSpelling(raw, count))
        else:
            by_code.setdefault(country.code, Counter())[raw] += count
    rows = [
        CountryCount(code, _name(code), sum(used.values()),
                     tuple(raw for raw, _ in used.most_common()))
        for code, used in by_code.items()
    ]
    rows.sort(key=lambda row: (-row.count, row.name))
    unknown.sort(key=lambda u: (-u.count, u.raw.casefold(), u.raw))
    return CountryBreakdown(tuple(rows), tuple(unknown))


# --- lookup tables, built once ------------------------------------------------------------

@dataclass(frozen=True)
class _Tables:
    aliases: Mapping[str, str]  # cleaned spelling → code
    unknown: frozenset[str]  # cleaned values never matched
    names: Mapping[str, str]  # code → name shown instead of pycountry's, or outside ISO


@cache
def _tables() -> _Tables:
    """The alias table, checked: every code known, no spelling pointing to two codes."""
    import pycountry

    text = resources.files("lettermon.report").joinpath("data", "country_aliases.toml").read_text(
        encoding="utf-8")
    data = tomllib.loads(text)
    names: dict[str, str] = dict(data["names"])
    aliases: dict[str, str] = {}
    for code, spellings in data["aliases"].items():
        if code not in names and pycountry.countries.get(alpha_2=code) is None:
            raise ValueError(f"country_aliases.toml: {code!r} is not an ISO 3166-1 code")
        for spelling in spellings:
            cleaned = clean_country(spelling)
            if aliases.setdefault(cleaned, code) != code:
                raise ValueError(f"country_aliases.toml: {spelling!r} is listed under "
                                 f"{aliases[cleaned]} and {code}")
    unknown = frozenset(clean_country(value) for value in data["unknown"]["values"])
    return _Tables(aliases, unknown, names)


@cache
def _iso_names() -> Mapping[str, frozenset[str]]:
    """Every cleaned ISO name, official name and common name → the codes it names."""
    import pycountry

    names: dict[str, set[str]] = {}
    for country in pycountry.countries:
        for field in ("name", "official_name", "common_name"):
            value: str | None = getattr(country, field, None)
            if value:
                for variant in _name_variants(value):
                    names.setdefault(clean_country(variant), set()).add(country.alpha_2)
    return {name: frozenset(codes) for name, codes in names.items() if name}


def _name_variants(name: str) -> set[str]:
    """"Korea, Republic of" → also "Republic of Korea"; "Holy See (Vatican City State)" →
    also "Holy See"."""
    variants = {name, _BRACKETED.sub("", name)}
    for variant in list(variants):
        head, sep, tail = variant.partition(", ")
        if sep:
            variants.add(f"{tail} {head}")
    return variants


@cache
def _flags() -> Mapping[str, str]:
    import pycountry

    return {country.flag: country.alpha_2 for country in pycountry.countries}


def _flag(raw: str) -> Country | None:
    """A value that is a single flag emoji and nothing else."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", raw)
                   if not ch.isspace() and unicodedata.category(ch) != "Cf")
    code = _flags().get(text)
    return Country(raw, code, _name(code), "exact") if code else None


def _exact(cleaned: str) -> str | None:
    import pycountry

    if len(cleaned) == 2 and (country := pycountry.countries.get(alpha_2=cleaned)):
        return country.alpha_2
    if len(cleaned) == 3 and (country := pycountry.countries.get(alpha_3=cleaned)):
        return country.alpha_2
    codes = _iso_names().get(cleaned, frozenset())
    return next(iter(codes)) if len(codes) == 1 else None


def _name(code: str) -> str:
    """The short name to show: the data file's, else pycountry's common name or name."""
    import pycountry

    chosen = _tables().names.get(code)
    if chosen is not None:
        return chosen
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise LookupError(code)
    common: str | None = getattr(country, "common_name", None)
    return common or country.name


# --- fuzzy matching -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidates:
    names: tuple[str, ...]  # cleaned known names and aliases
    codes: tuple[str, ...]  # the code each names
    distinctive: tuple[str, ...]  # each name without its generic words
    longest: int  # characters in the longest name: longer inputs cannot be its typo


@cache
def _candidates() -> _Candidates:
    tables = _tables()
    pairs = set(tables.aliases.items())
    pairs |= {(name, code) for name, codes in _iso_names().items() for code in codes}
    ordered = sorted((name, code) for name, code in pairs if name not in tables.unknown)
    return _Candidates(
        names=tuple(name for name, _ in ordered),
        codes=tuple(code for _, code in ordered),
        distinctive=tuple(_distinctive(name) for name, _ in ordered),
        longest=max(len(name) for name, _ in ordered),
    )


def _distinctive(cleaned: str) -> str:
    return " ".join(word for word in cleaned.split() if word not in GENERIC_WORDS)


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _budget(text: str) -> int:
    """How many edits a typo of this text may contain: 0 means too short to guess."""
    letters = _letters(text)
    if letters < MIN_FUZZY_LETTERS:
        return 0
    return 1 if letters < LONG_NAME_LETTERS else 2


def _fuzzy(cleaned: str) -> str | None:
    """The one country whose known name is a near-certain typo of `cleaned`, else None.

    Names are compared whole by optimal-string-alignment distance (insertions, deletions,
    substitutions and swaps of two neighbouring letters each count 1): "germnay" is one
    edit from "germany". rapidfuzz's `fuzz.ratio` counts a swap or substitution as two
    edits and scores "Germnay" 85.7, while `WRatio` rewards partial matches ("Guinea"
    scores 90 against "Guinea-Bissau"); a count of edits is both stricter and clearer.

    A match needs: at most `_budget` edits; no other country within `RUNNER_UP_MARGIN - 1`
    edits of the best distance ("Sambia" is one edit from both Gambia and Zambia, so it
    stays unknown); and, when the matched name has distinctive words, the input's
    distinctive words long enough and within their own budget of them ("Kingdom of Spam"
    is one edit from "Kingdom of Spain", but "spam" is too short to be a typo of "spain").
    """
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    budget = _budget(cleaned)
    candidates = _candidates()
    if budget == 0 or len(cleaned) > candidates.longest + budget:
        return None
    found = process.extract(cleaned, candidates.names, scorer=OSA.distance,
                            score_cutoff=budget + RUNNER_UP_MARGIN - 1, limit=None)
    nearest: dict[str, int] = {}
    for _, distance, index in found:
        code = candidates.codes[index]
        nearest[code] = min(distance, nearest.get(code, distance))
    if not nearest:
        return None
    best_code, best = min(nearest.items(), key=lambda item: item[1])
    if best > budget or any(code != best_code and distance < best + RUNNER_UP_MARGIN
                            for code, distance in nearest.items()):
        return None
    query_words = _distinctive(cleaned)
    for _, distance, index in found:
        if candidates.codes[index] != best_code or distance != best:
            continue
        words = candidates.distinctive[index]
        if not words or OSA.distance(query_words, words) <= _budget(query_words):
            return best_code
    return None
