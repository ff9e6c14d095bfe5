"""Configuration: a TOML file, overridden by ``LETTERMON_*`` variables and secret files.

Priority, highest first: explicit arguments > environment > secret files > the TOML file.
Channel secrets (tokens, passwords) may also come from ``LETTERMON_<CHANNEL>_<FIELD>``
variables or ``<secrets_dir>/lettermon_<channel>_<field>`` files, so none needs to sit in
the config file. Every unknown key is an error; nothing falls back silently.
"""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from lettermon.durations import Duration
from lettermon.errors import ConfigError

DEFAULT_CONFIG = Path("config/lettermon.toml")
DEFAULT_DATABASE_URL = "sqlite:///data/lettermon.sqlite3"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Strict):
    timeout: Duration = 20.0
    max_bytes: int = Field(default=10_000_000, gt=0, description="response size cap in bytes")
    retries: int = Field(default=3, ge=0, le=10,
        description="retries per request (connect, 429, 5xx)")
    retry_budget: Duration = Field(default=60.0,
        description="total seconds a request may spend waiting")
    per_host: int = Field(default=2, ge=1, le=16, description="requests in flight per host")
    deadline: Duration | None = Field(default=None,
        description="most time one request may take, redirects and retries included; "
                    "default 3 x timeout")
    poll_deadline: Duration = Field(default=600.0,
        description="most time one poll may take, all its pages included")
    allow_private: bool = Field(default=True,
        description="connect to loopback and private addresses (link-local never)")
    contact_url: str = Field(
        default="https://github.com/lettermon/lettermon",
        description="where a site's admin can learn about this crawler (in the User-Agent)",
    )

    @field_validator("contact_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        parts = urlsplit(value)
        if (parts.scheme not in ("http", "https") or not parts.netloc
                or any(c.isspace() or not c.isprintable() for c in value)):
            raise ValueError("give a web address (https://...) where a site's admin can "
                             "learn about lettermon")
        return value

    @property
    def request_deadline(self) -> float:
        """Seconds one request may take in all: ``deadline``, else 3 x ``timeout``."""
        return self.deadline if self.deadline is not None else 3 * self.timeout


class CssAdapterSettings(_Strict):
    """The generic adapter for letter pages not built with the Participants Database widget."""

    count: str = Field(description="CSS selector of the element holding the total")
    count_regex: str | None = Field(default=None,
        description="regex whose first group is the number")
    rows: str = Field(description="CSS selector of one signatory row")
    fields: dict[str, str] = Field(description="field name -> CSS selector inside a row")
    next: str | None = Field(default=None, description="CSS selector of the next-page link")

    @field_validator("count_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @field_validator("fields")
    @classmethod
    def _some_fields(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("name at least one field")
        return value


class MilestoneSettings(_Strict):
    every: int | None = Field(default=None, gt=0, description="announce each multiple of this")
    at: list[int] = Field(default_factory=list, description="explicit thresholds")
    launch: bool = Field(default=False,
        description="post once on the letter's first successful poll")
    confirm_polls: int = Field(default=1, ge=1, le=10,
        description="successful polls that must agree")
    announce: Literal["highest", "all"] = Field(
        default="highest", description="when a poll jumps several milestones")

    @field_validator("at")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(v <= 0 for v in value):
            raise ValueError("milestones must be positive")
        return sorted(set(value))


class LetterSettings(_Strict):
    name: str = Field(pattern=_NAME)
    url: AnyHttpUrl
    title: str | None = None
    name_fields: list[str] = Field(
        default_factory=list,
        description="fields that make up a signatory's name; default those named *name*")
    noun: str = Field(default="people", description='who signs: "researchers", "people", ...')
    adapter: Literal["auto", "pdb", "css"] = "auto"
    css: CssAdapterSettings | None = None
    order: Literal["auto", "newest_first", "oldest_first"] = "auto"
    full_crawl_every: Duration = 86400.0
    suspect_drop: float = Field(
        default=0.2, gt=0, le=1, description="a fall of this fraction of the count is suspect")
    store_pages: bool = Field(default=True, description="keep each distinct page, compressed")
    interval: Duration = 300.0
    cron: str | None = None
    max_age: Duration | None = Field(default=None, description="health: default 3 x interval")
    milestones: MilestoneSettings = Field(default_factory=MilestoneSettings)

    @model_validator(mode="after")
    def _adapter_config(self) -> LetterSettings:
        if self.adapter == "css" and self.css is None:
            raise ValueError("adapter = 'css' needs a [letters.css] table")
        return self


class QuietHours(_Strict):
    start: time
    end: time
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


TEMPLATE_VARIABLES = frozenset({
    "name", "title", "url", "noun", "count", "milestone", "since_last_post", "took",
    "rate_per_day", "next_milestone", "next_eta", "names",
})


def _check_template(value: str | None) -> str | None:
    if value is None:
        return value
    import string

    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    except ValueError as exc:
        raise ValueError(f"template is not valid: {exc}") from exc
    for name in fields:
        if name.split(".")[0].split("[")[0] not in TEMPLATE_VARIABLES:
            known = ", ".join(sorted(TEMPLATE_VARIABLES))
            raise ValueError(f"template uses unknown variable {{{name}}} (known: {known})")
    return value


class _ChannelBase(_Strict):
    SECRETS: ClassVar[tuple[str, ...]] = ()

    name: str = Field(pattern=_NAME)
    letters: list[str] | None = Field(default=None, description="letter names; default all")
    template: str | None = Field(default=None, description="milestone template; default per kind")
    launch_template: str | None = Field(default=None, description="launch post template")
    names: bool = Field(default=False, description="include a few new signatories' names")
    max_names: int = Field(default=3, ge=0, le=10)
    name_max_length: int = Field(default=40, ge=5, le=200)
    blocklist: list[str] = Field(default_factory=list, description="words that drop a name")
    image: bool = Field(default=False, description="attach a chart of the count")
    daily_cap: int = Field(default=10, ge=1, description="posts per rolling 24 hours")
    quiet_hours: QuietHours | None = None
    operator: bool = Field(default=False, description="receives operator alerts, not milestones")
    language: str | None = None

    _templates = field_validator("template", "launch_template")(_check_template)


class ConsoleChannel(_ChannelBase):
    kind: Literal["console"]


class WebhookChannel(_ChannelBase):
    SECRETS: ClassVar[tuple[str, ...]] = ("secret",)
    kind: Literal["webhook"]
    url: AnyHttpUrl
    secret: SecretStr | None = Field(default=None, description="sent as a Bearer token")
    timeout: Duration = 30.0


class MastodonChannel(_ChannelBase):
    SECRETS: ClassVar[tuple[str, ...]] = ("access_token",)
    kind: Literal["mastodon"]
    api_base_url: AnyHttpUrl
    access_token: SecretStr | None = None
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    timeout: Duration = 30.0


class BlueskyChannel(_ChannelBase):
    SECRETS: ClassVar[tuple[str, ...]] = ("app_password",)
    kind: Literal["bluesky"]
    base_url: AnyHttpUrl = Field(default=AnyHttpUrl("https://bsky.social/xrpc"))
    handle: str
    app_password: SecretStr | None = None
    timeout: Duration = 30.0


class XChannel(_ChannelBase):
    SECRETS: ClassVar[tuple[str, ...]] = (
        "consumer_key", "consumer_secret", "access_token", "access_token_secret")
    kind: Literal["x"]
    api_base_url: AnyHttpUrl = Field(default=AnyHttpUrl("https://api.x.com"))
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    include_link: bool = Field(default=True, description="links cost more per post on X")
    monthly_spend_limit: float = Field(default=5.0, ge=0,
        description="US dollars per calendar month")
    price_per_post: float = Field(default=0.015, ge=0)
    price_per_link_post: float = Field(default=0.20, ge=0)
    timeout: Duration = 30.0


ChannelSettings = Annotated[
    ConsoleChannel | WebhookChannel | MastodonChannel | BlueskyChannel | XChannel,
    Field(discriminator="kind"),
]


class AlertSettings(_Strict):
    after_failures: int = Field(default=3, ge=1,
        description="failed polls in a row before an alert")


class MetricsSettings(_Strict):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, le=65535)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LETTERMON_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database_url: str = DEFAULT_DATABASE_URL
    log_format: Literal["auto", "text", "json"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = Field(
        default=None, description="default: INFO for run, WARNING for other commands")
    lock_file: Path | None = Field(default=None, description="default: beside the SQLite file")
    secrets_dir: Path = Path("/run/secrets")
    http: HttpSettings = Field(default_factory=HttpSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    letters: list[LetterSettings] = Field(default_factory=list)
    channels: list[ChannelSettings] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        secrets_dir = os.environ.get("LETTERMON_SECRETS_DIR", "/run/secrets")
        if Path(secrets_dir).is_dir():
            from pydantic_settings import SecretsSettingsSource

            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir))
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("use sqlite:///PATH or postgresql://USER@HOST/DB")
        return value

    @model_validator(mode="after")
    def _names_unique_and_known(self) -> Settings:
        _unique("letters", [letter.name for letter in self.letters])
        _unique("channels", [channel.name for channel in self.channels])
        known = {letter.name for letter in self.letters}
        for i, channel in enumerate(self.channels):
            for name in channel.letters or ():
                if name not in known:
                    raise ValueError(f"channels.{i}.letters names unknown letter {name!r}")
        return self

    def letter(self, name: str) -> LetterSettings:
        for letter in self.letters:
            if letter.name == name:
                return letter
        known = ", ".join(sorted(x.name for x in self.letters)) or "none"
        raise ConfigError(f"no letter named {name!r} in the config (known: {known})")


def _unique(section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{section}.{i}.name {name!r} is used twice")
        seen.add(name)


def config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """``--config`` if given, else ``$LETTERMON_CONFIG``, else ``./config/lettermon.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("LETTERMON_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG


def load_settings(path: Path, **overrides: Any) -> Settings:
    """Read and validate the config; raise :class:`ConfigError` naming the key and the file."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found (give --config FILE or set "
                          "LETTERMON_CONFIG)")
    settings_cls = type(
        "FileSettings", (Settings,),
        {"model_config": {**Settings.model_config, "toml_file": path}},
    )
    try:
        settings: Settings = settings_cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(path, exc)) from None
    except (OSError, ValueError) as exc:  # TOML syntax errors are ValueErrors
        raise ConfigError(f"{path}: {exc}") from None
    return _with_channel_secrets(settings)


def _describe(path: Path, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in error["loc"] if p not in _UNION_TAGS]
        key = ".".join(loc)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        env = "LETTERMON_" + "__".join(loc).upper()
        if loc and env in os.environ:  # the value came from the environment, not the file
            key += f" (set by {env})"
        lines.append(f"{path}: {key or '(top level)'}: {message}")
    return "\n".join(lines)


_UNION_TAGS = {"console", "webhook", "mastodon", "bluesky", "x"}


def _env_key(channel: str, field: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", f"{channel}_{field}").upper()


def _with_channel_secrets(settings: Settings) -> Settings:
    """Fill channel secrets from ``LETTERMON_<CHANNEL>_<FIELD>`` or secret files."""
    channels = []
    for channel in settings.channels:
        updates: dict[str, SecretStr] = {}
        for field in channel.SECRETS:
            key = _env_key(channel.name, field)
            value = os.environ.get(f"LETTERMON_{key}")
            secret_file = settings.secrets_dir / f"lettermon_{key.lower()}"
            if value is None and secret_file.is_file():
                value = secret_file.read_text(encoding="utf-8").strip()
            if value:
                updates[field] = SecretStr(value)
        channels.append(channel.model_copy(update=updates) if updates else channel)
    return settings.model_copy(update={"channels": channels})


def secret_env_names(channel: _ChannelBase) -> list[str]:
    """The variables that can hold this channel's secrets (for docs and messages)."""
    return [f"LETTERMON_{_env_key(channel.name, f)}" for f in channel.SECRETS]
