"""Text from a letter's page never drives the operator's terminal.

A page title or a name can hold escape sequences: OSC 8 hyperlinks that hide where they
point, OSC 0 that retitles the window, CSI that clears the screen, bidi overrides that
reverse what is read. Every text command shows them as visible escapes (``\\x1b``)
instead; ``--format json`` stays JSON.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from lettermon.terminal import dumps_json, one_line, terminal_safe

import widget
from letter_server import LetterSite, serve
from posting import check, console, grow_to, mastodon, milestones

OSC8 = "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"
RETITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
HOSTILE_TITLE = f"{OSC8} {RETITLE} {CLEAR} Letter \u202egnp.exe"
HOSTILE_NAMES = [("Eve\x1b[31m", "Red\x07"), ("Ivy \u202eredivider", f"Mal{RETITLE}"),
                 ("\x9b31m Cy", "Del\x7f")]
UNSAFE = ("\x1b", "\x07", "\x9b", "\x7f", "\u202e", "\x00")


def assert_terminal_safe(result: Result, *, stream: str = "stdout") -> None:
    raw: bytes = result.stdout_bytes if stream == "stdout" else result.stderr_bytes
    for ch in UNSAFE:
        assert ch.encode() not in raw, (repr(ch), raw.decode(errors="replace"))


def run(run_cli: Callable[..., Result], *args: str) -> Result:
    result = run_cli(*args)
    assert result.exit_code in (0, 1), result.output
    return result


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    site = LetterSite([], render={"title": HOSTILE_TITLE})
    grow_to(site, 480)
    with serve(site) as running:
        yield running


def sign_hostile(site: LetterSite) -> None:
    rows = widget.make_signatories(len(HOSTILE_NAMES), seed=7)
    for row, (first, last) in zip(rows, HOSTILE_NAMES, strict=True):
        row.update(first_name=first, last_name=last, honorific="")
    site.sign(rows)


@pytest.fixture
def config(letter: LetterSite, config_for: Callable[..., Path]) -> Path:
    # A console channel prints every post; a Mastodon channel without its token is a
    # dry run, and `check` shows what it would have posted.
    return config_for(letter, letter_extra=milestones(at=[483]), extra="\n".join([
        console(names=True), mastodon("https://mastodon.example", None, names=True)]))


def test_check_shows_new_signatories_with_visible_escapes(
        letter: LetterSite, config: Path, run_cli: Callable[..., Result]) -> None:
    check(run_cli, config)
    sign_hostile(letter)
    result = check(run_cli, config)

    assert_terminal_safe(result)
    assert "+ Eve\\x1b[31m, Red\\x07" in result.stdout, result.stdout
    assert "Mal\\x1b]0;pwned\\x07" in result.stdout
    assert "\\u202eredivider" in result.stdout


def test_probe_shows_the_page_title_with_visible_escapes(
        letter: LetterSite, run_cli: Callable[..., Result]) -> None:
    letter.sign([{**widget.make_signatories(1, seed=2)[0], "first_name": "Eve\x1b[31m"}])
    result = run(run_cli, "probe", letter.url)

    assert_terminal_safe(result)
    assert ("title:     \\x1b]8;;https://evil.example\\x07click\\x1b]8;;\\x07 "
            "\\x1b]0;pwned\\x07 \\x1b[2J Letter \\u202egnp.exe") in result.stdout
    assert "Eve\\x1b[31m" in result.stdout


def test_probe_json_stays_json(letter: LetterSite, run_cli: Callable[..., Result]) -> None:
    result = run(run_cli, "probe", letter.url, "--format", "json")

    assert_terminal_safe(result)
    assert json.loads(result.stdout)["title"] == HOSTILE_TITLE


def test_signatories_table_shows_visible_escapes(
        letter: LetterSite, config: Path, run_cli: Callable[..., Result]) -> None:
    check(run_cli, config)
    sign_hostile(letter)
    check(run_cli, config)
    result = run(run_cli, "signatories", "rekognition", "--config", str(config))

    assert_terminal_safe(result)
    assert "Eve\\x1b[31m, Red\\x07" in result.stdout


def test_stored_hostile_text_is_escaped_by_every_text_command(
        letter: LetterSite, config: Path, run_cli: Callable[..., Result]) -> None:
    """Texts queued, errors recorded and URLs received before cleaning existed."""
    check(run_cli, config, "--no-post")
    grow_to(letter, 483)
    check(run_cli, config, "--no-post")
    database = config.parent / "data" / "lettermon.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("UPDATE outbox SET text = ?, error = ?",
                   (f"483 signed “{HOSTILE_TITLE}”\nline two {CLEAR}",
                    f"refused: {RETITLE}"))
        db.execute("UPDATE polls SET error = ?", (f"layout changed {OSC8}",))
        db.execute("UPDATE letters SET title = ?", (HOSTILE_TITLE,))

    dry_run = run(run_cli, "post", "--dry-run", "--config", str(config))
    assert_terminal_safe(dry_run)
    assert "\\x1b]0;pwned\\x07" in dry_run.stdout
    assert "\n  line two \\x1b[2J" in dry_run.stdout  # the post's own line break is kept

    for command in (["outbox"], ["history", "rekognition"], ["health"]):
        result = run(run_cli, *command, "--config", str(config))
        assert_terminal_safe(result)

    sent = check(run_cli, config)
    assert_terminal_safe(sent)
    assert "would post: 483 signed" in sent.stdout


def test_a_config_title_with_escapes_is_escaped_on_the_console(
        letter: LetterSite, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    """The organiser's own title is posted as written, but a terminal still shows escapes."""
    config = config_for(letter, letter_extra='title = "Letter \\u001b]0;pwned\\u0007"\n'
                        + milestones(at=[481]), extra=console())
    check(run_cli, config)
    grow_to(letter, 481)
    result = check(run_cli, config)

    assert_terminal_safe(result)
    assert "“Letter \\x1b]0;pwned\\x07”" in result.stdout


