"""Writes that a response acknowledges survive a crash (SIGKILL) of the server process."""

from __future__ import annotations

from datetime import date

import pytest

from device_mocks.client import Client
from reference.idcard import make_certno
from reference.server import ServerProcess
from reference.store.db import migration_files, open_store
from tests.conftest import ADMIN_SECRET, server_env


@pytest.mark.req("GEN-5")
def test_acknowledged_write_survives_sigkill(tmp_path):
    env = server_env(tmp_path / "crash.db")
    srv = ServerProcess(env, log_path=tmp_path / "server.log").start()
    admin = Client(srv.base_url, sender="city-admin", secret=ADMIN_SECRET)
    try:
        admin.call("8011", {"code": "410102", "name": "中原区"})
        inst = admin.call("8012", {"fixmedins_code": "HCRASH", "fixmedins_name": "x",
                                   "inst_type": "primary_hospital", "level": "1", "district_code": "410102"})
        hosp = Client(srv.base_url, sender="HCRASH", secret=inst["secret"], fixmedins_code="HCRASH",
                      http=admin.http)
        certno = make_certno("410102", date(1990, 2, 3), 5)
        ack = hosp.send("8001", {"psn_no": "PCRASH", "certno": certno, "psn_name": "孙七",
                                 "insuplc_admdvs": "410100"})
        assert ack.ok
        srv.kill()  # SIGKILL immediately after the acknowledgement: no shutdown code runs
    finally:
        srv.stop()
        admin.close()
    with ServerProcess(env, port=srv.port, log_path=tmp_path / "server.log") as again, \
            Client(again.base_url, sender="city-admin", secret=ADMIN_SECRET) as admin:
        assert admin.call("8002", {"psn_no": "PCRASH"})["certno"] == certno


def test_migrations_are_numbered_and_applied_once(tmp_path):
    files = migration_files()
    assert [v for v, _, _ in files] == list(range(1, len(files) + 1))
    store = open_store(tmp_path / "m.db")
    assert store.db().scalar("PRAGMA user_version") == len(files)
    assert store.db().scalar("PRAGMA journal_mode") == "wal"
    store.close()
    store = open_store(tmp_path / "m.db")  # reopening applies nothing twice
    assert store.db().scalar("PRAGMA user_version") == len(files)
    assert store.db().scalar("SELECT vec_version()").startswith("v")
    store.close()


def test_failed_write_rolls_back(tmp_path):
    store = open_store(tmp_path / "r.db")
    with pytest.raises(RuntimeError), store.write() as db:
        db.execute("INSERT INTO districts VALUES ('410199','x','410100','t')")
        raise RuntimeError("boom")
    assert store.db().scalar("SELECT count(*) FROM districts") == 0
    store.close()
