"""Benchmark: erasure of face templates (8123) and what it costs (GEN-5, PIPL).

After 8123 answers, no byte of the erased templates — nor of earlier templates of the person that
a re-enrolment replaced — may be left in the database files. The mechanism (see
reference.face.templates): sqlite-vec zeroes a deleted row's chunk slot, `PRAGMA secure_delete=ON`
zeroes deleted rows and freed pages, and 8123 checkpoints and truncates the write-ahead log after
its commit. This script measures, on the reference server's gateway in this process (signed
requests, no HTTP framing):

1. forensics: bytes of erased and replaced templates found by a scan of the database files
   (main file, -wal, -shm, -journal) after 8123 — with the mechanism, and with the old behaviour
   (secure_delete OFF, no purge) for comparison; and (churn) after hundreds of enrolments,
   re-enrolments and erasures in random order, by secure_delete mode (OFF, FAST, ON);
2. writes: what secure_delete OFF / FAST / ON costs ordinary transactions — first enrolment,
   re-enrolment (which deletes the old template) and 1:1 verification — on a recycled log;
3. erase: the latency of 8123 (and of its purge) by how much of the log was not yet
   checkpointed when it ran;
4. concurrent: 1:1 verifications in client threads while a bureau erases now and then: their
   latency with and without the erasures, and the commits that regrow the truncated log.

    python -m loadtests.bench_erasure [--sections forensics,churn,writes,erase,concurrent] [--repeat 300]
                                      [--rounds 3] [--seconds 10] [--threads 2]

The scan (`template_bytes_on_disk`) looks for every 8-byte piece of the float32 embedding and of
its packed sign bits, at any byte offset, so it also finds a vector that a page boundary split
(sqlite-vec's chunks span overflow pages). The tests use it too (tests/reference/face/
test_face_erasure.py). Figures move by ±10 % between runs on a shared 2-core VM.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from reference.face import templates
from reference.signing import sign_headers
from reference.store import db as store_db

SECRET = "bench-secret"
PIECE = 8  # bytes: two float32 values, or 64 sign bits
DB_SUFFIXES = ("", "-wal", "-shm", "-journal")


# -- the scan ------------------------------------------------------------------------------------
def vector_pieces(vectors: Iterable[np.ndarray]) -> np.ndarray:
    """The distinct 8-byte pieces (as uint64) of each vector's float32 bytes and packed sign bits
    (`templates.quantise`), at every 8-byte offset. Pieces without 4 distinct byte values (e.g.
    zeros, or sign bits of a degenerate vector) are left out: they occur anywhere."""
    keys = []
    for v in vectors:
        f32 = np.ascontiguousarray(v, dtype="<f4").tobytes()
        bits = templates.quantise(np.asarray(v, dtype=np.float32))
        for blob in (f32, bits):
            usable = len(blob) - len(blob) % PIECE
            keys.append(np.frombuffer(blob[:usable], dtype="<u8"))
    if not keys:
        return np.empty(0, np.uint64)
    allk = np.unique(np.concatenate(keys))
    distinct = np.array([len(set(int(k).to_bytes(8, "little"))) >= 4 for k in allk], bool)
    return allk[distinct]


def database_files(db_path: Path) -> list[Path]:
    """The database file and its companions that exist (write-ahead log, shared memory, journal)."""
    return [p for p in (db_path.with_name(db_path.name + s) for s in DB_SUFFIXES) if p.exists()]


def template_bytes_on_disk(db_path: Path, vectors: Iterable[np.ndarray], *, copies: bool = False) -> dict[str, int]:
    """{file name: bytes of the vectors found in it} over the database files, 0-byte entries left
    out: each 8-byte piece of a vector's float32 bytes or sign bits found at any offset counts 8
    bytes, once (or, with `copies`, once for every place it is found)."""
    keys = vector_pieces(vectors)
    found: dict[str, int] = {}
    for path in database_files(db_path):
        data = np.frombuffer(path.read_bytes(), np.uint8)
        hits = []
        for shift in range(PIECE):
            usable = (data.shape[0] - shift) // PIECE * PIECE
            if usable > 0:
                words = data[shift : shift + usable].view("<u8")
                hits.append(words[np.isin(words, keys)])
        hit = np.concatenate(hits) if hits else np.empty(0, np.uint64)
        n = hit.shape[0] if copies else np.unique(hit).shape[0]
        if n:
            found[path.name] = int(n) * PIECE
    return found


# -- an in-process server ------------------------------------------------------------------------
class Bench:
    """A reference server's gateway in this process, a small world, and signed calls into it."""

    def __init__(self, tmp: Path, n_persons: int, **settings) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from fastapi.testclient import TestClient

        from device_mocks.world import bootstrap_world
        from reference.api.app import create_app
        from reference.config import Settings
        from reference.face.synthetic import SyntheticFaces

        self.settings = Settings(db_path=tmp / "bench.db", bootstrap_secret=SECRET, face_engine="embedding-only",
                                 **settings)
        self.app = create_app(self.settings)
        self.state = self.app.state.scenemon
        self.gateway = self.app.state.gateway
        self.model_id = SyntheticFaces().model_id
        with TestClient(self.app, base_url="http://bench") as tc:
            self.world = bootstrap_world("http://bench", "city-admin", SECRET, http=tc, tag="E2A5E0",
                                         n_persons=n_persons)
        self.term = self.world.terminal()
        self.bureau = self.world.bureau
        self.rng = np.random.default_rng(11)

    @property
    def db_path(self) -> Path:
        return Path(self.settings.db_path)

    def close(self) -> None:
        from reference.face import search

        search.drop_mirrors(self.state.store)
        self.state.store.close()

    def vector(self) -> np.ndarray:
        v = self.rng.standard_normal(512).astype(np.float32)
        return v / np.linalg.norm(v)

    def capture(self, v: np.ndarray) -> dict:
        return {"embedding_b64": base64.b64encode(np.asarray(v, "<f4").tobytes()).decode(),
                "embedding_model": self.model_id, "liveness": {"passed": True}, "quality": 0.8}

    def call(self, who, infno: str, inp: dict) -> dict:
        body = json.dumps(who.envelope(infno, inp), ensure_ascii=False).encode()
        headers = {**sign_headers(who.sender, who.secret, body), "content-type": "application/json"}
        _, payload = self.gateway.handle(infno, headers, body)
        if payload["infcode"] != 0:
            raise RuntimeError(f"{infno} refused: {payload}")
        return payload["output"]

    def enrol(self, psn: str, v: np.ndarray) -> dict:
        return self.call(self.term, "8121", {"psn_no": psn, "capture": self.capture(v)})

    def verify(self, psn: str, v: np.ndarray) -> dict:
        return self.call(self.term, "8122", {"psn_no": psn, "scene": "inpatient", "capture": self.capture(v)})

    def erase(self, psn: str) -> dict:
        return self.call(self.bureau, "8123", {"psn_no": psn})

    def stored(self, psn: str) -> np.ndarray:
        """The template as the server stored it (normalised float32)."""
        return templates.template(self.state.store.db(), psn, self.model_id, 512)[1].copy()

    def recycle_wal(self, psn: str, v: np.ndarray, limit: int = 50_000) -> int:
        """Verifications until the log has filled once and is being rewritten from its start (a
        running server's steady state: a fresh log's growth costs each commit ~130 µs more)."""
        wal = Path(f"{self.db_path}-wal")
        full = self.settings.sqlite_wal_autocheckpoint * (4096 + 24)
        largest = 0
        for n in range(1, limit + 1):
            self.verify(psn, v)
            size = wal.stat().st_size if wal.exists() else 0
            if largest >= full and size <= largest:
                return n
            largest = max(largest, size)
        raise RuntimeError("the log did not recycle")


