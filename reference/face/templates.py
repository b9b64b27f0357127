"""Face templates in sqlite-vec: three tables per model, never compared across models.

`face_models` maps each model id to its dimension and its float `vec0` table; `face_templates`
holds one active template per (person, model) with its provenance. For every template there are:

- the L2-normalised float embedding in sqlite-vec (`float[dim]`, table `face_vec_…`): what 1:1
  verification compares with, and what sqlite-vec's own KNN can scan;
- its binary quantisation in sqlite-vec (`bit[dim]`, table `face_bit_…`: one sign bit per
  dimension, the same packing as sqlite-vec's `vec_quantize_binary`), with the enrolling
  institution and its district as metadata columns: what 1:N search scans first, by Hamming
  distance (through an in-memory mirror, reference.face.search);
- the same float embedding as a plain rowid blob (table `face_f32_…`, sqlite-vec's float32
  format): what 1:N search reads to re-score its few hundred candidates exactly. sqlite-vec keeps
  vectors in 1024-vector chunk blobs, and reading one vector walks the blob's overflow-page chain
  (measured 55-280 µs per vector, against a few µs from a rowid table), which made re-scoring
  cost 30-60 times the Hamming scan itself. The copy costs 4·dim bytes per template on disk.

Re-enrolment replaces all of them; erasure (a person's right to erasure) removes all; every
change is also appended to `face_index_log` in the same transaction so that in-memory search
mirrors (reference.face.search) can follow.

No byte of an erased template stays on disk (GEN-5, PIPL):

- sqlite-vec (0.1.7 and later) zeroes a deleted row's slot in its chunk blobs, float and bit;
- the store runs with `PRAGMA secure_delete=ON` (reference.store.db), so SQLite zeroes the
  deleted float32 row and every page freed by a delete — also the stale copies that b-tree
  rebalancing left on pages it freed (with FAST or OFF those stayed: measured);
- what is left are the old page images in the write-ahead log: `purge_log()` checkpoints the
  log into the database file and truncates it to zero bytes. Transaction 8123 runs it after its
  commit, before it answers.

`compact()` rebuilds the vector tables and vacuums the file, so that the space of erased and
replaced templates is reclaimed (their bytes are already zero).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Sequence

import apsw
import numpy as np

from reference.errors import InvalidField, NotFound, TemplateMissing
from reference.store import Db, Store
from reference.store.db import BUSY_TIMEOUT_MS, SECURE_DELETE

log = logging.getLogger("scenemon.face")


def quantise(vector: np.ndarray) -> bytes:
    """One bit per dimension, set where the component is positive (`vec_quantize_binary`)."""
    return np.packbits(np.asarray(vector) > 0, bitorder="little").tobytes()


def quantise_many(vectors: np.ndarray) -> np.ndarray:
    """Rows of `quantise`, as a uint8 matrix of dim/8 bytes per row."""
    return np.packbits(np.asarray(vectors) > 0, axis=1, bitorder="little")


def bit_table_of(vec_table_name: str) -> str:
    return vec_table_name.replace("face_vec_", "face_bit_", 1)


def f32_table_of(vec_table_name: str) -> str:
    return vec_table_name.replace("face_vec_", "face_f32_", 1)


def _create_f32(db: Db, float_table: str) -> None:
    db.execute(f"CREATE TABLE {f32_table_of(float_table)} (template_id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)")


def _create_tables(db: Db, float_table: str, dim: int) -> None:
    if dim % 8:
        raise InvalidField(f"embedding dimension must be a multiple of 8, got {dim}", field="input.capture")
    db.execute(
        f"CREATE VIRTUAL TABLE {float_table} USING vec0("
        f"template_id integer primary key, embedding float[{dim}] distance_metric=cosine)"
    )
    db.execute(
        f"CREATE VIRTUAL TABLE {bit_table_of(float_table)} USING vec0("
        f"template_id integer primary key, bits bit[{dim}], institution_code text, district_code text)"
    )
    _create_f32(db, float_table)


def _ensure_bit_table(db: Db, float_table: str) -> None:
    """Models created before the search copies existed get them on first write (backfilled)."""
    f32 = f32_table_of(float_table)
    if not db.scalar("SELECT 1 FROM sqlite_master WHERE name=?", (f32,)):
        _create_f32(db, float_table)
        db.execute(f"INSERT INTO {f32}(template_id, embedding) SELECT template_id, embedding FROM {float_table}")
    bits = bit_table_of(float_table)
    if db.scalar("SELECT 1 FROM sqlite_master WHERE name=?", (bits,)):
        return
    dim = db.scalar("SELECT dim FROM face_models WHERE vec_table=?", (float_table,))
    db.execute(
        f"CREATE VIRTUAL TABLE {bits} USING vec0("
        f"template_id integer primary key, bits bit[{dim}], institution_code text, district_code text)"
    )
    db.execute(
        f"INSERT INTO {bits}(template_id, bits, institution_code, district_code)"
        f" SELECT v.template_id, vec_quantize_binary(v.embedding), coalesce(t.institution_code, ''),"
        f" coalesce(i.district_code, '') FROM {float_table} v JOIN face_templates t USING(template_id)"
        f" LEFT JOIN institutions i ON i.code = t.institution_code"
    )
    db.execute("INSERT INTO face_index_log(model_id, template_id, op)"
               " SELECT model_id, 0, 'reload' FROM face_models WHERE vec_table=?", (float_table,))


def vec_table(db: Db, model_id: str, dim: int, now: str, *, field: str = "input.capture") -> str:
    """The model's float vector table, created (with its bit table) on first use. A model's
    dimension never changes."""
    row = db.one("SELECT dim, vec_table FROM face_models WHERE model_id=?", (model_id,))
    if row is not None:
        if row["dim"] != dim:
            raise InvalidField(
                f"model {model_id} makes {row['dim']}-d embeddings, got {dim}", field=field
            )
        _ensure_bit_table(db, row["vec_table"])
        return row["vec_table"]
    name = "face_vec_" + hashlib.sha256(model_id.encode()).hexdigest()[:16]
    _create_tables(db, name, dim)
    db.execute("INSERT INTO face_models VALUES (?,?,?,?)", (model_id, dim, name, now))
    return name


def _district_of(db: Db, institution_code: str | None) -> str:
    if not institution_code:
        return ""
    return db.scalar("SELECT district_code FROM institutions WHERE code=?", (institution_code,)) or ""


def _log(db: Db, model_id: str, template_id: int, op: str) -> None:
    db.execute("INSERT INTO face_index_log(model_id, template_id, op) VALUES (?,?,?)", (model_id, template_id, op))


def enrol(
    db: Db, *, psn_no: str, model_id: str, vector: np.ndarray, source: str, now: str,
    institution_code: str | None, terminal_id: str | None, quality: float | None,
    liveness_passed: bool | None,
) -> tuple[int, bool]:
    """Store (or replace) the person's template for this model. Returns (template_id, replaced)."""
    table = vec_table(db, model_id, int(vector.shape[0]), now)
    old = db.one("SELECT template_id FROM face_templates WHERE psn_no=? AND model_id=?", (psn_no, model_id))
    if old is not None:
        _remove(db, model_id, table, old["template_id"])
    tid = db.insert(
        "INSERT INTO face_templates(psn_no, model_id, source, institution_code, terminal_id,"
        " quality, liveness_passed, created_at) VALUES (?,?,?,?,?,?,?,?)",
        (psn_no, model_id, source, institution_code, terminal_id, quality,
         None if liveness_passed is None else int(liveness_passed), now),
    )
    vec = np.ascontiguousarray(vector, dtype=np.float32)
    db.execute(f"INSERT INTO {table}(template_id, embedding) VALUES (?,?)", (tid, vec.tobytes()))
    db.execute(f"INSERT INTO {f32_table_of(table)}(template_id, embedding) VALUES (?,?)", (tid, vec.tobytes()))
    db.execute(
        f"INSERT INTO {bit_table_of(table)}(template_id, bits, institution_code, district_code)"
        " VALUES (?, vec_bit(?), ?, ?)",
        (tid, quantise(vec), institution_code or "", _district_of(db, institution_code)),
    )
    _log(db, model_id, tid, "add")
    return tid, old is not None


