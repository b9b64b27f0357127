"""Templates in sqlite-vec: float embedding + bit copy; re-enrolment, erasure and compaction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from face_gallery import NOW, make_registry, unit

from reference.errors import InvalidField, NotFound, TemplateMissing
from reference.face import search, templates
from reference.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path):
    st = open_store(tmp_path / "t.db")
    st.persons = make_registry(st, 2200)
    yield st
    search.drop_mirrors(st)
    st.close()


def _enrol(store: Store, psn: str, vec: np.ndarray, model: str = "m", inst: str = "HA") -> tuple[int, bool]:
    with store.write() as db:
        return templates.enrol(db, psn_no=psn, model_id=model, vector=vec, source="embedding", now=NOW,
                               institution_code=inst, terminal_id=None, quality=None, liveness_passed=True)


def _tables(store: Store, model: str = "m") -> tuple[str, str, str]:
    """The model's sqlite-vec float table, sqlite-vec bit table and plain float32 table."""
    table = store.db().scalar("SELECT vec_table FROM face_models WHERE model_id=?", (model,))
    return table, templates.bit_table_of(table), templates.f32_table_of(table)


def _ids(store: Store, table: str) -> list[int]:
    return [r[0] for r in store.db().conn.execute(f"SELECT template_id FROM {table} ORDER BY template_id")]


def test_quantise_matches_sqlite_vec_binary_quantisation(store):
    v = unit(np.random.default_rng(0), 3)
    tid, _ = _enrol(store, store.persons[0], v[0])
    table, bits, _ = _tables(store)
    db = store.db()
    assert db.scalar(f"SELECT vec_quantize_binary(embedding) FROM {table} WHERE template_id=?", (tid,)) == \
        templates.quantise(v[0])
    assert db.scalar(f"SELECT bits FROM {bits} WHERE template_id=?", (tid,)) == templates.quantise(v[0])
    assert db.scalar(f"SELECT district_code FROM {bits} WHERE template_id=?", (tid,)) == "410101"


def test_reenrolment_replaces_float_and_bit_vectors(store):
    rng = np.random.default_rng(1)
    a, b = unit(rng, 2)
    p = store.persons[0]
    old, replaced = _enrol(store, p, a)
    assert not replaced
    _enrol(store, store.persons[1], unit(rng, 1)[0])  # so the new id cannot reuse the old one
    new, replaced = _enrol(store, p, b)
    assert replaced and new != old
    for t in _tables(store):
        assert old not in _ids(store, t) and new in _ids(store, t)
    assert store.db().scalar("SELECT count(*) FROM face_templates WHERE psn_no=?", (p,)) == 1
    _, tmpl = templates.template(store.db(), p, "m", 512)
    np.testing.assert_array_equal(tmpl, b)
    ops = store.db().all("SELECT template_id, op FROM face_index_log ORDER BY seq")
    assert [(r["template_id"], r["op"]) for r in ops][-2:] == [(old, "del"), (new, "add")]


@pytest.mark.req("GEN-5")
def test_erasure_removes_float_and_bit_vectors(store):
    rng = np.random.default_rng(2)
    v = unit(rng, 2)
    tid, _ = _enrol(store, store.persons[0], v[0])
    keep, _ = _enrol(store, store.persons[1], v[1])
    with store.write() as db:
        assert templates.delete(db, store.persons[0]) == 1
    for t in _tables(store):
        assert _ids(store, t) == [keep]
    res = search.identify(store, "m", v[0], k=5, threshold=-1.0)
    assert [c.template_id for c in res.candidates] == [keep]


@pytest.mark.req("GEN-5")
def test_compaction_destroys_erased_bytes_and_shrinks_the_file(store):
    rng = np.random.default_rng(3)
    # sqlite-vec allocates vectors in chunks of 1024: 2200 templates fill three, 500 need one.
    vecs = unit(rng, 2200)
    with store.write() as db:
        templates.bulk_enrol(db, model_id="m", psn_nos=store.persons, vectors=vecs,
                             institution_codes=["HA"] * 2200, now=NOW)
    erased = store.persons[:1700]
    with store.write() as db:
        for p in erased:
            templates.delete(db, p)
    path = store.path
    wal = path.with_name(path.name + "-wal")

    def on_disk() -> bytes:
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    probe = vecs[7].tobytes()  # an erased person's float embedding
    assert probe in on_disk()  # in the log: no purge ran (2003 purges; see test_face_erasure.py)
    out = templates.compact(store)
    assert probe not in on_disk()
    assert all(vecs[i].tobytes() in on_disk() for i in (1700, 2199))  # the live ones are kept
    assert out["bytes_after"] < out["bytes_before"] * 0.6 and out["templates"] == 500
    assert out["bytes_after"] == path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    # Everything still works on the rebuilt tables, and a second compaction renames again.
    res = search.identify(store, "m", vecs[1750], k=1, threshold=0.9)
    assert [c.psn_no for c in res.candidates] == [store.persons[1750]]
    _, tmpl = templates.template(store.db(), store.persons[2199], "m", 512)
    np.testing.assert_array_equal(tmpl, vecs[2199])
    first = _tables(store)[0]
    templates.compact(store)
    assert _tables(store)[0] != first and _tables(store)[0].endswith("_g2")


