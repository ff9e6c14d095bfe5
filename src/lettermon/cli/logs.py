"""Logging set-up: readable lines in a terminal, one JSON object per line for machines.

Extra fields given as ``extra={"letter": ..., "event": ..., "count": ...}`` are kept in
JSON output. Nothing here ever formats a secret: settings hold them as ``SecretStr``, and
every line is redacted (a URL's password is shown as ``***``) before it is written.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime

from lettermon.redact import redact
from lettermon.terminal import dumps_json, terminal_safe

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["traceback"] = redact(self.formatException(record.exc_info))
        return dumps_json(entry, default=lambda value: redact(str(value)))


class TextFormatter(logging.Formatter):
    """Readable lines; page text in a message cannot drive the terminal (see output.py)."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(redact(super().format(record)), newlines=True)


def configure_logging(fmt: str = "auto", level: str = "INFO") -> None:
    """Configure the root logger once per process (called by the CLI, never on import)."""
    fmt = os.environ.get("LETTERMON_LOG_FORMAT", fmt)
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter(
            "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    for old in root.handlers[:]:
        if getattr(old, "_lettermon", False):
            root.removeHandler(old)
    handler._lettermon = True  # type: ignore[attr-defined]
    # the handler filters too: a library whose logger sets its own lower level (werkzeug
    # sets INFO) would otherwise reach it, as records propagate past the root's level
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "urllib3", "requests_oauthlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
