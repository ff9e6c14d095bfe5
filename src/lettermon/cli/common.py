"""Pieces every command shares: options, config loading, errors to exit codes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from lettermon.errors import ConfigError, LettermonError, LockedError, SchemaError
from lettermon.terminal import terminal_safe

if TYPE_CHECKING:
    from lettermon.app import App, Wiring
    from lettermon.settings import Settings

EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 1, 2, 75

F = TypeVar("F", bound=Callable[..., Any])


# Options given before the command (``lettermon --config FILE check``) are kept here, in
# the click context's ``meta``, which every command's context shares with the group's.
GIVEN_CONFIG, GIVEN_FORMAT, VERBOSITY = "lettermon.config", "lettermon.format", "lettermon.v"
FORMATS = ("text", "table", "json", "csv")
CONFIG_HELP = "Config file (default: $LETTERMON_CONFIG, else ./config/lettermon.toml)."
VERBOSE_HELP = "Log more: -v at INFO, -vv at DEBUG (or as LETTERMON_LOG_LEVEL says, if more)."


def global_options(func: F) -> F:
    """``--config``, ``--format`` and ``-v`` before the command; the command reads them."""

    def keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        ctx.meta[{"config_file": GIVEN_CONFIG, "fmt": GIVEN_FORMAT,
                  "verbose": VERBOSITY}[str(param.name)]] = value
        return value

    func = click.option("-v", "--verbose", count=True, expose_value=False, callback=keep,
                        help=VERBOSE_HELP)(func)
    func = click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                        expose_value=False, callback=keep,
                        help="Output format of the command, where it has it (json is a "
                             "stable contract).")(func)
    return click.option("--config", "config_file", type=click.Path(dir_okay=False),
                        default=None, expose_value=False, callback=keep,
                        help=CONFIG_HELP)(func)


def config_option(func: F) -> F:
    """``--config FILE`` and ``-v/--verbose``, which every command takes, here or before
    the command; given on both sides, the one after the command wins (``-v`` adds up)."""

    def config(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        return value if value is not None else ctx.meta.get(GIVEN_CONFIG)

    def verbose(ctx: click.Context, param: click.Parameter, value: int) -> int:
        ctx.meta[VERBOSITY] = ctx.meta.get(VERBOSITY, 0) + value
        return value

    func = click.option("-v", "--verbose", count=True, expose_value=False, callback=verbose,
                        help=VERBOSE_HELP)(func)
    return click.option("--config", "config_file", type=click.Path(dir_okay=False),
                        default=None, callback=config, help=CONFIG_HELP)(func)


def format_option(*choices: str) -> Callable[[F], F]:
    """``--format`` with the command's own choices, the first the default; a ``--format``
    given before the command applies when the command has that format."""

    def choose(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
        if value is not None:
            return value
        given = ctx.meta.get(GIVEN_FORMAT)
        if given is None:
            return choices[0]
        if given not in choices:
            raise click.UsageError(f"--format {given} is not a format of {ctx.command_path} "
                                   f"(it has: {', '.join(choices)})", ctx)
        return str(given)

    return click.option("--format", "fmt", type=click.Choice(choices), default=None,
                        callback=choose,
                        help=f"Output format (default: {choices[0]}); json is a stable "
                             "contract.")


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
    except (ConfigError, SchemaError) as exc:
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


def level(configured: str) -> str:
    """The configured level, or the one ``-v`` asks for if that shows more."""
    asked = click.get_current_context().meta.get(VERBOSITY, 0)
    if asked <= 0:
        return configured
    wanted = "DEBUG" if asked > 1 else "INFO"
    levels = ("DEBUG", "INFO", "WARNING", "ERROR")
    return min(configured, wanted, key=levels.index)


def load(config_file: str | None, *, log_level: str = "WARNING",
         letters_required: bool = False) -> Settings:
    from lettermon.cli.logs import configure_logging
    from lettermon.settings import config_path

    settings = wiring().load(config_path(config_file))
    configure_logging(settings.log_format, level(settings.log_level or log_level))
    for notice in settings.notices():
        logging.getLogger("lettermon.settings").warning("%s", notice)
    if letters_required and not settings.letters:
        raise ConfigError("the config names no letters ([[letters]] with name and url)")
    return settings


@contextmanager
def opened(config_file: str | None, *, names: Sequence[str | None] = (),
           log_level: str = "WARNING", letters_required: bool = False,
           console_to_stderr: bool = False, **options: Any) -> Iterator[App]:
    """Load the config and open the app for one command; everything is closed after it.

    ``names`` are letters the command was given: a name not in the config is a usage
    error before the database is opened. With ``console_to_stderr`` (JSON on standard
    output), console channels print their posts on standard error.
    """
    from lettermon.app import open_app

    settings = load(config_file, log_level=log_level, letters_required=letters_required)
    settings.select([name for name in names if name])
    wired = wiring()
    if console_to_stderr:
        import dataclasses

        given = wired.channel_options
        wired = dataclasses.replace(wired, channel_options={**given, **{
            c.name: {"stream": sys.stderr, **given.get(c.name, {})}
            for c in settings.channels if c.kind == "console"}})
    with open_app(settings, wired, **options) as app:
        yield app
