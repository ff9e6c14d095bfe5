"""The console channel prints posts to a stream."""

from __future__ import annotations

import io

from lettermon.announce.channels.base import Post
from lettermon.announce.channels.console import ConsolePoster
from lettermon.announce.channels.console import ConsoleSettings as ConsoleChannel

from posting import build_channel


def test_prints_header_and_text() -> None:
    stream = io.StringIO()
    channel = build_channel(ConsoleChannel(kind="console", name="screen"), stream=stream)
    post = Post(key="rek:1000:screen", text="1,000 researchers have signed.",
                letter="rek", milestone=1000, count=1004, url="https://l.example.org/",
                image=b"png", image_alt="chart")

    posted = channel.send(post)

    assert isinstance(channel, ConsolePoster)
    assert stream.getvalue() == (
        "--- screen: rek at 1,004 (milestone 1,000) ---\n"
        "1,000 researchers have signed.\n"
        "[image, 3 bytes: chart]\n")
    assert posted.remote_id == "rek:1000:screen"
    assert channel.find_existing(post) is None
    assert (channel.kind, channel.limit, channel.length("👩‍🔬 ok")) == ("console", 500, 4)


def test_registry_names_every_kind() -> None:
    from lettermon.registry import builtin_registry

    assert set(builtin_registry().channels) == {"console", "webhook", "mastodon", "bluesky", "x"}


def test_channel_modules_do_not_import_the_network_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lettermon.announce.channels\n"
        "from lettermon.announce.channels import console, webhook, mastodon, bluesky, x\n"
        "heavy = {'tweepy', 'mastodon', 'atproto', 'atproto_client'} & set(sys.modules)\n"
        "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True)
