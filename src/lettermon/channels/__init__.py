"""Channels: where milestone posts go. One module per kind, imported only when used.

``KINDS`` maps a channel ``kind`` from the config to ``"module:Class"``; each class takes
its settings model as the first argument and implements :class:`~lettermon.channels.base.Channel`.
"""

from __future__ import annotations

import importlib
from typing import Any, cast

from lettermon.channels.base import Channel, Post, Posted
from lettermon.errors import ConfigError
from lettermon.settings import _ChannelBase

__all__ = ["KINDS", "Channel", "Post", "Posted", "build_channel"]

KINDS: dict[str, str] = {
    "console": "lettermon.channels.console:ConsolePoster",
    "webhook": "lettermon.channels.webhook:WebhookPoster",
    "mastodon": "lettermon.channels.mastodon:MastodonPoster",
    "bluesky": "lettermon.channels.bluesky:BlueskyPoster",
    "x": "lettermon.channels.x:XPoster",
}


def build_channel(settings: _ChannelBase, **options: Any) -> Channel:
    """Build the channel for ``settings``, importing its module (and library) only now.

    ``options`` go to the class as keyword arguments, e.g. ``session_file=`` for Bluesky,
    ``stream=`` for the console, ``client=`` for the webhook.
    """
    kind = getattr(settings, "kind", None)
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError(f"channel {settings.name!r}: unknown kind {kind!r}")
    module_name, _, class_name = KINDS[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cast(Channel, cls(settings, **options))
