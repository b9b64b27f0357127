"""Erasure (8123) leaves no byte of a person's face templates on disk (GEN-5, PIPL).

The scan (loadtests.bench_erasure.template_bytes_on_disk) looks for every 8-byte piece of a
template's float32 bytes and of its packed sign bits (`templates.quantise`) at any byte offset of
the database file, its write-ahead log, its shared-memory file and any journal."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import apsw
import numpy as np
import pytest
from face_gallery import NOW, make_registry, unit

from device_mocks.world import bootstrap_world
from loadtests.bench_erasure import database_files, template_bytes_on_disk
from reference.face import search, templates
from reference.face.synthetic import SyntheticFaces
from reference.store import open_store
from reference.store.db import connect
from tests.conftest import ADMIN_SECRET, BASE

MODEL = SyntheticFaces().model_id


def _capture(v: np.ndarray) -> dict:
    return {"embedding_b64": base64.b64encode(np.asarray(v, "<f4").tobytes()).decode(),
            "embedding_model": MODEL, "liveness": {"passed": True}, "quality": 0.8}


@pytest.fixture
def crowd(http):
    """A world of 30 persons, all but the first enrolled by the first institution's terminal."""
    w = bootstrap_world(BASE, "city-admin", ADMIN_SECRET, http=http, tag="E2A5E1", n_persons=30)
    for code in w.institutions:
        w.bureau.call("8014", {"fixmedins_code": code, "scene": "inpatient", "enabled": True,
                               "since": "2026-01-01"})
    rng = np.random.default_rng(20)
    term = w.terminal()
    for p in w.persons[1:]:
        term.call("8121", {"psn_no": p, "capture": _capture(unit(rng, 1)[0])})
    return w


def _stored(app, psn: str) -> np.ndarray:
    """The template as the server stored it (normalised float32)."""
    return templates.template(app.state.scenemon.store.db(), psn, MODEL, 512)[1].copy()


@pytest.mark.req("GEN-5")
@pytest.mark.parametrize("checkpointed", [False, True], ids=["in-log", "checkpointed"])
def test_erasure_leaves_no_byte_of_the_templates_in_the_database_files(app, settings, crowd, checkpointed):
    """A known embedding is enrolled, replaced by a re-enrolment, the replacement enrolled again
    by the same terminal, then erased with 2003 through the signed interface: afterwards neither
    template's float32 bytes nor its sign bits are anywhere in the database files, while another
    person's template still is (the scan finds what is there) and still verifies."""
    rng = np.random.default_rng(21)
    term, bureau = crowd.terminal(), crowd.bureau
    p, other = crowd.persons[0], crowd.persons[1]
    known = unit(rng, 1)[0]
    term.call("8121", {"psn_no": p, "capture": _capture(known)})
    first = _stored(app, p)
    np.testing.assert_allclose(first, known, atol=1e-6)
    term.call("8121", {"psn_no": p, "capture": _capture(unit(rng, 1)[0])})  # replaces `first`
    second = _stored(app, p)
    db_path = Path(settings.db_path)
    if checkpointed:  # as an automatic checkpoint of a busy server would: the bytes reach the main file
        app.state.scenemon.store.db().execute("PRAGMA wal_checkpoint(PASSIVE)")
        assert template_bytes_on_disk(db_path, [second]).get(db_path.name, 0) >= 512 * 4
    assert sum(template_bytes_on_disk(db_path, [first]).values()) >= 512 * 4  # the scan sees them
    assert bureau.call("8123", {"psn_no": p}) == {"deleted": 1}
    assert {f.name for f in database_files(db_path)} >= {db_path.name}
    assert template_bytes_on_disk(db_path, [first, second]) == {}
    kept = _stored(app, other)
    assert sum(template_bytes_on_disk(db_path, [kept]).values()) >= 512 * 4
    assert term.call("8122", {"psn_no": other, "scene": "inpatient", "capture": _capture(kept)})["passed"]
    r = term.send("8122", {"psn_no": p, "scene": "inpatient", "capture": _capture(second)})
    assert r.infcode == 5003  # no template left


