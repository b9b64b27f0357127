"""1:N face search benchmark: this core against sqlite-vec, FAISS and numpy on the same data.

One run, one synthetic population (reference.face.synthetic, default preset `arcface-like`: genuine
cosine ≈ 0.65 ± 0.10, impostor ≈ 0 ± 0.06). Every enrolled template is a capture of its identity;
every query is a fresh noisy capture of an enrolled identity. For each gallery size:

  (a)  core       reference.face.search.identify: Hamming scan over the in-memory bit mirror, exact
                  cosine re-scoring of the best `oversample` from sqlite-vec
  (a') core-sql   the same two stages inside SQLite (sqlite-vec KNN on the bit[dim] table), no mirror
  (b)  sqlite-vec plain sqlite-vec float KNN (`embedding MATCH ? AND k = 10`) on the same store
  (c)  faiss-ip   FAISS IndexFlatIP over the float vectors (exact)
  (d)  faiss-bin  FAISS IndexBinaryFlat over the same bit vectors (the floor of a quantised scan)
  (e)  numpy      brute force: one matrix-vector product and a partial sort

It prints p50/p95 latency, recall of the exact top-1 and top-10 (ground truth: float64 cosine over
the whole gallery), memory of each method's search structure, the database size, and each latency
as a ratio to (c) and (d); it writes results.json and latency.png to --out.

    python -m loadtests.bench_search                       # 100k and 1M
    python -m loadtests.bench_search --sizes 100000 --queries 300
    python -m loadtests.bench_search --quick               # 20k, smoke

Needs the `bench` extra (faiss-cpu, matplotlib). FAISS uses every core (OpenMP); the core and
numpy's partial sort use one. Run on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from reference.config import Settings
from reference.face import search, templates
from reference.face.synthetic import SyntheticFaces
from reference.store import open_store

MODEL = "bench:synthetic"
NOW = "2026-03-02T08:00:00"
K = 10
DISTRICTS = ("410102", "410103", "410104", "410105")
INSTITUTIONS_PER_DISTRICT = 5
METHODS = ("core", "core-sql", "sqlite-vec", "faiss-ip", "faiss-bin", "numpy")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def make_data(faces: SyntheticFaces, n: int, n_queries: int, query_pool: int, seed: int, step: int = 100_000):
    """Gallery (n enrolment captures, made `step` identities at a time) and queries: new captures of
    `n_queries` enrolled identities drawn from the first `query_pool` (so that every gallery size
    of a run, each a prefix of the largest, holds them), in the order of their indexes."""
    rng = np.random.default_rng(seed)
    gallery = np.empty((n, faces.dim), np.float32)
    idx_q = np.sort(rng.choice(query_pool, size=n_queries, replace=False))
    parts = []
    for s in range(0, n, step):
        ident = faces.random_identities(min(step, n - s), rng)
        gallery[s : s + ident.shape[0]] = faces.captures_of(ident, rng)
        mine = idx_q[(idx_q >= s) & (idx_q < s + ident.shape[0])]  # queried identities in this chunk
        if mine.size:
            parts.append(faces.captures_of(ident[mine - s], rng))
        log(f"  generated {s + ident.shape[0]:,}/{n:,} identities")
    return gallery, np.concatenate(parts), idx_q


def ground_truth(gallery: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Exact top-k by float64 cosine (float32 GEMM picks 50, float64 re-ranks them)."""
    out = np.empty((queries.shape[0], k), np.int64)
    for s in range(0, queries.shape[0], 64):
        q = queries[s : s + 64]
        sims = q @ gallery.T
        top = np.argpartition(-sims, 50, axis=1)[:, :50]
        for i in range(q.shape[0]):
            exact = gallery[top[i]].astype(np.float64) @ q[i].astype(np.float64)
            out[s + i] = top[i][np.lexsort((top[i], -exact))][:k]
    return out


