"""A letter's history built through the store, for the report, export and site tests.

:func:`build` writes 40 days of hourly polls ending at ``now``: the count starts at 100
and grows by one an hour, except that the polls 3 and 2 hours ago failed (network).
Milestones every 100 were reached on the way (those at or below 100 on the first poll,
silently); milestone 1,000 was posted on two channels. Five people signed before the
first poll; three more, two of them hostile, signed two days ago.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from lettermon import clock
from lettermon.models import FailureKind, OutboxStatus, Outcome, PostKind, Row
from lettermon.store import PollRecord, open_store

HOURS = 40 * 24
FAILED_HOURS_AGO = (3, 2)
HOSTILE_SCRIPT = "<script>document.title='pwned'</script>"
HOSTILE_IMG = "<img src=x onerror=\"document.title='pwned'\">"
HOSTILE_COUNTRY = "<b onmouseover=alert(1)>Atlantis</b>"
PAGE_TITLE = "<script>alert('title')</script> Open Letter on Rekognition"
POST_URL = "https://mastodon.example/@icrac/1000"

FIRST = [
    {"first_name": "Ana", "last_name": "Silva", "title": "Professor", "country": "Brazil",
     "institution": "USP"},
    {"first_name": "Ben", "last_name": "Okafor", "title": "PhD Student", "country": "UK",
     "institution": "University of Edinburgh"},
    {"first_name": "Chloé", "last_name": "Dubois", "title": "Lecturer", "country": "France",
     "institution": "Sorbonne"},
    {"first_name": "Dmitri", "last_name": "Petrov", "title": "Software Engineer",
     "country": "U.S.A.", "institution": "Accenture"},
    {"first_name": "Esra", "last_name": "Yilmaz", "title": "Researcher", "country": "USA",
     "institution": "usp"},
]
LATER = [
    {"first_name": HOSTILE_SCRIPT, "last_name": "Smith", "title": "Professor",
     "country": "United States", "institution": ""},
    {"first_name": "Grace", "last_name": HOSTILE_IMG, "title": "Student",
     "country": HOSTILE_COUNTRY, "institution": "LSE"},
    {"first_name": "Hiroshi", "last_name": "Tanaka", "title": "Director", "country": "Japan",
     "institution": "USP"},
]


@dataclass(frozen=True)
class Built:
    start: datetime
    now: datetime
    count: int
    letter_id: int


def count_at(hour: int) -> int:
    return 100 + hour


def build(database: Path, now: datetime, *, name: str = "rekognition",
          url: str = "https://letters.example.org/rek/",
          extra_countries: tuple[str, ...] = ()) -> Built:
    """The history described above; ``extra_countries`` adds one signatory (two days ago)
    for each of these country values."""
    later = LATER + [{"first_name": "Ivo", "last_name": f"Extra {i}", "title": "",
                      "country": country, "institution": ""}
                     for i, country in enumerate(extra_countries)]
    start = now - timedelta(hours=HOURS)
    with open_store(f"sqlite:///{database}", clock.iso(start)) as store:
        letter_id = store.letters.ensure(name, url, clock.iso(start)).id
        polls = store.polls
        for hour in range(HOURS + 1):
            at = clock.iso(start + timedelta(hours=hour))
            failed = HOURS - hour in FAILED_HOURS_AGO
            with store.transaction():
                poll_id = polls.start(letter_id, at)
                if failed:
                    polls.finish(poll_id, PollRecord(at=at, count=None, outcome=Outcome.FAILED,
                                                     kind=FailureKind.NETWORK,
                                                     error="connection refused"))
                    continue
                polls.finish(poll_id, PollRecord(at=at, count=count_at(hour),
                                                 outcome=Outcome.OK))
                if hour == 0:
                    store.signatories.add(letter_id, [_row(f) for f in FIRST], at, poll_id)
                    store.milestones.record(letter_id, silent=[100], announced=[],
                                            poll_id=poll_id, count=100, at=at)
                elif hour == HOURS - 48:
                    store.signatories.add(letter_id, [_row(f) for f in later], at, poll_id)
                if hour and count_at(hour) % 100 == 0:
                    store.milestones.record(letter_id, silent=[], announced=[count_at(hour)],
                                            poll_id=poll_id, count=count_at(hour), at=at)
                    if count_at(hour) == 1000:
                        _posted(store, letter_id, name, poll_id, at)
        with store.transaction():
            store.letters.update(letter_id, last_count=count_at(HOURS),
                                 present=len(FIRST) + len(later),
                                 title=PAGE_TITLE)
    return Built(start, now, count_at(HOURS), letter_id)


def _row(fields: dict[str, str]) -> Row:
    return Row.of(tuple(fields.items()))


def _posted(store: object, letter_id: int, name: str, poll_id: int, at: str) -> None:
    from lettermon.store import Store

    assert isinstance(store, Store)
    for channel in ("icrac-mastodon", "odd"):
        store.outbox.queue(letter_id=letter_id, letter=name, kind=PostKind.MILESTONE,
                           milestone=1000, channel=channel, text="1,000 signed", count=1000,
                           poll_id=poll_id, at=at)
    for entry in store.outbox.entries(name):
        store.outbox.update(entry.id, at, status=OutboxStatus.SENT, remote_id=f"id-{entry.id}",
                            remote_url=POST_URL if entry.channel == "icrac-mastodon"
                            else "javascript:alert(1)", sent_at=at)


def many_signatories(database: Path, now: datetime, count: int, *,
                     name: str = "big") -> None:
    """A letter of ``count`` signatories, added by one poll in batches of 5,000."""
    countries = ("USA", "Germany", "U.K.", "Brasil", "Republic of Fenerbahce", "")
    at = clock.iso(now)
    with open_store(f"sqlite:///{database}", at) as store:
        letter_id = store.letters.ensure(name, "https://big.example/", at).id
        with store.transaction():
            poll_id = store.polls.start(letter_id, at)
            store.polls.finish(poll_id, PollRecord(at=at, count=count, outcome=Outcome.OK))
            for start in range(0, count, 5000):
                store.signatories.add(letter_id, [
                    _row({"first_name": f"Person {i}", "last_name": f"Number {i:06d}",
                          "title": "Researcher", "country": countries[i % len(countries)],
                          "institution": f"University {i % 97}"})
                    for i in range(start, min(count, start + 5000))], at, poll_id)
            store.letters.update(letter_id, last_count=count, present=count)