@pytest.mark.req("GEN-5")
def test_erasure_of_nothing_commits_without_purging(app, settings, crowd, monkeypatch):
    """8123 that erases nothing (deleted 0) has nothing to purge: the log is left as it is."""
    calls = []
    monkeypatch.setattr(templates, "purge_log", lambda store, timeout_s: calls.append(timeout_s) or True)
    assert crowd.bureau.call("8123", {"psn_no": crowd.persons[0]}) == {"deleted": 0}  # never enrolled
    assert calls == []
    assert crowd.bureau.call("8123", {"psn_no": crowd.persons[1]}) == {"deleted": 1}
    assert calls == [settings.face_erase_purge_timeout_s]


@pytest.fixture
def store(tmp_path: Path):
    st = open_store(tmp_path / "t.db")
    st.persons = make_registry(st, 300)
    yield st
    search.drop_mirrors(st)
    st.close()


def _enrol(store, psn: str, vec: np.ndarray) -> None:
    with store.write() as db:
        templates.enrol(db, psn_no=psn, model_id="m", vector=vec, source="embedding", now=NOW,
                        institution_code="HA", terminal_id=None, quality=None, liveness_passed=True)


@pytest.mark.req("GEN-5")
def test_no_removed_template_survives_churn_and_a_purge(store):
    """Hundreds of enrolments, re-enrolments and erasures in random order (pages split, merge and
    go to the free list): after `purge_log` none of the removed templates is found, all live
    ones are, and 1:1 and 1:N still find the live ones. With secure_delete FAST, stale copies
    stayed on freed pages; with ON, none."""
    rng, r = np.random.default_rng(22), random.Random(22)
    current: dict[str, np.ndarray] = {}
    gone: list[np.ndarray] = []
    for step in range(900):
        p = store.persons[step] if step < len(store.persons) else r.choice(store.persons)
        if p in current and r.random() < 0.3:
            with store.write() as db:
                templates.delete(db, p)
            gone.append(current.pop(p))
            continue
        v = unit(rng, 1)[0]
        _enrol(store, p, v)
        if p in current:
            gone.append(current[p])
        current[p] = v
    assert len(gone) > 300 and len(current) > 100
    assert template_bytes_on_disk(store.path, gone)  # before the purge: the log still holds them
    assert templates.purge_log(store, 5.0)
    assert template_bytes_on_disk(store.path, gone) == {}
    live = list(current.values())
    assert sum(template_bytes_on_disk(store.path, live).values()) >= len(live) * 512 * 4
    p, v = next(iter(current.items()))
    np.testing.assert_array_equal(templates.template(store.db(), p, "m", 512)[1], v)
    res = search.identify(store, "m", v, k=1, threshold=0.9)
    assert [c.psn_no for c in res.candidates] == [p]


@pytest.mark.req("GEN-5")
def test_purge_waits_for_an_older_snapshot_then_finishes_in_the_background(store):
    """A reader that began before the erasure holds the log: the purge gives up after its timeout
    (the bytes are still in the log) and finishes on its own once the reader ends."""
    rng = np.random.default_rng(23)
    v, keep = unit(rng, 2)
    _enrol(store, store.persons[0], v)
    _enrol(store, store.persons[1], keep)
    reader = connect(store.path)
    try:
        reader.execute("BEGIN")
        assert list(reader.execute("SELECT count(*) FROM face_templates")) == [(2,)]  # snapshot taken
        with store.write() as db:
            templates.delete(db, store.persons[0])
        assert templates.purge_log(store, 0.05) is False
        assert template_bytes_on_disk(store.path, [v])  # the reader's snapshot still needs them
        assert not templates.wait_for_purge(store, 0.0)  # still trying
        reader.execute("COMMIT")
        assert templates.wait_for_purge(store, 30.0)
    finally:
        reader.close()
    assert template_bytes_on_disk(store.path, [v]) == {}
    assert template_bytes_on_disk(store.path, [keep])


