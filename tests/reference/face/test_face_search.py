"""1:N search against an exact numpy reference on random galleries, and the in-memory mirror
following changes made by other connections and processes."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from face_gallery import INSTITUTIONS, NOW, make_registry, unit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference.face import search, templates
from reference.store import Store, open_store

N_PERSONS = 120
_models = itertools.count()


@pytest.fixture(scope="module")
def gallery_store(tmp_path_factory):
    st_ = open_store(tmp_path_factory.mktemp("search") / "s.db")
    st_.persons = make_registry(st_, N_PERSONS)
    yield st_
    search.drop_mirrors(st_)
    st_.close()


@pytest.fixture
def store(tmp_path: Path):
    st_ = open_store(tmp_path / "t.db")
    st_.persons = make_registry(st_, 50)
    yield st_
    search.drop_mirrors(st_)
    st_.close()


def _seed_gallery(store: Store, rng: np.random.Generator, n: int, dim: int, near: int):
    """A new model with n templates (some near-duplicates of the first, so scores cluster)."""
    model = f"m{next(_models)}"
    vecs = unit(rng, n, dim)
    for i in range(1, min(near, n)):
        v = vecs[0] + 0.3 * rng.standard_normal(dim).astype(np.float32) / np.sqrt(dim)
        vecs[i] = v / np.linalg.norm(v)
    insts = [list(INSTITUTIONS)[i % 3] for i in rng.permutation(n)]
    with store.write() as db:
        first = templates.bulk_enrol(db, model_id=model, psn_nos=store.persons[:n], vectors=vecs,
                                     institution_codes=insts, now=NOW)
    return model, vecs, np.arange(first, first + n), np.asarray(insts)


def _in_scope(insts: np.ndarray, scope: search.Scope) -> np.ndarray:
    ok = np.ones(len(insts), bool)
    if scope.institution_code is not None:
        ok &= insts == scope.institution_code
    if scope.district_code is not None:
        ok &= np.asarray([INSTITUTIONS[c] for c in insts]) == scope.district_code
    return ok


def exact_top(vecs, ids, ok, q, k, threshold):
    """The reference: brute-force float64 cosine, best first, ties by lower template id."""
    s = vecs.astype(np.float64) @ q.astype(np.float64)
    idx = [i for i in np.lexsort((ids, -s)) if ok[i] and s[i] >= threshold][:k]
    return [int(ids[i]) for i in idx], [float(s[i]) for i in idx]


def hamming_ref(vecs, q):
    """Hamming distances from bit-unpacking (independent of the uint64 popcount under test)."""
    return ((vecs > 0) != (q > 0)).sum(axis=1)


SCOPES = [search.CITY, search.Scope(institution_code="HA"), search.Scope(district_code="410101"),
          search.Scope(district_code="410102"), search.Scope(institution_code="HC", district_code="410101"),
          search.Scope(institution_code="HX")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, N_PERSONS), dim=st.sampled_from([8, 64, 72, 128, 512]),
       near=st.integers(0, 10), k=st.integers(1, 12), threshold=st.sampled_from([-1.0, 0.0, 0.1, 0.5, 0.95]),
       scope=st.sampled_from(SCOPES), mirror=st.booleans(), exclude=st.integers(0, 3))
def test_identify_with_full_oversampling_equals_exact_search(gallery_store, seed, n, dim, near, k, threshold,
                                                              scope, mirror, exclude):
    """With every template re-scored, 1:N is exact: same persons, same order, same scores."""
    rng = np.random.default_rng(seed)
    model, vecs, ids, insts = _seed_gallery(gallery_store, rng, n, dim, near)
    q = vecs[rng.integers(n)] + 0.5 * rng.standard_normal(dim).astype(np.float32) / np.sqrt(dim)
    q = (q / np.linalg.norm(q)).astype(np.float32)  # what a terminal sends: float32
    gone = set(rng.choice(ids, size=min(exclude, n), replace=False).tolist())
    ok = _in_scope(insts, scope) & ~np.isin(ids, list(gone))
    want_ids, want_scores = exact_top(vecs, ids, ok, q, k, threshold)
    res = search.identify(gallery_store, model, q, k=k, threshold=threshold, scope=scope, oversample=n,
                          exclude_template_ids=gone, mirror=mirror)
    assert [c.template_id for c in res.candidates] == want_ids
    np.testing.assert_allclose([c.score for c in res.candidates], want_scores, atol=1e-9)
    assert [c.psn_no for c in res.candidates] == [gallery_store.persons[i - ids[0]] for i in want_ids]
    assert res.gallery_size == int(_in_scope(insts, scope).sum())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, N_PERSONS), dim=st.sampled_from([64, 72, 512]),
       m=st.integers(1, 30), scope=st.sampled_from(SCOPES[:4]))
def test_coarse_stage_keeps_the_nearest_by_hamming_then_rescores_exactly(gallery_store, seed, n, dim, m, scope):
    """With oversample m < n: the re-scored set is every template whose Hamming distance is within
    the m-th smallest (ties included), and the answer is the exact top-k of that set."""
    rng = np.random.default_rng(seed)
    model, vecs, ids, insts = _seed_gallery(gallery_store, rng, n, dim, near=5)
    q = unit(rng, 1, dim)[0]
    ok = _in_scope(insts, scope)
    ham = hamming_ref(vecs, q)
    if not ok.any():
        return
    cut = np.sort(ham[ok])[min(m, ok.sum()) - 1]
    kept = ok & (ham <= cut)
    mirror = search.mirror_for(gallery_store, model)
    mirror.sync()
    got = mirror.hamming(q)
    np.testing.assert_array_equal(got, ham[[int(np.flatnonzero(ids == t)[0]) for t in mirror.ids[: mirror.n]]])
    want_ids, _ = exact_top(vecs, ids, kept, q, 5, -1.0)
    res = search.identify(gallery_store, model, q, k=5, threshold=-1.0, scope=scope, oversample=m)
    if kept.sum() <= search._TIE_CAP * m:
        assert res.rescored == int(kept.sum())
        assert [c.template_id for c in res.candidates] == want_ids
    else:  # so many ties at the cut-off that only m of the nearest are re-scored
        assert res.rescored == min(m, int(ok.sum()))


def test_coarse_select_includes_ties_and_skips_excluded():
    d = np.asarray([5, 3, 3, 9, 3, 0, 7], np.uint16)
    assert sorted(search.coarse_select(d, 2, 8)) == [1, 2, 4, 5]  # 0, then every 3
    d[5] = 9  # beyond dim: excluded
    assert sorted(search.coarse_select(d, 1, 8)) == [1, 2, 4]
    assert len(search.coarse_select(np.full(4, 9, np.uint16), 2, 8)) == 0


def test_uncommitted_changes_of_the_searching_transaction_are_not_seen(store):
    rng = np.random.default_rng(7)
    v = unit(rng, 2)
    with store.write() as db:
        templates.enrol(db, psn_no=store.persons[0], model_id="m", vector=v[0], source="embedding", now=NOW,
                        institution_code="HA", terminal_id=None, quality=None, liveness_passed=None)
        assert search.identify(store, "m", v[0], k=3, threshold=0.5).candidates == []
    assert [c.psn_no for c in search.identify(store, "m", v[0], k=3, threshold=0.5).candidates] == \
        [store.persons[0]]


def _enrol(store: Store, psn: str, vec: np.ndarray, inst: str = "HA") -> int:
    with store.write() as db:
        return templates.enrol(db, psn_no=psn, model_id="m", vector=vec, source="embedding", now=NOW,
                               institution_code=inst, terminal_id=None, quality=None, liveness_passed=None)[0]


def test_mirror_follows_another_connection(store):
    """Another Store on the same file (another worker) enrols, re-enrols, erases and compacts; a
    rolled-back enrolment leaves no trace. The mirror applies the log without reloading, except
    after compaction."""
    rng = np.random.default_rng(8)
    v = unit(rng, 6)
    p = store.persons
    _enrol(store, p[0], v[0])
    assert [c.psn_no for c in search.identify(store, "m", v[0], k=1, threshold=0.9).candidates] == [p[0]]
    mirror = search.mirror_for(store, "m")
    loads = mirror.reloads
    other = Store(store.path)
    try:
        _enrol(other, p[1], v[1], inst="HC")
        _enrol(other, p[0], v[2])  # re-enrolment: v[0] is gone, v[2] is p[0] now
        with pytest.raises(RuntimeError), other.write() as db:
            templates.enrol(db, psn_no=p[3], model_id="m", vector=v[3], source="embedding", now=NOW,
                            institution_code="HA", terminal_id=None, quality=None, liveness_passed=None)
            raise RuntimeError("rolled back")

        def top(vec, scope=search.CITY):
            return [c.psn_no for c in search.identify(store, "m", vec, k=1, threshold=0.9, scope=scope).candidates]

        assert top(v[1]) == [p[1]] and top(v[1], search.Scope(district_code="410102")) == [p[1]]
        assert top(v[1], search.Scope(institution_code="HA")) == []
        assert top(v[0]) == [] and top(v[2]) == [p[0]] and top(v[3]) == []
        assert mirror.reloads == loads and mirror.n == 2
        with other.write() as db:
            templates.delete(db, p[1])
        assert top(v[1]) == [] and mirror.n == 1
        templates.compact(other)
        assert top(v[2]) == [p[0]] and mirror.reloads == loads + 1
    finally:
        other.close()


def test_mirror_follows_another_process(store):
    rng = np.random.default_rng(9)
    v = unit(rng, 2)
    _enrol(store, store.persons[0], v[0])
    assert search.identify(store, "m", v[1], k=1, threshold=0.9).candidates == []  # mirror loaded
    np.save(store.path.with_name("v.npy"), v)
    script = textwrap.dedent(f"""
        import numpy as np
        from reference.face import templates
        from reference.store import open_store
        st = open_store({str(store.path)!r})
        v = np.load({str(store.path.with_name("v.npy"))!r})
        with st.write() as db:
            templates.enrol(db, psn_no={store.persons[1]!r}, model_id="m", vector=v[1], source="embedding",
                            now={NOW!r}, institution_code="HB", terminal_id=None, quality=None,
                            liveness_passed=None)
            templates.delete(db, {store.persons[0]!r})
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[3])
    got = search.identify(store, "m", v[1], k=2, threshold=0.9).candidates
    assert [(c.psn_no, c.institution_code) for c in got] == [(store.persons[1], "HB")]
    assert search.identify(store, "m", v[0], k=2, threshold=0.9).candidates == []
