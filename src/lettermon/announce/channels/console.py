"""Print posts to a text stream: for trying a config out and for operator alerts."""

from __future__ import annotations

import sys
from typing import Literal, TextIO

from lettermon.announce.channels.base import Capabilities, Channel, ChannelContext, Post, Posted
from lettermon.settings import ChannelSettings
from lettermon.terminal import terminal_safe


class ConsoleSettings(ChannelSettings):
    kind: Literal["console"]


class ConsolePoster(Channel):
    """Writes each post under a header line; the remote id is the post's key."""

    kind = "console"
    summary = "print each post on standard output (to try a config, or for alerts)"
    settings_model = ConsoleSettings
    limit = 500
    capabilities = Capabilities(images=True, alt_text=True)

    def __init__(self, settings: ConsoleSettings, context: ChannelContext | None = None, *,
                 stream: TextIO | None = None) -> None:
        super().__init__(settings, context)
        self._stream = stream

    def send(self, post: Post) -> Posted:
        stream = self._stream if self._stream is not None else sys.stdout
        milestone = "launch" if post.milestone is None else f"{post.milestone:,}"
        header = f"--- {self.name}: {post.letter} at {post.count:,} (milestone {milestone}) ---"
        lines = [header, post.text]
        if post.image is not None:
            lines.append(f"[image, {len(post.image):,} bytes: {post.image_alt or 'no alt text'}]")
        stream.write(terminal_safe("\n".join(lines), newlines=True) + "\n")
        stream.flush()
        return Posted(remote_id=post.key)
