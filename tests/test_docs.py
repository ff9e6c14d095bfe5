"""The docs stay honest: every setting and command is documented, every example loads."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from pydantic import BaseModel

from lettermon import settings as config
from lettermon.app import Wiring
from lettermon.cli import cli
from lettermon.registry import builtin_registry
from lettermon.watch.sources.css import CssAdapterSettings
from lettermon.watch.sources.json import JsonAdapterSettings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"
CI_RUN = ROOT / ".ci" / "run"

INSTALL_AND_CHECK = (
    "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/lettermon check")
INSTALL_AND_TEST = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest")

# Each settings model and the heading of the section in docs/configuration.md that lists
# its keys. Fields every channel shares (and `kind`) are listed once, under "Keys every
# channel has"; the rest of each channel model's fields under its `kind = "..."` heading.
REGISTRY = builtin_registry()
SETTINGS = REGISTRY.settings_model
LETTER = typing.get_args(SETTINGS.model_fields["letters"].annotation)[0]
SECTIONS: dict[type[BaseModel], str] = {
    SETTINGS: "## Top level",
    config.HttpSettings: "## `[http]`",
    config.AlertSettings: "## `[alerts]`",
    config.MetricsSettings: "## `[metrics]`",
    config.WorkerSettings: "## `[worker]`",
    config.ReportSettings: "## `[report]`",
    LETTER: "## `[[letters]]`",
    config.MilestoneSettings: "### `milestones`",
    CssAdapterSettings: "### `[letters.css]`",
    JsonAdapterSettings: "### `[letters.json]`",
    config.QuietHours: "### `quiet_hours`",
    config.ChannelSettings: "### Keys every channel has",
}
CHANNEL_KINDS = tuple(c.settings_model for c in REGISTRY.channels.values())


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    assert heading in lines, f"docs/configuration.md has no heading {heading!r}"
    start = lines.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    body = []
    for line in lines[start + 1:]:
        match = re.match(r"^(#+) ", line)
        if match and len(match.group(1)) <= level:
            break
        body.append(line)
    return "\n".join(body)


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    """Every pydantic model an annotation refers to, however nested."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation)
        return
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _models(typing.get_args(annotation)[0])
        return
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _models(arg)


def _heading_for(model: type[BaseModel]) -> str:
    if model in SECTIONS:
        return SECTIONS[model]
    kind = typing.get_args(model.model_fields["kind"].annotation)[0]
    return f'### `kind = "{kind}"`'


def test_every_settings_model_is_walked() -> None:
    found = set(_models(SETTINGS))
    expected = set(SECTIONS) - {config.ChannelSettings} | set(CHANNEL_KINDS)
    assert expected <= found
    assert {c.__name__ for c in CHANNEL_KINDS} == {
        "ConsoleSettings", "WebhookSettings", "MastodonSettings", "BlueskySettings",
        "XSettings"}


def test_every_setting_is_documented_in_its_section() -> None:
    docs = _read(CONFIGURATION)
    missing = []
    for model in sorted(set(_models(SETTINGS)), key=lambda m: m.__name__):
        for field_name, field in model.model_fields.items():
            name = field.alias or field_name  # the key as written in the file
            if model in CHANNEL_KINDS and (name in config.ChannelSettings.model_fields
                                           or name == "kind"):
                owner: type[BaseModel] = config.ChannelSettings
            else:
                owner = model
            heading = _heading_for(owner)
            if f"`{name}`" not in section(docs, heading):
                missing.append(f"{model.__name__}.{name} (under {heading!r})")
    assert not missing, "settings missing from docs/configuration.md: " + ", ".join(missing)


@pytest.mark.parametrize("model,prefix", [
    (SETTINGS, "LETTERMON_"),
    (config.HttpSettings, "LETTERMON_HTTP__"),
    (config.AlertSettings, "LETTERMON_ALERTS__"),
    (config.MetricsSettings, "LETTERMON_METRICS__"),
    (config.WorkerSettings, "LETTERMON_WORKER__"),
    (config.ReportSettings, "LETTERMON_REPORT__"),
])
def test_environment_variables_are_documented(model: type[BaseModel], prefix: str) -> None:
    docs = _read(CONFIGURATION)
    for name in model.model_fields:
        variable = prefix + name.upper()
        if model is SETTINGS and name in ("http", "alerts", "metrics", "worker", "report"):
            variable += "__<KEY>"
        assert f"`{variable}`" in docs, f"{variable} is not in docs/configuration.md"


