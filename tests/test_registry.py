"""A channel kind or a page layout is one declaration: the registry, the settings, the
sender and the docs are built from it, and a new one works with no other file touched."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from click.testing import Result
from pydantic import AnyHttpUrl
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lettermon.announce.channels.base import Capabilities, Channel, Post, Posted
from lettermon.app import Wiring
from lettermon.errors import ParseError
from lettermon.models import ParsedPage, Row
from lettermon.registry import Registry, builtin_registry, incomplete
from lettermon.settings import ChannelSettings
from lettermon.watch.sources.base import SourceAdapter

from letter_server import LetterSite, serve
from posting import grow_to, letter_site, milestones

ROOT = Path(__file__).resolve().parent.parent


# -- every shipped kind is complete --------------------------------------------------------

@pytest.mark.parametrize("kind", list(builtin_registry().channels))
def test_every_channel_kind_declares_everything(kind: str) -> None:
    channel = builtin_registry().channels[kind]
    assert incomplete(channel) == []
    assert channel.limit > 0 and channel.summary
    assert channel.length("ab") == 2


@pytest.mark.parametrize("kind", list(builtin_registry().adapters))
def test_every_source_adapter_declares_everything(kind: str) -> None:
    assert incomplete(builtin_registry().adapters[kind]) == []


def test_an_incomplete_channel_kind_is_refused_naming_what_it_lacks() -> None:
    class Half(Channel):
        kind = "half"
        summary = "a channel that forgot its limit and settings"

        def send(self, post: Post) -> Posted:
            return Posted("x")

    with pytest.raises(TypeError, match="Half does not declare settings_model, limit, "
                                        "capabilities"):
        builtin_registry().with_channel(Half)


def test_a_settings_model_of_another_kind_is_refused() -> None:
    class Mixed(Channel):
        kind = "mixed"
        summary = "its settings say another kind"
        limit = 10
        capabilities = Capabilities()
        settings_model = builtin_registry().channels["console"].settings_model

        def send(self, post: Post) -> Posted:
            return Posted("x")

    with pytest.raises(TypeError, match=r'settings_model.kind as Literal\["mixed"\]'):
        builtin_registry().with_channel(Mixed)


def test_the_docs_tables_are_made_from_the_declarations() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    registry = builtin_registry()
    for name, table in (("channel kinds", registry.channels_table()),
                        ("source adapters", registry.adapters_table())):
        found = re.search(f"<!-- {name} -->\n(.*?)\n<!-- end {name} -->", docs, re.DOTALL)
        assert found, f"docs/configuration.md has no generated table of {name}"
        assert found.group(1) == table, (
            f"the {name} table in docs/configuration.md is stale: paste the output of "
            "python -m lettermon.registry")


# -- a throwaway channel kind, end to end --------------------------------------------------

class Pigeon(Channel):
    """Carries each post to a loft: a whole channel kind in one class."""

    class Settings(ChannelSettings):
        kind: Literal["pigeon"]
        loft: AnyHttpUrl

    kind = "pigeon"
    summary = "carry each post to a loft"
    settings_model = Settings
    limit = 120
    capabilities = Capabilities()

    @staticmethod
    def length(text: str) -> int:
        return len(text.encode("utf-8"))  # a pigeon counts bytes

    def send(self, post: Post) -> Posted:
        response = httpx.post(str(self.settings.loft), json={"text": post.text}, timeout=5)
        response.raise_for_status()
        return Posted(remote_id=str(response.json()["ring"]))


def test_a_new_channel_kind_works_end_to_end(
        config_for: Callable[..., Path], run_cli: Callable[..., Result],
        httpserver: HTTPServer) -> None:
    landed: list[str] = []

    def loft(request: Request) -> Response:
        landed.append(json.loads(request.data)["text"])
        return Response(json.dumps({"ring": len(landed)}), content_type="application/json")

    httpserver.expect_request("/loft", method="POST").respond_with_handler(loft)
    wiring = Wiring(registry=builtin_registry().with_channel(Pigeon))
    with serve(letter_site(480)) as site:
        config = config_for(site, letter_extra=milestones(every=100), extra=(
            f'[[channels]]\nname = "coo"\nkind = "pigeon"\n'
            f'loft = "{httpserver.url_for("/loft")}"\n'))
        assert run_cli("check", "--config", str(config), obj=wiring).exit_code == 0
        grow_to(site, 505)
        result = run_cli("post", "--dry-run", "--config", str(config), obj=wiring)
        assert result.exit_code == 0, result.output
        assert "rekognition → coo (milestone, " in result.output
        assert "/120 characters" in result.output
        assert "500 researchers have now signed" in result.output  # the next milestone
        assert landed == []  # a dry run sends nothing
        result = run_cli("check", "--config", str(config), obj=wiring)
    assert result.exit_code == 0, result.output
    assert len(landed) == 1
    assert landed[0].startswith("500 researchers have now signed")
    assert len(landed[0].encode()) <= 120  # fitted to the kind's own limit and count
    assert "rekognition: milestone 500 → coo: sent" in result.output


def test_a_config_with_an_unknown_kind_names_the_known_ones(
        site: LetterSite, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    config = config_for(site, extra='[[channels]]\nname = "coo"\nkind = "pigeon"\n')
    result = run_cli("check", "--config", str(config))
    assert result.exit_code == 2
    assert "channels.0" in result.output and "'console'" in result.output


# -- a throwaway page layout, end to end ---------------------------------------------------

class Tally(SourceAdapter):
    """A plain-text tally sheet: "TALLY <count>" then one name a line."""

    kind = "tally"
    summary = "a plain-text tally sheet"

    @classmethod
    def detect(cls, body: bytes, url: str) -> bool:
        return body.startswith(b"TALLY ")

    def parse(self, body: bytes, url: str) -> ParsedPage:
        head, *names = body.decode().splitlines()
        if not head.startswith("TALLY "):
            raise ParseError("not a tally sheet")
        rows = tuple(Row.of((("name", n.strip()),)) for n in names if n.strip())
        return ParsedPage(count=int(head.split()[1]), rows=rows, title="The tally")


def test_a_new_source_adapter_works_through_probe_and_check(
        tmp_path: Path, run_cli: Callable[..., Result], httpserver: HTTPServer) -> None:
    sheet = ["Ada Lovelace", "Grace Hopper", "Mary Somerville"]
    httpserver.expect_request("/tally").respond_with_handler(
        lambda _: Response("\n".join([f"TALLY {len(sheet)}", *sheet]),
                           content_type="text/plain"))
    wiring = Wiring(registry=builtin_registry().with_adapter(Tally))
    url = httpserver.url_for("/tally")

    probed = run_cli("probe", url, "--format", "json", obj=wiring)
    assert probed.exit_code == 0, probed.output
    found = json.loads(probed.output)
    assert (found["adapter"], found["count"], found["fields"]) == ("tally", 3, ["name"])

    config = tmp_path / "tally.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path}/t.sqlite3"\n'
                      f'[[letters]]\nname = "sheet"\nurl = "{url}"\n', encoding="utf-8")
    checked = run_cli("check", "--config", str(config), obj=wiring)
    assert checked.exit_code == 0, checked.output
    assert "sheet: 3 signatures (first poll: 3 signatories recorded)" in checked.output
    sheet.append("Emmy Noether")
    checked = run_cli("check", "--config", str(config), obj=wiring)
    assert "sheet: 4 signatures (+1 since last poll; 1 new)" in checked.output
    assert "+ Emmy Noether" in checked.output
    listed = run_cli("signatories", "sheet", "--format", "json", "--config", str(config),
                     obj=wiring)
    names = [s["fields"]["name"] for s in json.loads(listed.output)]
    assert sorted(names[:3]) == sorted(sheet[:3]) and names[3] == "Emmy Noether"


def test_an_adapter_kind_in_the_config_must_be_registered(
        tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    config = tmp_path / "tally.toml"
    config.write_text('[[letters]]\nname = "sheet"\nurl = "https://example.org/"\n'
                      'adapter = "tally"\n', encoding="utf-8")
    result = run_cli("check", "--config", str(config))
    assert result.exit_code == 2
    assert "letters.0.adapter" in result.output and "'pdb'" in result.output


def test_a_registry_is_a_value_not_a_global() -> None:
    base = builtin_registry()
    extended = base.with_channel(Pigeon).with_adapter(Tally)
    assert "pigeon" not in base.channels and "tally" not in base.adapters
    assert extended.channels["pigeon"] is Pigeon and extended.adapters["tally"] is Tally
    assert isinstance(extended, Registry)
    settings: Any = extended.settings_model
    assert "pigeon" in settings.channel_kinds