def bulk_enrol(
    db: Db, *, model_id: str, psn_nos: Sequence[str], vectors: np.ndarray, institution_codes: Sequence[str],
    now: str, source: str = "embedding",
) -> int:
    """Seed many templates at once (load tests, benchmarks): persons must exist and have no
    template of this model yet. Returns the first template id; ids are consecutive."""
    n = len(psn_nos)
    if vectors.shape[0] != n or len(institution_codes) != n:
        raise ValueError("psn_nos, vectors and institution_codes must have the same length")
    table = vec_table(db, model_id, int(vectors.shape[1]), now)
    bits = bit_table_of(table)
    first = int(db.scalar("SELECT coalesce(max(template_id), 0) FROM face_templates")) + 1
    districts = {c: _district_of(db, c) for c in set(institution_codes)}
    vecs = np.ascontiguousarray(vectors, dtype=np.float32)
    packed = quantise_many(vecs)
    conn = db.conn
    conn.executemany(
        "INSERT INTO face_templates(template_id, psn_no, model_id, source, institution_code, created_at)"
        " VALUES (?,?,?,?,?,?)",
        ((first + i, psn_nos[i], model_id, source, institution_codes[i], now) for i in range(n)),
    )
    for t in (table, f32_table_of(table)):
        conn.executemany(f"INSERT INTO {t}(template_id, embedding) VALUES (?,?)",
                         ((first + i, vecs[i].tobytes()) for i in range(n)))
    conn.executemany(
        f"INSERT INTO {bits}(template_id, bits, institution_code, district_code) VALUES (?, vec_bit(?), ?, ?)",
        ((first + i, packed[i].tobytes(), institution_codes[i], districts[institution_codes[i]])
         for i in range(n)),
    )
    _log(db, model_id, 0, "reload")
    return first


