"""SQLite storage with sqlite-vec, WAL mode and versioned migrations.

Connection policy:

- SQLite is reached through `apsw`, which bundles its own SQLite and can load extensions (the
  stdlib `sqlite3` of many Python builds cannot), so sqlite-vec is always available.
- The database runs in WAL mode: readers never block the writer and vice versa.
- Each thread gets its own connection (`Store.db()`); writes go through `Store.write()`, which
  serialises writers in this process with a lock and opens `BEGIN IMMEDIATE`, so writers in
  other processes wait on SQLite's busy timeout instead of failing.
- `synchronous=NORMAL` (default) keeps every committed write across a crash of the server
  process; `FULL` (setting `sqlite_synchronous`) also across power loss.
- `secure_delete=ON`: SQLite zeroes what a statement deletes, both inside b-tree pages and on
  pages that go to the free list, so a deleted row's bytes (an erased face template, GEN-5) are
  not left behind in the file; old page images in the write-ahead log are removed by a checkpoint
  that truncates it (see reference.face.templates.purge_log). `FAST` would leave whole freed pages
  as they were: a face template's float copy fills a page of its own, so FAST is not enough.
- Migrations are numbered SQL files in `migrations/`; `PRAGMA user_version` records the last one
  applied. Each runs in its own transaction, so a failed migration leaves the previous version.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import apsw
import sqlite_vec

Row = dict[str, Any]
BUSY_TIMEOUT_MS = 10_000
# WAL pages before a commit checkpoints (SQLite's default is 1000). A write transaction here dirties
# 4-9 pages, mostly the same hot pages (table and index tails); checkpointing 10x less often
# copies each of them once instead of ten times: see the setting `sqlite_wal_autocheckpoint`.
DEFAULT_WAL_AUTOCHECKPOINT = 10_000
# Page cache per connection (setting `sqlite_cache_mib`; SQLite's default is 2 MiB): the nonce and
# message indexes have random keys, and a cache smaller than their recent part costs a read and a
# dirty page per request once a server has been busy for a few minutes.
DEFAULT_CACHE_MIB = 64
# PRAGMA secure_delete on every connection (see the module docstring). Measured in-process against
# OFF (loadtests/bench_erasure.py; docs/face-search.md, "Erasure and compaction"): a 1:1
# verification no different (~480 µs), an enrolment ~6 % more CPU (+0.12 ms of ~2.0 ms, +0.18 ms of
# ~3.1 ms when it replaces a template), the same number of log pages.
SECURE_DELETE = "ON"


def _row_trace(cursor: apsw.Cursor, row: tuple) -> Row:
    return {d[0]: v for d, v in zip(cursor.get_description(), row, strict=True)}


class Db:
    """A thin wrapper over one apsw connection with dict rows."""

    def __init__(self, conn: apsw.Connection) -> None:
        self.conn = conn
        # Per-connection memo of facts that only change with a schema change (e.g. a model's
        # table name); a user must detect a stale entry by its statement failing.
        self.cache: dict[str, Any] = {}

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> None:
        for _ in self.conn.execute(sql, params):
            pass

    def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        cur = self.conn.cursor()
        cur.row_trace = _row_trace
        return list(cur.execute(sql, params))

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        cur = self.conn.cursor()
        cur.row_trace = _row_trace
        for row in cur.execute(sql, params):
            return row
        return None

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        for row in self.conn.execute(sql, params):
            return row[0]
        return None

    def insert(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        self.execute(sql, params)
        return self.conn.last_insert_rowid()

    @property
    def changes(self) -> int:
        return self.conn.changes()


def equal_filters(**columns: Any) -> tuple[str, list[Any]]:
    """` AND col=?` for each column whose value is not None (the optional filters of a list query)."""
    given = {c: v for c, v in columns.items() if v is not None}
    return "".join(f" AND {c}=?" for c in given), list(given.values())


def connect(path: Path | str, synchronous: str = "NORMAL",
            wal_autocheckpoint: int = DEFAULT_WAL_AUTOCHECKPOINT,
            cache_mib: int = DEFAULT_CACHE_MIB) -> apsw.Connection:
    conn = apsw.Connection(str(path))
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    conn.enable_load_extension(False)
    for _ in conn.execute("PRAGMA journal_mode=WAL"):
        pass
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
    conn.execute(f"PRAGMA cache_size={-1024 * int(cache_mib)}")  # negative: KiB, not pages
    conn.execute(f"PRAGMA secure_delete={SECURE_DELETE}")
    return conn


class Store:
    """The database: per-thread connections and a serialised write transaction."""

    def __init__(self, path: Path | str, synchronous: str = "NORMAL",
                 wal_autocheckpoint: int = DEFAULT_WAL_AUTOCHECKPOINT, cache_mib: int = DEFAULT_CACHE_MIB) -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self.wal_autocheckpoint = wal_autocheckpoint
        self.cache_mib = cache_mib
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._all: list[apsw.Connection] = []
        self._all_lock = threading.Lock()

    def connect(self) -> apsw.Connection:
        """A new connection to this database with the store's settings (not tracked by it)."""
        return connect(self.path, self.synchronous, self.wal_autocheckpoint, self.cache_mib)

    def db(self) -> Db:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = self.connect()
            with self._all_lock:
                self._all.append(conn)
            db = self._local.db = Db(conn)
        return db

    @contextmanager
    def write(self) -> Iterator[Db]:
        """One write transaction: commits on success, rolls back on any exception."""
        db = self.db()
        with self._write_lock:
            if db.conn.in_transaction:  # nested use inside an open write: join it
                yield db
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Db]:
        """A consistent snapshot for several reads."""
        db = self.db()
        if db.conn.in_transaction:
            yield db
            return
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration, in order."""
    out = []
    for entry in resources.files("reference.store.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql"):
            version = int(name.split("_", 1)[0])
            out.append((version, name, entry.read_text(encoding="utf-8")))
    out.sort()
    versions = [v for v, _, _ in out]
    if versions != list(range(1, len(out) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, got {versions}")
    return out


def migrate(store: Store) -> int:
    """Apply pending migrations; return the schema version."""
    db = store.db()
    current = db.scalar("PRAGMA user_version")
    for version, _name, sql in migration_files():
        if version <= current:
            continue
        with store.write() as w:
            w.execute(sql)
            w.execute(f"PRAGMA user_version={version}")
        current = version
    return current


def open_store(path: Path | str, synchronous: str = "NORMAL",
               wal_autocheckpoint: int = DEFAULT_WAL_AUTOCHECKPOINT, cache_mib: int = DEFAULT_CACHE_MIB) -> Store:
    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(path, synchronous, wal_autocheckpoint, cache_mib)
    migrate(store)
    return store
