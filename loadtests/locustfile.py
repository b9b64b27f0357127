"""Locust users for the face core and the scene workload (run by `scenemon loadtest`).

User classes (pick them by name on Locust's command line):

- `NoopUser`           — transaction 8000 (ping): the cost of a signed transaction with no work,
                         the baseline the 1:1 throughput target is measured against;
- `VerifyUser`         — 1:1 verification (8122) with a terminal-computed embedding: the bulk of
                         real traffic (every inpatient daily check, every pharmacy sale); the
                         embedding travels as `embedding_b64` (float32 blob, what face SDKs emit);
- `VerifyJsonUser`     — the same with the embedding as a JSON list of numbers (`embedding`);
- `EnrolUser`          — enrolment (8121), re-enrolling gallery persons (replaces their template);
- `IdentifyUser`       — 1:N identification (8124) over the seeded gallery;
- `MixedSceneUser`     — a terminal's day: verifications across scenes, heartbeats, occasional
                         enrolments and identifications, in realistic proportions.

Every request is signed by `device_mocks.client.Client` (through `loadtests.locust_client`).
The seeded world comes from the file named by ``SCENEMON_LOADTEST_WORLD``. Run by hand:

    SCENEMON_LOADTEST_WORLD=var/loadtest/world.json \\
        locust -f loadtests/locustfile.py --host http://127.0.0.1:8700 VerifyUser
"""

from __future__ import annotations

import itertools
import json
import os
from functools import cache

from locust import constant, events, task
from locust.contrib.fasthttp import FastHttpUser

from loadtests.locust_client import CapturePool, LoadWorld, LocustTerminal

SCENES = ("inpatient", "pharmacy", "hemodialysis", "rehab")
_user_seq = itertools.count()


@cache
def world() -> LoadWorld:
    return LoadWorld.load()


FINAL_STATS_ENV = "SCENEMON_LOADTEST_FINAL_STATS"


def _entry(e) -> dict:
    return {"requests": e.num_requests, "failures": e.num_failures, "rps": e.total_rps,
            "p50_ms": e.get_response_time_percentile(0.5) if e.num_requests else None,
            "p95_ms": e.get_response_time_percentile(0.95) if e.num_requests else None,
            "p99_ms": e.get_response_time_percentile(0.99) if e.num_requests else None,
            "avg_ms": e.avg_response_time if e.num_requests else None}


@events.quitting.add_listener
def _write_final_stats(environment, **_kw) -> None:
    """The run's final figures, written once when Locust quits. Locust's stats CSV is rewritten
    only every second by a greenlet of its own, which a busy machine can starve for a whole short
    stage (the CSV then says 0 requests while the run made hundreds)."""
    path = os.environ.get(FINAL_STATS_ENV)
    if not path:
        return
    stats = environment.stats
    rows = {e.name: _entry(e) for e in stats.entries.values()}
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"rows": rows, "total": _entry(stats.total)}, f)


class _TerminalUser(FastHttpUser):
    abstract = True
    embedding_encoding = "b64"  # captures carry `embedding_b64` (float32 blob); "json": a list of numbers
    wait_time = constant(0)  # closed loop: each user sends its next request as soon as it has an answer
    connection_timeout = 30.0
    network_timeout = 60.0

    def on_start(self) -> None:
        w = world()
        self.n = next(_user_seq)
        creds = w.terminals[self.n % len(w.terminals)]
        self.terminal = LocustTerminal(self.client, w.base_url, creds)
        self.captures = CapturePool(w.persons_of(creds.sender), w.model_id, seed=1000 + self.n,
                                    encoding=self.embedding_encoding)

    def verify(self, scene: str = "pharmacy", impostor_share: float = 0.05) -> None:
        psn, capture = self.captures.pick(impostor_share)
        self.terminal.send("8122", {"psn_no": psn, "scene": scene, "capture": capture}, "face-verify")

    def enrol(self) -> None:
        psn, capture = self.captures.pick()
        self.terminal.send("8121", {"psn_no": psn, "capture": capture}, "face-enrol")

    def identify(self) -> None:
        _, capture = self.captures.pick(impostor_share=0.1)
        self.terminal.send("8124", {"capture": capture, "k": 5}, "face-identify")


class NoopUser(_TerminalUser):
    @task
    def ping(self) -> None:
        self.terminal.send("8000", {}, "admin-ping")


class VerifyUser(_TerminalUser):
    @task
    def verify_task(self) -> None:
        self.verify()


class VerifyJsonUser(VerifyUser):
    """`VerifyUser` with the embedding as a JSON list of 512 numbers (`capture.embedding`)."""

    embedding_encoding = "json"


class EnrolUser(_TerminalUser):
    @task
    def enrol_task(self) -> None:
        self.enrol()


class IdentifyUser(_TerminalUser):
    @task
    def identify_task(self) -> None:
        self.identify()


class MixedSceneUser(_TerminalUser):
    """Proportions of a terminal's day: mostly verifications, a heartbeat every so often."""

    @task(16)
    def verify_in_a_scene(self) -> None:
        self.verify(SCENES[int(self.captures._rng.integers(len(SCENES)))])

    @task(2)
    def heartbeat(self) -> None:
        self.terminal.send("8103", {"app_version": "2.1.0", "camera_ok": True, "liveness_module_ok": True},
                           "device-terminal-heartbeat")

    @task(1)
    def enrol_task(self) -> None:
        self.enrol()

    @task(1)
    def identify_task(self) -> None:
        if world().has_identify:
            self.identify()
        else:
            self.verify()
