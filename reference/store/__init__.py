"""Storage: the only place SQL runs. See `db` for the connection policy and `migrations/`."""

from reference.store.db import Db, Store, equal_filters, open_store

__all__ = ["Db", "Store", "equal_filters", "open_store"]
