"""Helpers shared by the channel adapters (secrets, rate-limit resets, refused addresses)."""

from __future__ import annotations

import time

from pydantic import SecretStr

from lettermon.errors import PostError, RefusedAddress
from lettermon.settings import ChannelSettings, secret_env_names


def require_secret(settings: ChannelSettings, field: str) -> str:
    """The secret's value, or a permanent :class:`PostError` naming where to set it."""
    value = getattr(settings, field, None)
    if isinstance(value, SecretStr) and value.get_secret_value():
        return value.get_secret_value()
    names = [n for n in secret_env_names(settings) if n.endswith(field.upper())]
    where = names[0] if names else "the channel's secret"
    raise PostError(f"channel {settings.name!r}: no {field} configured (set {where})",
                    permanent=True)


def seconds_until(epoch: float | None) -> float | None:
    """Seconds from now until a Unix time (never negative); None when unknown."""
    if epoch is None:
        return None
    return max(float(epoch) - time.time(), 0.0)


def refused_address(exc: BaseException) -> RefusedAddress | None:
    """The address refusal behind ``exc``, when a library wrapped it in an error of its own."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, RefusedAddress):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