def test_logs_in_text_format_show_escapes(
        letter: LetterSite, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    """Without channels, a check logs what it would have posted."""
    config = config_for(letter, letter_extra='title = "Letter \\u001b[2J"\n'
                        + milestones(at=[481]))
    check(run_cli, config)
    grow_to(letter, 481)
    result = check(run_cli, config)

    assert "would post" in result.stderr
    assert_terminal_safe(result, stream="stderr")


@pytest.mark.parametrize(("raw", "expected"), [
    ("Jane Doe", "Jane Doe"),
    ("Chloé 🤖 مريم", "Chloé 🤖 مريم"),
    ("👩\u200d🔬 keeps its joiner", "👩\u200d🔬 keeps its joiner"),
    (OSC8, "\\x1b]8;;https://evil.example\\x07click\\x1b]8;;\\x07"),
    (CLEAR, "\\x1b[2J"),
    ("C1 \x9b2J and \x85", "C1 \\x9b2J and \\x85"),
    ("del\x7f nul\x00 bs\x08 cr\r tab\t", "del\\x7f nul\\x00 bs\\x08 cr\\r tab\\t"),
    ("\u202eevil\u202c \u2066iso\u2069 \u200fmark", "\\u202eevil\\u202c \\u2066iso\\u2069 "
                                                    "\\u200fmark"),
    ("line\nbreak", "line\\nbreak"),
    ("para\u2029sep", "para\\u2029sep"),
])
def test_terminal_safe(raw: str, expected: str) -> None:
    assert terminal_safe(raw) == expected


def test_terminal_safe_keeps_newlines_when_asked() -> None:
    assert terminal_safe("one\ntwo\x1b", newlines=True) == "one\ntwo\\x1b"
    assert terminal_safe("one\r\ntwo", newlines=True) == "one\\r\ntwo"


def test_one_line_is_one_safe_line() -> None:
    assert one_line("  a\n\tb \x1b[2J  c ") == "a b \\x1b[2J c"
    assert one_line("x" * 300, 10) == "x" * 9 + "…"


def test_dumps_json_escapes_what_json_dumps_leaves_raw() -> None:
    value = {"title": "a\x9b2J\u202eb\x7f\n\x1b", "lone": "\ud800", "n": [1, 2]}
    text = dumps_json(value, indent=2)
    assert json.loads(text) == value
    for ch in (*UNSAFE, "\ud800"):
        assert ch not in text, repr(ch)
    assert '"a\\u009b2J\\u202eb\\u007f\\n\\u001b"' in text
