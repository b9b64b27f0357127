"""Storage: the only place SQL runs. See `db` for the connection policy and `migrations/`."""

from reference.store.db import Db, Store, open_store

__all__ = ["Db", "Store", "open_store"]
