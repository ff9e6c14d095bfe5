"""Print posts to a text stream: for trying a config out and for operator alerts."""

from __future__ import annotations

import sys
from typing import TextIO

from lettermon.channels.base import Post, Posted
from lettermon.output import terminal_safe
from lettermon.settings import ConsoleChannel
from lettermon.textlength import LIMITS, plain_length


class ConsolePoster:
    """Writes each post under a header line; the remote id is the post's key."""

    kind = "console"
    limit = LIMITS["console"]

    def __init__(self, settings: ConsoleChannel, *, stream: TextIO | None = None) -> None:
        self.name = settings.name
        self._stream = stream

    def __repr__(self) -> str:
        return f"ConsolePoster(name={self.name!r})"

    def length(self, text: str) -> int:
        return plain_length(text)

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

    def find_existing(self, post: Post) -> Posted | None:
        return None

    def close(self) -> None:
        return None