def template(
    db: Db, psn_no: str, model_id: str, dim: int, *, person_field: str | None = None
) -> tuple[int, np.ndarray]:
    """The person's template for `model_id`; `dim` is the probe's dimension, checked first.

    With `person_field`, a person who does not exist is refused first (NotFound on that field),
    as `person_view` would. This is 1:1 verification's read path, so it is one query: the person,
    the template row and its vector from the plain float32 rowid table (a few µs, where reading
    the `vec0` table walked a chunk blob's overflow-page chain: 190-240 µs under load). The
    float32 table's name is remembered per connection with the model's dimension (neither changes
    until a compaction renames the table, and a renamed-away table no longer exists: the query
    then fails and the name is read again), so that re-enrolment and erasure, by this process or
    another, are always read from the database itself."""
    names = db.cache.setdefault("face_f32", {})
    known = names.get(model_id)
    if known is not None:
        try:
            rows = list(db.conn.execute(
                "SELECT p.psn_no IS NOT NULL, t.template_id, f.embedding"
                " FROM (SELECT ? AS psn_no, ? AS model_id) q"
                " LEFT JOIN persons p ON p.psn_no = q.psn_no"
                " LEFT JOIN face_templates t ON t.psn_no = q.psn_no AND t.model_id = q.model_id"
                f" LEFT JOIN {known[1]} f ON f.template_id = t.template_id",
                (psn_no, model_id),
            ))
        except apsw.SQLError:  # compacted (renamed) since: look the model up again
            names.pop(model_id, None)
        else:
            person, tid, blob = rows[0]
            if person_field is not None and not person:
                raise NotFound(f"person {psn_no} does not exist", field=person_field)
            _check_dim(model_id, known[0], dim)
            if tid is None:
                raise TemplateMissing(f"person {psn_no} has no template for model {model_id}",
                                      field="input.psn_no")
            if blob is not None:
                return tid, np.frombuffer(blob, dtype=np.float32)
    row = db.one(
        "SELECT p.psn_no IS NOT NULL AS person, m.dim, m.vec_table, t.template_id"
        " FROM (SELECT ? AS psn_no, ? AS model_id) q"
        " LEFT JOIN persons p ON p.psn_no = q.psn_no"
        " LEFT JOIN face_models m ON m.model_id = q.model_id"
        " LEFT JOIN face_templates t ON t.psn_no = q.psn_no AND t.model_id = q.model_id",
        (psn_no, model_id),
    )
    assert row is not None
    if person_field is not None and not row["person"]:
        raise NotFound(f"person {psn_no} does not exist", field=person_field)
    _check_dim(model_id, row["dim"], dim)
    if row["template_id"] is None:
        raise TemplateMissing(f"person {psn_no} has no template for model {model_id}", field="input.psn_no")
    tid = row["template_id"]
    f32 = f32_table_of(row["vec_table"])
    try:
        blob = db.scalar(f"SELECT embedding FROM {f32} WHERE template_id=?", (tid,))
    except apsw.SQLError:  # a model from before the float32 copy existed (created on its next write)
        blob = None
    else:
        names[model_id] = (row["dim"], f32)
    if blob is None:
        blob = db.scalar(f"SELECT embedding FROM {row['vec_table']} WHERE template_id=?", (tid,))
    return tid, np.frombuffer(blob, dtype=np.float32)


