"""Nothing lettermon sends to a webhook pings a Slack or Discord channel.

Names and page titles lose their chat mentions in the sanitiser; as a second line of
defence, the webhook channel removes any left in the final text (a template or a title
from the config).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from lettermon.announce.sanitize import neutralise_chat_mentions

import widget
from fakes.webhook_receiver import WebhookReceiver
from letter_server import LetterSite, serve
from posting import check, grow_to, letter_site, milestones, webhook

pytest_plugins = ["fakes.fixtures"]

MENTIONS = ("<!channel>", "<!here>", "<!everyone>", "<@U123ABC>", "<#C123|general>",
            "<!subteam^S123>", "@everyone", "@here", "<@123456>", "<@!123456>",
            "<@&123456>", "<#123>")
TRAPS = ("<!", "<@", "<#", "@everyone", "@here", "@channel")


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    with serve(letter_site(480)) as running:
        yield running


def assert_no_mention(text: str) -> None:
    for trap in TRAPS:
        assert trap not in text.casefold(), (trap, text)


def test_mentions_in_names_never_reach_a_webhook(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra=milestones(at=[480 + len(MENTIONS)]),
                        extra=webhook(webhook_receiver.url, names=True, max_names=10,
                                      name_max_length=60))
    check(run_cli, config)
    rows = widget.make_signatories(len(MENTIONS), seed=5)
    for number, (row, mention) in enumerate(zip(rows, MENTIONS, strict=True)):
        row.update(honorific="", first_name=f"Ann{number} {mention}", last_name="Lee")
    letter.sign(rows)
    check(run_cli, config)

    [text] = webhook_receiver.texts()
    assert_no_mention(text)
    assert "Ann11 Lee" in text, text


def test_mentions_in_the_template_and_title_are_removed_from_the_webhook_text(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        webhook_receiver: WebhookReceiver) -> None:
    template = "Hey " + " ".join(MENTIONS) + " and @channel: {milestone} signed {title}."
    config = config_for(letter, letter_extra='title = "<!here> Our letter <@U999>"\n'
                        + milestones(at=[481]),
                        extra=webhook(webhook_receiver.url, template=template))
    check(run_cli, config)
    grow_to(letter, 481)
    check(run_cli, config)

    [text] = webhook_receiver.texts()
    assert_no_mention(text)
    assert text == "Hey everyone here and channel: 481 signed Our letter.", text


@pytest.mark.parametrize(("raw", "expected"), [
    ("<!channel> hello", "hello"),
    ("hello <!subteam^S123|@team>!", "hello!"),
    ("ping <@U123ABC> and <#C123|general>", "ping and"),
    ("Discord <@123456> <@!123456> <@&123456> <#123>", "Discord"),
    ("@everyone @here @channel @all @room look", "everyone here channel all room look"),
    ("@Everyone, (@HERE)", "Everyone, (HERE)"),
    ("mail me@here.org", "mail me@here.org"),
    ("@everyoneelse", "@everyoneelse"),
    ("I <3 privacy, a < b > c", "I <3 privacy, a < b > c"),
    ("line one\n<!here> line two", "line one\nline two"),
    ("sign at <https://example.org/letter>", "sign at <https://example.org/letter>"),
])
def test_neutralise_chat_mentions(raw: str, expected: str) -> None:
    assert neutralise_chat_mentions(raw) == expected
