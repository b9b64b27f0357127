"""Over the interface: 1:N identification (8124) and its scopes, enrolment de-duplication (8121)
and the bureau's list of duplicates (2005), 1:1 scores against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_mocks.client import Client
from reference.face.synthetic import SyntheticFaces

FACES = SyntheticFaces()


def _cap(vec, model=FACES.model_id):
    return {"embedding": [float(x) for x in vec], "embedding_model": model, "liveness": {"passed": True}}


@pytest.fixture
def two(world):
    """The world's two institutions (same district), each with its terminal."""
    (a, ia), (b, ib) = list(world.institutions.items())[:2]
    return a, ia.terminals[next(iter(ia.terminals))], b, ib.terminals[next(iter(ib.terminals))]


def _district_user(world, http, district: str, role: str = "district_bureau") -> Client:
    out = world.bureau.call("8015", {"id": f"u-{role}-{district}", "role": role, "display_name": "区医保局",
                                     "district_code": district})
    return Client(world.base_url, sender=out["id"], secret=out["secret"], http=http)


@pytest.mark.req("GEN-1", "GEN-5")
def test_identify_finds_the_enrolled_person_within_scope(world, http, two):
    rng = np.random.default_rng(10)
    a, term_a, b, term_b = two
    p, q, r = world.persons
    term_a.call("8121", {"psn_no": p, "capture": _cap(FACES.capture(p, rng))})
    term_b.call("8121", {"psn_no": q, "capture": _cap(FACES.capture(q, rng))})
    probe = _cap(FACES.capture(p, rng))
    city = world.bureau.call("8124", {"capture": probe})
    assert [c["psn_no"] for c in city["candidates"]] == [p]
    assert city["candidates"][0]["fixmedins_code"] == a and city["candidates"][0]["score"] > 0.7
    assert city["gallery_size"] == 2 and city["district_code"] is None and city["threshold"] == 0.5
    # An institution searches only what it enrolled itself.
    own = term_a.call("8124", {"capture": probe})
    assert [c["psn_no"] for c in own["candidates"]] == [p] and own["fixmedins_code"] == a
    other = term_b.call("8124", {"capture": probe})
    assert other["candidates"] == [] and other["gallery_size"] == 1
    for extra in ({"fixmedins_code": a}, {"district_code": world.district}):
        assert term_b.send("8124", {"capture": probe, **extra}).infcode == 3003  # out of scope: not found
    # A district bureau: its district by default; another district does not exist for it.
    du = _district_user(world, http, world.district)
    mine = du.call("8124", {"capture": probe})
    assert [c["psn_no"] for c in mine["candidates"]] == [p] and mine["district_code"] == world.district
    assert du.send("8124", {"capture": probe, "district_code": "410199"}).infcode == 3003
    # The city narrows its search as it likes: another institution's gallery does not have p.
    assert world.bureau.call("8124", {"capture": probe, "fixmedins_code": b})["candidates"] == []
    # Every person disclosed by a search is in the access log.
    log = world.bureau.call("8902", {"psn_no": p, "limit": 50})["entries"]
    assert {e["principal_id"] for e in log if e["infno"] == "8124"} == {"city-admin", term_a.sender, du.sender}


def test_identify_refuses_a_threshold_below_the_operating_point(world):
    rng = np.random.default_rng(11)
    r = world.bureau.send("8124", {"capture": _cap(FACES.capture("x", rng)), "threshold": 0.2})
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.threshold"
    out = world.bureau.call("8124", {"capture": _cap(FACES.capture("x", rng)), "threshold": 0.9})
    assert out["threshold"] == 0.9 and out["candidates"] == []


def test_identify_returns_at_most_k_best_first(world, two):
    rng = np.random.default_rng(12)
    _, term_a, _, _ = two
    base = FACES.identity("twins")
    for p in world.persons:  # three persons enrolled with nearly the same face
        term_a.call("8121", {"psn_no": p, "capture": _cap(base + 0.02 * rng.standard_normal(512))})
    out = world.bureau.call("8124", {"capture": _cap(base), "k": 2})
    scores = [c["score"] for c in out["candidates"]]
    assert len(scores) == 2 and scores == sorted(scores, reverse=True) and scores[1] > 0.9


