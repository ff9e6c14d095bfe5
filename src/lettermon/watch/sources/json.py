"""JSON APIs: JMESPath expressions from the letter's settings pick count, rows and more.

For letters whose page fills its counter in from a JSON endpoint (a browser's network tab
shows it), or that publish one. ``count`` is a JMESPath expression (the maintained
``jmespath`` package, imported when a letter uses it) yielding the total; ``rows`` and
``fields`` give signatories, ``title`` and ``state`` the letter's title and state, and
``breakdown`` lists of ``{name, count}`` objects by dimension (per-country counts...). The
response must be JSON: a content type that says otherwise, or a body that does not parse,
is a failed poll with that reason. The whole list is one document: there is no paging.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from lettermon.errors import ParseError
from lettermon.models import Breakdown, ParsedPage, Row
from lettermon.settings import Strict
from lettermon.watch.sources.base import SourceAdapter
from lettermon.watch.sources.html import clean
from lettermon.watch.sources.numbers import abbreviated, first_int

JSON_TYPES = ("application/json", "text/json", "+json")
_DIMENSION = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _compiles(expression: str) -> str:
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(expression)
    except JMESPathError as exc:
        raise ValueError(f"not a valid JMESPath expression {expression!r}: "
                         f"{str(exc).splitlines()[0]}") from exc
    return expression


class JsonAdapterSettings(Strict):
    """A JSON API read with JMESPath expressions."""

    count: str = Field(description="JMESPath expression yielding the total")
    rows: str | None = Field(default=None,
        description="JMESPath expression yielding the list of signatory objects; none: "
                    "the letter is count-only")
    fields: dict[str, str] = Field(default_factory=dict,
        description="field name -> JMESPath expression inside a row")
    title: str | None = Field(default=None,
        description="JMESPath expression yielding the letter's title")
    state: str | None = Field(default=None,
        description="JMESPath expression yielding the letter's state (open, closed...)")
    breakdown: dict[str, str] = Field(default_factory=dict,
        description="dimension -> JMESPath expression yielding a list of {name, count}")

    @property
    def count_only(self) -> bool:
        return self.rows is None

    @field_validator("count", "rows", "title", "state")
    @classmethod
    def _expression(cls, value: str | None) -> str | None:
        return None if value is None else _compiles(value)

    @field_validator("fields", "breakdown")
    @classmethod
    def _expressions(cls, value: dict[str, str]) -> dict[str, str]:
        return {key: _compiles(expression) for key, expression in value.items()}

    @field_validator("breakdown")
    @classmethod
    def _dimension_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _DIMENSION.match(name):
                raise ValueError(f"dimension {name!r}: use lower-case letters, digits and _ "
                                 "(country, constituency, region...)")
        return value

    @model_validator(mode="after")
    def _rows_and_fields(self) -> JsonAdapterSettings:
        if self.rows is not None and not self.fields:
            raise ValueError("with rows, name at least one field in fields")
        if self.rows is None and self.fields:
            raise ValueError("fields need rows (without rows the letter is count-only)")
        return self


def load_json(body: bytes) -> Any:
    """The parsed document; a ParseError naming where it stops being JSON."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"the response is not JSON ({exc})") from exc


def as_count(value: Any, what: str) -> int:
    """A count from a JSON value: a whole number, or a text holding one exactly."""
    if isinstance(value, bool) or value is None:
        raise ParseError(f"{what} yielded {json.dumps(value)}, not a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        short = abbreviated(value)
        if short is not None:
            raise ParseError(f"{what} is shown abbreviated ({short!r}), not as an exact "
                             "number")
        found = first_int(value)
        if found is None:
            raise ParseError(f"{what} yielded {value[:40]!r}, not a number")
        number = found
    else:
        raise ParseError(f"{what} yielded {json.dumps(value)[:40]}, not a whole number")
    if number < 0:
        raise ParseError(f"{what} yielded {number}, below 0")
    return number


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return clean(value)
    return clean(json.dumps(value, ensure_ascii=False))


def as_breakdown(value: Any, what: str) -> Breakdown:
    """``[{name, count}, ...]`` as (name, count) pairs, largest first."""
    if not isinstance(value, list):
        raise ParseError(f"{what} yielded {type(value).__name__}, not a list of "
                         "{name, count} objects")
    items: dict[str, int] = {}
    for item in value:
        if not isinstance(item, dict) or "name" not in item or "count" not in item:
            raise ParseError(f"{what}: an entry is not a {{name, count}} object")
        name = as_text(item["name"])
        items[name] = items.get(name, 0) + as_count(item["count"], f"{what} ({name})")
    return tuple(sorted(items.items(), key=lambda kv: (-kv[1], kv[0])))


class JsonAdapter(SourceAdapter):
    """Reads a JSON document with the expressions of a ``[letters.json]`` table."""

    kind = "json"
    summary = "a JSON API, read with the JMESPath expressions of [letters.json]"
    settings_model = JsonAdapterSettings
    media_types = JSON_TYPES
    settings: JsonAdapterSettings

    def parse(self, body: bytes, url: str) -> ParsedPage:
        import jmespath

        document = load_json(body)
        settings = self.settings

        def search(expression: str) -> Any:
            return jmespath.search(expression, document)

        count = as_count(search(settings.count), f"count {settings.count!r}")
        title = search(settings.title) if settings.title else None
        state = search(settings.state) if settings.state else None
        breakdowns = {dimension: as_breakdown(search(expression),
                                              f"breakdown.{dimension} {expression!r}")
                      for dimension, expression in settings.breakdown.items()}
        common: dict[str, Any] = {
            "title": as_text(title) or None if title is not None else None,
            "state": as_text(state) or None if state is not None else None,
            "breakdowns": breakdowns}
        if settings.rows is None:
            return ParsedPage(count=count, rows=(), count_only=True, **common)
        found = search(settings.rows)
        if not isinstance(found, list):
            raise ParseError(f"rows {settings.rows!r} yielded "
                             f"{'nothing' if found is None else type(found).__name__}, "
                             "not a list")
        rows = tuple(self._row(item) for item in found)
        if count > 0 and not rows:
            raise ParseError(f"rows {settings.rows!r} yielded no rows while the count says "
                             f"{count}")
        return ParsedPage(count=count, rows=rows, per_page=max(len(rows), 1), **common)

    def _row(self, item: Any) -> Row:
        import jmespath

        return Row.of(tuple((name, as_text(jmespath.search(expression, item)))
                            for name, expression in self.settings.fields.items()))
