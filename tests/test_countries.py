"""The country breakdown: which country each typed value names, and the counts per country."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import resources

import pytest

from lettermon.report.countries import (
    Country,
    CountryCount,
    UnknownSpelling,
    breakdown_by_country,
    clean_country,
    normalise_country,
)

# The spellings of the country column in the first 79 rows of the ICRAC Rekognition letter,
# with how often each occurs there.
LETTER_COUNTRIES = [
    ("USA", 24), ("United States", 15), ("Canada", 10), ("UK", 4), ("Denmark", 4),
    ("Australia", 4), ("Germany", 3), ("Netherlands", 2), ("Brazil", 2),
    ("United Statqes", 1), ("United Kingdom", 1), ("The Netherlands", 1), ("Spain", 1),
    ("Republic of Užupis", 1), ("Republic of Fenerbahce", 1), ("Italy", 1), ("Ireland", 1),
    ("India", 1), ("China", 1), ("Andorra", 1),
]

# (value as typed, the code the breakdown shows beside it, or None for unknown)
SPELLINGS: list[tuple[str, str | None]] = [
    # every spelling in the letter
    ("USA", "US"),
    ("United States", "US"),
    ("United Statqes", "US"),
    ("Canada", "CA"),
    ("UK", "GB"),
    ("United Kingdom", "GB"),
    ("Denmark", "DK"),
    ("Australia", "AU"),
    ("Germany", "DE"),
    ("Netherlands", "NL"),
    ("The Netherlands", "NL"),
    ("Brazil", "BR"),
    ("Spain", "ES"),
    ("Italy", "IT"),
    ("Ireland", "IE"),
    ("India", "IN"),
    ("China", "CN"),
    ("Andorra", "AD"),
    ("Republic of Užupis", None),
    ("Republic of Fenerbahce", None),
    # the United States, written many ways
    ("US", "US"),
    ("U.S.", "US"),
    ("U.S.A.", "US"),
    ("U. S. A.", "US"),
    ("usa", "US"),
    ("  USA  ", "US"),
    ("UNITED STATES", "US"),
    ("united   states", "US"),
    ("United\u00a0States", "US"),
    ("The United States", "US"),
    ("United States of America", "US"),
    ("the United States of America.", "US"),
    ("America", "US"),
    ("Estados Unidos", "US"),
    ("🇺🇸", "US"),
    # the United Kingdom and its nations
    ("U.K.", "GB"),
    ("Great Britain", "GB"),
    ("Britain", "GB"),
    ("England", "GB"),
    ("Scotland", "GB"),
    ("Wales", "GB"),
    ("Northern Ireland", "GB"),
    ("GB", "GB"),
    # names in other languages and scripts, with and without accents
    ("Deutschland", "DE"),
    ("Brasil", "BR"),
    ("España", "ES"),
    ("Espana", "ES"),
    ("Italia", "IT"),
    ("Schweiz", "CH"),
    ("Suisse", "CH"),
    ("Österreich", "AT"),
    ("Osterreich", "AT"),
    ("Россия", "RU"),
    ("Russia", "RU"),
    ("México", "MX"),
    ("Mexico", "MX"),
    ("Türkiye", "TR"),
    ("Turkey", "TR"),
    ("Holland", "NL"),
    ("Nederland", "NL"),
    ("Perú", "PE"),
    ("Côte d'Ivoire", "CI"),
    ("Cote d'Ivoire", "CI"),
    ("Ivory Coast", "CI"),
    ("中国", "CN"),
    ("日本", "JP"),
    ("대한민국", "KR"),
    # ISO codes and names, official and inverted
    ("DE", "DE"),
    ("deu", "DE"),
    ("FRA", "FR"),
    ("Federal Republic of Germany", "DE"),
    ("Korea, Republic of", "KR"),
    ("Republic of Korea", "KR"),
    ("South Korea", "KR"),
    ("Korea", "KR"),
    ("North Korea", "KP"),
    ("Czechia", "CZ"),
    ("Czech Republic", "CZ"),
    ("Hong Kong", "HK"),
    ("Taiwan", "TW"),
    ("ROC", "TW"),
    ("PRC", "CN"),
    ("Palestine", "PS"),
    ("Syria", "SY"),
    ("Vietnam", "VN"),
    ("Viet Nam", "VN"),
    ("Bolivia", "BO"),
    ("Venezuela", "VE"),
    ("Tanzania", "TZ"),
    ("Laos", "LA"),
    ("Moldova", "MD"),
    ("Macedonia", "MK"),
    ("North Macedonia", "MK"),
    ("Swaziland", "SZ"),
    ("Eswatini", "SZ"),
    ("Burma", "MM"),
    ("Myanmar", "MM"),
    ("Cape Verde", "CV"),
    ("Vatican", "VA"),
    ("UAE", "AE"),
    ("U.A.E.", "AE"),
    ("KSA", "SA"),
    ("DRC", "CD"),
    ("Congo-Kinshasa", "CD"),
    ("Congo-Brazzaville", "CG"),
    ("St. Lucia", "LC"),
    ("Trinidad & Tobago", "TT"),
    ("The Gambia", "GM"),
    ("Kosovo", "XK"),
    # typos that are near-certain
    ("Germnay", "DE"),
    ("Austrailia", "AU"),
    ("Untied Kingdom", "GB"),
    ("Untied Kingdon", "GB"),
    ("Switzerlnd", "CH"),
    ("Nehterlands", "NL"),
    ("Austira", "AT"),
    ("Republic of Koreaa", "KR"),
    ("Ger\u200bmany", "DE"),
    ("\u200fGermany", "DE"),
    # near-misses: real countries that must stay themselves
    ("Niger", "NE"),
    ("Nigeria", "NG"),
    ("Dominica", "DM"),
    ("Dominican Republic", "DO"),
    ("Guinea", "GN"),
    ("Guinea-Bissau", "GW"),
    ("Austria", "AT"),
    ("Iran", "IR"),
    ("Iraq", "IQ"),
    ("Mali", "ML"),
    ("Malawi", "MW"),
    ("Gambia", "GM"),
    ("Zambia", "ZM"),
    ("Slovakia", "SK"),
    ("Slovenia", "SI"),
    ("Sudan", "SD"),
    ("South Sudan", "SS"),
    ("Georgia", "GE"),
    # ambiguous typos: more than one country is as close
    ("Sambia", None),  # Gambia or Zambia
    ("Slovania", None),  # Slovakia or Slovenia
    ("Chine", None),  # China or Chile
    ("Nigera", None),  # Niger or Nigeria
    ("Congo", None),  # either Congo
    # jokes, places that are not countries, and no answer at all
    ("Mars", None),
    ("Earth", None),
    ("Europe", None),
    ("Wakanda", None),
    ("Latveria", None),
    ("Narnia", None),
    ("Kingdom of Spam", None),
    ("Republic of Kugelmugel", None),
    ("California", None),
    ("N/A", None),
    ("NA", None),
    ("n.a.", None),
    ("none", None),
    ("-", None),
    ("?", None),
    ("", None),
    ("   ", None),
]


@pytest.mark.parametrize(("raw", "code"), SPELLINGS, ids=[repr(raw) for raw, _ in SPELLINGS])
def test_the_code_shown_beside_a_typed_country(raw: str, code: str | None) -> None:
    country = normalise_country(raw)
    assert country.code == code
    assert country.raw == raw
    if code is None:
        assert (country.name, country.how) == (None, "unknown")
    else:
        assert country.name
        assert country.how != "unknown"


def test_the_table_has_every_spelling_of_the_letter_and_enough_cases() -> None:
    table = dict(SPELLINGS)
    assert all(spelling in table for spelling, _ in LETTER_COUNTRIES)
    assert len(SPELLINGS) >= 80


@pytest.mark.parametrize(("raw", "name"), [
    ("USA", "United States"),
    ("UK", "United Kingdom"),
    ("The Netherlands", "Netherlands"),
    ("Korea", "South Korea"),
    ("Россия", "Russian Federation"),
    ("DRC", "DR Congo"),
    ("Congo-Brazzaville", "Republic of the Congo"),
    ("Kosovo", "Kosovo"),
])
def test_the_name_shown_is_short_and_clear(raw: str, name: str) -> None:
    assert normalise_country(raw).name == name


@pytest.mark.parametrize(("raw", "how"), [
    ("Germany", "exact"),
    ("DEU", "exact"),
    ("🇩🇪", "exact"),
    ("Deutschland", "alias"),
    ("U.S.A.", "alias"),
    ("Germnay", "fuzzy"),
    ("United Statqes", "fuzzy"),
    ("Republic of Fenerbahce", "unknown"),
])
def test_how_each_value_was_recognised(raw: str, how: str) -> None:
    assert normalise_country(raw).how == how


def test_a_fuzzy_match_says_what_was_typed_and_what_it_was_read_as() -> None:
    assert normalise_country("United Statqes") == Country(
        raw="United Statqes", code="US", name="United States", how="fuzzy")


@pytest.mark.parametrize(("raw", "cleaned"), [
    ("U.S.A.", "usa"),
    ("  The   Netherlands ", "netherlands"),
    ("Côte d’Ivoire", "cote divoire"),
    ("St. Kitts & Nevis", "saint kitts and nevis"),
    ("Guinea-Bissau", "guinea bissau"),
    ("GERMANY\u200b", "germany"),
])
def test_cleaning_makes_spellings_comparable(raw: str, cleaned: str) -> None:
    assert clean_country(raw) == cleaned


def test_every_spelling_in_the_alias_file_names_its_country() -> None:
    text = resources.files("lettermon.report").joinpath(
        "data", "country_aliases.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    wrong = [(spelling, code, normalise_country(spelling).code)
             for code, spellings in data["aliases"].items() for spelling in spellings
             if normalise_country(spelling).code != code]
    assert wrong == []
    assert all(normalise_country(value).code is None for value in data["unknown"]["values"])


def test_a_long_hostile_value_is_unknown_and_quick() -> None:
    assert normalise_country("Germany" * 5_000).code is None
    assert normalise_country("<script>alert(1)</script>").code is None


def test_the_letter_breakdown_counts_each_country_once_whatever_the_spelling() -> None:
    values = [spelling for spelling, count in LETTER_COUNTRIES for _ in range(count)]
    breakdown = breakdown_by_country(values)

    assert breakdown.total == 79
    assert [(row.code, row.count) for row in breakdown.rows] == [
        ("US", 40), ("CA", 10), ("GB", 5), ("AU", 4), ("DK", 4), ("DE", 3), ("NL", 3),
        ("BR", 2), ("AD", 1), ("CN", 1), ("IN", 1), ("IE", 1), ("IT", 1), ("ES", 1),
    ]
    assert breakdown.rows[0] == CountryCount(
        code="US", name="United States", count=40,
        spellings=("USA", "United States", "United Statqes"))
    netherlands = next(row for row in breakdown.rows if row.code == "NL")
    assert netherlands.spellings == ("Netherlands", "The Netherlands")
    assert breakdown.unknown == (
        UnknownSpelling("Republic of Fenerbahce", 1), UnknownSpelling("Republic of Užupis", 1))


def test_unknown_values_are_listed_as_typed_and_counted_per_spelling() -> None:
    breakdown = breakdown_by_country(
        ["Mars", "Mars", "mars", "", "", "", "N/A", "Germany"])
    assert breakdown.unknown == (
        UnknownSpelling("", 3), UnknownSpelling("Mars", 2), UnknownSpelling("mars", 1),
        UnknownSpelling("N/A", 1))
    assert [(row.code, row.count) for row in breakdown.rows] == [("DE", 1)]
    assert breakdown.total == 8


def test_ties_are_sorted_by_country_name() -> None:
    breakdown = breakdown_by_country(["Spain", "Austria", "Denmark", "Spain"])
    assert [row.name for row in breakdown.rows] == ["Spain", "Austria", "Denmark"]


def test_an_empty_list_gives_an_empty_breakdown() -> None:
    breakdown = breakdown_by_country([])
    assert (breakdown.rows, breakdown.unknown, breakdown.total) == ((), (), 0)


def test_the_breakdown_prints_as_json() -> None:
    breakdown = breakdown_by_country(["USA", "U.S.", "Germany", "Earth"])
    assert json.loads(json.dumps(breakdown.to_dict())) == {
        "total": 4,
        "countries": [
            {"code": "US", "name": "United States", "count": 2, "spellings": ["USA", "U.S."]},
            {"code": "DE", "name": "Germany", "count": 1, "spellings": ["Germany"]},
        ],
        "unknown": [{"raw": "Earth", "count": 1}],
    }


def test_importing_the_module_loads_no_country_data_or_matcher() -> None:
    code = ("import sys, lettermon.report.countries; "
            "print(sorted(m for m in ('pycountry', 'rapidfuzz') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
