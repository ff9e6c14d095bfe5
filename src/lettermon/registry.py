"""The channel kinds and source adapters lettermon knows, and the settings model they make.

Built from the declarations in :mod:`lettermon.announce.channels` and
:mod:`lettermon.watch.sources` (one class per network or page layout). A registry is a
value passed through the composition root, never a global: a test or an embedding
program adds a kind of its own with :meth:`Registry.with_channel` or
:meth:`Registry.with_adapter`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from lettermon.errors import ConfigError

if TYPE_CHECKING:
    from lettermon.announce.channels.base import Channel
    from lettermon.settings import LetterSettings, Settings
    from lettermon.watch.sources.base import SourceAdapter

_CHANNEL_PARTS = ("kind", "summary", "settings_model", "limit", "capabilities")
_ADAPTER_PARTS = ("kind", "summary")


class Registry:
    """Channel kinds by ``kind`` and source adapters by ``kind``, in declaration order."""

    def __init__(self, channels: Iterable[type[Channel]],
                 adapters: Iterable[type[SourceAdapter]]) -> None:
        self.channels: Mapping[str, type[Channel]] = MappingProxyType(
            _by_kind(channels, "channel kind"))
        self.adapters: Mapping[str, type[SourceAdapter]] = MappingProxyType(
            _by_kind(adapters, "source adapter"))

    def with_channel(self, channel: type[Channel]) -> Registry:
        """This registry plus one channel kind (replacing one of the same kind)."""
        kinds = {**self.channels, channel.kind: channel}
        return Registry(kinds.values(), self.adapters.values())

    def with_adapter(self, adapter: type[SourceAdapter]) -> Registry:
        """This registry plus one source adapter (replacing one of the same kind)."""
        kinds = {**self.adapters, adapter.kind: adapter}
        return Registry(self.channels.values(), kinds.values())

    @functools.cached_property
    def settings_model(self) -> type[Settings]:
        """The settings class that accepts these channel kinds and adapters' tables."""
        from lettermon.settings import settings_model

        return settings_model([c.settings_model for c in self.channels.values()],
                              {k: a.settings_model for k, a in self.adapters.items()},
                              count_only=[k for k, a in self.adapters.items() if a.count_only],
                              url_twins={k: a.source_url for k, a in self.adapters.items()})

    def channel(self, kind: str) -> type[Channel]:
        try:
            return self.channels[kind]
        except KeyError:
            raise ConfigError(f"unknown channel kind {kind!r} (known: "
                              f"{', '.join(self.channels)})") from None

    def letter_settings(self, **values: Any) -> LetterSettings:
        """A ``[[letters]]`` entry validated as the config file's would be."""
        model = self.settings_model.model_fields["letters"].annotation
        letter_model: Any = model.__args__[0]  # type: ignore[union-attr]
        return letter_model(**values)  # type: ignore[no-any-return]


    def channels_table(self) -> str:
        """The docs table of channel kinds, made from their declarations (Markdown)."""
        lines = ["| kind | what it does | limit | images (alt text) | a repeated send "
                 "| after a crash |", "|---|---|---|---|---|---|"]
        for kind, channel in self.channels.items():
            caps = channel.capabilities
            images = ("yes" + (" (yes)" if caps.alt_text else " (no)")) if caps.images else "no"
            lines.append(f"| `{kind}` | {channel.summary} | {channel.limit:,} | {images} "
                         f"| {caps.idempotency or 'may post twice'} "
                         f"| {caps.recovery or 'cannot tell; posts again'} |")
        return "\n".join(lines)

    def adapters_table(self) -> str:
        """The docs table of source adapters, made from their declarations (Markdown)."""
        lines = ["| adapter | reads | found by `auto` | settings |", "|---|---|---|---|"]
        for kind, adapter in self.adapters.items():
            found = "yes" if adapter.detects() else "no"
            table = f"`[letters.{kind}]`" if adapter.settings_model else "none"
            lines.append(f"| `{kind}` | {adapter.summary} | {found} | {table} |")
        return "\n".join(lines)


def incomplete(declaration: type[Any]) -> list[str]:
    """What a channel kind's or adapter's declaration lacks (empty: it is complete).

    Every kind names itself and says in one line what it is; a channel kind also gives its
    settings model (whose ``kind`` is a Literal of the same name), its length limit and
    its capabilities; an adapter's settings model, if it has one, is a pydantic model.
    The rest (how length is counted, price, crash recovery) has a default in the base.
    """
    from pydantic import BaseModel

    from lettermon.announce.channels.base import Channel

    is_channel = issubclass(declaration, Channel)
    parts = _CHANNEL_PARTS if is_channel else _ADAPTER_PARTS
    missing = [part for part in parts if getattr(declaration, part, None) in (None, "")]
    if getattr(declaration, "__abstractmethods__", None):
        missing += sorted(declaration.__abstractmethods__)
    model = getattr(declaration, "settings_model", None)
    if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
        missing.append("settings_model (a pydantic model)")
    elif is_channel and model is not None:
        field = model.model_fields.get("kind")
        if field is None or getattr(field.annotation, "__args__", None) != (declaration.kind,):
            missing.append(f'settings_model.kind as Literal["{declaration.kind}"]')
    return missing


def _by_kind(declarations: Iterable[Any], what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for declaration in declarations:
        missing = incomplete(declaration)
        if missing:
            raise TypeError(f"{what} {declaration.__name__} does not declare "
                            f"{', '.join(missing)}")
        found[declaration.kind] = declaration
    return found


@functools.cache
def builtin_registry() -> Registry:
    """The channel kinds and source adapters shipped with lettermon."""
    from lettermon.announce import channels
    from lettermon.watch import sources

    return Registry(channels.discover(), sources.discover())


if __name__ == "__main__":  # python -m lettermon.registry: the docs tables, to paste
    print(builtin_registry().channels_table(), builtin_registry().adapters_table(),
          sep="\n\n")
