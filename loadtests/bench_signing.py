"""Benchmark: what one signature check costs, per signing mode and body size (GEN-1).

The gateway checks a request's signature before anything else (reference/api/gateway.py), for any
sender id — institution codes are public — so its cost is what an unauthenticated caller can make
the server spend. This script times `reference.signing.verify` / `tif_verify` on bodies of a ping
(170 bytes), 4 KiB and 64 KiB (pure-Python SM3 is refused above 16 KiB) for:

    HMAC-SHA256        the default (hashlib, OpenSSL)
    HMAC-SM3 openssl   OpenSSL's SM3, used when this Python's OpenSSL has it
    HMAC-SM3 gmssl     gmssl's pure-Python SM3, used otherwise
    x-tif              SHA-256 over timestamp + token + nonce + timestamp (independent of the body)

    python -m loadtests.bench_signing [--repeat 200]

It prints µs per check (the best of 5 rounds of `--repeat` checks each, so a busy shared machine
disturbs the figures less). Figures move by ±10 % between runs on a shared 2-core VM.
"""

from __future__ import annotations

import argparse
import timeit

from reference import signing

SECRET = "bench-secret-not-for-use-0123456789abcdef"
TS, NONCE = "1714962600", "Zq3v9XbT2kLm8Npw"
SIZES = {"170 B": 170, "4 KiB": 4 * 1024, "64 KiB": 64 * 1024}


def _best_us(fn, repeat: int) -> float:
    return min(timeit.repeat(fn, number=repeat, repeat=5)) / repeat * 1e6


def measure(repeat: int) -> list[tuple[str, str, float]]:
    """(mode, body size, µs per check) through `signing.verify`, the function the gateway calls."""
    modes = [("HMAC-SHA256", signing.ALG_SHA256, None)]
    if signing.sm3_backend() == "openssl":
        modes.append(("HMAC-SM3 openssl", signing.ALG_SM3, signing.hmac_sm3_openssl))
    modes.append(("HMAC-SM3 gmssl", signing.ALG_SM3, signing.hmac_sm3_gmssl))
    chosen = signing._HMAC_SM3
    rows: list[tuple[str, str, float]] = []
    try:
        for size_name, size in SIZES.items():
            body = b"x" * size
            for name, alg, backend in modes:
                if backend is not None:
                    signing._HMAC_SM3 = backend
                mac = signing.signature(SECRET, TS, NONCE, body, alg)
                n = max(1, repeat // 50) if backend is signing.hmac_sm3_gmssl else repeat  # pure Python: fewer

                def check(body: bytes = body, mac: str = mac, alg: str = alg) -> bool:
                    return signing.verify(SECRET, TS, NONCE, body, mac, alg)

                rows.append((name, size_name, _best_us(check, n)))
    finally:
        signing._HMAC_SM3 = chosen
    tif = signing.tif_signature(SECRET, TS, NONCE)
    rows.append(("x-tif", "any", _best_us(lambda: signing.tif_verify(SECRET, TS, NONCE, tif), repeat)))
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args(argv)
    print(f"SM3 backend of this server: {signing.sm3_backend()}")
    print(f"{'mode':<18} {'body':>7} {'µs per check':>14}")
    for mode, size, us in measure(args.repeat):
        print(f"{mode:<18} {size:>7} {us:>14.1f}")


if __name__ == "__main__":
    main()
