"""``lettermon post --dry-run``: exactly what would go out, counted as each network counts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from lettermon.announce.textlength import x_length

from fakes.webhook_receiver import WebhookReceiver
from fakes.x_api import FakeXApi
from letter_server import LetterSite, serve
from posting import (
    check,
    grow_to,
    letter_site,
    mastodon,
    mastodon_texts,
    milestones,
    outbox,
    webhook,
    x,
)

pytest_plugins = ["fakes.fixtures"]

Cli = Callable[..., Result]
LINK_LENGTH = 23  # X and Mastodon count every link as 23 characters
# The campaign's short link; X does not see a link in the local test site's 127.0.0.1 address.
LINK = "https://letters.example.org/{name}/sign"
TEMPLATE = "{milestone} {noun} have now signed. Add your name: " + LINK


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    with serve(letter_site(480)) as running:
        yield running


@pytest.fixture
def config(letter: LetterSite, config_for: Callable[..., Path],
           monkeypatch: pytest.MonkeyPatch, webhook_receiver: WebhookReceiver,
           mastodon_server: Any, x_api: FakeXApi) -> Path:
    return config_for(letter, letter_extra=milestones(every=100), extra="\n".join([
        x(x_api.url, monkeypatch, template=TEMPLATE),
        mastodon(mastodon_server.base_url, monkeypatch, template=TEMPLATE),
        webhook(webhook_receiver.url, template=TEMPLATE)]))


def dry_run(run_cli: Cli, config: Path, *args: str) -> str:
    result = run_cli("post", "--dry-run", "--config", str(config), *args)
    assert result.exit_code == 0, result.output
    return result.output


def assert_nothing_sent(webhook_receiver: WebhookReceiver, mastodon_server: Any,
                        x_api: FakeXApi) -> None:
    assert webhook_receiver.requests == []
    assert mastodon_texts(mastodon_server) == []
    assert x_api.received == []


def test_dry_run_shows_the_due_text_with_its_length_and_sends_nothing(
        letter: LetterSite, config: Path, run_cli: Cli, webhook_receiver: WebhookReceiver,
        mastodon_server: Any, x_api: FakeXApi) -> None:
    check(run_cli, config)
    grow_to(letter, 512)
    check(run_cli, config, "--no-post")
    before = outbox(run_cli, config)
    [text] = {row["text"] for row in before}

    output = dry_run(run_cli, config)

    link = LINK.format(name="rekognition")
    assert text == f"500 researchers have now signed. Add your name: {link}"
    linked = len(text) - len(link) + LINK_LENGTH
    assert output.splitlines() == [
        f"rekognition → bird (milestone, {linked}/280 characters, due now):", f"  {text}",
        f"rekognition → fedi (milestone, {linked}/500 characters, due now):", f"  {text}",
        f"rekognition → hook (milestone, {len(text)}/4000 characters, due now):", f"  {text}",
    ]
    assert_nothing_sent(webhook_receiver, mastodon_server, x_api)
    assert outbox(run_cli, config) == before


def test_dry_run_with_nothing_due_previews_each_channel(
        config: Path, run_cli: Cli, webhook_receiver: WebhookReceiver,
        mastodon_server: Any, x_api: FakeXApi) -> None:
    check(run_cli, config)

    output = dry_run(run_cli, config)

    heads = [line for line in output.splitlines() if not line.startswith("  ")]
    assert [h.split(" (")[0] for h in heads] == [
        "rekognition → bird", "rekognition → fedi", "rekognition → hook"]
    assert all(h.endswith(", preview (nothing due)):") for h in heads)
    texts = [line.strip() for line in output.splitlines() if line.startswith("  ")]
    assert all(t.startswith("500 researchers have now signed") for t in texts)
    assert_nothing_sent(webhook_receiver, mastodon_server, x_api)
    assert outbox(run_cli, config) == []


def test_dry_run_json_lists_each_channel(
        letter: LetterSite, config: Path, run_cli: Cli) -> None:
    check(run_cli, config)
    grow_to(letter, 505)
    check(run_cli, config, "--no-post")

    items = json.loads(dry_run(run_cli, config, "--format", "json"))

    assert isinstance(items, list)
    assert [(i["channel"], i["limit"]) for i in items] == [
        ("bird", 280), ("fedi", 500), ("hook", 4000)]
    for item in items:
        assert {"letter", "channel", "kind", "milestone", "text", "length", "limit", "due",
                "held"} <= set(item)
        assert (item["letter"], item["kind"], item["milestone"]) == (
            "rekognition", "milestone", 500)
        assert (item["due"], item["held"]) == (True, None)
        assert item["text"] == TEMPLATE.format(milestone=500, noun="researchers",
                                               name="rekognition")
    link = LINK.format(name="rekognition")
    assert [i["length"] for i in items] == [len(items[0]["text"]) - len(link) + LINK_LENGTH] * 2 + [
        len(items[0]["text"])]


def words(n: int, word: str) -> str:
    return " ".join(f"{word}{i}" for i in range(n))


def test_a_long_post_is_shortened_for_x_at_a_word_never_inside_a_link(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        monkeypatch: pytest.MonkeyPatch, x_api: FakeXApi) -> None:
    early_link = f"{{milestone}} {{noun}} signed. {words(12, 'early')} {LINK} {words(60, 'tail')}"
    late_link = f"{{milestone}} {{noun}} signed. {words(36, 'late')} {LINK} end"
    config = config_for(letter, letter_extra=milestones(every=100), extra="\n".join([
        x(x_api.url, monkeypatch, name="early", template=early_link),
        x(x_api.url, monkeypatch, name="late", template=late_link)]))
    check(run_cli, config)
    grow_to(letter, 505)
    check(run_cli, config, "--no-post")

    shown = {i["channel"]: i for i in json.loads(dry_run(run_cli, config, "--format", "json"))}
    check(run_cli, config)

    link = LINK.format(name="rekognition")
    full = {name: template.format(milestone="500", noun="researchers", name="rekognition")
            for name, template in (("early", early_link), ("late", late_link))}
    sent = dict(zip(("early", "late"), x_api.posts(), strict=True))
    for name, text in sent.items():
        assert x_length(full[name]) > 280
        assert x_length(text) <= 280
        assert shown[name]["text"] == text
        assert shown[name]["length"] == x_length(text)
        kept = text.removesuffix("…")
        assert text.endswith("…") and full[name].startswith(kept)
        assert full[name][len(kept)] == " "  # cut between two words
    assert sent["early"].count(link) == 1  # a link that fits is kept whole
    assert "http" not in sent["late"] and "letters.example" not in sent["late"]  # dropped whole
    assert sent["late"].endswith("late35…")
