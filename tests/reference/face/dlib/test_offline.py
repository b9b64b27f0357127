"""The default dlib pipeline offline, through the app: the face core starts and a full photograph
is enrolled (detect → align → embed) and verified — with a full image and with an aligned 150×150
chip — while every connection off the machine is refused."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from device_mocks.world import bootstrap_world
from reference.api.app import create_app
from reference.face.engines import DlibEngineAdapter
from reference.face.photo_scores import augment, face_crop
from tests.conftest import ADMIN_SECRET, BASE, TestClient, make_settings


def _capture(rgb: np.ndarray, aligned: bool) -> dict:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    assert ok
    return {"image_b64": base64.b64encode(buf.tobytes()).decode(), "aligned": aligned,
            "liveness": {"passed": True, "score": 0.97, "method": "ir"}}


@pytest.fixture(scope="module")
def models_root(model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("models-root")
    (root / "dlib").symlink_to(model_dir, target_is_directory=True)
    return root


@pytest.mark.req("INP-1", "HD-2")
def test_dlib_enrols_and_verifies_photographs_with_the_network_disabled(tmp_path, models_root, engine, photos,
                                                                       no_network):
    app = create_app(make_settings(tmp_path, face_engine="dlib", face_model_dir=models_root))
    astronaut = photos["astronaut"]
    (face, _), = engine.embed_image(astronaut)
    crop = face_crop(astronaut, face.box)
    chip = engine.chip(astronaut, face.landmarks)
    (stranger, _), *_ = engine.embed_image(photos["t1"])
    other = face_crop(photos["t1"], stranger.box)
    try:
        core = app.state.scenemon.face_core()
        assert core.engine().model_id.startswith("dlib-resnet-v1:")  # start the face core
        with TestClient(app, base_url=BASE) as tc:
            w = bootstrap_world(BASE, "city-admin", ADMIN_SECRET, http=tc, tag="0FF1E2")
            term, psn = w.terminal(), w.persons[0]
            enrolled = term.call("8121", {"psn_no": psn, "capture": _capture(astronaut, aligned=False)})
            jittered = augment(crop, np.random.default_rng(3))
            same = term.call("8122", {"psn_no": psn, "scene": "inpatient", "capture": _capture(jittered, False)})
            by_chip = term.call("8122", {"psn_no": psn, "scene": "inpatient", "capture": _capture(chip, True)})
            diff = term.call("8122", {"psn_no": psn, "scene": "inpatient", "capture": _capture(other, False)})
    finally:
        app.state.scenemon.store.close()
    assert enrolled["model_id"] == same["model_id"]
    assert same["passed"] and by_chip["passed"] and not diff["passed"]
    assert same["threshold"] == core.threshold(enrolled["model_id"])
    assert no_network == []


def test_dlib_sessions_use_the_configured_threads(model_dir):
    for threads in (1, 2):
        inner = DlibEngineAdapter(model_dir, threads=threads).inner
        opts = inner._rec.get_session_options()
        assert (opts.intra_op_num_threads, opts.inter_op_num_threads) == (threads, 1)