@contextmanager
def secure_delete(mode: str) -> Iterator[None]:
    """Connections opened inside use `PRAGMA secure_delete=mode`."""
    old = store_db.SECURE_DELETE
    store_db.SECURE_DELETE = mode
    try:
        yield
    finally:
        store_db.SECURE_DELETE = old


@contextmanager
def without_purge() -> Iterator[None]:
    """The behaviour before erasure purged the log: 8123 commits and answers, nothing more."""
    real = templates.purge_log
    templates.purge_log = lambda store, timeout_s: True
    try:
        yield
    finally:
        templates.purge_log = real


def _ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100) if len(values) >= 2 else values * 99
    return f"median {statistics.median(values) * 1e3:7.3f} ms, p95 {q[94] * 1e3:7.3f} ms"


# -- 1. forensics --------------------------------------------------------------------------------
def forensics(tmp: Path, n_persons: int = 40) -> None:
    size = 512 * 4 + 512 // 8
    print(f"1. the erased person's two templates (enrolled, re-enrolled, then erased; {n_persons} persons "
          f"enrolled) in the database files after 8123, in bytes found counting every copy (one "
          f"template's float32 and sign bits: {size} B)")
    for label, mode, purge in (("before: secure_delete OFF, no purge", "OFF", False),
                               ("FAST, log purged", "FAST", True),
                               ("now: secure_delete ON, log purged", "ON", True)):
        for checkpointed in (False, True):
            d = Path(tempfile.mkdtemp(dir=tmp))
            with secure_delete(mode), (without_purge() if not purge else _nothing()):
                b = Bench(d, n_persons)
                people = b.world.persons
                target = people[0]
                b.enrol(target, b.vector())
                first = b.stored(target)
                for p in people[1:]:
                    b.enrol(p, b.vector())
                b.enrol(target, b.vector())
                second = b.stored(target)
                if checkpointed:  # as a running server's automatic checkpoint would, before the erasure
                    b.state.store.db().execute("PRAGMA wal_checkpoint(PASSIVE)")
                b.erase(target)
                after = template_bytes_on_disk(b.db_path, [first, second], copies=True)
                b.close()
            when = "log checkpointed before 2003" if checkpointed else "all still in the log"
            print(f"   {label:<36} {when:<29} after 2003: {_fmt(after)}")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _fmt(found: dict[str, int]) -> str:
    return ", ".join(f"{k} {v} B" for k, v in sorted(found.items())) or "nothing"