@pytest.mark.req("GEN-5")
def test_a_failing_purge_is_retried_in_the_background_and_never_fails_the_erasure(store, monkeypatch):
    real, calls = templates._purge, []

    def flaky(conn, timeout_s):
        calls.append(timeout_s)
        if len(calls) == 1:
            raise apsw.IOError("disk I/O error")
        return real(conn, timeout_s)

    monkeypatch.setattr(templates, "_purge", flaky)
    v = unit(np.random.default_rng(26), 1)[0]
    _enrol(store, store.persons[0], v)
    with store.write() as db:
        templates.delete(db, store.persons[0])
    assert templates.purge_log(store, 1.0) is False
    assert templates.wait_for_purge(store, 30.0)
    assert len(calls) == 2
    assert template_bytes_on_disk(store.path, [v]) == {}


def test_purge_refuses_to_run_inside_a_transaction(store):
    with store.write(), pytest.raises(RuntimeError, match="after the commit"):
        templates.purge_log(store, 1.0)


def test_every_connection_zeroes_deleted_content(store):
    assert store.db().scalar("PRAGMA secure_delete") == 1
    other = store.connect()
    try:
        assert other.execute("PRAGMA secure_delete").fetchall() == [(1,)]
    finally:
        other.close()


@pytest.mark.req("GEN-5")
def test_compaction_after_erasure_keeps_live_templates_and_secure_delete(store):
    rng = np.random.default_rng(24)
    vecs = unit(rng, 40)
    for p, v in zip(store.persons, vecs, strict=False):
        _enrol(store, p, v)
    with store.write() as db:
        for p in store.persons[:20]:
            templates.delete(db, p)
    assert templates.purge_log(store, 5.0)
    out = templates.compact(store)
    assert out["templates"] == 20
    assert template_bytes_on_disk(store.path, vecs[:20]) == {}
    assert sum(template_bytes_on_disk(store.path, vecs[20:]).values()) >= 20 * 512 * 4
    assert store.db().scalar("PRAGMA secure_delete") == 1  # compaction turned it off for its rebuild only
    np.testing.assert_array_equal(templates.template(store.db(), store.persons[30], "m", 512)[1], vecs[30])


def test_scan_finds_a_vector_split_across_pages(tmp_path):
    """A piece-wise scan: a vector cut in two (as at an overflow page boundary) is still found."""
    v = unit(np.random.default_rng(25), 1)[0]
    raw = np.asarray(v, "<f4").tobytes()
    path = tmp_path / "x.db"
    path.write_bytes(b"\x01" * 13 + raw[:1001] + b"\x00\x00\x00\x07" + raw[1001:] + templates.quantise(v))
    # 256 pieces of 8 bytes in the float32 bytes, one of them cut; the 8 of the sign bits whole
    assert template_bytes_on_disk(path, [v]) == {"x.db": 255 * 8 + 64}
    assert template_bytes_on_disk(path, [v], copies=True) == {"x.db": 255 * 8 + 64}
    path.write_bytes(path.read_bytes() * 2)
    assert template_bytes_on_disk(path, [v], copies=True) == {"x.db": 2 * (255 * 8 + 64)}
    assert template_bytes_on_disk(tmp_path / "absent.db", [v]) == {}


@pytest.mark.req("GEN-5")
def test_a_server_start_empties_the_write_ahead_log(tmp_path):
    """A crash after an erasure's commit but before its log purge leaves old page images in the
    write-ahead log; the next start checkpoints and truncates it before serving anything."""
    from reference.state import build_state
    from tests.conftest import make_settings

    state = build_state(make_settings(tmp_path))
    with state.store.write() as db:
        db.execute("CREATE TABLE scratch(x BLOB)")
        db.execute("INSERT INTO scratch VALUES (zeroblob(100000))")
    wal = tmp_path / "scenemon.db-wal"
    assert wal.stat().st_size > 100000  # the first server is left open, as a crashed one leaves its log
    again = build_state(make_settings(tmp_path))
    assert wal.stat().st_size == 0
    again.store.close()
    state.store.close()
