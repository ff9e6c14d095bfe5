"""Numbers, dates, durations and lists in the reader's language, with Babel.

A ``locale`` is a name such as ``"de"``, ``"fr_FR"`` or ``"pt-BR"``; None is lettermon's
default, British English, which writes what lettermon always wrote: ``1,234``,
``12 December 2026``, ``3 days``, ``Ana, Ben and Chloé``. German writes ``1.234``, French
``1 234`` (with a narrow no-break space), Portuguese ``12 de dezembro de 2026``.

Babel is imported inside each function: a cron ``check`` that posts nothing never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

__all__ = ["DEFAULT_LOCALE", "check_locale", "date_time", "duration", "language",
           "list_of", "long_date", "number"]

DEFAULT_LOCALE = "en_GB"


def _name(locale: str | None) -> str:
    return (locale or DEFAULT_LOCALE).replace("-", "_")


def check_locale(value: str) -> str:
    """``value`` if Babel knows the locale, else ValueError naming it (for the settings)."""
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown locale {value!r} (give a language code such as \"en\", "
                         "\"de\", \"fr_FR\" or \"pt-BR\")") from exc
    return value


def language(locale: str | None) -> str:
    """The language of a locale: ``"pt-BR"`` → ``"pt"``."""
    return _name(locale).split("_")[0].lower()


def number(value: float, locale: str | None, *, decimals: int = 0) -> str:
    """``1234`` → ``"1,234"`` (en), ``"1.234"`` (de), ``"1 234"`` (fr)."""
    from babel.numbers import format_decimal

    if decimals:
        return format_decimal(value, format="#,##0." + "0" * decimals, locale=_name(locale))
    return format_decimal(round(value), format="#,##0", locale=_name(locale))


def long_date(value: date, locale: str | None) -> str:
    """``12 December 2026`` (en), ``12. Dezember 2026`` (de), ``12 de dezembro de 2026`` (pt)."""
    from babel.dates import format_date

    return format_date(value, format="long", locale=_name(locale))


def date_time(value: datetime, locale: str | None) -> str:
    """A moment in UTC, saying so: ``12 December 2026, 14:05 UTC``."""
    from babel.dates import format_date, format_time

    moment = value.astimezone(UTC)
    name = _name(locale)
    return (f"{format_date(moment, format='long', locale=name)}, "
            f"{format_time(moment, format='HH:mm', locale=name)} UTC")


def duration(span: timedelta, locale: str | None) -> str:
    """How long something took, in one unit: days from 2 days, hours from 2 hours, else
    minutes (at least 1): ``3 days``, ``5 Stunden``, ``1 minute``."""
    from babel.units import format_unit

    seconds = span.total_seconds()
    if seconds >= 2 * 86400:
        amount, unit = round(seconds / 86400), "duration-day"
    elif seconds >= 2 * 3600:
        amount, unit = round(seconds / 3600), "duration-hour"
    else:
        amount, unit = max(1, round(seconds / 60)), "duration-minute"
    return str(format_unit(amount, unit, length="long", locale=_name(locale)))


def list_of(items: Sequence[str], locale: str | None) -> str:
    """``Ana, Ben and Chloé`` (en), ``Ana, Ben und Chloé`` (de); ``""`` for no items."""
    if not items:
        return ""
    from babel.lists import format_list

    return format_list(list(items), style="standard", locale=_name(locale))
