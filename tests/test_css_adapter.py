"""The selector-driven adapter, and how a letter's settings pick an adapter."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from lettermon.errors import ParseError
from lettermon.registry import builtin_registry
from lettermon.settings import LetterSettings
from lettermon.watch.sources import SourceAdapter, choose, detect
from lettermon.watch.sources.css import CssAdapter, CssAdapterSettings

from widget import challenge_page, make_signatories, render_page, render_signup_only_page

URL = "https://letters.example.org/campaigns/stop-face-surveillance/?lang=en"
SIGNERS = [
    ("Ada  Lovelace", "Analytical\u00a0Engines", "UK"),
    ("@grace 🤖", "", "USA"),
    ("مريم", "R&D <3", ""),
]


def petition_page(count_text: str = "Already <strong>12.345</strong> people signed",
                  signers: list[tuple[str, str, str]] | None = None,
                  next_href: str | None = "?lang=en&p=2") -> bytes:
    """A hand-built letter page that does not use the Participants Database widget."""
    items = []
    for name, org, country in SIGNERS if signers is None else signers:
        org_html = f'<span class="org">{org.replace("&", "&amp;").replace("<", "&lt;")}</span>'
        country_html = f'<span class="country">{country}</span>' if country else ""
        items.append(f'<li class="signer">\n  <span class="name">{name}</span>\n'
                     f"  {org_html} {country_html}\n</li>")
    counter = f'<p class="counter">{count_text}</p>'
    nav = f'<nav><a class="next" href="{next_href}">Next »</a></nav>' if next_href else ""
    return (f"<!doctype html><html><head><title>Stop face surveillance</title></head><body>"
            f"<h1>Stop face surveillance now</h1>{counter}"
            f'<ul class="signers">{"".join(items)}</ul>{nav}'
            f'<aside><p class="counter-like">1,000,000 views</p></aside></body></html>'
            ).encode()


def settings(**overrides: Any) -> CssAdapterSettings:
    values: dict[str, Any] = {
        "count": "p.counter",
        "rows": "ul.signers li.signer",
        "fields": {"name": ".name", "organisation": ".org", "country": ".country"},
        "next": "a.next",
    }
    values.update(overrides)
    return CssAdapterSettings(**values)


def test_reads_count_rows_fields_and_next_page() -> None:
    parsed = CssAdapter(settings()).parse(petition_page(), URL)
    assert parsed.count == 12345
    assert [r.fields for r in parsed.rows] == [
        (("name", "Ada Lovelace"), ("organisation", "Analytical Engines"), ("country", "UK")),
        (("name", "@grace 🤖"), ("organisation", ""), ("country", "USA")),
        (("name", "مريم"), ("organisation", "R&D <3"), ("country", "")),
    ]
    assert parsed.next_url == ("https://letters.example.org/campaigns/"
                               "stop-face-surveillance/?lang=en&p=2")
    assert parsed.title == "Stop face surveillance now"


@pytest.mark.parametrize(
    ("text", "regex", "expected"),
    [
        ("Already <strong>1 234</strong> people signed", None, 1234),
        ("Signatures\u00a0: 98\u202f765", None, 98765),
        ("Goal 50,000 · 12,345 signed", r"([\d,]+) signed", 12345),
        ("Goal 50,000 · 12,345 signed", r"[\d,]+ signed", 12345),
        ("Step 2 of 3: 7'650 Unterschriften", r"(\S+) Unterschriften", 7650),
    ],
)
def test_count_text_and_regex(text: str, regex: str | None, expected: int) -> None:
    parsed = CssAdapter(settings(count_regex=regex)).parse(petition_page(text), URL)
    assert parsed.count == expected


def test_missing_count_element_is_an_error_even_with_rows() -> None:
    page = petition_page().replace(b'class="counter"', b'class="tally"')
    with pytest.raises(ParseError, match="count selector"):
        CssAdapter(settings()).parse(page, URL)


def test_count_without_a_number_is_an_error() -> None:
    with pytest.raises(ParseError, match="no number"):
        CssAdapter(settings()).parse(petition_page("Be the first to sign!"), URL)


def test_count_regex_that_does_not_match_is_an_error() -> None:
    adapter = CssAdapter(settings(count_regex=r"(\d+) Unterschriften"))
    with pytest.raises(ParseError, match="no number"):
        adapter.parse(petition_page(), URL)


def test_a_count_with_no_rows_is_an_error_not_an_empty_page() -> None:
    with pytest.raises(ParseError, match="matched nothing"):
        CssAdapter(settings(rows="table.signatures tr")).parse(petition_page(), URL)


def test_a_real_zero_has_no_rows() -> None:
    parsed = CssAdapter(settings()).parse(petition_page("0 signatures", signers=[]), URL)
    assert parsed.count == 0
    assert parsed.rows == ()


@pytest.mark.parametrize("href", [None, "#", "  "])
def test_no_next_page(href: str | None) -> None:
    parsed = CssAdapter(settings()).parse(petition_page(next_href=href), URL)
    assert parsed.next_url is None
    assert len(parsed.rows) == 3


def test_a_broken_selector_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="selector"):
        CssAdapter(settings(rows="li[[[")).parse(petition_page(), URL)


def test_identical_rows_are_both_kept() -> None:
    same = ("Sam Lee", "Uni", "USA")
    parsed = CssAdapter(settings()).parse(petition_page(signers=[same, same]), URL)
    assert len(parsed.rows) == 2
    assert parsed.rows[0].fingerprint == parsed.rows[1].fingerprint


# --- choosing an adapter ---------------------------------------------------------------

def letter(**overrides: Any) -> LetterSettings:
    values: dict[str, Any] = {"name": "rekognition", "url": "https://icrac.net/letter/"}
    values.update(overrides)
    return builtin_registry().letter_settings(**values)


def adapter_for(letter: LetterSettings, html: bytes) -> SourceAdapter:
    return choose(letter, html, letter.url.unicode_string(), builtin_registry().adapters)


def probe_adapter(html: bytes) -> SourceAdapter:
    return detect(html, URL, builtin_registry().adapters)


PDB_PAGE = render_page(make_signatories(3)).encode()


def test_auto_picks_pdb_for_a_widget_page() -> None:
    adapter = adapter_for(letter(), PDB_PAGE)
    assert adapter.kind == "pdb"
    assert adapter.parse(PDB_PAGE, "https://icrac.net/letter/").count == 3


def test_auto_falls_back_to_css_selectors() -> None:
    adapter = adapter_for(letter(css=settings()), petition_page())
    assert adapter.kind == "css"
    assert adapter.parse(petition_page(), URL).count == 12345


@pytest.mark.parametrize("html", [petition_page(), render_signup_only_page().encode(),
                                  challenge_page().encode()])
def test_auto_without_selectors_explains_what_to_do(html: bytes) -> None:
    with pytest.raises(ParseError, match="set adapter = 'css'"):
        adapter_for(letter(), html)
    with pytest.raises(ParseError, match=r"no adapter recognised the page .*Participants Database"):
        probe_adapter(html)


def test_explicit_kind_wins_over_the_page() -> None:
    assert adapter_for(letter(adapter="css", css=settings()), PDB_PAGE).kind == "css"
    assert adapter_for(letter(adapter="pdb"), petition_page()).kind == "pdb"
    assert probe_adapter(PDB_PAGE).kind == "pdb"


def test_finding_the_adapters_does_not_load_the_html_parser() -> None:
    import subprocess

    code = ("import sys; from lettermon.registry import builtin_registry; "
            "assert builtin_registry().adapters['pdb']; "
            "print(any(m.startswith('selectolax') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
