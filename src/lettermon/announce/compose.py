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

from lettermon.announce.textlength import fit
from lettermon.models import PostKind
from lettermon.settings import ChannelSettings
from lettermon.templates import MISSING, Number, Rate, fill

DEFAULT_TEMPLATE = ("{milestone} {noun} have now signed \u201c{title}\u201d.{names} "
                    "Add your name: {url}")
DEFAULT_TEMPLATE_NO_LINK = "{milestone} {noun} have now signed \u201c{title}\u201d.{names}"
DEFAULT_LAUNCH_TEMPLATE = ("\u201c{title}\u201d is open for signatures: {count} {noun} have "
                           "signed so far. Add your name: {url}")


def template_for(channel: ChannelSettings | None, kind: PostKind) -> str:
    """The channel's own template for this kind of post, else the default one."""
    if kind is PostKind.LAUNCH:
        return (channel.launch_template if channel else None) or DEFAULT_LAUNCH_TEMPLATE
    if channel is not None and channel.template:
        return channel.template
    return DEFAULT_TEMPLATE if channel is None or channel.links else DEFAULT_TEMPLATE_NO_LINK


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


def human_duration(span: timedelta) -> str:
    days = span.total_seconds() / 86400
    if days >= 2:
        return f"{round(days)} days"
    hours = span.total_seconds() / 3600
    if hours >= 2:
        return f"{round(hours)} hours"
    minutes = max(1, round(span.total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def join_names(names: Sequence[str]) -> str:
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def variables(figures: Figures, names: Sequence[str]) -> dict[str, object]:
    """Every template variable's value, of the type :data:`lettermon.templates.SAMPLE`
    gives it at load."""
    listed = join_names(names)
    return {
        "name": figures.name,
        "title": figures.title,
        "url": figures.url,
        "noun": figures.noun,
        "count": Number(figures.count),
        "milestone": Number(figures.milestone or figures.count),
        "since_last_post": Number(figures.since_last_post) if figures.since_last_post
        else MISSING,
        "took": human_duration(figures.took) if figures.took else "",
        "rate_per_day": Rate(figures.rate_per_day) if figures.rate_per_day else MISSING,
        "next_milestone": Number(figures.next_milestone) if figures.next_milestone
        else MISSING,
        "next_eta": figures.next_eta.strftime("%-d %B %Y") if figures.next_eta else "",
        "names": f" Among the latest: {listed}." if listed else "",
    }


def render(template: str, figures: Figures, names: Sequence[str], *, limit: int,
           length: Callable[[str], int]) -> str:
    """Fill ``template``; drop names one by one, then shorten, until it fits ``limit``."""
    names = list(names)
    while True:
        text = _tidy(fill(template, variables(figures, names)))
        if length(text) <= limit or not names:
            break
        names.pop()
    return text if length(text) <= limit else fit(text, limit, length)


def _tidy(text: str) -> str:
    """Collapse runs of spaces an empty variable leaves; keep the template's line breaks."""
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(lines).strip()
