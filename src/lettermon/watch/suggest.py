"""What to watch on a page no adapter recognises: the numbers that look like its count.

For HTML, every number in the page's text that sits next to a word such as "signatures",
"Unterschriften" or "firmas" (the list is ``data/count_words.toml``) is a candidate, with
a CSS selector for the element holding it and, where that element holds other numbers
first, a ``count_regex``. A number just after "goal", "of", "Ziel"... is a target, not a
count. For JSON, every number outside a list is a candidate, named by its JMESPath. Each
candidate is kept only if the adapter, given the suggested settings, reads that very
number from the page: a suggestion pasted into a config works.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lettermon.errors import ParseError
from lettermon.watch.sources.html import clean
from lettermon.watch.sources.numbers import abbreviated, first_int, spans

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "svg",
                   "option", "select", "textarea", "button"})
_IDENT = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_-]*$")
_JSON_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_HINTS = ("signature", "signed", "signer", "supporter", "count", "total", "firmas",
              "unterschrift", "participants", "backers")
_NUMERIC = r"[0-9][0-9.,'’\u00a0\u202f\u2009 ]*[0-9]|[0-9]"
MAX_CANDIDATES = 10


@dataclass(frozen=True)
class Candidate:
    """A number that may be the letter's count, and the settings that read it."""

    value: int
    score: int
    settings: dict[str, str]  # the [letters.css] or [letters.json] table
    context: str  # the text around it, or its JSON path

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "score": self.score, "settings": self.settings,
                "context": self.context}


@dataclass(frozen=True)
class Words:
    counts: tuple[str, ...]
    not_counts: tuple[str, ...]

    def count_word_in(self, text: str) -> bool:
        folded = text.casefold()
        return any(_starts_word(folded, w) for w in self.counts)

    def target_before(self, text: str) -> bool:
        """Whether ``text`` (what precedes a number) ends with a word of a target."""
        tail = re.sub(r"[\s:·•|()\[\]/-]+$", "", text.casefold())[-20:]
        return any(re.search(rf"(?<!\w){re.escape(w)}$", tail) for w in self.not_counts)


def _starts_word(folded: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}", folded) is not None


@cache
def words() -> Words:
    """The multilingual word lists shipped in ``data/count_words.toml``."""
    text = resources.files("lettermon.watch").joinpath("data/count_words.toml").read_text(
        encoding="utf-8")
    data = tomllib.loads(text)
    counts = {w.casefold() for language in data["counts"].values() for w in language}
    targets = {w.casefold() for w in data["not_counts"]["words"]}
    return Words(tuple(sorted(counts, key=len, reverse=True)), tuple(sorted(targets)))


def letter_name(url: str) -> str:
    """A letter name from the address's last path segment ("save-the-river")."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    slug = re.sub(r"[^a-z0-9]+", "-", (segments[-1] if segments else "").lower())
    slug = re.sub(r"\.(json|html?|php)$", "", slug).strip("-")[:40].strip("-")
    return slug or "letter"


# -- HTML ------------------------------------------------------------------------------------

def html_candidates(body: bytes, url: str) -> list[Candidate]:
    """The numbers next to count words, likeliest first, each read back by the css
    adapter with the settings it suggests."""
    from selectolax.lexbor import LexborHTMLParser

    from lettermon.watch.sources.css import CssAdapter, CssAdapterSettings

    tree = LexborHTMLParser(body)
    root = tree.body
    if root is None:
        return []
    found: dict[tuple[int, str], Candidate] = {}
    for node, value, score, context in _numbers(root):
        settings = _css_settings(tree, node, value)
        if settings is None:
            continue
        try:
            parsed = CssAdapter(CssAdapterSettings.model_validate(settings)).parse(body, url)
        except (ParseError, ValueError):
            continue
        if parsed.count != value:
            continue
        key = (value, settings["count"])
        if key not in found or found[key].score < score:
            found[key] = Candidate(value, score, settings, context)
    ranked = sorted(found.values(), key=lambda c: -c.score)
    return ranked[:MAX_CANDIDATES]


def _numbers(root: LexborNode) -> Iterator[tuple[LexborNode, int, int, str]]:
    """(element, number, score, context) for every number in an element's own text that
    scores above 0."""
    vocabulary = words()
    for node in root.traverse():
        if node.tag in _SKIP or _inside_skipped(node):
            continue
        own = clean(node.text(deep=False, separator=" "))
        if not own or not any(c.isdigit() for c in own):
            continue
        whole = clean(node.text(deep=True, separator=" "))
        parent = node.parent
        around = clean(parent.text(deep=True, separator=" "))[:400] if parent else ""
        around = f"{_column_header(node)} {around}".strip()
        for start, end, value in spans(own):
            if abbreviated(own[start:]) is not None:
                continue
            near = own[max(0, start - 40):end + 40]
            score = (3 if vocabulary.count_word_in(near) else
                     2 if vocabulary.count_word_in(whole[:300]) else
                     1 if vocabulary.count_word_in(around) else 0)
            if vocabulary.target_before(own[:start]) or (
                    start == 0 and vocabulary.target_before(_text_before(node))):
                score -= 3
            if 1900 <= value <= 2100 and score < 3:
                score -= 1  # a year, most likely
            if score > 0:
                yield node, value, score, (around or whole)[:120]


def _column_header(node: LexborNode) -> str:
    """For a table cell: the text of its column's header cell."""
    row = node.parent
    if node.tag != "td" or row is None:
        return ""
    column = next(i for i, cell in enumerate(_cells(row)) if cell == node)
    table: LexborNode | None = row
    while table is not None and table.tag != "table":
        table = table.parent
    if table is None:
        return ""
    for header in table.css("tr"):
        cells = _cells(header)
        if cells and all(cell.tag == "th" for cell in cells):
            return clean(cells[column].text(deep=True)) if column < len(cells) else ""
    return ""


