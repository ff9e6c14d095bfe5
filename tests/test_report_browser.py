"""The report in a real browser: headless Chromium (Debian's package) driven by Playwright.

The page is opened at a phone's width (390 px) and a laptop's (1280 px): the chart is
shown, the count is readable, nothing overflows sideways, and the hostile names (one sets
``document.title``, one asks a local server for a URL) run nothing. Skipped, saying why,
only where Chromium is not installed (``.ci/run`` installs it when it can).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from reporting import build

pytest.importorskip("matplotlib")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


class Hits(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def tripwire() -> Iterator[tuple[str, list[str]]]:
    """A local server that records every request: a script that ran would call it."""
    seen: list[str] = []
    handler = type("Handler", (Hits,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_the_report_reads_on_a_phone_and_a_laptop_and_runs_no_script(
        tmp_path: Path, clock: Any, run_cli: Callable[..., Result], browser: Any,
        tripwire: tuple[str, list[str]]) -> None:
    url, seen = tripwire
    fetcher = f"<img src=x onerror=\"fetch('{url}/hit')\">"
    framed = f"<iframe src=\"{url}/frame\"></iframe>"
    build(tmp_path / "data.sqlite3", clock.now, extra_countries=(fetcher, framed))
    config = tmp_path / "lettermon.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "data.sqlite3"}"\n[report]\nnames = true\n'
        '[[letters]]\nname = "rekognition"\nurl = "https://letters.example.org/rek/"\n'
        "milestones = { every = 100 }\n", encoding="utf-8")
    target = tmp_path / "report.html"
    result = run_cli("report", "rekognition", "-o", str(target), "--config", str(config))
    assert result.exit_code == 0, result.output
    for width, height in ((390, 844), (1280, 800)):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(target.as_uri())
        page.wait_for_load_state("load")
        assert page.title().startswith("<script>alert('title')</script> Open Letter")
        count = page.locator("#count")
        assert count.is_visible() and count.inner_text() == "1,060"
        size = float(count.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
        assert size >= 32  # the number a reader looks for is big
        box = count.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        chart = page.locator("#chart img")
        assert chart.is_visible()
        natural = chart.evaluate("i => [i.complete, i.naturalWidth, i.naturalHeight]")
        assert natural[0] and natural[1] > 0 and natural[2] > 0  # the image decoded
        shown = chart.bounding_box()
        column = float(page.evaluate("document.querySelector('figure').clientWidth"))
        assert shown is not None and shown["width"] >= min(0.95 * column, 790)
        assert shown["width"] >= 0.8 * (width - 40) or shown["width"] >= 790
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"the page scrolls sideways at {width} px"
        text = page.locator("#new").inner_text()
        assert "<script>document.title='pwned'</script>" in text  # shown as text
        countries = page.locator("#countries").inner_text()
        assert fetcher in countries and framed in countries
        assert page.locator("main script, main iframe, #new img, #countries img").count() == 0
        page.screenshot(path=f"/tmp/lettermon-report-{width}.png", full_page=True)
        page.close()
    assert seen == []  # no script ran, no frame loaded
