"""Configuration: where it is read from, what overrides it, and how a bad one is refused."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from lettermon.app import Wiring
from lettermon.settings import DEFAULT_CONFIG, config_path

from letter_server import LetterSite

REPO = Path(__file__).resolve().parent.parent
ICRAC_URL = ("https://www.icrac.net/"
             "open-letter-to-amazon-against-police-and-government-use-of-rekognition/")
LETTER = '[[letters]]\nname = "rekognition"\nurl = "https://letters.test/open-letter/"\n'

BAD_CONFIGS = {
    "unknown top-level key": ('database_urll = "sqlite:///x.db"\n' + LETTER,
                              "database_urll: unknown key"),
    "unknown key in [[letters]]": (LETTER + 'colour = "red"\n', "letters.0.colour: unknown key"),
    "unknown key in [http]": ("[http]\ntimeot = 5\n" + LETTER, "http.timeot: unknown key"),
    "unknown key in [[channels]]": (
        LETTER + '[[channels]]\nname = "log"\nkind = "console"\ntokn = "x"\n',
        "channels.0.tokn: unknown key"),
    "wrong type": ('[http]\nretries = "three"\n' + LETTER, "http.retries: Input should be"),
    "wrong type for a table": ('http = 5\n' + LETTER, "http:"),
    "bad URL": ('[[letters]]\nname = "rekognition"\nurl = "icrac dot net"\n',
                "letters.0.url: Input should be a valid URL"),
    "not a web URL": ('[[letters]]\nname = "rekognition"\nurl = "ftp://letters.test/x"\n',
                      "letters.0.url:"),
    "duplicate letter name": (LETTER + LETTER, "letters.1.name 'rekognition' is used twice"),
    "channel names an unknown letter": (
        LETTER + '[[channels]]\nname = "log"\nkind = "console"\nletters = ["maven"]\n',
        "channels.0.letters names unknown letter 'maven'"),
    "css adapter without [letters.css]": (LETTER + 'adapter = "css"\n',
                                          "letters.0: Value error, adapter = 'css' needs"),
    "bad duration": ('[http]\ntimeout = "5 minutes"\n' + LETTER,
                     "http.timeout: Value error, '5 minutes' is not a duration"),
    "bad letter duration": (LETTER + 'interval = "often"\n', "letters.0.interval:"),
    "bad contact URL": ('[http]\ncontact_url = "ask Jane"\n' + LETTER, "http.contact_url:"),
    "bad database URL": ('database_url = "mysql://db/lettermon"\n' + LETTER, "database_url:"),
    "TOML syntax error": ("database_url = \n" + LETTER, "line 1"),
}


@pytest.mark.parametrize(("text", "key"), BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_config_exits_2_naming_the_file_and_the_key(
        text: str, key: str, tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text, encoding="utf-8")
    result = run_cli("check", "--config", str(cfg))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert str(cfg) in result.stderr
    assert key in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "data").exists()  # nothing was polled or stored


# -- mistakes that would bite later, mid-poll, are refused when the config loads -----------

SCREEN = '[[channels]]\nname = "screen"\nkind = "console"\n'
X_CHANNEL = '[[channels]]\nname = "bird"\nkind = "x"\n'

# Each config must exit 2 with a message naming every fragment listed: the key, and for a
# channel's or letter's key the entry's name.
REFUSED_AT_LOAD: dict[str, tuple[str, tuple[str, ...]]] = {
    "template: an integer spec on the count": (
        LETTER + SCREEN + 'template = "{count:>8d} people signed {title:d}"\n',
        ("channels.0.template", "{title:d}", "'screen'")),
    "template: attribute access": (
        LETTER + SCREEN + 'template = "{title.__class__.__mro__}"\n',
        ("channels.0.template", "{title.__class__.__mro__}", "'screen'")),
    "template: indexing": (LETTER + SCREEN + 'template = "{title[99]} signed"\n',
                           ("channels.0.template", "{title[99]}", "'screen'")),
    "launch template: indexing": (LETTER + SCREEN + 'launch_template = "{names[0]}"\n',
                                  ("channels.0.launch_template", "{names[0]}", "'screen'")),
    "template: a date format on a number": (LETTER + SCREEN + 'template = "{count:%Y}"\n',
                                            ("channels.0.template", "{count:%Y}")),
    "template: a variable inside a format": (
        LETTER + SCREEN + 'template = "{count:{title}}"\n',
        ("channels.0.template", "{count:{title}}")),
    "template: a width no post can hold": (LETTER + SCREEN + 'template = "{count:>99999}"\n',
                                           ("channels.0.template", "{count:>99999}")),
    "template: a count as a character": (LETTER + SCREEN + 'template = "{count:c}"\n',
                                         ("channels.0.template", "{count:c}")),
    "template: an unknown conversion": (LETTER + SCREEN + 'template = "{title!x}"\n',
                                        ("channels.0.template", "{title!x}")),
    "template: a positional field": (LETTER + SCREEN + 'template = "{} signed"\n',
                                     ("channels.0.template", "{}")),
    "template: an unclosed brace": (LETTER + SCREEN + 'template = "{count signed"\n',
                                    ("channels.0.template",)),
    "cron: not a crontab rule": (LETTER + 'cron = "every ten minutes"\n',
                                 ("letters.0.cron", "'rekognition'")),
    "cron: a minute out of range": (LETTER + 'cron = "61 * * * *"\n', ("letters.0.cron",)),
    "cron: six fields": (LETTER + 'cron = "0 */10 * * * *"\n', ("letters.0.cron",)),
    "cron and interval together": (LETTER + 'interval = "5m"\ncron = "*/10 * * * *"\n',
                                   ("letters.0", "interval", "cron", "'rekognition'")),
    "text for a whole number": (LETTER + 'milestones = { every = "100" }\n',
                                ("letters.0.milestones.every",)),
    "text among the thresholds": (LETTER + 'milestones = { at = [500, "1000"] }\n',
                                  ("letters.0.milestones.at.1",)),
    "text for a boolean": (LETTER + 'store_pages = "yes"\n', ("letters.0.store_pages",)),
    "a number for a boolean": (LETTER + SCREEN + "names = 1\n", ("channels.0.names",)),
    "a boolean for a number": (LETTER + SCREEN + "max_names = true\n",
                               ("channels.0.max_names",)),
    "text for a fraction": (LETTER + 'suspect_drop = "0.2"\n', ("letters.0.suspect_drop",)),
    "a fraction for a whole number": ("[metrics]\nport = 9464.5\n" + LETTER, ("metrics.port",)),
    "text for a number in [http]": ('[http]\nretries = "3"\n' + LETTER, ("http.retries",)),
    "text for a boolean in [metrics]": ('[metrics]\nenabled = "true"\n' + LETTER,
                                        ("metrics.enabled",)),
    "text for a channel kind's boolean": (LETTER + X_CHANNEL + 'include_link = "no"\n',
                                          ("channels.0.include_link", "'bird'")),
    "text for a price": (LETTER + X_CHANNEL + 'monthly_spend_limit = "5"\n',
                         ("channels.0.monthly_spend_limit",)),
}


@pytest.mark.parametrize(("text", "fragments"), REFUSED_AT_LOAD.values(),
                         ids=REFUSED_AT_LOAD.keys())
def test_a_mistake_that_would_fail_mid_poll_is_refused_at_load(
        text: str, fragments: tuple[str, ...], tmp_path: Path,
        run_cli: Callable[..., Result]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f'database_url = "sqlite:///{tmp_path}/data/x.db"\n' + text,
                   encoding="utf-8")
    for command in (("check",), ("run",), ("health",)):
        result = run_cli(*command, "--config", str(cfg))
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert str(cfg) in result.stderr
        for fragment in fragments:
            assert fragment in result.stderr, (fragment, result.stderr)
        assert "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) <= 2, result.stderr
    assert not (tmp_path / "data").exists()


def test_every_mistake_of_a_config_is_named_on_a_line_of_its_own(
        tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(LETTER + 'cron = "often"\nstore_pages = "yes"\n', encoding="utf-8")
    result = run_cli("check", "--config", str(cfg))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"lettermon: {cfg}: letters.0.")
    assert lines[1].startswith(f"{cfg}: letters.0.")
    assert {"store_pages", "cron"} == {line.split("letters.0.")[1].split(":")[0]
                                       for line in lines}


def test_numbers_in_templates_take_format_specs(
        site: LetterSite, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    config = config_for(site, letter_extra="milestones = { every = 1000 }", extra=(
        SCREEN.replace('"screen"', '"plain"') + 'template = "{milestone} of {count}"\n'
        + SCREEN + 'template = "[{milestone:>8d}] [{count:,}] [{next_milestone:_}] '
        '[{since_last_post:>5}] [{rate_per_day:.1f}] [{title:.4}] [{milestone:06d}]"\n'))
    result = run_cli("post", "--dry-run", "--config", str(config))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # before the first poll: the next milestone is the first, 1,000; nothing else is known
    assert "  1,000 of 1,000" in lines
    # (runs of spaces in a post are collapsed to one, as an empty variable leaves them)
    assert "  [ 1000] [1,000] [2_000] [] [] [reko] [001000]" in lines


def test_numbers_and_booleans_from_the_environment_are_read_from_text(
        site: LetterSite, config_for: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LETTERMON_HTTP__RETRIES", "2")
    monkeypatch.setenv("LETTERMON_HTTP__MAX_BYTES", "5000000")
    monkeypatch.setenv("LETTERMON_METRICS__ENABLED", "true")
    monkeypatch.setenv("LETTERMON_METRICS__PORT", "9000")
    monkeypatch.setenv("LETTERMON_ALERTS__AFTER_FAILURES", "5")
    settings = Wiring().load(config_for(site))
    assert settings.http.retries == 2 and settings.http.max_bytes == 5_000_000
    assert settings.metrics.enabled is True and settings.metrics.port == 9000
    assert settings.alerts.after_failures == 5
    monkeypatch.setenv("LETTERMON_METRICS__ENABLED", "false")
    assert Wiring().load(config_for(site)).metrics.enabled is False


@pytest.mark.parametrize(("variable", "value"), [
    ("LETTERMON_HTTP__RETRIES", "two"), ("LETTERMON_HTTP__RETRIES", "2.5"),
    ("LETTERMON_METRICS__ENABLED", "maybe")])
def test_a_bad_number_or_boolean_from_the_environment_exits_2(
        variable: str, value: str, site: LetterSite, config_for: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., Result]) -> None:
    monkeypatch.setenv(variable, value)
    result = run_cli("check", "--config", str(config_for(site)))
    assert result.exit_code == 2
    assert f"(set by {variable})" in result.stderr
    assert site.requests == []


def test_a_bad_config_never_falls_back_to_the_default_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., Result]) -> None:
    good = tmp_path / DEFAULT_CONFIG
    good.parent.mkdir()
    good.write_text(LETTER, encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text("bogus = 1\n" + LETTER, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli("check", "--config", str(bad))
    assert result.exit_code == 2
    assert "bogus: unknown key" in result.stderr


def test_missing_config_file_exits_2_with_a_clear_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., Result]) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nowhere.toml"
    result = run_cli("check", "--config", str(missing))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"lettermon: {missing}: config file not found "
        "(give --config FILE or set LETTERMON_CONFIG)")

    result = run_cli("check")  # no ./config/lettermon.toml either
    assert result.exit_code == 2
    assert "config/lettermon.toml: config file not found" in result.stderr


def test_config_without_letters_exits_2(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    cfg = tmp_path / "empty.toml"
    cfg.write_text(f'database_url = "sqlite:///{tmp_path}/x.db"\n', encoding="utf-8")
    result = run_cli("check", "--config", str(cfg))
    assert result.exit_code == 2
    assert "names no letters" in result.stderr


# -- where the config comes from -----------------------------------------------------------

def _config(path: Path, site: LetterSite, letter: str, database: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'database_url = "sqlite:///{database}"\n'
        '[http]\nretries = 0\ntimeout = "5s"\n'
        f'[[letters]]\nname = "{letter}"\nurl = "{site.url}"\n', encoding="utf-8")
    return path


@pytest.fixture
def three_configs(site: LetterSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                  ) -> Iterator[tuple[Path, Path]]:
    """A ./config/lettermon.toml, one for $LETTERMON_CONFIG and one for --config."""
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "db.sqlite3"
    _config(tmp_path / "config" / "lettermon.toml", site, "from-cwd", db)
    env = _config(tmp_path / "env.toml", site, "from-env", db)
    flag = _config(tmp_path / "flag.toml", site, "from-flag", db)
    yield env, flag


def _polled(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout.split(":", 1)[0]


def test_config_flag_beats_env_beats_working_directory(
        three_configs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
        run_cli: Callable[..., Result]) -> None:
    env, flag = three_configs
    assert _polled(run_cli("check")) == "from-cwd"
    monkeypatch.setenv("LETTERMON_CONFIG", str(env))
    assert _polled(run_cli("check")) == "from-env"
    assert _polled(run_cli("check", "--config", str(flag))) == "from-flag"


def test_config_path_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_path(None) == Path("config/lettermon.toml")
    monkeypatch.setenv("LETTERMON_CONFIG", str(tmp_path / "env.toml"))
    assert config_path(None) == tmp_path / "env.toml"
    assert config_path(str(tmp_path / "flag.toml")) == tmp_path / "flag.toml"


def test_env_overrides_the_file(config_for: Callable[..., Path], site: LetterSite,
                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config_for(site)
    other = tmp_path / "elsewhere.sqlite3"
    monkeypatch.setenv("LETTERMON_DATABASE_URL", f"sqlite:///{other}")
    monkeypatch.setenv("LETTERMON_HTTP__TIMEOUT", "7s")
    settings = Wiring().load(cfg)
    assert settings.database_url == f"sqlite:///{other}"
    assert settings.http.timeout == 7.0
    assert settings.http.retries == 1  # the rest of [http] still comes from the file
    assert settings.letters[0].name == "rekognition"


def test_database_url_from_env_is_where_polls_go(
        config_for: Callable[..., Path], site: LetterSite, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., Result]) -> None:
    cfg = config_for(site)
    other = tmp_path / "elsewhere" / "lettermon.sqlite3"
    monkeypatch.setenv("LETTERMON_DATABASE_URL", f"sqlite:///{other}")
    result = run_cli("check", "--config", str(cfg))
    assert result.exit_code == 0, result.output
    assert other.is_file()
    assert not (tmp_path / "data" / "lettermon.sqlite3").exists()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/letter/"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def test_timeout_from_env_applies(silent_server: str, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch,
                                  run_cli: Callable[..., Result]) -> None:
    cfg = tmp_path / "lettermon.toml"
    cfg.write_text(
        f'database_url = "sqlite:///{tmp_path}/db.sqlite3"\n'
        '[http]\ntimeout = "60s"\nretries = 0\n'
        f'[[letters]]\nname = "slow"\nurl = "{silent_server}"\n', encoding="utf-8")
    monkeypatch.setenv("LETTERMON_HTTP__TIMEOUT", "0.3")
    result = run_cli("check", "--config", str(cfg))
    assert result.exit_code == 1
    assert "slow: FAILED: timed out reading" in result.stdout


def test_bad_env_value_exits_2(config_for: Callable[..., Path], site: LetterSite,
                               monkeypatch: pytest.MonkeyPatch,
                               run_cli: Callable[..., Result]) -> None:
    monkeypatch.setenv("LETTERMON_HTTP__TIMEOUT", "soon")
    result = run_cli("check", "--config", str(config_for(site)))
    assert result.exit_code == 2
    assert "http.timeout (set by LETTERMON_HTTP__TIMEOUT)" in result.stderr
    assert site.requests == []


def test_secret_file_overrides_the_file(config_for: Callable[..., Path], site: LetterSite,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "lettermon_database_url").write_text(f"sqlite:///{tmp_path}/secret.sqlite3")
    monkeypatch.setenv("LETTERMON_SECRETS_DIR", str(secrets))
    assert Wiring().load(config_for(site)).database_url == f"sqlite:///{tmp_path}/secret.sqlite3"


def test_shipped_config_loads_and_watches_the_icrac_letter() -> None:
    settings = Wiring().load(REPO / "config" / "lettermon.toml")
    assert [str(letter.url) for letter in settings.letters] == [ICRAC_URL]
    assert settings.letters[0].name == "rekognition"
    assert settings.http.max_bytes == 10_000_000
    assert settings.http.per_host == 2