def _cells(row: LexborNode) -> list[LexborNode]:
    return [cell for cell in row.iter() if cell.tag in ("td", "th")]


def _inside_skipped(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in _SKIP:
            return True
        parent = parent.parent
    return False


def _text_before(node: LexborNode) -> str:
    """The text of the element's previous sibling (a label such as "Goal:")."""
    sibling = node.prev
    while sibling is not None and sibling.tag == "-text" and not (sibling.text_content or
                                                                  "").strip():
        sibling = sibling.prev
    if sibling is None:
        return ""
    return clean(sibling.text(deep=True) if sibling.tag != "-text" else
                 sibling.text_content or "")


def _css_settings(tree: LexborHTMLParser, node: LexborNode, value: int
                  ) -> dict[str, str] | None:
    selector = _selector(tree, node)
    if selector is None:
        return None
    settings = {"count": selector}
    text = clean(node.text(deep=True))
    if first_int(text) != value:
        regex = _regex_for(text, value)
        if regex is None:
            return None
        settings["count_regex"] = regex
    return settings


def _regex_for(text: str, value: int) -> str | None:
    """A regex whose first group is ``value`` in ``text``: the number and the word after
    it (or before it)."""
    for start, end, number in spans(text):
        if number != value:
            continue
        after = re.match(r"\s*(\w+)", text[end:])
        if after:
            return rf"({_NUMERIC})\s*{re.escape(after.group(1))}"
        before = re.search(r"(\w+)\W*$", text[:start])
        if before:
            return rf"{re.escape(before.group(1))}\W*({_NUMERIC})"
    return None


def _selector(tree: LexborHTMLParser, node: LexborNode) -> str | None:
    """A CSS selector that matches ``node`` and nothing else on the page: its tag and
    classes (or id), with those of its parents until one has an id or a class (a bare
    ``strong`` would break as soon as the page gains another)."""
    parts: list[str] = []
    current: LexborNode | None = node
    while current is not None and current.tag not in ("html", "-undef", None):
        parts.insert(0, _simple(current))
        candidate = " > ".join(parts)
        named = "#" in candidate or "." in candidate or current.tag == "body"
        if named and _unique(tree, candidate, node):
            return candidate
        if parts[0].startswith("#"):
            break
        current = current.parent
    # not unique by ids and classes: number the element among its kind, level by level
    parts = []
    current = node
    while current is not None and current.tag not in ("html", "-undef", None):
        parts.insert(0, _simple(current) + _nth(current))
        candidate = " > ".join(parts)
        if _unique(tree, candidate, node):
            return candidate
        current = current.parent
    return None


def _simple(node: LexborNode) -> str:
    ident = (node.attributes.get("id") or "").strip()
    if ident and _IDENT.match(ident):
        return f"#{ident}"
    classes = [c for c in (node.attributes.get("class") or "").split() if _IDENT.match(c)]
    return str(node.tag) + "".join(f".{c}" for c in classes[:2])


def _nth(node: LexborNode) -> str:
    if _simple(node).startswith("#"):
        return ""
    index = 1
    sibling = node.prev
    while sibling is not None:
        if sibling.tag == node.tag:
            index += 1
        sibling = sibling.prev
    return f":nth-of-type({index})"


def _unique(tree: LexborHTMLParser, selector: str, node: LexborNode) -> bool:
    try:
        matches = tree.css(selector)
    except Exception:  # noqa: BLE001 - selectolax rejects some selectors; try another
        return False
    return len(matches) == 1 and matches[0] == node


# -- JSON ------------------------------------------------------------------------------------

def json_candidates(body: bytes) -> list[Candidate]:
    """Every number outside a list, by JMESPath, likeliest first."""
    from lettermon.watch.sources.json import JsonAdapter, JsonAdapterSettings, load_json

    document = load_json(body)
    vocabulary = words()
    found = []
    for path, value in _numeric_paths(document, []):
        expression = ".".join(_key(k) for k in path)
        last = path[-1].casefold()
        score = 1 + (2 if vocabulary.count_word_in(last.replace("_", " ")) or any(
            hint in last for hint in _KEY_HINTS) else 0)
        if any(vocabulary.target_before(k) or k.casefold() in ("goal", "target", "id")
               for k in path[-1:]):
            score -= 2
        settings = {"count": expression}
        try:
            parsed = JsonAdapter(JsonAdapterSettings.model_validate(settings)).parse(body, "")
        except (ParseError, ValueError):
            continue
        if parsed.count == value:
            found.append(Candidate(value, score, settings, expression))
    found.sort(key=lambda c: -c.score)
    return found[:MAX_CANDIDATES]


def _numeric_paths(value: Any, path: list[str]) -> Iterator[tuple[list[str], int]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numeric_paths(item, [*path, str(key)])
    elif isinstance(value, int) and not isinstance(value, bool) and path and value >= 0:
        yield path, value


def _key(key: str) -> str:
    return key if _JSON_KEY.match(key) else json.dumps(key)


# -- the suggested entry ---------------------------------------------------------------------

def letter_entry(url: str, adapter: str, settings: dict[str, str]) -> str:
    """A ``[[letters]]`` entry to paste into a config."""
    lines = ["[[letters]]", f"name = {json.dumps(letter_name(url))}",
             f"url = {json.dumps(url)}", f"adapter = {json.dumps(adapter)}", "",
             f"[letters.{adapter}]"]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}"
              for key, value in settings.items()]
    return "\n".join(lines) + "\n"
