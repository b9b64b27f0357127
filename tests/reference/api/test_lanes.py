"""Requests run in two bounded thread lanes: captures with an image in `image_threads`
threads, everything else in `request_threads` (reference/api/app.py)."""

from __future__ import annotations

import threading
import time

import pytest

from device_mocks.world import bootstrap_world
from reference.api.app import create_app
from reference.face.core import FaceCore
from tests.conftest import ADMIN_SECRET, BASE, make_settings

SLOW_S = 0.8


@pytest.fixture
def one_thread_each(tmp_path, monkeypatch):
    """A server with one thread per lane, whose image embedding takes SLOW_S seconds."""
    from fastapi.testclient import TestClient

    real = FaceCore.from_capture

    def slow(self, capture):
        if capture.image_b64 is not None:
            time.sleep(SLOW_S)
        return real(self, capture)

    monkeypatch.setattr(FaceCore, "from_capture", slow)
    app = create_app(make_settings(tmp_path, request_threads=1, image_threads=1))
    with TestClient(app, base_url=BASE) as tc:
        yield bootstrap_world(BASE, "city-admin", ADMIN_SECRET, http=tc, tag="1A2E5")
    app.state.scenemon.store.close()


def test_images_do_not_hold_up_light_transactions_and_each_lane_is_bounded(one_thread_each):
    term = one_thread_each.terminal()
    psn = one_thread_each.persons[0]
    done: dict[str, float] = {}
    start = time.perf_counter()

    def image(name: str) -> None:
        r = term.send("8122", {"psn_no": psn, "scene": "inpatient", "capture": {"image_b64": "aGVsbG8="}})
        # not an image: refused (1001), but only after the (slowed) embedding step ran
        assert r.infcode == 1001 and r.envelope["err_field"] == "input.capture.image_b64"
        done[name] = time.perf_counter() - start

    threads = [threading.Thread(target=image, args=(f"image{k}",)) for k in (1, 2)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # both image requests are in: one runs, one waits for the image lane
    for k in range(5):
        assert term.send("8000", {}).ok
        done[f"ping{k}"] = time.perf_counter() - start
    for t in threads:
        t.join()
    pings = [v for k, v in done.items() if k.startswith("ping")]
    images = sorted(v for k, v in done.items() if k.startswith("image"))
    assert max(pings) < SLOW_S < images[0]          # the light lane never waited for a photo
    assert images[1] >= 2 * SLOW_S                   # one image thread: the second photo waited


def test_one_app_serves_several_event_loops(tmp_path):
    """Limiters are not shared between event loops (anyio's rule for its primitives): an app
    started twice (two TestClients, two loops, as tests and embedding programs do) answers
    concurrent requests that queue on its one-thread lane in both."""
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from device_mocks.client import Client

    app = create_app(make_settings(tmp_path, request_threads=1))
    try:
        for _ in range(2):
            with TestClient(app, base_url=BASE) as tc:
                admin = Client(BASE, sender="city-admin", secret=ADMIN_SECRET, http=tc)
                with ThreadPoolExecutor(6) as pool:
                    results = list(pool.map(lambda _, c=admin: c.send("8000", {}).ok, range(24)))
                assert results == [True] * 24
    finally:
        app.state.scenemon.store.close()
