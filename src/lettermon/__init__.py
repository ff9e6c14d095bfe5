"""lettermon: watch an open letter's signatures, keep their history, announce milestones."""

from lettermon.errors import (
    BlockedError,
    ConfigError,
    FetchError,
    LettermonError,
    LockedError,
    ParseError,
    PostError,
    RateLimited,
    StoreError,
)

__version__ = "0.1.0"

__all__ = [
    "BlockedError",
    "ConfigError",
    "FetchError",
    "LettermonError",
    "LockedError",
    "ParseError",
    "PostError",
    "RateLimited",
    "StoreError",
    "__version__",
]