@pytest.mark.req("GEN-1")
def test_enrolment_flags_another_persons_matching_face(world, http, two):
    rng = np.random.default_rng(13)
    a, term_a, b, term_b = two
    p, q, r = world.persons
    first = term_a.call("8121", {"psn_no": p, "capture": _cap(FACES.capture(p, rng))})
    assert first["duplicate_checked"] and first["duplicate_of"] == []
    # The same face enrolled for q at the same institution: flagged, and p is named.
    dup = term_a.call("8121", {"psn_no": q, "capture": _cap(FACES.capture(p, rng))})
    assert [m["psn_no"] for m in dup["duplicate_of"]] == [p] and dup["duplicate_of"][0]["score"] >= 0.5
    # ... at another institution: flagged twice (p and q), the names withheld from it.
    dup_b = term_b.call("8121", {"psn_no": r, "capture": _cap(FACES.capture(p, rng))})
    assert len(dup_b["duplicate_of"]) == 2 and {m["psn_no"] for m in dup_b["duplicate_of"]} == {None}
    # Re-enrolling p never matches p's own (replaced) template, only the others.
    again = term_a.call("8121", {"psn_no": p, "capture": _cap(FACES.capture(p, rng))})
    assert again["replaced"] and len(again["duplicate_of"]) == 2
    assert sorted(m["psn_no"] or "" for m in again["duplicate_of"]) == ["", q]  # r's name withheld: b enrolled r
    # The bureau sees every record with both persons.
    entries = world.bureau.call("8125", {})["entries"]
    pairs = [(e["psn_no"], e["other_psn_no"], e["fixmedins_code"]) for e in entries]
    assert sorted(pairs) == sorted([(q, p, a), (r, p, b), (r, q, b), (p, q, a), (p, r, a)])
    assert [e[0] for e in pairs] == [p, p, r, r, q]  # newest first
    assert [e["duplicate_id"] for e in entries] == sorted((e["duplicate_id"] for e in entries), reverse=True)
    assert {e["psn_no"] for e in world.bureau.call("8125", {"psn_no": r})["entries"]} == {p, r}
    assert {e["fixmedins_code"] for e in world.bureau.call("8125", {"fixmedins_code": b})["entries"]} == {b}
    # District scope: a district bureau elsewhere sees none of them; institutions may not ask.
    world.bureau.call("8011", {"code": "410198", "name": "另一区"})
    elsewhere = _district_user(world, http, "410198")
    assert elsewhere.call("8125", {})["entries"] == []
    assert elsewhere.send("8125", {"district_code": world.district}).infcode == 3003
    assert term_a.send("8125", {}).infcode == 2005
    assert _district_user(world, http, world.district).call("8125", {})["entries"] == entries


def test_enrolment_with_an_uncalibrated_model_is_not_checked(world, two, monkeypatch):
    from reference.face.core import FaceCore

    # as if vendor-x:r100 were the server engine's own model: accepted, though it has no operating point
    monkeypatch.setattr(FaceCore, "known_model", lambda self, model_id: True)
    rng = np.random.default_rng(14)
    _, term_a, _, _ = two
    v = rng.standard_normal(256)
    term_a.call("8121", {"psn_no": world.persons[0], "capture": _cap(v, model="vendor-x:r100")})
    out = term_a.call("8121", {"psn_no": world.persons[1], "capture": _cap(v, model="vendor-x:r100")})
    assert out["duplicate_checked"] is False and out["duplicate_of"] == []


@pytest.mark.req("HD-2", "PH-3")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), noise=st.floats(0.0, 2.0))
def test_verification_score_is_the_exact_cosine(world, seed, noise):
    rng = np.random.default_rng(seed)
    term = world.terminal()
    p = world.persons[0]
    enrolled = rng.standard_normal(512)
    probe = enrolled + noise * rng.standard_normal(512)
    term.call("8121", {"psn_no": p, "capture": _cap(enrolled)})
    out = term.call("8122", {"psn_no": p, "scene": "pharmacy", "capture": _cap(probe)})
    e = np.asarray(enrolled, np.float32).astype(np.float64)
    v = np.asarray(probe, np.float32).astype(np.float64)
    want = float(e @ v / np.linalg.norm(e) / np.linalg.norm(v))
    assert out["score"] == pytest.approx(want, abs=2e-6)
    assert out["matched"] == (out["score"] >= 0.5)
