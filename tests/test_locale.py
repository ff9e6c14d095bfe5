"""Numbers, dates, durations and lists in the reader's language, in posts and alerts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from lettermon import l10n
from lettermon.announce.compose import WORDINGS, Figures, render, template_for
from lettermon.announce.textlength import plain_length
from lettermon.models import PostKind

from letter_server import LetterSite, serve
from posting import check, console, console_posts, grow_to, letter_site, milestones

NNBSP = "\u202f"  # French groups thousands with a narrow no-break space
NBSP = "\u00a0"  # and puts a no-break space inside guillemets and before a colon


@pytest.mark.parametrize(("locale", "count", "day", "took", "names"), [
    (None, "1,234,567", "1 March 2026", "3 days", "Ana, Ben and Chloé"),
    ("en_US", "1,234,567", "March 1, 2026", "3 days", "Ana, Ben, and Chloé"),
    ("de", "1.234.567", "1. März 2026", "3 Tage", "Ana, Ben und Chloé"),
    ("fr", f"1{NNBSP}234{NNBSP}567", "1 mars 2026", "3\u00a0jours", "Ana, Ben et Chloé"),
    ("es", "1.234.567", "1 de marzo de 2026", "3 días", "Ana, Ben y Chloé"),
    ("pt-BR", "1.234.567", "1 de março de 2026", "3 dias", "Ana, Ben e Chloé"),
])
def test_numbers_dates_durations_and_lists_follow_the_locale(
        locale: str | None, count: str, day: str, took: str, names: str) -> None:
    assert l10n.number(1_234_567, locale) == count
    assert l10n.long_date(date(2026, 3, 1), locale) == day  # no glibc-only "%-d"
    assert l10n.duration(timedelta(days=3, hours=2), locale) == took
    assert l10n.list_of(["Ana", "Ben", "Chloé"], locale) == names


def test_portuguese_writes_the_month_in_words() -> None:
    assert l10n.long_date(date(2026, 12, 12), "pt") == "12 de dezembro de 2026"
    assert l10n.number(1234, "de") == "1.234"
    assert l10n.number(1234, "fr") == f"1{NNBSP}234"


def test_durations_pick_the_unit_a_person_would() -> None:
    assert l10n.duration(timedelta(minutes=1), None) == "1 minute"
    assert l10n.duration(timedelta(seconds=5), None) == "1 minute"
    assert l10n.duration(timedelta(hours=5), "de") == "5 Stunden"
    assert l10n.duration(timedelta(days=40), "es") == "40 días"


FIGURES = Figures(name="rek", title="Brief", url="https://l.example/sign", noun="Leute",
                  count=2345, milestone=2000, since_last_post=1100,
                  took=timedelta(days=3), rate_per_day=366.6, next_milestone=3000,
                  next_eta=date(2026, 12, 12))


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "pt"])
def test_every_language_has_its_default_templates(language: str) -> None:
    for kind in (PostKind.MILESTONE, PostKind.LAUNCH):
        text = render(template_for(None, kind, language), FIGURES, ["Ana", "Ben"],
                      limit=500, length=plain_length, locale=language)
        assert "{" not in text and "https://l.example/sign" in text
        assert "Brief" in text and "Leute" in text
        assert l10n.number(2000 if kind is PostKind.MILESTONE else 2345, language) in text
        if kind is PostKind.MILESTONE:
            assert l10n.list_of(["Ana", "Ben"], language) in text
    assert set(WORDINGS) >= {"en", "de", "fr", "es", "pt"}
    texts = {render(template_for(None, PostKind.MILESTONE, lang), FIGURES, [], limit=500,
                    length=plain_length, locale=lang) for lang in WORDINGS}
    assert len(texts) == len(WORDINGS)  # each in its own words


def test_a_language_without_templates_falls_back_to_english_wording() -> None:
    text = render(template_for(None, PostKind.MILESTONE, "it"), FIGURES, [], limit=500,
                  length=plain_length, locale="it")
    assert text == "2.000 Leute have now signed “Brief”. Add your name: https://l.example/sign"


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    with serve(letter_site(1230)) as running:
        yield running


def test_posts_use_the_channel_locale_else_the_letter_locale(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        clock: Any) -> None:
    own = "Neu: {count} {noun}, {since_last_post} in {took}; {next_milestone} am {next_eta}."
    config = config_for(letter, letter_extra="\n".join([
        'locale = "de"', 'title = "Offener Brief"', milestones(every=1000)]), extra="\n".join([
            console("deutsch"), console("francais", locale="fr"),
            console("eigen", template=own)]))
    check(run_cli, config)
    clock.advance(days=3)
    grow_to(letter, 2340)
    posts = console_posts(check(run_cli, config).output)
    url = letter.url
    assert f"2.000 researchers haben „Offener Brief“ jetzt unterschrieben. Unterschreiben " \
           f"Sie auch: {url}" in posts
    assert (f"2{NNBSP}000 researchers ont désormais signé «{NBSP}Offener Brief{NBSP}». "
            f"Signez vous aussi{NBSP}: {url}") in posts
    # the channel's own template stays as written; only its numbers and dates are German
    eigen = next(p for p in posts if p.startswith("Neu:"))
    assert eigen.startswith("Neu: 2.340 researchers, 1.110 in 3 Tage; 3.000 am ")
    months = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
    assert re.fullmatch(rf"\d{{1,2}}\. ({months}) \d{{4}}\.", eigen.split(" am ")[1])

def test_an_unknown_locale_is_a_configuration_error(
        letter: LetterSite, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    config = config_for(letter, letter_extra='locale = "xx_NOPE"')
    result = run_cli("history", "rekognition", "--config", str(config))
    assert result.exit_code == 2
    assert "locale" in result.output and "xx_NOPE" in result.output
