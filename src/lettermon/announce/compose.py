"""Writing posts: templates filled with a milestone's figures, fitted to each network.

Numbers are numbers (:mod:`lettermon.templates` says how they are written), the rest is
text. Signatory names are hostile input: they pass through
:mod:`lettermon.announce.sanitize` and are the first thing dropped when a post is too long.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from lettermon import l10n
from lettermon.announce.textlength import fit
from lettermon.models import PostKind
from lettermon.settings import ChannelSettings
from lettermon.templates import MISSING, Number, Rate, fill

DEFAULT_TEMPLATE = ("{milestone} {noun} have now signed \u201c{title}\u201d.{names} "
                    "Add your name: {url}")
DEFAULT_TEMPLATE_NO_LINK = "{milestone} {noun} have now signed \u201c{title}\u201d.{names}"
DEFAULT_LAUNCH_TEMPLATE = ("\u201c{title}\u201d is open for signatures: {count} {noun} have "
                           "signed so far. Add your name: {url}")


DEFAULT_FINAL_TEMPLATE = ("\u201c{title}\u201d has closed: {count} {noun} signed. "
                          "Thank you to everyone who did: {url}")


@dataclass(frozen=True)
class Wording:
    """The built-in templates of one language. ``milestone + link`` is the milestone post;
    ``names`` introduces the newest signatories' names (``{list}``)."""

    milestone: str
    link: str
    launch: str
    names: str
    final: str


NBSP = "\u00a0"  # French puts a no-break space before ":" and inside guillemets

WORDINGS: dict[str, Wording] = {
    "en": Wording(
        milestone="{milestone} {noun} have now signed \u201c{title}\u201d.{names}",
        link=" Add your name: {url}",
        launch=DEFAULT_LAUNCH_TEMPLATE,
        names=" Among the latest: {list}.",
        final=DEFAULT_FINAL_TEMPLATE),
    "de": Wording(
        milestone="{milestone} {noun} haben \u201e{title}\u201c jetzt unterschrieben.{names}",
        link=" Unterschreiben Sie auch: {url}",
        launch=("\u201e{title}\u201c ist zur Unterschrift offen: {count} {noun} haben bisher "
                "unterschrieben. Unterschreiben Sie auch: {url}"),
        names=" Zuletzt dabei: {list}.",
        final=("\u201e{title}\u201c ist abgeschlossen: {count} {noun} haben unterschrieben. "
               "Danke an alle, die dabei waren: {url}")),
    "fr": Wording(
        milestone=f"{{milestone}} {{noun}} ont d\u00e9sormais sign\u00e9 \u00ab{NBSP}{{title}}"
                  f"{NBSP}\u00bb.{{names}}",
        link=f" Signez vous aussi{NBSP}: {{url}}",
        launch=(f"\u00ab{NBSP}{{title}}{NBSP}\u00bb est ouverte aux signatures{NBSP}: "
                f"{{count}} {{noun}} ont d\u00e9j\u00e0 sign\u00e9. Signez vous aussi{NBSP}: "
                "{url}"),
        names=f" Parmi les derniers{NBSP}: {{list}}.",
        final=(f"\u00ab{NBSP}{{title}}{NBSP}\u00bb est close{NBSP}: {{count}} {{noun}} ont "
               f"sign\u00e9. Merci \u00e0 toutes et \u00e0 tous{NBSP}: {{url}}")),
    "es": Wording(
        milestone="{milestone} {noun} ya han firmado \u00ab{title}\u00bb.{names}",
        link=" A\u00f1ade tu nombre: {url}",
        launch=("\u00ab{title}\u00bb est\u00e1 abierta a firmas: {count} {noun} han firmado "
                "hasta ahora. A\u00f1ade tu nombre: {url}"),
        names=" Entre los \u00faltimos: {list}.",
        final=("\u00ab{title}\u00bb se ha cerrado: {count} {noun} han firmado. Gracias a "
               "todas las personas que firmaron: {url}")),
    "pt": Wording(
        milestone="{milestone} {noun} j\u00e1 assinaram \u201c{title}\u201d.{names}",
        link=" Assine tamb\u00e9m: {url}",
        launch=("\u201c{title}\u201d est\u00e1 aberta a assinaturas: {count} {noun} j\u00e1 "
                "assinaram. Assine tamb\u00e9m: {url}"),
        names=" Entre os mais recentes: {list}.",
        final=("\u201c{title}\u201d foi encerrada: {count} {noun} assinaram. Obrigado a "
               "todos que assinaram: {url}")),
}


def wording(locale: str | None) -> Wording:
    """The built-in templates in the locale's language; English for any other language."""
    return WORDINGS.get(l10n.language(locale), WORDINGS["en"])


def template_for(channel: ChannelSettings | None, kind: PostKind,
                 locale: str | None = None) -> str:
    """The channel's own template for this kind of post (as written), else the built-in
    one in the locale's language."""
    words = wording(locale)
    if kind is PostKind.FINAL:
        return (channel.final_template if channel else None) or words.final
    if kind is PostKind.LAUNCH:
        return (channel.launch_template if channel else None) or words.launch
    if channel is not None and channel.template:
        return channel.template
    if channel is None or channel.links:
        return words.milestone + words.link
    return words.milestone


@dataclass(frozen=True)
class Figures:
    """What a post can say about a letter at the moment a milestone was reached."""

    name: str
    title: str
    url: str
    noun: str
    count: int
    milestone: int | None
    since_last_post: int | None = None
    took: timedelta | None = None
    rate_per_day: float | None = None
    next_milestone: int | None = None
    next_eta: date | None = None


def human_duration(span: timedelta, locale: str | None = None) -> str:
    return l10n.duration(span, locale)


def join_names(names: Sequence[str], locale: str | None = None) -> str:
    return l10n.list_of(names, locale)


def variables(figures: Figures, names: Sequence[str],
              locale: str | None = None) -> dict[str, object]:
    """Every template variable's value, of the type :data:`lettermon.templates.SAMPLE`
    gives it at load; numbers and dates written for ``locale`` unless a template formats
    them itself."""
    listed = join_names(names, locale)
    return {
        "name": figures.name,
        "title": figures.title,
        "url": figures.url,
        "noun": figures.noun,
        "count": Number(figures.count, locale),
        "milestone": Number(figures.milestone or figures.count, locale),
        "since_last_post": Number(figures.since_last_post, locale) if figures.since_last_post
        else MISSING,
        "took": human_duration(figures.took, locale) if figures.took else "",
        "rate_per_day": Rate(figures.rate_per_day, locale) if figures.rate_per_day
        else MISSING,
        "next_milestone": Number(figures.next_milestone, locale) if figures.next_milestone
        else MISSING,
        "next_eta": l10n.long_date(figures.next_eta, locale) if figures.next_eta else "",
        "names": wording(locale).names.format(list=listed) if listed else "",
    }


def render(template: str, figures: Figures, names: Sequence[str], *, limit: int,
           length: Callable[[str], int], locale: str | None = None) -> str:
    """Fill ``template``; drop names one by one, then shorten, until it fits ``limit``."""
    names = list(names)
    while True:
        text = _tidy(fill(template, variables(figures, names, locale)))
        if length(text) <= limit or not names:
            break
        names.pop()
    return text if length(text) <= limit else fit(text, limit, length)


def _tidy(text: str) -> str:
    """Collapse runs of spaces an empty variable leaves; keep the template's line breaks."""
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(lines).strip()