def _commands(group: click.Group, prefix: str = "lettermon") -> Iterator[
        tuple[str, click.Command]]:
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, f"{prefix} {name} does not load"
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


def test_every_command_module_defines_what_the_table_says() -> None:
    import importlib

    from lettermon.cli import COMMANDS

    for name, module in COMMANDS.items():
        defined = importlib.import_module(f"lettermon.cli.{module}").COMMANDS
        assert name in {command.name for command in defined}, f"{module} lacks {name}"
    modules = {m for m in COMMANDS.values()}
    for module in modules:
        for command in importlib.import_module(f"lettermon.cli.{module}").COMMANDS:
            assert COMMANDS.get(command.name) == module, f"{command.name} not in the table"


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = _read(README)
    commands = list(_commands(cli))
    assert len(commands) >= 12
    for path, command in commands:
        assert (command.help or "").strip(), f"{path} has no help text"
        assert (command.short_help or command.help or "").strip()
        assert path in readme, f"README.md does not mention {path!r}"


def _readme_invocations() -> list[list[str]]:
    """The arguments of every ``lettermon COMMAND ...`` call in the README's shell blocks."""
    calls = []
    blocks = re.findall(r"^```(?:sh)?\n(.*?)^```", _read(README), flags=re.DOTALL | re.MULTILINE)
    for block in blocks:
        for line in block.splitlines():
            tokens = line.split("#")[0].replace("&&", " && ").split()
            for i, token in enumerate(tokens[:-1]):
                if (token == "lettermon" or token.endswith("/lettermon")) \
                        and tokens[i + 1] in cli.list_commands(click.Context(cli)):
                    args = []
                    for arg in tokens[i + 1:]:
                        if arg in ("&&", ">", ">>", "|", "2>&1"):
                            break
                        args.append(arg)
                    calls.append(args)
    return calls


def test_readme_commands_parse_with_the_real_cli() -> None:
    """Every command, subcommand and option the README shows exists (checked with --help)."""
    calls = _readme_invocations()
    assert len(calls) >= 15
    for args in calls:
        with pytest.raises(SystemExit) as exited:
            cli.main(args=[*args, "--help"], prog_name="lettermon")
        assert exited.value.code == 0, f"README example does not parse: lettermon {args}"


def _toml_blocks(path: Path) -> list[str]:
    return re.findall(r"^```toml\n(.*?)^```", _read(path), flags=re.DOTALL | re.MULTILINE)


def _examples() -> list[tuple[str, str]]:
    """config/lettermon.toml and every toml block of the docs not marked ``# fragment``."""
    examples = [("config/lettermon.toml", _read(ROOT / "config" / "lettermon.toml"))]
    for path in (README, CONFIGURATION):
        blocks = [b for b in _toml_blocks(path) if not b.lstrip().startswith("# fragment")]
        assert blocks, f"{path.name} has no complete toml example"
        examples += [(f"{path.name} example {i + 1}", block) for i, block in enumerate(blocks)]
    return examples


EXAMPLES = _examples()


@pytest.mark.parametrize("where,text", EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_config_loads(where: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / "example.toml"
    path.write_text(text, encoding="utf-8")
    settings = Wiring().load(path)
    assert settings.letters, f"{where} names no letter"


def test_fragments_are_valid_toml() -> None:
    import tomllib

    for path in (README, CONFIGURATION):
        for block in _toml_blocks(path):
            tomllib.loads(block)


def test_readme_gives_the_two_newcomer_commands_verbatim() -> None:
    readme = _read(README)
    assert INSTALL_AND_CHECK in readme
    assert INSTALL_AND_TEST in readme


def test_ci_runs_the_readme_test_command() -> None:
    assert INSTALL_AND_TEST in _read(CI_RUN)


def test_compose_file_matches_the_readme_snippet() -> None:
    compose = "\n".join(line for line in _read(ROOT / "compose.yaml").splitlines()
                        if not line.startswith("#")).strip()
    snippets = re.findall(r"^```yaml\n(.*?)^```", _read(README), flags=re.DOTALL | re.MULTILINE)
    assert compose in [s.strip() for s in snippets]


def test_links_between_docs_resolve() -> None:
    for path in (README, CONFIGURATION):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", _read(path)):
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
