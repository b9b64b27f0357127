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
mirrors (reference.face.search) can follow. `compact()` rebuilds the vector tables and vacuums
the file, so that the space — and the bytes — of erased templates are really gone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import apsw
import numpy as np

from reference.errors import InvalidField, NotFound, TemplateMissing
from reference.store import Db, Store


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


def compact(store: Store) -> dict[str, int]:
    """Reclaim the space, and destroy the bytes, of erased and replaced templates.

    sqlite-vec stores vectors in fixed-size chunks and only marks a deleted row invalid, so the
    embedding of an erased template stays in the file and a plain VACUUM cannot shrink a vector
    table. Each model's two tables are therefore rebuilt under a new name (live rows only), the
    old ones dropped and the search mirrors told to reload; then the file is vacuumed (which
    rewrites every page, so freed pages and their old contents are gone) and the WAL truncated.

    VACUUM cannot run inside a transaction, so this is not a gateway transaction: it is run by
    `scenemon face compact`, best in a quiet hour (it holds the write lock while it copies the
    file). Returns the database's size (file + WAL) before and after, in bytes, and the number of
    templates kept.
    """
    before = _file_size(store)
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
    db = store.db()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"bytes_before": before, "bytes_after": _file_size(store), "templates": kept}


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
