"""Helpers for the face-store tests: a small registry (two districts, three institutions, persons)
written straight into a store, and random unit vectors."""

from __future__ import annotations

import numpy as np

from reference.store import Store

NOW = "2026-03-02T08:00:00"
INSTITUTIONS = {"HA": "410101", "HB": "410101", "HC": "410102"}  # code → district


def make_registry(store: Store, n_persons: int) -> list[str]:
    with store.write() as db:
        for d in sorted(set(INSTITUTIONS.values())):
            db.execute("INSERT INTO districts VALUES (?,?,?,?)", (d, d, "410100", NOW))
        for code, d in INSTITUTIONS.items():
            db.execute("INSERT INTO institutions(code, name, inst_type, level, district_code, created_at)"
                       " VALUES (?,?,?,?,?,?)", (code, code, "secondary_hospital", "2A", d, NOW))
        psns = [f"P{i:05d}" for i in range(n_persons)]
        db.conn.executemany(
            "INSERT INTO persons(psn_no, certno, psn_name, gend, brdy, insuplc_admdvs, created_at, created_by,"
            " updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            ((p, f"C{p}", "n", "1", "1980-01-01", "410100", NOW, "test", NOW) for p in psns),
        )
    return psns


def unit(rng: np.random.Generator, n: int, dim: int = 512) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)