# -- 1b. churn -----------------------------------------------------------------------------------
def churn(tmp: Path, n_persons: int = 400, steps: int = 1200) -> None:
    print(f"1b. {steps} enrolments, re-enrolments and erasures in random order over {n_persons} persons "
          "(store level), then the purge: bytes of removed templates found, by secure_delete mode")
    from reference.store import open_store

    for mode in ("OFF", "FAST", "ON"):
        d = Path(tempfile.mkdtemp(dir=tmp))
        with secure_delete(mode):
            store = open_store(d / "churn.db")
            persons = _registry(store, n_persons)
            rng, current, gone = np.random.default_rng(5), {}, []
            for step in range(steps):
                p = persons[step] if step < n_persons else persons[int(rng.integers(n_persons))]
                if p in current and rng.random() < 0.3:
                    with store.write() as db:
                        templates.delete(db, p)
                    gone.append(current.pop(p))
                    continue
                v = rng.standard_normal(512).astype(np.float32)
                v /= np.linalg.norm(v)
                with store.write() as db:
                    templates.enrol(db, psn_no=p, model_id="m", vector=v, source="embedding", now=_NOW,
                                    institution_code=None, terminal_id=None, quality=None, liveness_passed=None)
                if p in current:
                    gone.append(current[p])
                current[p] = v
            purged = templates.purge_log(store, 10.0)
            found = template_bytes_on_disk(store.path, gone, copies=True)
            distinct = sum(template_bytes_on_disk(store.path, gone).values())
            store.close()
        print(f"   {mode:<4}: {len(gone)} removed, {len(current)} live; log purged {purged}; removed templates' "
              f"bytes found: {_fmt(found)} (distinct {distinct} B)")


_NOW = "2026-03-02T08:00:00"


