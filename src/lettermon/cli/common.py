"""Pieces every command shares: options, config loading, errors to exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from lettermon.errors import ConfigError, LettermonError, LockedError
from lettermon.terminal import terminal_safe

if TYPE_CHECKING:
    from lettermon.app import App, Wiring
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
        # a config with several mistakes names each on a line of its own
        click.echo(f"lettermon: {terminal_safe(self.message, newlines=True)}", err=True)


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


def wiring() -> Wiring:
    """What the command line was started with: ``obj`` of the click context, if a program
    embedding lettermon (or a test) gave one, else the real collaborators."""
    from lettermon.app import Wiring

    found = click.get_current_context().find_object(Wiring)
    return found if found is not None else Wiring()


def load(config_file: str | None, *, log_level: str = "WARNING",
         letters_required: bool = False) -> Settings:
    from lettermon.cli.logs import configure_logging
    from lettermon.settings import config_path

    settings = wiring().load(config_path(config_file))
    configure_logging(settings.log_format, settings.log_level or log_level)
    if letters_required and not settings.letters:
        raise ConfigError("the config names no letters ([[letters]] with name and url)")
    return settings


@contextmanager
def opened(config_file: str | None, *, names: Sequence[str | None] = (),
           log_level: str = "WARNING", letters_required: bool = False,
           **options: Any) -> Iterator[App]:
    """Load the config and open the app for one command; everything is closed after it.

    ``names`` are letters the command was given: a name not in the config is a usage
    error before the database is opened.
    """
    from lettermon.app import open_app

    settings = load(config_file, log_level=log_level, letters_required=letters_required)
    settings.select([name for name in names if name])
    with open_app(settings, wiring(), **options) as app:
        yield app