def _check_dim(model_id: str, model_dim: int | None, dim: int) -> None:
    if model_dim is not None and model_dim != dim:
        raise InvalidField(f"model {model_id} makes {model_dim}-d embeddings, got {dim}", field="input.capture")


def vectors(db: Db, model_id: str, template_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(ids found, float vectors as rows) for the given template ids; erased ids are absent."""
    model = db.one("SELECT dim, vec_table FROM face_models WHERE model_id=?", (model_id,))
    if model is None or not len(template_ids):
        return np.empty(0, np.int64), np.empty((0, model["dim"] if model else 0), np.float32)
    ids: list[int] = []
    blobs: list[bytes] = []
    step = 500  # keep each statement's parameter list short
    for s in range(0, len(template_ids), step):
        chunk = [int(t) for t in template_ids[s : s + step]]
        marks = ",".join("?" * len(chunk))
        for tid, blob in db.conn.execute(
            f"SELECT template_id, embedding FROM {model['vec_table']} WHERE template_id IN ({marks})", chunk
        ):
            ids.append(tid)
            blobs.append(blob)
    mat = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), model["dim"])
    return np.asarray(ids, dtype=np.int64), mat


def _remove(db: Db, model_id: str, table: str, template_id: int) -> None:
    db.execute(f"DELETE FROM {table} WHERE template_id=?", (template_id,))
    db.execute(f"DELETE FROM {bit_table_of(table)} WHERE template_id=?", (template_id,))
    db.execute(f"DELETE FROM {f32_table_of(table)} WHERE template_id=?", (template_id,))
    db.execute("DELETE FROM face_templates WHERE template_id=?", (template_id,))
    _log(db, model_id, template_id, "del")


def delete(db: Db, psn_no: str, model_id: str | None = None) -> int:
    """Erase the person's templates (of one model, or all): float vector, bit copy and row."""
    rows = db.all(
        "SELECT t.template_id, t.model_id, m.vec_table FROM face_templates t JOIN face_models m USING(model_id)"
        " WHERE t.psn_no=?" + (" AND t.model_id=?" if model_id else ""),
        (psn_no, model_id) if model_id else (psn_no,),
    )
    for r in rows:
        _ensure_bit_table(db, r["vec_table"])
        _remove(db, r["model_id"], r["vec_table"], r["template_id"])
    return len(rows)


# -- purging the write-ahead log after an erasure ------------------------------------------------
PURGE_ATTEMPT_MS = 20  # busy wait of one truncating checkpoint: how long it may hold writers back
_PURGE_PAUSE_S = (0.002, 0.25)  # pause between attempts: first, and largest (doubling)
BACKGROUND_PURGE_S = 3600.0  # a purge that could not finish in time keeps trying this long
_purgers: weakref.WeakKeyDictionary[Store, threading.Thread] = weakref.WeakKeyDictionary()
_purgers_lock = threading.Lock()


def purge_log(store: Store, timeout_s: float) -> bool:
    """Copy the write-ahead log into the database file and truncate the log to zero bytes, so that
    no old page image (e.g. of a template erased by the transaction that just committed) is left
    in it. Returns True when done, False if readers of older snapshots still held the log after
    `timeout_s` seconds: the purge then goes on in a background thread (see `wait_for_purge`).

    Must be called outside a transaction (after the commit). A reader that began before the
    erasure's commit may still read the erased template, so its snapshot's log frames cannot go
    before it ends: the purge waits. First a passive checkpoint copies the log while writers go
    on; then truncating checkpoints, each holding writers back for at most ~PURGE_ATTEMPT_MS while
    it waits for the last readers, are retried with pauses in between until the deadline."""
    if str(store.path) == ":memory:":
        return True
    try:
        if _purge(store.db().conn, timeout_s):
            return True
        log.warning("erasure: readers held the write-ahead log for %.1f s; it is purged in the background "
                    "as soon as they finish", timeout_s)
    except apsw.Error:  # the erasure has committed: its answer must not become an error
        log.exception("erasure: purging the write-ahead log failed; trying again in the background")
    _purge_in_background(store)
    return False


def wait_for_purge(store: Store, timeout_s: float) -> bool:
    """True once no background purge of `store` is running (waits at most `timeout_s`)."""
    with _purgers_lock:
        t = _purgers.get(store)
    if t is not None:
        t.join(timeout_s)
        return not t.is_alive()
    return True


def _purge(conn: apsw.Connection, timeout_s: float) -> bool:
    if conn.in_transaction:
        raise RuntimeError("purge_log must run after the commit, outside a transaction")
    deadline = time.monotonic() + timeout_s
    pause = _PURGE_PAUSE_S[0]
    conn.set_busy_timeout(PURGE_ATTEMPT_MS)
    try:
        _checkpoint(conn, "PASSIVE")
        while True:
            if _checkpoint(conn, "TRUNCATE"):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(pause, left))
            pause = min(2 * pause, _PURGE_PAUSE_S[1])
    finally:
        conn.set_busy_timeout(BUSY_TIMEOUT_MS)


