"""Shared fixtures: a reference server in-process on a temporary SQLite file with a manual
business clock, and a small world (district, institutions, certified terminals, persons)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():  # Starlette asks for httpx2; its TestClient works with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from device_mocks.client import Client
from device_mocks.world import World, bootstrap_world
from reference.api.app import create_app
from reference.config import Settings
from reference.server import ServerProcess

ADMIN_SECRET = "test-city-admin-secret"
BASE = "http://testserver"
START = "2026-03-02T08:00:00"


def make_settings(tmp_path: Path, **over) -> Settings:
    values = dict(db_path=tmp_path / "scenemon.db", bootstrap_secret=ADMIN_SECRET, clock="manual",
                  clock_start=START, face_engine="embedding-only")
    values.update(over)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings):
    app = create_app(settings)
    yield app
    app.state.scenemon.store.close()


@pytest.fixture
def http(app) -> TestClient:
    with TestClient(app, base_url=BASE) as tc:
        yield tc


@pytest.fixture
def admin(http) -> Client:
    return Client(BASE, sender="city-admin", secret=ADMIN_SECRET, http=http)


@pytest.fixture
def world(http) -> World:
    return bootstrap_world(BASE, "city-admin", ADMIN_SECRET, http=http, tag="A1B2C3")


def server_env(db_path: Path, **over: str) -> dict[str, str]:
    env = {"SCENEMON_DB_PATH": str(db_path), "SCENEMON_BOOTSTRAP_SECRET": ADMIN_SECRET,
           "SCENEMON_CLOCK": "manual", "SCENEMON_CLOCK_START": START,
           "SCENEMON_FACE_ENGINE": "embedding-only"}
    env.update(over)
    return env


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """A real uvicorn server in a child process (for concurrency and crash tests)."""
    d = tmp_path_factory.mktemp("live")
    with ServerProcess(server_env(d / "live.db"), log_path=d / "server.log") as srv:
        srv.world = bootstrap_world(srv.base_url, "city-admin", ADMIN_SECRET, tag="5EED01")
        yield srv
        srv.world.close()