def test_dimension_must_be_a_multiple_of_8(store):
    with pytest.raises(InvalidField):
        _enrol(store, store.persons[0], unit(np.random.default_rng(4), 1, 100)[0], model="odd")


def test_models_created_before_bit_copies_get_them_backfilled(store):
    """A database from before migration 0003's code: only the float table exists."""
    rng = np.random.default_rng(5)
    v = unit(rng, 2)
    _enrol(store, store.persons[0], v[0])
    _, bits, f32 = _tables(store)
    with store.write() as db:
        db.execute(f"DROP TABLE {bits}")
        db.execute(f"DROP TABLE {f32}")
    _enrol(store, store.persons[1], v[1])  # the next write backfills
    assert len(_ids(store, bits)) == 2 and len(_ids(store, f32)) == 2
    res = search.identify(store, "m", v[0], k=1, threshold=0.9)
    assert [c.psn_no for c in res.candidates] == [store.persons[0]]


def test_face_compact_command(store, capsys):
    from scenemon.cli import main

    rng = np.random.default_rng(6)
    with store.write() as db:
        templates.bulk_enrol(db, model_id="m", psn_nos=store.persons[:1500], vectors=unit(rng, 1500),
                             institution_codes=["HB"] * 1500, now=NOW)
        for p in store.persons[:1400]:
            templates.delete(db, p)
    assert main(["face", "compact", "--db", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "100 templates kept" in out and "reclaimed" in out
    assert main(["face", "compact", "--db", str(store.path.with_name("missing.db"))]) == 2


def test_template_lookup_refusals_and_the_float32_read(store):
    """1:1 verification's read: person, dimension and template checked in that order; the vector
    comes from the plain float32 copy, and from the vec0 table for a model without that copy yet."""
    rng = np.random.default_rng(7)
    v = unit(rng, 2)
    p, other = store.persons[0], store.persons[1]
    tid, _ = _enrol(store, p, v[0])
    db = store.db()
    got_tid, tmpl = templates.template(db, p, "m", 512, person_field="input.psn_no")
    assert got_tid == tid and tmpl.dtype == np.float32
    np.testing.assert_array_equal(tmpl, v[0])
    with pytest.raises(NotFound) as e:
        templates.template(db, "NOSUCHPERSON", "m", 512, person_field="input.psn_no")
    assert e.value.field == "input.psn_no"
    with pytest.raises(TemplateMissing):  # without person_field, an unknown person has no template
        templates.template(db, "NOSUCHPERSON", "m", 512)
    with pytest.raises(InvalidField):
        templates.template(db, p, "m", 256, person_field="input.psn_no")
    with pytest.raises(TemplateMissing):
        templates.template(db, other, "m", 512, person_field="input.psn_no")
    with pytest.raises(TemplateMissing):  # a model nobody enrolled with
        templates.template(db, p, "other-model", 512, person_field="input.psn_no")
    # Re-enrolment and erasure are seen at once (no cache to invalidate).
    new, _ = _enrol(store, p, v[1])
    got_tid, tmpl = templates.template(db, p, "m", 512)
    assert got_tid == new
    np.testing.assert_array_equal(tmpl, v[1])
    with store.write() as w:
        templates.delete(w, p)
    with pytest.raises(TemplateMissing):
        templates.template(db, p, "m", 512)
    # A model from before the float32 copy existed: read from vec0 until its next write.
    tid2, _ = _enrol(store, other, v[0])
    with store.write() as w:
        w.execute(f"DROP TABLE {_tables(store)[2]}")
    got_tid, tmpl = templates.template(db, other, "m", 512, person_field="input.psn_no")
    assert got_tid == tid2
    np.testing.assert_array_equal(tmpl, v[0])


def test_template_read_follows_other_connections_and_compaction(store):
    """The remembered float32 table name never hides a change: re-enrolment and erasure through
    another connection (as by another process) are read at once, and after a compaction renamed
    the tables the name is looked up again."""
    rng = np.random.default_rng(8)
    v = unit(rng, 3)
    p = store.persons[0]
    _enrol(store, p, v[0])
    db = store.db()
    np.testing.assert_array_equal(templates.template(db, p, "m", 512)[1], v[0])  # name now remembered
    other = open_store(store.path)
    try:
        with other.write() as w:
            new, _ = templates.enrol(w, psn_no=p, model_id="m", vector=v[1], source="embedding", now=NOW,
                                     institution_code="HA", terminal_id=None, quality=None, liveness_passed=True)
        tid, tmpl = templates.template(db, p, "m", 512, person_field="input.psn_no")
        assert tid == new
        np.testing.assert_array_equal(tmpl, v[1])
        templates.compact(other)
        assert _tables(store)[0].endswith("_g1")
        tid, tmpl = templates.template(db, p, "m", 512, person_field="input.psn_no")
        assert tid == new
        np.testing.assert_array_equal(tmpl, v[1])
        with other.write() as w:
            templates.delete(w, p)
        with pytest.raises(TemplateMissing):
            templates.template(db, p, "m", 512)
    finally:
        other.close()