def seed_store(path: Path, gallery: np.ndarray) -> tuple[object, int, list[str]]:
    """A store with n persons and their templates, spread over institutions in 4 districts."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    store = open_store(path)
    insts = [f"H{d}{j:02d}" for d in DISTRICTS for j in range(INSTITUTIONS_PER_DISTRICT)]
    with store.write() as db:
        for d in DISTRICTS:
            db.execute("INSERT INTO districts VALUES (?,?,?,?)", (d, d, "410100", NOW))
        for code in insts:
            db.execute("INSERT INTO institutions(code, name, inst_type, level, district_code, created_at)"
                       " VALUES (?,?,?,?,?,?)", (code, code, "secondary_hospital", "2A", code[1:7], NOW))
    n = gallery.shape[0]
    step = 50_000
    first = None
    for s in range(0, n, step):
        e = min(n, s + step)
        psns = [f"B{i:09d}" for i in range(s, e)]
        with store.write() as db:
            db.conn.executemany(
                "INSERT INTO persons(psn_no, certno, psn_name, gend, brdy, insuplc_admdvs, created_at,"
                " created_by, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                ((p, "C" + p, "-", "1", "1980-01-01", "410100", NOW, "bench", NOW) for p in psns))
            f = templates.bulk_enrol(db, model_id=MODEL, psn_nos=psns, vectors=gallery[s:e],
                                     institution_codes=[insts[i % len(insts)] for i in range(s, e)], now=NOW)
        first = f if first is None else first
        log(f"  stored {e:,}/{n:,} templates")
    store.db().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store, first, insts


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p))


def recall(found: list[list[int]], truth: np.ndarray) -> tuple[float, float]:
    r1 = np.mean([bool(f) and f[0] == t[0] for f, t in zip(found, truth, strict=True)])
    r10 = np.mean([len(set(f[:K]) & set(t.tolist())) / K for f, t in zip(found, truth, strict=True)])
    return float(r1), float(r10)


def timed(name: str, fn, queries: np.ndarray, limit: int | None = None) -> tuple[list[float], list[list[int]]]:
    qs = queries if limit is None else queries[:limit]
    fn(qs[0])  # warm-up (loads the mirror, builds caches)
    lat, found = [], []
    for i, q in enumerate(qs):
        t0 = time.perf_counter()
        ids = fn(q)
        lat.append((time.perf_counter() - t0) * 1000)
        found.append([int(x) for x in ids])
        if (i + 1) % max(1, len(qs) // 4) == 0:
            log(f"    {name}: {i + 1}/{len(qs)} queries, median so far {statistics.median(lat):.2f} ms")
    return lat, found


def bench_size(n: int, gallery_all: np.ndarray, queries: np.ndarray, args) -> dict:
    import faiss

    log(f"== {n:,} templates")
    gallery = gallery_all[:n]
    truth = ground_truth(gallery, queries)
    log("  ground truth computed (float64 cosine over the whole gallery)")
    db_path = args.out / f"bench_{n}.db"
    t0 = time.perf_counter()
    store, first, _ = seed_store(db_path, gallery)
    seed_s = time.perf_counter() - t0
    db_bytes = db_path.stat().st_size
    table = store.db().scalar("SELECT vec_table FROM face_models WHERE model_id=?", (MODEL,))
    results: dict[str, dict] = {}

    def rows(ids, offset=first):  # template ids → gallery rows
        return [i - offset for i in ids]

    def core(q):
        res = search.identify(store, MODEL, q, k=K, threshold=-1.0, oversample=args.oversample)
        return rows([c.template_id for c in res.candidates])

    def core_sql(q):
        res = search.identify(store, MODEL, q, k=K, threshold=-1.0, oversample=args.oversample, mirror=False)
        return rows([c.template_id for c in res.candidates])

    conn = store.db().conn

    def sqlite_float(q):
        return rows([r[0] for r in conn.execute(
            f"SELECT template_id FROM {table} WHERE embedding MATCH ? AND k = ?", (q.tobytes(), K))])

    t0 = time.perf_counter()
    mirror = search.mirror_for(store, MODEL)
    mirror.sync()
    mirror_load_s = time.perf_counter() - t0
    log(f"  bit mirror loaded in {mirror_load_s:.1f} s")
    mirror_bytes = int(mirror.cols[:, : mirror.n].nbytes + mirror.ids[: mirror.n].nbytes
                       + mirror.inst[: mirror.n].nbytes + mirror.dist[: mirror.n].nbytes + 80 * mirror.n)
    # pos dict ≈ 80 B per entry (int key, int value, hash slot): counted as an estimate.

    t0 = time.perf_counter()
    ip = faiss.IndexFlatIP(gallery.shape[1])
    ip.add(gallery)
    packed = templates.quantise_many(gallery)
    binary = faiss.IndexBinaryFlat(gallery.shape[1])
    binary.add(packed)
    faiss_build_s = time.perf_counter() - t0
    log(f"  FAISS indexes built in {faiss_build_s:.1f} s")

    def faiss_ip(q):
        return ip.search(q[None, :], K)[1][0]

    def faiss_bin(q):
        return binary.search(np.packbits(q > 0, bitorder="little")[None, :], K)[1][0]

    def numpy_bf(q):
        s = gallery @ q
        top = np.argpartition(-s, K)[:K]
        return top[np.argsort(-s[top])]

    plans = [("core", core, None, mirror_bytes),
             ("core-sql", core_sql, args.sqlite_queries, 0),
             ("sqlite-vec", sqlite_float, args.sqlite_queries, 0),
             ("faiss-ip", faiss_ip, None, gallery.nbytes),
             ("faiss-bin", faiss_bin, None, packed.nbytes),
             ("numpy", numpy_bf, None, gallery.nbytes)]
    for name, fn, limit, mem in plans:
        log(f"  {name}")
        lat, found = timed(name, fn, queries, limit)
        r1, r10 = recall(found, truth[: len(found)])
        results[name] = {"queries": len(lat), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
                         "mean_ms": float(np.mean(lat)), "recall_at_1": r1, "recall_at_10": r10,
                         "memory_bytes": mem}
    for r in results.values():
        r["p50_vs_faiss_ip"] = r["p50_ms"] / results["faiss-ip"]["p50_ms"]
        r["p95_vs_faiss_ip"] = r["p95_ms"] / results["faiss-ip"]["p95_ms"]
        r["p50_vs_faiss_bin"] = r["p50_ms"] / results["faiss-bin"]["p50_ms"]
        r["p95_vs_faiss_bin"] = r["p95_ms"] / results["faiss-bin"]["p95_ms"]
    # Where the core's time goes: the Hamming scan alone (re-scoring is the rest).
    scan = []
    for q in queries[:200]:
        t0 = time.perf_counter()
        search.coarse_select(mirror.hamming(q), args.oversample, mirror.dim)
        scan.append((time.perf_counter() - t0) * 1000)
    search.drop_mirrors(store)
    store.close()
    if not args.keep_db:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
    return {"n": n, "db_bytes": db_bytes, "seed_s": seed_s, "mirror_load_s": mirror_load_s,
            "faiss_build_s": faiss_build_s, "core_scan_p50_ms": pct(scan, 50), "core_scan_p95_ms": pct(scan, 95),
            "methods": results}


def print_table(size: dict) -> None:
    print(f"\n1:N over {size['n']:,} templates — database {size['db_bytes'] / 1e6:,.0f} MB "
          f"(float + bit vectors); core Hamming scan alone p50 {size['core_scan_p50_ms']:.2f} ms")
    head = (f"{'method':<11} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'recall@1':>9} {'recall@10':>9} "
            f"{'memory MB':>9} {'p50/(c)':>8} {'p95/(c)':>8} {'p50/(d)':>8} {'p95/(d)':>8}")
    print(head)
    print("-" * len(head))
    for name in METHODS:
        r = size["methods"][name]
        print(f"{name:<11} {r['queries']:>7} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['recall_at_1']:>9.4f} "
              f"{r['recall_at_10']:>9.4f} {r['memory_bytes'] / 1e6:>9.1f} {r['p50_vs_faiss_ip']:>8.2f} "
              f"{r['p95_vs_faiss_ip']:>8.2f} {r['p50_vs_faiss_bin']:>8.2f} {r['p95_vs_faiss_bin']:>8.2f}")


def chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = report["sizes"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(sizes)
    x = np.arange(len(METHODS))
    for i, size in enumerate(sizes):
        p50 = [size["methods"][m]["p50_ms"] for m in METHODS]
        p95 = [size["methods"][m]["p95_ms"] for m in METHODS]
        pos = x + (i - (len(sizes) - 1) / 2) * width
        ax.bar(pos, p95, width, alpha=0.35, color=f"C{i}")
        ax.bar(pos, p50, width, color=f"C{i}", label=f"{size['n']:,} templates (dark p50, light p95)")
    ax.set_xticks(x, METHODS)
    ax.set_yscale("log")
    ax.set_ylabel("latency per query, ms (log)")
    ax.set_title(f"1:N search, top-{K}, oversample {report['oversample']} ({report['preset']} synthetic faces)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated gallery sizes")
    ap.add_argument("--quick", action="store_true", help="smoke run: 20k templates, 100 queries")
    ap.add_argument("--queries", type=int, default=500, help="queries per method and size")
    ap.add_argument("--sqlite-queries", type=int, default=30, help="queries for the slow SQLite-only methods")
    ap.add_argument("--oversample", type=int,
                    default=Settings.model_fields["face_search_oversample"].default)
    ap.add_argument("--preset", default="arcface-like", help="synthetic-face preset")
    ap.add_argument("--seed", type=int, default=20260302)
    ap.add_argument("--out", type=Path, default=Path("var/bench_search"))
    ap.add_argument("--keep-db", action="store_true", help="keep the seeded databases in --out")
    args = ap.parse_args(argv)
    sizes = [20_000] if args.quick else sorted(int(s) for s in args.sizes.split(","))
    if args.quick:
        args.queries, args.sqlite_queries = min(args.queries, 100), min(args.sqlite_queries, 10)
    try:
        import faiss  # noqa: F401
    except ImportError:
        print("faiss-cpu is missing: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    faces = SyntheticFaces.preset(args.preset, model_id=MODEL)
    log(f"generating {sizes[-1]:,} synthetic identities ({args.preset}) and {args.queries} queries")
    gallery, queries, _ = make_data(faces, sizes[-1], args.queries, min(sizes), args.seed)
    report = {"preset": args.preset, "dim": faces.dim, "k": K, "oversample": args.oversample,
              "queries": args.queries, "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                                   "numpy": np.__version__},
              "sizes": []}
    for n in sizes:
        report["sizes"].append(bench_size(n, gallery, queries, args))
        print_table(report["sizes"][-1])
    (args.out / "results.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    chart(report, args.out / "latency.png")
    log(f"wrote {args.out / 'results.json'} and {args.out / 'latency.png'}")
    if not args.keep_db and not any(args.out.iterdir()):
        shutil.rmtree(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
