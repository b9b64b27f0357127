"""Cost of a no-op transaction (8000 ping) over loopback on one server worker.

Starts a reference server (one uvicorn worker, fresh SQLite) and measures
  1. latency: N sequential signed pings from one client → median, p95, p99;
  2. throughput: C client threads sending pings for T seconds → requests/s, error count.

Every ping is a full transaction: signature check, envelope validation, nonce and msgid records
written and committed. The client signs in this process, on the same 2-core machine, so the
figures are a floor for a dedicated server.

    python -m loadtests.bench_noop [--requests 2000] [--threads 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from device_mocks.client import Client
from reference.server import ServerProcess

SECRET = "bench-secret"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        env = {"SCENEMON_DB_PATH": str(Path(d) / "bench.db"), "SCENEMON_BOOTSTRAP_SECRET": SECRET,
               "SCENEMON_FACE_ENGINE": "embedding-only"}
        with ServerProcess(env) as srv:
            with Client(srv.base_url, sender="city-admin", secret=SECRET, retries=0) as c:
                for _ in range(100):  # warm-up
                    c.call("8000", {})
                lat = []
                for i in range(args.requests):
                    t0 = time.perf_counter()
                    c.call("8000", {})
                    lat.append((time.perf_counter() - t0) * 1000)
                    if i and i % 500 == 0:
                        print(f"  latency run: {i}/{args.requests}", flush=True)
            lat.sort()
            q = statistics.quantiles(lat, n=100)
            print(f"latency over {args.requests} sequential pings: median {statistics.median(lat):.2f} ms, "
                  f"p95 {q[94]:.2f} ms, p99 {q[98]:.2f} ms")
            counts = [0] * args.threads
            errors = [0] * args.threads
            stop = time.perf_counter() + args.seconds

            def worker(k: int) -> None:
                with Client(srv.base_url, sender="city-admin", secret=SECRET, retries=0) as cl:
                    while time.perf_counter() < stop:
                        if cl.send("8000", {}).ok:
                            counts[k] += 1
                        else:
                            errors[k] += 1

            threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.threads)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            print(f"throughput with {args.threads} client threads for {elapsed:.1f} s: "
                  f"{sum(counts) / elapsed:.0f} requests/s, {sum(errors)} errors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
