"""1:N face identification (人脸检索): who, among the enrolled templates, is this face?

Two stages, as in most large-scale face search systems:

1. **Coarse scan by Hamming distance** over the binary-quantised templates (one sign bit per
   dimension, `reference.face.templates.quantise`). The sign bits of two unit vectors at angle θ
   differ in about θ/π of the dimensions, so Hamming distance ranks templates roughly as cosine
   does, at 1/32 of the memory and with XOR + popcount instead of multiply-adds. The scan keeps the
   best `oversample` templates (ties at the cut-off included).
2. **Exact re-scoring**: those candidates' float embeddings are read (from the model's plain
   float32 rowid table beside the sqlite-vec tables, see reference.face.templates) and scored by
   cosine similarity; the best `k` at or above the threshold are the answer.

The scan runs over an in-memory mirror (`BitMirror`) of a model's bit table: a column-major
uint64 matrix (one row per 64 dimensions), the template ids and the enrolling institution and
district of each. A mirror follows every change through `face_index_log`, which enrolment,
re-enrolment, erasure and compaction append to in their own transaction; before each search it
reads the rows after the last one it applied, on its own connection, so it sees exactly the
committed state — also changes made by other connections and other processes — and never an
uncommitted write of the transaction that is searching.

Without a mirror (`mirror=False`, or a `:memory:` database) the same two stages run inside
SQLite: sqlite-vec's own KNN over the `bit[dim]` table, with the scope as a metadata filter.

`identify` is the one entry point: 1:N identification (transaction 8124), enrolment
de-duplication (8121) and the pharmacy multi-card check all call it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from reference.face.templates import bit_table_of, f32_table_of, quantise
from reference.store import Store

DEFAULT_OVERSAMPLE = 256
_TIE_CAP = 4  # at most this many times `oversample` candidates when many tie at the cut-off


@dataclass(frozen=True)
class Scope:
    """Where to search: the templates enrolled by one institution, or in one district, or (both
    None) the whole city. Giving both means the institution, which must lie in the district."""

    institution_code: str | None = None
    district_code: str | None = None


CITY = Scope()


@dataclass(frozen=True)
class Candidate:
    template_id: int
    psn_no: str
    score: float  # cosine similarity, exact
    institution_code: str  # who enrolled the template ('' if unknown)


@dataclass(frozen=True)
class SearchResult:
    candidates: list[Candidate]  # best first, at most k, all with score >= threshold
    gallery_size: int  # templates of this model within the scope
    rescored: int  # how many were re-scored exactly


def identify(
    store: Store, model_id: str, vector: np.ndarray, *, k: int, threshold: float, scope: Scope = CITY,
    oversample: int = DEFAULT_OVERSAMPLE, exclude_template_ids: Iterable[int] = (), mirror: bool = True,
) -> SearchResult:
    """The best `k` templates of `model_id` whose cosine with `vector` is at least `threshold`,
    within `scope`, leaving out `exclude_template_ids` (e.g. the person's own template).

    Reads committed data only (see the module docstring), so it may be called inside an open
    write transaction without seeing that transaction's own changes.
    """
    if k < 1 or oversample < 1:
        raise ValueError("k and oversample must be at least 1")
    vec = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
    if mirror and str(store.path) != ":memory:":
        return mirror_for(store, model_id).search(vec, k=k, threshold=threshold, scope=scope,
                                                   oversample=oversample, exclude=set(exclude_template_ids))
    return _identify_sqlite(store, model_id, vec, k=k, threshold=threshold, scope=scope,
                            oversample=oversample, exclude=set(exclude_template_ids))


# -- mirrors --------------------------------------------------------------------------------------
_mirrors: weakref.WeakKeyDictionary[Store, dict[str, BitMirror]] = weakref.WeakKeyDictionary()
_mirrors_lock = threading.Lock()


def mirror_for(store: Store, model_id: str) -> BitMirror:
    """This process's mirror of the model's bit table in `store` (created on first use)."""
    with _mirrors_lock:
        per_store = _mirrors.setdefault(store, {})
        m = per_store.get(model_id)
        if m is None:
            m = per_store[model_id] = BitMirror(store, model_id)
        return m


def drop_mirrors(store: Store) -> None:
    """Close and forget the store's mirrors (tests, or before deleting the file)."""
    with _mirrors_lock:
        for m in _mirrors.pop(store, {}).values():
            m.close()


class BitMirror:
    """An in-memory copy of one model's bit vectors that follows `face_index_log`."""

    def __init__(self, store: Store, model_id: str) -> None:
        self.model_id = model_id
        self._conn = store.connect()
        self._lock = threading.Lock()
        self.last_seq: int | None = None  # None: never loaded
        self.reloads = 0  # full loads so far (observable by tests)
        self._reset(0, 0)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- state -----------------------------------------------------------------------------------
    def _reset(self, dim: int, capacity: int) -> None:
        self.dim = dim
        self.words = (dim + 63) // 64
        self.n = 0
        self.cols = np.zeros((self.words, capacity), np.uint64)
        self.ids = np.zeros(capacity, np.int64)
        self.inst = np.zeros(capacity, np.int32)
        self.dist = np.zeros(capacity, np.int32)
        self.pos: dict[int, int] = {}
        self.codes: dict[str, int] = {"": 0}
        self.vec_table: str | None = None

    def _code(self, code: str | None) -> int:
        code = code or ""
        idx = self.codes.get(code)
        if idx is None:
            idx = self.codes[code] = len(self.codes)
        return idx

    def _words_of(self, packed: np.ndarray) -> np.ndarray:
        """uint8 rows of dim/8 bytes → uint64 rows of `words` (zero-padded; zeros XOR to zero)."""
        rows = packed.shape[0]
        buf = np.zeros((rows, self.words * 8), np.uint8)
        buf[:, : packed.shape[1]] = packed
        return buf.view(np.uint64)

    def _grow(self, need: int) -> None:
        cap = self.ids.shape[0]
        if need <= cap:
            return
        new = max(need, 2 * cap, 1024)
        cols = np.zeros((self.words, new), np.uint64)
        cols[:, : self.n] = self.cols[:, : self.n]
        self.cols = cols
        for name in ("ids", "inst", "dist"):
            old = getattr(self, name)
            arr = np.zeros(new, old.dtype)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)

    def _append(self, rows: Sequence[tuple[int, bytes, str, str]]) -> None:
        if not rows:
            return
        packed = np.frombuffer(b"".join(r[1] for r in rows), np.uint8).reshape(len(rows), self.dim // 8)
        words = self._words_of(packed)
        self._grow(self.n + len(rows))
        s, e = self.n, self.n + len(rows)
        self.cols[:, s:e] = words.T
        self.ids[s:e] = [r[0] for r in rows]
        self.inst[s:e] = [self._code(r[2]) for r in rows]
        self.dist[s:e] = [self._code(r[3]) for r in rows]
        for i, r in enumerate(rows):
            self.pos[r[0]] = s + i
        self.n = e

    def _remove(self, template_id: int) -> None:
        """Swap-remove: the last row moves into the hole."""
        i = self.pos.pop(template_id, None)
        if i is None:
            return
        last = self.n - 1
        if i != last:
            self.cols[:, i] = self.cols[:, last]
            for arr in (self.ids, self.inst, self.dist):
                arr[i] = arr[last]
            self.pos[int(self.ids[i])] = i
        self.n = last

    # -- following the log -----------------------------------------------------------------------
    def _q(self, sql: str, params: Sequence = ()) -> list[tuple]:
        return list(self._conn.execute(sql, params))

    def _reload(self) -> None:
        model = self._q("SELECT dim, vec_table FROM face_models WHERE model_id=?", (self.model_id,))
        if not model:
            self._reset(0, 0)
            return
        dim, table = model[0]
        rows = self._q(f"SELECT template_id, bits, institution_code, district_code FROM {bit_table_of(table)}")
        self._reset(dim, len(rows))
        self.vec_table = table
        self._append(rows)
        self.reloads += 1

    def sync(self) -> None:
        """Apply the committed changes since the last call (caller holds the lock)."""
        self._conn.execute("BEGIN")
        try:
            self._sync_in_snapshot()
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _sync_in_snapshot(self) -> None:
        top = self._q("SELECT coalesce(max(seq), 0) FROM face_index_log")[0][0]
        if self.last_seq is None or top < self.last_seq:  # first use, or a different database
            self._reload()
            self.last_seq = top
            return
        if top == self.last_seq:
            return
        log = self._q("SELECT template_id, op FROM face_index_log WHERE seq > ? AND model_id=? ORDER BY seq",
                      (self.last_seq, self.model_id))
        if any(op == "reload" for _, op in log) or (log and self.vec_table is None):
            self._reload()
            self.last_seq = top
            return
        added: dict[int, None] = {}  # ordered set of ids whose last operation is 'add'
        for tid, op in log:
            if op == "add":
                added[tid] = None
            else:  # del
                added.pop(tid, None)
                self._remove(tid)
        if added:
            ids = list(added)
            rows: list[tuple] = []
            for s in range(0, len(ids), 500):
                chunk = ids[s : s + 500]
                rows += self._q(
                    f"SELECT template_id, bits, institution_code, district_code FROM {bit_table_of(self.vec_table)}"
                    f" WHERE template_id IN ({','.join('?' * len(chunk))})", chunk)
            for r in rows:
                self._remove(r[0])  # an id re-used after its deletion: replace, never duplicate
            self._append(rows)
        self.last_seq = top

    # -- search ----------------------------------------------------------------------------------
    def hamming(self, vector: np.ndarray) -> np.ndarray:
        """Hamming distance from the vector's bits to every mirrored template (uint16, row order)."""
        q = self._words_of(np.frombuffer(quantise(vector), np.uint8)[None, :])[0]
        n = self.n
        dist = np.zeros(n, np.uint16)
        tmp = np.empty(n, np.uint64)
        cnt = np.empty(n, np.uint8)
        for j in range(self.words):  # one contiguous pass per 64 dimensions
            np.bitwise_xor(self.cols[j, :n], q[j], out=tmp)
            np.bitwise_count(tmp, out=cnt)
            dist += cnt
        return dist

    def search(self, vector: np.ndarray, *, k: int, threshold: float, scope: Scope, oversample: int,
               exclude: set[int]) -> SearchResult:
        with self._lock:
            self._conn.execute("BEGIN")  # one snapshot for the catch-up and the re-scoring
            try:
                self._sync_in_snapshot()
                return self._search(vector, k=k, threshold=threshold, scope=scope, oversample=oversample,
                                    exclude=exclude)
            finally:
                self._conn.execute("COMMIT")

    def _search(self, vector: np.ndarray, *, k: int, threshold: float, scope: Scope, oversample: int,
                exclude: set[int]) -> SearchResult:
        if self.n == 0 or self.vec_table is None:
            return SearchResult([], 0, 0)
        if vector.shape[0] != self.dim:
            raise ValueError(f"model {self.model_id} makes {self.dim}-d embeddings, got {vector.shape[0]}")
        dist = self.hamming(vector)
        rows = self._scope_rows(scope)
        if rows is not None:
            dist = dist[rows]
        gallery = int(dist.shape[0])
        excluded = [self.pos[t] for t in exclude if t in self.pos]
        if excluded:
            where = np.asarray(excluded) if rows is None else np.flatnonzero(np.isin(rows, excluded))
            dist[where] = self.dim + 1  # beyond any real distance: never selected
        sel = coarse_select(dist, oversample, self.dim)
        if rows is not None:
            sel = rows[sel]
        tids = self.ids[sel]
        return _rescore(self._q, self.vec_table, self.dim, vector, tids, k=k, threshold=threshold,
                        gallery=gallery)

    def _scope_rows(self, scope: Scope) -> np.ndarray | None:
        """Row numbers inside the scope, or None for the whole city."""
        if scope.institution_code is None and scope.district_code is None:
            return None
        mask = np.ones(self.n, bool)
        for code, col in ((scope.institution_code, self.inst), (scope.district_code, self.dist)):
            if code is not None:
                idx = self.codes.get(code)
                if idx is None:
                    return np.empty(0, np.int64)
                mask &= col[: self.n] == idx
        return np.flatnonzero(mask)


def coarse_select(dist: np.ndarray, m: int, dim: int) -> np.ndarray:
    """Indices of the `m` smallest distances ≤ dim, with every tie at the cut-off (up to a cap).

    A histogram of the distances (at most dim + 1 values) gives the cut-off in one pass, which is
    cheaper than a partial sort over a million entries."""
    hist = np.bincount(dist, minlength=dim + 2)[: dim + 1]
    total = int(hist.sum())
    if total == 0:
        return np.empty(0, np.int64)
    m = min(m, total)
    cut = int(np.searchsorted(np.cumsum(hist), m))
    sel = np.flatnonzero(dist <= cut)
    if sel.shape[0] > _TIE_CAP * m:
        sel = sel[np.argpartition(dist[sel], m - 1)[:m]]
    return sel


def _rescore(q, vec_table: str, dim: int, vector: np.ndarray, tids: np.ndarray, *, k: int, threshold: float,
             gallery: int) -> SearchResult:
    """Exact cosine for the candidates (float32 blobs, read by rowid); best k ≥ threshold."""
    ids: list[int] = []
    blobs: list[bytes] = []
    order = np.sort(tids)  # ascending ids read the B-tree in order
    for s in range(0, order.shape[0], 500):
        chunk = [int(t) for t in order[s : s + 500]]
        for tid, blob in q(f"SELECT template_id, embedding FROM {f32_table_of(vec_table)}"
                           f" WHERE template_id IN ({','.join('?' * len(chunk))})", chunk):
            ids.append(tid)
            blobs.append(blob)
    if not ids:
        return SearchResult([], gallery, 0)
    mat = np.frombuffer(b"".join(blobs), np.float32).reshape(len(ids), dim)
    scores = mat.astype(np.float64) @ vector.astype(np.float64)
    id_arr = np.asarray(ids, np.int64)
    keep = np.flatnonzero(scores >= threshold)
    keep = keep[np.lexsort((id_arr[keep], -scores[keep]))][:k]  # best score first; ties: lower id
    best = [int(id_arr[i]) for i in keep]
    meta = {}
    if best:
        meta = {r[0]: (r[1], r[2] or "") for r in q(
            f"SELECT template_id, psn_no, institution_code FROM face_templates"
            f" WHERE template_id IN ({','.join('?' * len(best))})", best)}
    out = [Candidate(int(id_arr[i]), meta[int(id_arr[i])][0], float(scores[i]), meta[int(id_arr[i])][1])
           for i in keep if int(id_arr[i]) in meta]
    return SearchResult(out, gallery, len(ids))


# -- without a mirror: sqlite-vec's own scan ------------------------------------------------------
def _identify_sqlite(store: Store, model_id: str, vector: np.ndarray, *, k: int, threshold: float, scope: Scope,
                     oversample: int, exclude: set[int]) -> SearchResult:
    db = store.db()

    def q(sql: str, params: Sequence = ()) -> list[tuple]:
        return list(db.conn.execute(sql, params))

    model = q("SELECT dim, vec_table FROM face_models WHERE model_id=?", (model_id,))
    if not model:
        return SearchResult([], 0, 0)
    dim, table = model[0]
    if vector.shape[0] != dim:
        raise ValueError(f"model {model_id} makes {dim}-d embeddings, got {vector.shape[0]}")
    bits = bit_table_of(table)
    where, params = "", []
    for col, code in (("institution_code", scope.institution_code), ("district_code", scope.district_code)):
        if code is not None:
            where += f" AND {col} = ?"
            params.append(code)
    gallery = q(f"SELECT count(*) FROM {bits} WHERE 1=1{where}", params)[0][0]
    knn = q(f"SELECT template_id FROM {bits} WHERE bits MATCH vec_bit(?) AND k = ?{where}",
            [quantise(vector), min(4096, oversample + len(exclude)), *params])
    tids = np.asarray([t for (t,) in knn if t not in exclude][:oversample], np.int64)
    return _rescore(q, table, dim, vector, tids, k=k, threshold=threshold, gallery=gallery)
