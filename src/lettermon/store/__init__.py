"""Storage: SQLite by default, PostgreSQL for bigger deployments, one schema for both."""

from lettermon.store.db import Database, open_database
from lettermon.store.repo import Store

__all__ = ["Database", "Store", "open_database"]
