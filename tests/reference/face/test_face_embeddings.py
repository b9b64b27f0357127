"""Terminal-computed embeddings: templates per model, never compared across models."""

from __future__ import annotations

import numpy as np
import pytest

from reference.face.synthetic import SyntheticFaces

FACES = SyntheticFaces()


def _cap(vec, model=FACES.model_id):
    return {"embedding": [float(x) for x in vec], "embedding_model": model,
            "liveness": {"passed": True}, "quality": 0.8}


@pytest.mark.req("HD-2", "PH-3")
def test_synthetic_embeddings_verify(world):
    rng = np.random.default_rng(0)
    term = world.terminal()
    p, q = world.persons[:2]
    term.call("8121", {"psn_no": p, "capture": _cap(FACES.capture(p, rng))})
    ok = term.call("8122", {"psn_no": p, "scene": "pharmacy", "capture": _cap(FACES.capture(p, rng))})
    bad = term.call("8122", {"psn_no": p, "scene": "pharmacy", "capture": _cap(FACES.capture(q, rng))})
    assert ok["passed"] and ok["threshold"] == 0.5 and ok["score"] > 0.7
    assert not bad["passed"] and bad["score"] < 0.3


def test_templates_are_never_compared_across_models(world):
    rng = np.random.default_rng(1)
    term = world.terminal()
    p = world.persons[0]
    term.call("8121", {"psn_no": p, "capture": _cap(FACES.capture(p, rng))})
    r = term.send("8122", {"psn_no": p, "scene": "inpatient",
                           "capture": _cap(FACES.capture(p, rng), model="synthetic:other")})
    assert r.infcode == 5003  # no template for that model: never matched against synthetic:v1


def test_model_dimension_is_fixed(world):
    rng = np.random.default_rng(2)
    term = world.terminal()
    p = world.persons[0]
    term.call("8121", {"psn_no": p, "capture": _cap(FACES.capture(p, rng))})
    r = term.send("8122", {"psn_no": p, "scene": "inpatient", "capture": _cap(np.ones(128))})
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.capture"


@pytest.mark.req("GEN-2")
def test_a_model_without_operating_point_is_refused_at_enrolment(world):
    term = world.terminal()
    p = world.persons[0]
    vec = np.random.default_rng(3).standard_normal(256)
    r = term.send("8121", {"psn_no": p, "capture": _cap(vec, model="vendor-x:r100")})
    assert (r.infcode, r.envelope["err_field"]) == (1001, "input.capture.embedding_model")
    r = term.send("8122", {"psn_no": p, "scene": "inpatient", "capture": _cap(vec, model="vendor-x:r100")})
    assert (r.infcode, r.envelope["err_field"]) == (1001, "input.capture.embedding_model")


def test_the_core_refuses_to_guess_a_threshold_and_names_no_server_path():
    from reference.config import Settings
    from reference.errors import ModelUnavailable
    from reference.face.core import OPERATING_POINTS, FaceCore

    with pytest.raises(ModelUnavailable, match="calibrate") as exc:
        FaceCore(Settings(face_engine="embedding-only")).threshold("vendor-x:r100")
    assert str(OPERATING_POINTS.parent) not in exc.value.err_msg


@pytest.mark.parametrize(
    ("capture", "field"),
    [
        ({"embedding": [0.0] * 512, "embedding_model": "synthetic:v1"}, "input.capture.embedding"),
        ({"embedding": [1.0] * 512}, "input.capture"),
        ({}, "input.capture"),
        ({"embedding": [1.0] * 10, "embedding_model": "m"}, "input.capture.embedding"),
        ({"image_b64": "eA==", "embedding": [1.0] * 512, "embedding_model": "m"}, "input.capture"),
        ({"embedding": [1.0] * 512, "embedding_model": "m", "quality": 2}, "input.capture.quality"),
    ],
)
def test_bad_captures(world, capture, field):
    r = world.terminal().send("8121", {"psn_no": world.persons[0], "capture": capture})
    assert r.infcode == 1001 and r.envelope["err_field"] == field


def test_enrolment_of_unknown_person(world):
    rng = np.random.default_rng(4)
    r = world.terminal().send("8121", {"psn_no": "NOBODY", "capture": _cap(FACES.capture("x", rng))})
    assert r.infcode == 3003 and r.envelope["err_field"] == "input.psn_no"


@pytest.mark.req("GEN-5")
def test_erasure_removes_templates(world):
    rng = np.random.default_rng(5)
    term = world.terminal()
    p = world.persons[0]
    term.call("8121", {"psn_no": p, "capture": _cap(FACES.capture(p, rng))})
    assert world.bureau.call("8123", {"psn_no": p})["deleted"] == 1
    r = term.send("8122", {"psn_no": p, "scene": "inpatient", "capture": _cap(FACES.capture(p, rng))})
    assert r.infcode == 5003


@pytest.mark.req("HD-2", "PH-3")
def test_embedding_b64_verifies_like_the_list(world):
    import base64

    rng = np.random.default_rng(6)
    term = world.terminal()
    p = world.persons[0]
    term.call("8121", {"psn_no": p, "capture": _cap(FACES.capture(p, rng))})
    probe = FACES.capture(p, rng).astype(np.float32)
    as_list = term.call("8122", {"psn_no": p, "scene": "pharmacy", "capture": _cap(probe)})
    blob = {"embedding_b64": base64.b64encode(probe.astype("<f4").tobytes()).decode(),
            "embedding_model": FACES.model_id, "liveness": {"passed": True}}
    as_blob = term.call("8122", {"psn_no": p, "scene": "pharmacy", "capture": blob})
    assert as_blob["passed"] and as_blob["score"] == as_list["score"]
    bad = term.send("8122", {"psn_no": p, "scene": "pharmacy", "capture": {**blob, "embedding_b64": "@@@@"}})
    assert bad.infcode == 1001 and bad.envelope["err_field"] == "input.capture.embedding_b64"
