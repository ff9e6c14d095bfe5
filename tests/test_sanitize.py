"""Signatory names are hostile: each trap in a table, then every hostile row of the widget."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from lettermon.announce.sanitize import clean_name, clean_names, clean_title, is_blocked
from lettermon.announce.textlength import url_spans

import widget

CASES: list[tuple[str, str | None]] = [
    # plain names survive, accents and scripts included
    ("Jane Doe", "Jane Doe"),
    ("Chloé Müller", "Chloé Müller"),
    ("Dr. J.R.R. Tolkien", "Dr. J.R.R. Tolkien"),
    ("مريم כהן", "مريم כהן"),
    ("Zoë 🤖", "Zoë 🤖"),
    ("AT&T Labs", "AT&T Labs"),
    ("I <3 privacy", "I <3 privacy"),
    # mentions: X, Mastodon and Bluesky forms, and e-mail addresses, are dropped
    ("@jack", None),
    ("Smith @AmazonNews", "Smith"),
    ("Ann @ann@mastodon.social Lee", "Ann Lee"),
    ("Bo @bo.bsky.social", "Bo"),
    ("Cy ＠fullwidth", "Cy"),
    ("Di cy@example.org", "Di"),
    # Slack and Discord mentions are dropped; "<3" and a lone "<" are not mentions
    ("<!channel> Ann", "Ann"),
    ("Bo <!here>", "Bo"),
    ("<!everyone>", None),
    ("Cy <@U123ABC>", "Cy"),
    ("Di <#C123|general>", "Di"),
    ("Ed <!subteam^S123>", "Ed"),
    ("Flo <!subteam^S123|@team-leads>", "Flo"),
    ("Ned <@U1|jane doe> Li", "Ned Li"),
    ("Gil @everyone", "Gil"),
    ("Hu @here", "Hu"),
    ("Io <@123456>", "Io"),
    ("Jay <@!123456>", "Jay"),
    ("Kai <@&123456>", "Kai"),
    ("Lev <#123>", "Lev"),
    ("Mo <https://evil.example/x|click here>", "Mo"),
    ("Ola <mailto:o@evil.example|mail me>", "Ola"),
    ("a < b > c", "a < b > c"),
    # URLs and bare domains are dropped
    ("https://example.org/join?ref=letter&utm=1", None),
    ("Eve https://evil.example.com/x", "Eve"),
    ("Fay example.com", "Fay"),
    ("Gus bit.ly/abc", "Gus"),
    ("Hal evil。com", "Hal"),
    ("Ida www.example.net/path", "Ida"),
    # hashtags and cashtags lose their sign
    ("#NoRekognition #ai", "NoRekognition ai"),
    ("Jo ＃tag", "Jo tag"),
    ("Kim $BTC", "Kim BTC"),
    ("Lu $5", "Lu $5"),
    # control, zero-width and bidi characters are removed
    ("Ali\u200b", "Ali"),
    ("Ro\u200dss\u200f", "Ross"),
    ("\u202eevil\u202c Bob", "evil Bob"),
    ("Ma\u2066x\u2069", "Max"),
    ("Ne\u2060d\ufeff", "Ned"),
    ("Ol\x00i\x1b[31m", "Oli[31m"),
    ("Pa\u00adul", "Paul"),
    # whitespace collapses; NFKC folds fullwidth and styled letters
    ("  Quinn \n\t  Ray  ", "Quinn Ray"),
    ("Ｓａｍ", "Sam"),
    ("𝐓𝐨𝐦", "Tom"),
    # stacks of combining marks are trimmed
    ("Joq\u0301\u0302\u0303\u0304a", "Joq\u0301\u0302a"),
    # nothing left
    ("🔥🔥🔥", None),
    ("", None),
    ("\u200b\u200b", None),
    ("# @ ...", None),
    # length capped at a word boundary
    ("Alice Bob Carol Dave Eve Frank Grace Heidi Ivan", "Alice Bob Carol Dave Eve Frank Grace…"),
    ("Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaftschaferswessen",
     "Wolfeschlegelsteinhausenbergerdorffvora…"),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_clean_name(raw: str, expected: str | None) -> None:
    assert clean_name(raw) == expected


TITLES: list[tuple[str, str | None]] = [
    ("Open Letter to Amazon against Police and Government use of Rekognition",
     "Open Letter to Amazon against Police and Government use of Rekognition"),
    ("Researchers’ letter: “Stop Rekognition” – 2019 (AI & policing)",
     "Researchers’ letter: “Stop Rekognition” – 2019 (AI & policing)"),
    ("@everyone Free crypto at https://evil.com #scam $BTC <!channel>",
     "Free crypto at scam BTC"),
    ("\x1b]8;;https://evil\x07click\x1b]8;;\x07 \x1b]0;pwned\x07Letter\x1b[2J",
     "]8;; ]8;; ]0;pwnedLetter[2J"),
    ("Open\u202e Letter\u200b <@U123> <#C1|general> @here", "Open Letter"),
    ("Open   Letter\n\tto Amazon", "Open Letter to Amazon"),
    ("@everyone https://evil.com <!channel> \u200b", None),
    ("", None),
]


@pytest.mark.parametrize(("raw", "expected"), TITLES)
def test_clean_title(raw: str, expected: str | None) -> None:
    assert clean_title(raw) == expected


def test_a_title_is_capped_at_a_word() -> None:
    title = clean_title("An open letter " * 20, max_length=50)
    assert title == "An open letter An open letter An open letter An…"


BLOCKLIST_CASES = tomllib.loads(
    (Path(__file__).parent / "blocklist_cases.toml").read_text(encoding="utf-8"))["case"]


@pytest.mark.parametrize("case", BLOCKLIST_CASES, ids=[c["why"] for c in BLOCKLIST_CASES])
def test_blocklist(case: dict[str, Any]) -> None:
    name = case["name"] if "name" in case else " ".join(case["fields"])
    assert is_blocked(name, case["blocklist"]) is case["blocked"]
    cleaned = clean_name(name, blocklist=case["blocklist"], max_length=200)
    assert (cleaned is None) is case["blocked"], cleaned


def test_clean_names_drops_rejects_and_repeats() -> None:
    names = ["Jane Doe", "@jack", None, "jane doe", "spam", "Ann", "Bo", ""]
    assert clean_names(names, blocklist=["spam"]) == ["Jane Doe", "Ann", "Bo"]
    assert clean_names(names, blocklist=["spam"], limit=2) == ["Jane Doe", "Ann"]


def test_max_length_is_respected() -> None:
    for size in (5, 10, 20):
        result = clean_name("Alexandra Ocasio Smithsonian", max_length=size)
        assert result is not None
        assert len(result) <= size
        assert result.endswith("…")


_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


@pytest.mark.parametrize("seed", range(5))
def test_every_widget_signatory_comes_out_safe(seed: int) -> None:
    for row in widget.make_signatories(600, seed=seed):
        for value in row.values():
            name = clean_name(value, max_length=40)
            if name is None:
                continue
            assert "@" not in name
            assert "#" not in name
            assert not url_spans(name), name
            assert not _INVISIBLE.search(name)
            assert all(unicodedata.category(ch) not in ("Cc", "Cf") for ch in name)
            assert name == " ".join(name.split())
            assert len(name) <= 40