def _checkpoint(conn: apsw.Connection, mode: str) -> bool:
    """One `PRAGMA wal_checkpoint(mode)`; True unless it was kept from finishing (busy)."""
    try:
        busy, _, _ = next(conn.execute(f"PRAGMA wal_checkpoint({mode})"))
    except apsw.BusyError:
        return False
    return not busy


def _purge_in_background(store: Store) -> None:
    with _purgers_lock:
        running = _purgers.get(store)
        if running is not None and running.is_alive():
            return
        t = threading.Thread(target=_background_purge, args=(store.connect(),), daemon=True,
                             name="scenemon-wal-purge")
        _purgers[store] = t
        t.start()


def _background_purge(conn: apsw.Connection) -> None:
    try:
        if _purge(conn, BACKGROUND_PURGE_S):
            log.info("erasure: the write-ahead log is purged")
        else:
            log.error("erasure: readers held the write-ahead log for over %.0f s; it is not purged",
                      BACKGROUND_PURGE_S)
    except apsw.Error:
        log.exception("erasure: purging the write-ahead log failed")
    finally:
        conn.close()


def compact(store: Store) -> dict[str, int]:
    """Reclaim the space of erased and replaced templates (and, in a database written before
    erasure zeroed them, destroy their bytes).

    sqlite-vec stores vectors in fixed-size chunks and only zeroes a deleted row's slot (older
    versions than 0.1.7 left its bytes), so a plain VACUUM cannot shrink a vector table. Each
    model's tables are therefore rebuilt under a new name (live rows only), the old ones dropped
    and the search mirrors told to reload; then the file is vacuumed (which rewrites every page,
    so freed pages and their old contents are gone) and the WAL truncated.

    VACUUM cannot run inside a transaction, so this is not a gateway transaction: it is run by
    `scenemon face compact`, best in a quiet hour (it holds the write lock while it copies the
    file). Returns the database's size (file + WAL) before and after, in bytes, and the number of
    templates kept.
    """
    before = _file_size(store)
    conn = store.db().conn
    # The old tables hold live templates only (erased ones were zeroed when they were erased), and
    # VACUUM rewrites every page below: zeroing each page of the dropped tables on the way (about
    # 6 KiB a template) would only write zeros through the log (20,000 templates, 10,000 kept:
    # 3.6 s with secure_delete left on, 2.9 s without).
    conn.execute("PRAGMA secure_delete=OFF")
    try:
        kept = _rebuild_vector_tables(store)
    finally:
        conn.execute(f"PRAGMA secure_delete={SECURE_DELETE}")
    db = store.db()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"bytes_before": before, "bytes_after": _file_size(store), "templates": kept}


