"""Configuration: a TOML file, overridden by ``LETTERMON_*`` variables and secret files.

Priority, highest first: environment > secret files > the TOML file. Channel secrets
(tokens, passwords) may also come from ``LETTERMON_<CHANNEL>_<FIELD>`` variables or
``<secrets_dir>/lettermon_<channel>_<field>`` files, so none needs to sit in the config
file. Every unknown key is an error; nothing falls back silently.

This module holds the tables every deployment has. The keys of each channel kind and of
each source adapter are declared in that kind's own module; :func:`settings_model` puts
them together (:class:`lettermon.registry.Registry` calls it with what it found).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union
from urllib.parse import urlsplit

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from lettermon.durations import Duration
from lettermon.errors import ConfigError

DEFAULT_CONFIG = Path("config/lettermon.toml")
DEFAULT_DATABASE_URL = "sqlite:///data/lettermon.sqlite3"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class EnvText(str):
    """A value read from an environment variable or a secret file: always text, so a
    number or a boolean there is read from its text (``LETTERMON_HTTP__RETRIES=2``)."""

    __slots__ = ()


def _integer_from_text(value: object) -> object:
    if isinstance(value, EnvText) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return value


def _real_from_text(value: object) -> object:
    if isinstance(value, EnvText):
        try:
            return float(value)
        except ValueError:
            return str(value)
    return value


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def _boolean_from_text(value: object) -> object:
    if isinstance(value, EnvText):
        word = value.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else str(value)
    return value


# Numbers and booleans are strict in the file: "100" is not 100 and 1 is not true. From the
# environment, where every value is text, they are read from their text.
Integer = Annotated[StrictInt, BeforeValidator(_integer_from_text)]
Real = Annotated[StrictFloat, BeforeValidator(_real_from_text)]
"""A number, whole or not (an integer is accepted)."""
Boolean = Annotated[StrictBool, BeforeValidator(_boolean_from_text)]


class Strict(BaseModel):
    """A settings table: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(Strict):
    timeout: Duration = 20.0
    max_bytes: Integer = Field(default=10_000_000, gt=0, description="response size cap in bytes")
    retries: Integer = Field(default=3, ge=0, le=10,
        description="retries per request (connect, 429, 5xx)")
    retry_budget: Duration = Field(default=60.0,
        description="total seconds a request may spend waiting")
    per_host: Integer = Field(default=2, ge=1, le=16, description="requests in flight per host")
    deadline: Duration | None = Field(default=None,
        description="most time one request may take, redirects and retries included; "
                    "default 3 x timeout")
    poll_deadline: Duration = Field(default=600.0,
        description="most time one poll may take, all its pages included")
    allow_private: Boolean = Field(default=True,
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


def _check_locale(value: str | None) -> str | None:
    if value is None:
        return value
    from lettermon.l10n import check_locale

    return check_locale(value)


class MilestoneSettings(Strict):
    every: Integer | None = Field(default=None, gt=0, description="announce each multiple of this")
    at: list[Integer] = Field(default_factory=list, description="explicit thresholds")
    launch: Boolean = Field(default=False,
        description="post once on the letter's first successful poll")
    confirm_polls: Integer = Field(default=1, ge=1, le=10,
        description="successful polls that must agree")
    announce: Literal["highest", "all"] = Field(
        default="highest", description="when a poll jumps several milestones")
    final: bool = Field(default=False,
        description="post once when the letter closes, on its last poll")
    preset: Literal["uk-parliament"] | None = Field(default=None,
        description="ready-made thresholds added to at")

    PRESETS: ClassVar[dict[str, tuple[int, ...]]] = {
        # the government responds at 10,000; Parliament considers a debate at 100,000
        "uk-parliament": (10_000, 100_000),
    }

    @model_validator(mode="before")
    @classmethod
    def _preset_thresholds(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") in cls.PRESETS:
            extra = cls.PRESETS[data["preset"]]
            data = {**data, "at": [*data.get("at", []), *extra]}
        return data

    @field_validator("at")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(v <= 0 for v in value):
            raise ValueError("milestones must be positive")
        return sorted(set(value))


class LetterSettings(Strict):
    name: str = Field(pattern=_NAME)
    url: AnyHttpUrl
    title: str | None = None
    name_fields: list[str] = Field(
        default_factory=list,
        description="fields that make up a signatory's name; default those named *name*")
    noun: str = Field(default="people", description='who signs: "researchers", "people", ...')
    adapter: str = Field(default="auto",
        description='"auto" (recognise the page), or the kind of a source adapter')
    order: Literal["auto", "newest_first", "oldest_first"] = "auto"
    full_crawl_every: Duration = 86400.0
    suspect_drop: Real = Field(
        default=0.2, gt=0, le=1, description="a fall of this fraction of the count is suspect")
    hold_drop: Real = Field(
        default=0.5, gt=0, le=1,
        description="a fall of more than this fraction waits for `lettermon accept`")
    store_pages: Boolean = Field(default=True, description="keep each distinct page, compressed")
    keep_pages: Duration = Field(default=90 * 86400.0,
        description="stored pages older than this are let go")
    failed_pages: Integer = Field(default=3, ge=0, le=100,
        description="keep the first page of this many of the latest failed polls")
    interval: Duration = 300.0
    cron: str | None = None
    max_age: Duration | None = Field(default=None, description="health: default 3 x interval")
    milestones: MilestoneSettings = Field(default_factory=MilestoneSettings)
    channels: list[str] | None = Field(
        default=None, description="channels that announce it; default: every channel that "
        "names it (or names no letters)")
    http: HttpSettings | None = Field(
        default=None, description="this letter's [http] keys, over the top-level [http]")
    locale: str | None = Field(default=None,
        description="language of numbers, dates and default templates; default British English")

    _locale = field_validator("locale")(_check_locale)

    # One optional table per source adapter that takes settings ([letters.css], ...) is
    # added by :func:`settings_model`, named by the adapter's kind.
    model_config = ConfigDict(defer_build=True)

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from datetime import UTC, datetime

        from apscheduler.triggers.cron import CronTrigger

        try:
            trigger = CronTrigger.from_crontab(value, timezone=UTC)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a crontab rule of five fields (minute hour day month "
                             f"weekday, in UTC), such as \"*/10 * * * *\": {exc}") from None
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            raise ValueError("this crontab rule never fires")
        return value

    @model_validator(mode="after")
    def _interval_or_cron(self) -> LetterSettings:
        if self.cron is not None and "interval" in self.model_fields_set:
            raise ValueError("set interval or cron, not both: cron would decide alone")
        return self

    def source_settings(self, kind: str) -> BaseModel | None:
        """The ``[letters.<kind>]`` table of this letter, if the adapter has one."""
        value = getattr(self, _table_field(kind), None)
        return value if isinstance(value, BaseModel) else None

    @property
    def count_only(self) -> bool:
        """The settings say this letter lists nobody: a count-only adapter, or an adapter's
        table without ``rows``. (With ``adapter = "auto"`` the page may still turn out to
        be count-only; the store then knows.)"""
        if self.adapter in type(self).count_only_adapters:
            return True
        table = self.source_settings(self.adapter)
        return bool(getattr(table, "count_only", False))

    @model_validator(mode="after")
    def _drops_in_order(self) -> LetterSettings:
        if self.hold_drop < self.suspect_drop:
            raise ValueError("hold_drop must be at least suspect_drop")
        return self

    @model_validator(mode="after")
    def _adapter_config(self) -> LetterSettings:
        needs = type(self).adapters_with_settings
        if self.adapter in needs and self.source_settings(self.adapter) is None:
            raise ValueError(f"adapter = {self.adapter!r} needs a [letters.{self.adapter}] "
                             "table")
        return self

    adapters_with_settings: ClassVar[frozenset[str]] = frozenset()
    count_only_adapters: ClassVar[frozenset[str]] = frozenset()
    url_twins: ClassVar[Mapping[str, Callable[[str], str | None]]] = {}

    @property
    def poll_url(self) -> str:
        """The address polled: ``url``, or the document a source adapter reads in its
        place (a UK Parliament petition page is polled at its ``.json`` twin). Posts
        link to ``url``."""
        url = str(self.url)
        for kind, twin in type(self).url_twins.items():
            if self.adapter in ("auto", kind):
                found = twin(url)
                if found:
                    return found
        return url


class QuietHours(Strict):
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


def _check_template(value: str | None) -> str | None:
    if value is not None:
        from lettermon.templates import check

        check(value)
    return value


class ChannelSettings(Strict):
    """Keys every channel has. Each channel kind's module subclasses this with its own
    ``kind: Literal["..."]`` and keys (see :mod:`lettermon.announce.channels`)."""

    model_config = ConfigDict(defer_build=True)
    SECRETS: ClassVar[tuple[str, ...]] = ()
    OPTIONAL_SECRETS: ClassVar[frozenset[str]] = frozenset()

    kind: str

    name: str = Field(pattern=_NAME)
    letters: list[str] | None = Field(default=None, description="letter names; default all")
    template: str | None = Field(default=None, description="milestone template; default per kind")
    launch_template: str | None = Field(default=None, description="launch post template")
    final_template: str | None = Field(default=None,
        description="the post when a letter closes (milestones.final = true)")
    names: Boolean = Field(default=False, description="include a few new signatories' names")
    max_names: Integer = Field(default=3, ge=0, le=10)
    name_max_length: Integer = Field(default=40, ge=5, le=200)
    blocklist: list[str] = Field(default_factory=list, description="words that drop a name")
    image: Boolean = Field(default=False, description="attach a chart of the count")
    daily_cap: Integer = Field(default=10, ge=1, description="posts per rolling 24 hours")
    quiet_hours: QuietHours | None = None
    operator: Boolean = Field(default=False, description="receives operator alerts, not milestones")
    language: str | None = None
    locale: str | None = Field(default=None, description="overrides the letter's locale")

    _templates = field_validator("template", "launch_template", "final_template")(
        _check_template)
    _locale = field_validator("locale")(_check_locale)

    @property
    def links(self) -> bool:
        """Whether this channel's default template ends with the letter's link."""
        return True


class AlertSettings(Strict):
    after_failures: Integer = Field(default=3, ge=1,
        description="failed polls in a row before an alert")


class MetricsSettings(Strict):
    enabled: Boolean = False
    host: str = "127.0.0.1"
    port: Integer = Field(default=9464, ge=0, le=65535)


class WorkerSettings(Strict):
    """``lettermon run``: how many letters at once, and how long a claim on one lasts."""

    concurrency: int = Field(default=4, ge=1, le=64,
        description="letters polled at once (PostgreSQL; SQLite polls one at a time)")
    lease: Duration | None = Field(default=None,
        description="how long a claim on a letter lasts; default: the poll deadline + 1m")
    tick: Duration = Field(default=1.0, description="how often the worker looks for due work")
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$",
        description="this worker's name in the database; default: host, pid and a nonce")


class ReportSettings(Strict):
    dir: Path | None = Field(default=None,
        description="where `run` keeps each letter's page and index.html; default: no pages")
    names: bool = Field(default=False, description="list new signatories' names in reports")
    max_names: int = Field(default=50, ge=0, le=1000)
    name_max_length: int = Field(default=60, ge=5, le=200)
    blocklist: list[str] = Field(default_factory=list, description="words that drop a name")


class Settings(BaseSettings):
    """The whole configuration. Use :func:`settings_model` for the class that validates a
    file: it adds the channel kinds and source adapters that are installed."""

    model_config = SettingsConfigDict(
        env_prefix="LETTERMON_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        defer_build=True,
    )
    channel_kinds: ClassVar[frozenset[str]] = frozenset()
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    """The secret fields of every channel kind (``access_token``, ``app_password``...)."""

    database_url: str = DEFAULT_DATABASE_URL
    log_format: Literal["auto", "text", "json"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = Field(
        default=None, description="default: INFO for run, WARNING for other commands")
    lock_file: Path | None = Field(default=None, description="default: beside the SQLite file")
    secrets_dir: Path = Path("/run/secrets")
    http: HttpSettings = Field(default_factory=HttpSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="keys every [[letters]] entry inherits")
    report: ReportSettings = Field(default_factory=ReportSettings)
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
        # ``init_settings`` carries the TOML file's content (see load_settings): lowest.
        sources: list[PydanticBaseSettingsSource] = [_AsText(env_settings)]
        secrets_dir = os.environ.get("LETTERMON_SECRETS_DIR", "/run/secrets")
        if Path(secrets_dir).is_dir():
            from pydantic_settings import SecretsSettingsSource

            sources.append(_AsText(SecretsSettingsSource(settings_cls,
                                                         secrets_dir=secrets_dir)))
        sources.append(init_settings)
        return tuple(sources)

    @model_validator(mode="before")
    @classmethod
    def _inherit_defaults(cls, data: Any) -> Any:
        """Every letter takes the ``[defaults]`` keys it does not set (tables key by key),
        and its own ``http`` keys over the top-level ``[http]``."""
        if not isinstance(data, dict):
            return data
        defaults = data.get("defaults") or {}
        letters = data.get("letters")
        if not isinstance(defaults, dict) or not isinstance(letters, list):
            return data
        allowed = set(LetterSettings.model_fields) - {"name", "url"}
        unknown = sorted(set(defaults) - allowed)
        if unknown:
            raise ValueError(f"defaults: {', '.join(unknown)}: not a key of a letter "
                             f"(name and url belong to each letter)")
        raw_http = data.get("http")
        http: dict[str, Any] = raw_http if isinstance(raw_http, dict) else {}
        merged = []
        for letter in letters:
            if not isinstance(letter, dict):
                merged.append(letter)
                continue
            entry = _deep_merge(defaults, letter)
            if isinstance(entry.get("http"), dict):
                entry["http"] = {**http, **entry["http"]}
            merged.append(entry)
        return {**data, "letters": merged}

    @model_validator(mode="after")
    def _lease_outlasts_a_poll(self) -> Settings:
        if self.worker.lease is not None and self.worker.lease <= self.http.poll_deadline:
            raise ValueError(f"worker.lease must be longer than http.poll_deadline "
                             f"({self.http.poll_deadline:g}s): a claim must outlast a poll")
        return self

    @property
    def lease(self) -> float:
        """Seconds a worker's claim on a letter lasts (renewed while it lives)."""
        return self.worker.lease or self.http.poll_deadline + 60

    def http_for(self, letter: LetterSettings) -> HttpSettings:
        """The fetching settings of one letter: its own ``http`` table, else ``[http]``."""
        return letter.http or self.http

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("use sqlite:///PATH or postgresql://USER@HOST/DB")
        if value.startswith("postgres"):
            _check_postgres_url(value)
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
            if channel.names and not channel.operator:
                for letter in self.letters:
                    if letter.count_only and (channel.letters is None
                                              or letter.name in channel.letters):
                        raise ValueError(
                            f"channels.{i}.names: letter {letter.name!r} lists no "
                            "signatories (its page gives a count only), so its posts "
                            "cannot name any; set names = false or leave the letter out of "
                            "this channel's letters")
        channels = {channel.name for channel in self.channels}
        for i, letter in enumerate(self.letters):
            for name in letter.channels or ():
                if name not in channels:
                    raise ValueError(f"letters.{i}.channels names unknown channel {name!r}")
        return self

    def notices(self) -> list[str]:
        """What loading changed and a user should hear of (a letter polled at another
        address than its ``url``)."""
        return [f"letters.{i}.url: {letter.url} is a petition's page; lettermon polls its "
                f"JSON, {letter.poll_url} (posts still link to the page)"
                for i, letter in enumerate(self.letters) if letter.poll_url != str(letter.url)]

    def letter(self, name: str) -> LetterSettings:
        for letter in self.letters:
            if letter.name == name:
                return letter
        known = ", ".join(sorted(x.name for x in self.letters)) or "none"
        raise ConfigError(f"no letter named {name!r} in the config (known: {known})")

    def select(self, names: Iterable[str]) -> list[LetterSettings]:
        """The letters named, in that order; all of them when no name is given."""
        names = list(names)
        return [self.letter(name) for name in names] if names else list(self.letters)

    def announcing(self, letter: str) -> list[ChannelSettings]:
        """The channels that announce this letter's milestones (operator channels do not)."""
        chosen = self.letter(letter).channels
        return [c for c in self.channels
                if not c.operator and (c.letters is None or letter in c.letters)
                and (chosen is None or c.name in chosen)]

    def operators(self) -> list[ChannelSettings]:
        """The channels that receive operator alerts."""
        return [c for c in self.channels if c.operator]


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; tables are merged key by key, everything else replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _AsText(PydanticBaseSettingsSource):
    """Another source's values, each text value marked :class:`EnvText` (tables are
    walked; a list, given as JSON, keeps the types JSON gave it)."""

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self._source = source

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._source.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        marked: dict[str, Any] = _as_text(self._source())
        return marked


def _as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _as_text(item) for key, item in value.items()}
    return EnvText(value) if isinstance(value, str) else value


def _check_postgres_url(url: str) -> None:
    """Refuse a PostgreSQL URL the driver could not read; the message never quotes it,
    since it may hold a password."""
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        raise ValueError("a % in the URL must start an escape of two hexadecimal digits "
                         "(write a % in a password as %25)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError as exc:
        detail = "the port is not a number from 0 to 65535" if "Port" in str(exc) else (
            "a [ host address is not closed by ]" if "IPv6" in str(exc) else "malformed")
        raise ValueError(f"not a valid PostgreSQL URL: {detail}") from None


def _unique(section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{section}.{i}.name {name!r} is used twice")
        seen.add(name)


def settings_model(channels: Iterable[type[ChannelSettings]],
                   sources: dict[str, type[BaseModel] | None], *,
                   count_only: Iterable[str] = (),
                   url_twins: Mapping[str, Callable[[str], str | None]] | None = None,
                   ) -> type[Settings]:
    """The settings class for these channel kinds and source adapters.

    ``channels`` are the channel kinds' settings models (each with ``kind: Literal[...]``);
    ``sources`` maps each source adapter's kind to its ``[letters.<kind>]`` model, or None
    when the adapter takes no settings; ``count_only`` names the adapters that read
    letters with no signatory list; ``url_twins`` maps an adapter's kind to its function
    from a page's address to the address it reads instead (see ``poll_url``).
    """
    channel_models = tuple(channels)
    kinds = frozenset(_literal_kind(model) for model in channel_models)
    tables = {kind: model for kind, model in sources.items() if model is not None}
    letter_fields: dict[str, Any] = {
        _table_field(kind): (model | None, Field(
            default=None, alias=kind, description=f"settings of the {kind} adapter"))
        for kind, model in tables.items()}
    adapter_kinds = ("auto", *sources)
    letter_fields["adapter"] = (Literal[adapter_kinds], Field(
        default="auto", description='"auto", or the kind of a source adapter'))
    letter_model = create_model(
        "LetterSettings", __base__=LetterSettings, __module__=__name__, **letter_fields)
    letter_model.adapters_with_settings = frozenset(tables)
    letter_model.count_only_adapters = frozenset(count_only)
    letter_model.url_twins = dict(url_twins or {})
    if channel_models:
        union: Any = Annotated[Union[channel_models],  # noqa: UP007 - built at run time
                               Field(discriminator="kind")]
    else:
        union = ChannelSettings
    model = create_model(
        "Settings", __base__=Settings, __module__=__name__,
        letters=(list[letter_model], Field(default_factory=list)),  # type: ignore[valid-type]
        channels=(list[union], Field(default_factory=list)))
    model.channel_kinds = kinds
    model.secret_fields = frozenset(f for m in channel_models for f in m.SECRETS)
    return model


def _table_field(kind: str) -> str:
    """The field holding ``[letters.<kind>]``: the kind, unless a model attribute has that
    name (``json``), then the kind with a trailing ``_`` and the kind as its alias."""
    return f"{kind}_" if hasattr(BaseModel, kind) else kind


def _literal_kind(model: type[ChannelSettings]) -> str:
    from typing import get_args

    annotation = model.model_fields["kind"].annotation
    values = get_args(annotation)
    if len(values) != 1 or not isinstance(values[0], str):
        raise TypeError(f"{model.__name__}.kind must be a Literal of one string")
    return values[0]


def config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """``--config`` if given, else ``$LETTERMON_CONFIG``, else ``./config/lettermon.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("LETTERMON_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG


def load_settings(path: Path, model: type[Settings]) -> Settings:
    """Read and validate the config; raise :class:`ConfigError` naming the key and the file.

    ``model`` is the class from :func:`settings_model` for the channel kinds and adapters
    in use (:meth:`lettermon.app.Wiring.load` passes the registry's).
    """
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found (give --config FILE or set "
                          "LETTERMON_CONFIG)")
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    _check_environment(model, data)
    try:
        settings = model(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(path, exc, model.channel_kinds, data)) from None
    return _with_channel_secrets(settings)


# Read by lettermon itself, not by a setting.
_OTHER_VARIABLES = frozenset({"LETTERMON_CONFIG"})


def _check_environment(model: type[Settings], data: dict[str, Any]) -> None:
    """Refuse a ``LETTERMON_*`` variable that sets nothing, naming the closest one that
    does: a typo would otherwise be ignored without a word."""
    known = set(_OTHER_VARIABLES)
    for name, field in model.model_fields.items():
        known.add(f"LETTERMON_{name.upper()}")
        table = field.annotation
        if isinstance(table, type) and issubclass(table, BaseModel):
            known.update(f"LETTERMON_{name.upper()}__{key.upper()}"
                         for key in table.model_fields)
    channels = data.get("channels")
    for channel in channels if isinstance(channels, list) else ():
        if isinstance(channel, dict) and isinstance(channel.get("name"), str):
            known.update(f"LETTERMON_{_env_key(channel['name'], field)}"
                         for field in model.secret_fields)
    # LETTERMON_<CHANNEL>_<FIELD> of any channel, this config's or another's
    suffixes = tuple(f"_{field.upper()}" for field in model.secret_fields)
    problems = []
    for variable in sorted(os.environ):
        upper = variable.upper()
        if not upper.startswith("LETTERMON_") or upper in known:
            continue
        if any(upper.endswith(s) and len(upper) > len("LETTERMON_") + len(s)
               for s in suffixes):
            continue
        import difflib

        close = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        problems.append(f"environment: {variable} matches no setting{hint}")
    if problems:
        raise ConfigError("\n".join(problems))


def _describe(path: Path, exc: ValidationError, union_tags: frozenset[str],
              data: dict[str, Any]) -> str:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in error["loc"] if p not in union_tags]
        key = ".".join(loc)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        env = next((v for v in _env_names(loc) if v in os.environ), None)
        entry = _entry_name(data, error["loc"])
        if env:  # the value came from the environment, not the file
            key += f" (set by {env})"
        elif entry:
            message += f" (in {entry})"
        lines.append(f"{path}: {key or '(top level)'}: {message}")
    return "\n".join(lines)


def _env_names(loc: list[str]) -> list[str]:
    """The variables that can set the value at ``loc`` (the whole table's, then its key's)."""
    return [f"LETTERMON_{'__'.join(loc[:n]).upper()}" for n in range(1, len(loc) + 1)][::-1]


def _entry_name(data: dict[str, Any], loc: tuple[int | str, ...]) -> str | None:
    """'letter "NAME"' or 'channel "NAME"' for an error inside a [[letters]] or [[channels]]
    entry of the file, so the message names the entry and not only its position."""
    if len(loc) < 2 or loc[0] not in ("letters", "channels") or not isinstance(loc[1], int):
        return None
    entries = data.get(str(loc[0]))
    if not isinstance(entries, list) or loc[1] >= len(entries):
        return None
    name = entries[loc[1]].get("name") if isinstance(entries[loc[1]], dict) else None
    return f"{str(loc[0])[:-1]} {name!r}" if isinstance(name, str) else None


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


def secret_env_names(channel: ChannelSettings) -> list[str]:
    """The variables that can hold this channel's secrets (for docs and messages)."""
    return [f"LETTERMON_{_env_key(channel.name, f)}" for f in channel.SECRETS]


def missing_secrets(channel: ChannelSettings) -> list[str]:
    """The variables to set for this channel's required secrets that have no value."""
    names = dict(zip(channel.SECRETS, secret_env_names(channel), strict=True))
    return [names[f] for f in channel.SECRETS
            if f not in channel.OPTIONAL_SECRETS and getattr(channel, f, None) is None]
