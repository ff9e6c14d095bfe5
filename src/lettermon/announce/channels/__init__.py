"""Channels: where posts go. One module per network, each declaring a :class:`Channel`.

:func:`discover` finds the channel kinds of this package (every module whose name does not
start with ``_``); :class:`lettermon.registry.Registry` holds them. A module imports its
network's library only when a post is sent, so finding the kinds is cheap.
"""

from __future__ import annotations

import importlib
import pkgutil

from lettermon.announce.channels.base import Capabilities, Channel, ChannelContext, Post, Posted

__all__ = ["Capabilities", "Channel", "ChannelContext", "Post", "Posted", "declared_in",
           "discover"]


def declared_in(module: object) -> list[type[Channel]]:
    """The channel kinds a module defines (subclasses of :class:`Channel` with a kind)."""
    name = getattr(module, "__name__", "")
    return [value for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Channel)
            and value.__module__ == name and "kind" in vars(value)]


def discover() -> list[type[Channel]]:
    """Every channel kind shipped in this package, in module order."""
    kinds: list[type[Channel]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        kinds.extend(declared_in(importlib.import_module(f"{__name__}.{info.name}")))
    return kinds