def _rebuild_vector_tables(store: Store) -> int:
    """Each model's vector tables rebuilt under a new name with the live rows; returns how many."""
    with store.write() as db:
        first_reload: int | None = None
        kept = 0
        for m in db.all("SELECT model_id, dim, vec_table FROM face_models ORDER BY model_id"):
            old = m["vec_table"]
            _ensure_bit_table(db, old)
            new = _next_generation(m["model_id"], old)
            _create_tables(db, new, m["dim"])
            db.execute(f"INSERT INTO {new}(template_id, embedding) SELECT template_id, embedding FROM {old}")
            db.execute(f"INSERT INTO {f32_table_of(new)}(template_id, embedding)"
                       f" SELECT template_id, embedding FROM {f32_table_of(old)}")
            db.execute(
                f"INSERT INTO {bit_table_of(new)}(template_id, bits, institution_code, district_code)"
                f" SELECT template_id, vec_bit(bits), institution_code, district_code FROM {bit_table_of(old)}"
            )
            kept += db.scalar(f"SELECT count(*) FROM {new}")
            db.execute(f"DROP TABLE {old}")
            db.execute(f"DROP TABLE {bit_table_of(old)}")
            db.execute(f"DROP TABLE {f32_table_of(old)}")
            db.execute("UPDATE face_models SET vec_table=? WHERE model_id=?", (new, m["model_id"]))
            _log(db, m["model_id"], 0, "reload")
            seq = db.conn.last_insert_rowid()
            first_reload = seq if first_reload is None else first_reload
        if first_reload is not None:
            # Every mirror reloads at its model's 'reload' row, so older rows are no longer needed.
            db.execute("DELETE FROM face_index_log WHERE seq < ?", (first_reload,))
    return kept


def _next_generation(model_id: str, table: str) -> str:
    """face_vec_<hash> → face_vec_<hash>_g1 → face_vec_<hash>_g2 … (a new name for each rebuild)."""
    base = "face_vec_" + hashlib.sha256(model_id.encode()).hexdigest()[:16]
    suffix = table[len(base):] if table.startswith(base) else ""
    gen = int(suffix[2:]) + 1 if suffix.startswith("_g") and suffix[2:].isdigit() else 1
    return f"{base}_g{gen}"


def _file_size(store: Store) -> int:
    total = 0
    for suffix in ("", "-wal"):
        p = store.path.with_name(store.path.name + suffix)
        if p.exists():
            total += p.stat().st_size
    return total
