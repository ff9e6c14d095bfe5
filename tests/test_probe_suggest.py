"""`lettermon probe URL` on pages no adapter recognises: candidates and a config that works.

Each page below is built differently; for each, the entry probe prints is pasted into a
config and `lettermon check` must read the page's count with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result

from petition_site import JSON, PetitionSite, serve_petitions
from uk_petitions import Petition

Cli = Callable[..., Result]

NAV = ("<header><nav><a href='/'>Home</a> <a href='/news'>News 2026</a></nav></header>"
       "<footer><p>© 2026 Campaigns Ltd · <span class='views'>Views: 98,765</span></p>"
       "</footer>")

PAGES: dict[str, tuple[str, int]] = {
    # the count inside <strong>, the words after it, a goal before it
    "strong-in-sentence": (
        "<main><h1>Save the river</h1><div class='progress'><p class='goal'>Goal: 50,000"
        "</p><p class='tally'><strong>12,345</strong> people have signed</p></div></main>",
        12345),
    # a progress widget: the number and its label are siblings; German grouping
    "widget-siblings": (
        "<main><h1>Rettet den Fluss</h1><div class='counter' data-goal='50000'>"
        "<span class='num'>12.345</span> <span class='label'>Unterschriften</span></div>"
        "<div class='counter'><span class='num'>50.000</span> <span class='label'>Ziel"
        "</span></div></main>", 12345),
    # goal and count in one element's text: a count_regex picks the count
    "one-line-two-numbers": (
        "<main><h1>Fund the library</h1><p class='status'>Goal 50,000 · 12,345 signed</p>"
        "</main>", 12345),
    # a definition list, Spanish words, a narrow no-break space
    "definition-list": (
        "<main><h1>Salvemos el río</h1><dl class='stats'><dt>Objetivo</dt>"
        "<dd>100\u202f000</dd><dt>Firmas</dt><dd>12\u202f345</dd></dl></main>", 12345),
    # an element with an id, a Swiss apostrophe and French
    "id-and-apostrophe": (
        "<main><h1>Sauvons la rivière</h1><p>Déjà <span id='compteur'>12’345</span> "
        "signataires sur <span>20’000</span></p></main>", 12345),
    # Indian grouping and a Hindi label in a table
    "table-indian-grouping": (
        "<main><h1>नदी बचाओ</h1><table><tr><th>हस्ताक्षर</th><th>लक्ष्य</th></tr>"
        "<tr><td>1,23,456</td><td>2,00,000</td></tr></table></main>", 123456),
}


def page(body: str) -> bytes:
    return (f"<!doctype html><html><head><title>Petition</title><script>var total = 777;"
            f"</script></head><body>{NAV}{body}</body></html>").encode()


@pytest.fixture
def site() -> Iterator[PetitionSite]:
    with serve_petitions() as running:
        for name, (body, _) in PAGES.items():
            running.serve_doc(f"/petitions/{name}", lambda b=body: page(b))  # type: ignore[misc]
        yield running


def pasted(tmp_path: Path, entry: str) -> Path:
    path = tmp_path / "pasted.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "db.sqlite3"}"\n\n{entry}',
                    encoding="utf-8")
    return path


def entry_of(output: str) -> str:
    return output[output.index("[[letters]]"):]


@pytest.mark.parametrize("name", list(PAGES))
def test_probe_suggests_a_config_that_reads_the_count(
        name: str, site: PetitionSite, run_cli: Cli, tmp_path: Path) -> None:
    url = site.url(f"/petitions/{name}")
    probed = run_cli("probe", url)
    assert probed.exit_code == 0, probed.output
    count = PAGES[name][1]
    assert "no adapter recognised the page; numbers next to words" in probed.output
    assert f"to watch the likeliest ({count:,}), add to the config:" in probed.output
    offered = [line.split()[0] for line in probed.output.splitlines()
               if line.startswith("  ") and "count = " in line]
    assert offered[0] == f"{count:,}"
    assert "98,765" not in offered and "777" not in offered  # views, a script's number
    assert not (tmp_path / "db.sqlite3").exists()  # probe writes nothing

    path = pasted(tmp_path, entry_of(probed.output))
    checked = run_cli("check", "--config", str(path))
    assert checked.exit_code == 0, checked.output
    assert f"{name}: {count:,} signatures (first poll)" in checked.output


def test_probe_lists_every_candidate_as_json(site: PetitionSite, run_cli: Cli) -> None:
    probed = run_cli("probe", site.url("/petitions/strong-in-sentence"), "--format", "json")
    found = json.loads(probed.output)
    assert found["adapter"] is None and found["count"] is None
    values = [c["value"] for c in found["candidates"]]
    assert values[0] == 12345 and 98765 not in values
    assert found["candidates"][0]["settings"] == {"count": "p.tally > strong"}
    assert found["config"].startswith('[[letters]]\nname = "strong-in-sentence"\n')


def test_probe_of_a_json_api_lists_numeric_paths(run_cli: Cli, tmp_path: Path) -> None:
    document = {"petition": {"id": 4242, "title": "Fund the library",
                             "stats": {"goal": 50000, "signature_count": 12345,
                                       "shares": 17}},
                "meta": {"page": 1}}
    with serve_petitions() as site:
        site.serve_doc("/api/petitions/4242", lambda: json.dumps(document).encode(), JSON)
        url = site.url("/api/petitions/4242")
        probed = run_cli("probe", url)
        assert probed.exit_code == 0, probed.output
        assert "numbers in the JSON (JMESPath), likeliest first:" in probed.output
        lines = probed.output.splitlines()
        assert "count = petition.stats.signature_count" in lines[1]
        assert any("count = petition.stats.goal" in line for line in lines)
        path = pasted(tmp_path, entry_of(probed.output))
        checked = run_cli("check", "--config", str(path))
    assert checked.exit_code == 0, checked.output
    assert "4242: 12,345 signatures (first poll)" in checked.output


def test_probe_of_a_page_without_any_count_says_so(run_cli: Cli) -> None:
    with serve_petitions() as site:
        site.serve_doc("/about", lambda: page("<main><p>Contact us any time.</p></main>"))
        probed = run_cli("probe", site.url("/about"))
    assert probed.exit_code == 1
    assert "nothing to suggest: if the page fills its count in with JavaScript" in (
        probed.output)


def test_probe_of_a_uk_petition_page_reads_its_json(run_cli: Cli, tmp_path: Path) -> None:
    from lettermon.app import Wiring

    asked: list[str] = []
    petition = Petition(count=23_456, seats=650)

    def petitions_site(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, content=petition.body(), headers={"Content-Type": JSON})

    page_url = "https://petition.parliament.uk/petitions/700123"
    wired = Wiring(transport=httpx.MockTransport(petitions_site))
    probed = run_cli("probe", page_url, obj=wired)
    assert probed.exit_code == 0, probed.output
    assert asked == [page_url + ".json"]
    assert (f"note:      {page_url} is a petition's page; lettermon reads its JSON, "
            f"{page_url}.json") in probed.output
    assert "adapter:   ukparliament" in probed.output
    assert "count:     23,456" in probed.output and "state:     open" in probed.output
    assert "by constituency: 650 entries" in probed.output
    path = pasted(tmp_path, entry_of(probed.output))
    checked = run_cli("check", "--config", str(path), obj=wired)
    assert checked.exit_code == 0, checked.output
    assert "700123: 23,456 signatures (first poll)" in checked.output