def _registry(store, n: int) -> list[str]:
    psns = [f"P{i:05d}" for i in range(n)]
    with store.write() as db:
        db.conn.executemany(
            "INSERT INTO persons(psn_no, certno, psn_name, gend, brdy, insuplc_admdvs, created_at, created_by,"
            " updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            ((p, f"C{p}", "n", "1", "1980-01-01", "410100", _NOW, "bench", _NOW) for p in psns))
    return psns


# -- 2. writes -----------------------------------------------------------------------------------
WRITE_KINDS = ("enrol (first)", "re-enrol", "verify 1:1")
MODES = ("OFF", "FAST", "ON")


def writes(tmp: Path, repeat: int, rounds: int) -> None:
    print(f"2. ordinary writes by secure_delete mode: in-process gateway, {repeat} of each per round, {rounds} "
          "rounds (modes interleaved); medians over the rounds of each round's median. Time on a recycled "
          "log: wall clock, and the thread's CPU time (user + system: steadier on a shared machine); log "
          "pages written per transaction, from a truncated log's growth")
    per: dict[str, dict[str, list[tuple[float, float, float]]]] = {m: {k: [] for k in WRITE_KINDS} for m in MODES}
    for r in range(rounds):
        for mode, res in per.items():
            for kind, figures in _writes_once(Path(tempfile.mkdtemp(dir=tmp)), mode, repeat).items():
                res[kind].append(figures)
        print(f"   round {r + 1}/{rounds} done", flush=True)
    for kind in WRITE_KINDS:
        base = [statistics.median(f[i] for f in per["OFF"][kind]) for i in range(3)]
        print(f"   {kind}:")
        for mode in MODES:
            wall, cpu, pages = (statistics.median(f[i] for f in per[mode][kind]) for i in range(3))
            print(f"      {mode:<4} wall {wall * 1e6:7.1f} µs ({(wall - base[0]) * 1e6:+6.1f}), "
                  f"CPU {cpu * 1e6:7.1f} µs ({(cpu - base[1]) * 1e6:+6.1f}), "
                  f"log pages {pages:5.2f} ({pages - base[2]:+5.2f})")


def _writes_once(d: Path, mode: str, repeat: int) -> dict[str, tuple[float, float, float]]:
    """(median wall s, median CPU s, log pages per transaction) of each kind of write, on a fresh
    server with `secure_delete=mode`. Each person is enrolled for the first time, then re-enrolled,
    then verified."""
    with secure_delete(mode):
        b = Bench(d, 2 * repeat + 1)
        people = b.world.persons
        anchor, va = people[-1], b.vector()
        b.enrol(anchor, va)
        vecs = [b.vector() for _ in range(2 * repeat)]
        wal = Path(f"{b.db_path}-wal")
        out = {}
        for kind in WRITE_KINDS:
            b.recycle_wal(anchor, va)
            wall, cpu = [], []
            for i in range(2 * repeat):
                if i == repeat:  # the second half from a truncated log: its growth counts the pages
                    templates.purge_log(b.state.store, 10.0)
                    size0 = wal.stat().st_size if wal.exists() else 0
                v = b.vector() if kind == "re-enrol" else vecs[i]
                t0, c0 = time.perf_counter(), time.thread_time()
                if kind == "verify 1:1":
                    b.verify(people[i], v)
                else:
                    b.enrol(people[i], v)
                if i < repeat:
                    wall.append(time.perf_counter() - t0)
                    cpu.append(time.thread_time() - c0)
            pages = ((wal.stat().st_size if wal.exists() else 0) - size0) / (4096 + 24) / repeat
            out[kind] = (statistics.median(wall), statistics.median(cpu), pages)
        b.close()
    return out


# -- 3. erase latency ----------------------------------------------------------------------------
def erase(tmp: Path, repeat: int) -> None:
    print("3. latency of 8123 by the log written since the last checkpoint (verifications before it)")
    d = Path(tempfile.mkdtemp(dir=tmp))
    b = Bench(d, repeat + 1)
    people = b.world.persons
    anchor, va = people[-1], b.vector()
    b.enrol(anchor, va)
    b.recycle_wal(anchor, va)
    purge_times: list[float] = []
    real = templates.purge_log

    def timed(store, timeout_s):
        t0 = time.perf_counter()
        try:
            return real(store, timeout_s)
        finally:
            purge_times.append(time.perf_counter() - t0)

    templates.purge_log = timed
    try:
        for since in (0, 100, 1000, 5000):
            totals: list[float] = []
            purge_times.clear()
            for i in range(max(3, repeat // 20)):
                p = people[i]
                b.enrol(p, b.vector())
                for _ in range(since):
                    b.verify(anchor, va)
                t0 = time.perf_counter()
                b.erase(p)
                totals.append(time.perf_counter() - t0)
            print(f"   {since:>5} verifications since the last purge: 8123 {_ms(totals)}; of which purge "
                  f"{_ms(purge_times)}")
    finally:
        templates.purge_log = real
        b.close()


# -- 4. concurrent requests ----------------------------------------------------------------------
def concurrent(tmp: Path, seconds: float, threads: int, every_s: float) -> None:
    print(f"4. 1:1 verifications in {threads} client threads for {seconds:.0f} s, without and with an "
          f"erasure every {every_s:.1f} s (enrol + 8123 by a bureau thread)")
    for with_erasures in (False, True):
        lat, erase_lat = _concurrent_once(Path(tempfile.mkdtemp(dir=tmp)), seconds, threads,
                                          every_s if with_erasures else None)
        q = statistics.quantiles(lat, n=1000)
        label = "with erasures   " if with_erasures else "without erasures"
        print(f"   {label}: {len(lat) / seconds:6.0f} verifications/s, median {statistics.median(lat) * 1e3:.3f} ms,"
              f" p99 {q[989] * 1e3:.3f} ms, p99.9 {q[998] * 1e3:.3f} ms, max {lat[-1] * 1e3:.2f} ms"
              + (f"; {len(erase_lat)} erasures, 8123 {_ms(erase_lat)}" if erase_lat else ""))


def _concurrent_once(d: Path, seconds: float, threads: int, every_s: float | None) -> tuple[list[float], list[float]]:
    """(sorted latencies of the verifications, latencies of the erasures) of one run."""
    b = Bench(d, threads + int(seconds / every_s if every_s else 0) + 2)
    people = b.world.persons
    vecs = {p: b.vector() for p in people[:threads]}
    for p, v in vecs.items():
        b.enrol(p, v)
    b.recycle_wal(people[0], vecs[people[0]])
    stop = time.perf_counter() + seconds
    lat: list[list[float]] = [[] for _ in range(threads)]
    erase_lat: list[float] = []

    def client(k: int) -> None:
        p = people[k]
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            b.verify(p, vecs[p])
            lat[k].append(time.perf_counter() - t0)

    def eraser(pause: float) -> None:
        i = threads
        while time.perf_counter() < stop - pause:
            time.sleep(pause)
            p = people[i]
            i += 1
            b.enrol(p, b.vector())
            t0 = time.perf_counter()
            b.erase(p)
            erase_lat.append(time.perf_counter() - t0)

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    if every_s:
        workers.append(threading.Thread(target=eraser, args=(every_s,)))
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    b.close()
    return sorted(x for part in lat for x in part), erase_lat


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sections", default="forensics,churn,writes,erase,concurrent")
    ap.add_argument("--repeat", type=int, default=300, help="transactions of each kind per round (writes)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the writes section")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each concurrent run")
    ap.add_argument("--threads", type=int, default=2, help="client threads of the concurrent section")
    ap.add_argument("--erase-every", type=float, default=0.5, help="seconds between erasures (concurrent)")
    args = ap.parse_args(argv)
    sections = set(args.sections.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-erasure-") as d:
        tmp = Path(d)
        if "forensics" in sections:
            forensics(tmp)
        if "churn" in sections:
            churn(tmp)
        if "writes" in sections:
            writes(tmp, args.repeat, args.rounds)
        if "erase" in sections:
            erase(tmp, args.repeat)
        if "concurrent" in sections:
            concurrent(tmp, args.seconds, args.threads, args.erase_every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
