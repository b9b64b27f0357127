"""Face enrolment and 1:1 verification through the real insightface + onnxruntime code path,
with the small recognition model the project generates (reference.face.testmodel)."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from device_mocks.world import bootstrap_world
from reference.api.app import create_app
from reference.face.testmodel import build_test_recogniser, jitter, synthetic_face_image
from tests.conftest import ADMIN_SECRET, BASE, TestClient, make_settings

THRESHOLD = 0.6  # the generated model: jittered copies score ~0.9, unrelated images ~0 (measured below)


def _png_b64(img: np.ndarray) -> str:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    build_test_recogniser(root / "scenemon-test" / "w600k_test.onnx")
    return root


@pytest.fixture
def face_world(tmp_path, pack_dir):
    settings = make_settings(tmp_path, face_engine="insightface", face_model_dir=pack_dir,
                             face_model_pack="scenemon-test", face_verify_threshold=THRESHOLD)
    app = create_app(settings)
    with TestClient(app, base_url=BASE) as tc:
        yield bootstrap_world(BASE, "city-admin", ADMIN_SECRET, http=tc, tag="FACE01")
    app.state.scenemon.store.close()


def _capture(img, **extra):
    return {"image_b64": _png_b64(img), "aligned": True, "quality": 0.93,
            "liveness": {"passed": True, "score": 0.97, "method": "ir"}, **extra}


@pytest.mark.req("INP-1", "HD-1", "INP-3", "HD-2")
def test_same_person_passes_and_different_person_fails(face_world):
    rng = np.random.default_rng(42)
    term = face_world.terminal()
    alice, bob = face_world.persons[:2]
    alice_face, bob_face = synthetic_face_image(rng), synthetic_face_image(rng)
    enrolled = term.call("8121", {"psn_no": alice, "capture": _capture(alice_face)})
    assert enrolled["model_id"].startswith("insightface:scenemon-test:")
    same = term.call("8122", {"psn_no": alice, "scene": "inpatient",
                              "capture": _capture(jitter(alice_face, rng))})
    other = term.call("8122", {"psn_no": alice, "scene": "inpatient", "capture": _capture(bob_face)})
    assert same["passed"] and same["score"] >= THRESHOLD
    assert not other["passed"] and other["score"] < THRESHOLD
    assert same["threshold"] == other["threshold"] == THRESHOLD
    _ = bob


def test_failed_liveness_never_passes(face_world):
    rng = np.random.default_rng(1)
    term = face_world.terminal()
    psn = face_world.persons[0]
    face = synthetic_face_image(rng)
    term.call("8121", {"psn_no": psn, "capture": _capture(face)})
    out = term.call("8122", {"psn_no": psn, "scene": "hemodialysis",
                             "capture": _capture(face, liveness={"passed": False, "score": 0.1})})
    assert out["matched"] and not out["passed"] and out["liveness_passed"] is False


def test_reenrolment_replaces_the_template(face_world):
    rng = np.random.default_rng(2)
    term = face_world.terminal()
    psn = face_world.persons[0]
    old, new = synthetic_face_image(rng), synthetic_face_image(rng)
    first = term.call("8121", {"psn_no": psn, "capture": _capture(old)})
    second = term.call("8121", {"psn_no": psn, "capture": _capture(new)})
    assert not first["replaced"] and second["replaced"]
    assert term.call("8122", {"psn_no": psn, "scene": "rehab", "capture": _capture(new)})["passed"]
    assert not term.call("8122", {"psn_no": psn, "scene": "rehab", "capture": _capture(old)})["passed"]


def test_wrong_crop_size_and_bad_image_are_refused(face_world):
    term = face_world.terminal()
    psn = face_world.persons[0]
    r = term.send("8121", {"psn_no": psn, "capture": _capture(np.zeros((64, 64, 3), np.uint8))})
    assert r.infcode == 5001 and r.envelope["err_field"] == "input.capture.image_b64"
    r = term.send("8121", {"psn_no": psn, "capture": {"image_b64": "not base64!", "aligned": True}})
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.capture.image_b64"
    r = term.send("8121", {"psn_no": psn, "capture": {"image_b64": base64.b64encode(b"GIF89a").decode()}})
    assert r.infcode == 1001


def test_verification_without_template(face_world):
    rng = np.random.default_rng(3)
    r = face_world.terminal().send("8122", {"psn_no": face_world.persons[2], "scene": "pharmacy",
                                             "capture": _capture(synthetic_face_image(rng))})
    assert r.status == 404 and r.infcode == 5003


@pytest.mark.req("GEN-5")
def test_missing_model_pack_is_logged_for_the_operator_and_no_path_reaches_the_client(tmp_path, caplog):
    settings = make_settings(tmp_path, face_engine="insightface", face_model_dir=tmp_path / "none")
    app = create_app(settings)
    with TestClient(app, base_url=BASE) as tc:
        w = bootstrap_world(BASE, "city-admin", ADMIN_SECRET, http=tc, tag="FACE02")
        r = w.terminal().send("8121", {"psn_no": w.persons[0], "capture": _capture(np.zeros((112, 112, 3), np.uint8))})
    app.state.scenemon.store.close()
    assert r.status == 503 and r.infcode == 5002
    assert str(tmp_path) not in r.envelope["err_msg"] and "server log" in r.envelope["err_msg"]
    assert str(tmp_path / "none" / "buffalo_l") in caplog.text and "SCENEMON_FACE_MODEL_DIR" in caplog.text
