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
