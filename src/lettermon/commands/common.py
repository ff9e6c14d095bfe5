"""Pieces every command shares: options, config loading, errors to exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from lettermon.errors import ConfigError, LettermonError, LockedError
from lettermon.output import terminal_safe

if TYPE_CHECKING:
    from lettermon.settings import Settings

EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 1, 2, 75

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    return click.option(
        "--config", "config_file", type=click.Path(dir_okay=False), default=None,
        help="Config file (default: $LETTERMON_CONFIG, else ./config/lettermon.toml).",
    )(func)


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                        show_default=True, help="Output format; json is a stable contract.")


class Failed(click.ClickException):
    """A one-line error that ends the command with a chosen exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        setattr(self, "exit_code", code)  # click ends the process with it  # noqa: B010

    def show(self, file: Any = None) -> None:
        click.echo(f"lettermon: {terminal_safe(self.message)}", err=True)


@contextmanager
def errors_to_exit_codes() -> Iterator[None]:
    try:
        yield
    except ConfigError as exc:
        raise Failed(str(exc), EXIT_USAGE) from None
    except LockedError as exc:
        raise Failed(str(exc), EXIT_LOCKED) from None
    except LettermonError as exc:
        raise Failed(str(exc), EXIT_FAILED) from None


def require_letters(settings: Settings) -> None:
    if not settings.letters:
        raise ConfigError("the config names no letters ([[letters]] with name and url)")


def load(config_file: str | None, *, log_level: str = "WARNING") -> Settings:
    from lettermon.logs import configure_logging
    from lettermon.settings import config_path, load_settings

    settings = load_settings(config_path(config_file))
    configure_logging(settings.log_format, settings.log_level or log_level)
    return settings


