"""Property-based test of the inpatient scene: random admissions, face checks, discharges,
special registrations, reviews and day ends, driven through the server, keep the invariants:

- a patient-day is never both compliant and a finding (and has exactly one day-end status);
- special registrations only move along the workflow's edges;
- indicator rates stay in [0, 1] and equal a recount from the raw records (visits, face
  verifications, special registrations).

Each example builds a fresh server; `max_examples` keeps the default run short, and the `slow`
variant explores more.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from inpatient_support import Ward

from device_mocks.client import Client
from device_mocks.world import bootstrap_world
from reference.api.app import create_app
from reference.services.special_registration import workflow

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ADMIN = "prop-admin-secret"
BASE = "http://testserver"


class InpatientMachine(RuleBasedStateMachine):
    tmp_factory = None

    @initialize()
    def boot(self):
        from tests.conftest import make_settings

        path = self.tmp_factory.mktemp("prop")
        self.app = create_app(make_settings(path, bootstrap_secret=ADMIN))
        self.tc = TestClient(self.app, base_url=BASE).__enter__()
        admin = Client(BASE, sender="city-admin", secret=ADMIN, http=self.tc)
        world = bootstrap_world(BASE, "city-admin", ADMIN, http=self.tc, tag="F00D01", n_institutions=1,
                                n_persons=0)
        inst = next(iter(world.institutions.values()))
        self.ward = Ward(admin, inst.client, world.terminal(inst.code), inst.code, {})
        self.ward.set_clock("2026-03-02T08:00:00")
        self.visits: list[tuple[str, str]] = []
        self.regs: dict[int, list[str]] = {}
        self.closed: list[str] = []

    def teardown(self):
        if hasattr(self, "tc"):
            self.tc.__exit__(None, None, None)
            self.app.state.scenemon.store.close()

    def db(self):
        return self.app.state.scenemon.store.db()

    def in_hospital(self) -> list[tuple[str, str]]:
        rows = self.db().all("SELECT mdtrt_id, psn_no FROM inpatient_visits WHERE status='in_hospital'")
        return [(r["mdtrt_id"], r["psn_no"]) for r in rows]

    @rule(equipped=st.booleans())
    def admit(self, equipped):
        if len(self.in_hospital()) < 5:
            # admitted a day ago, so today is already a daily-check day
            since = (self.ward.now() - timedelta(days=1)).isoformat()
            self.visits.append(self.ward.admit(equipped=equipped, at=since))

    @precondition(lambda self: self.visits)
    @rule(i=st.integers(0, 20), genuine=st.booleans())
    def face_check(self, i, genuine):
        mdtrt, psn = self.visits[i % len(self.visits)]
        res = self.ward.check(mdtrt, psn, genuine=genuine)
        assert res.ok or res.infcode == 3004, res.envelope

    @precondition(lambda self: self.visits)
    @rule(i=st.integers(0, 20))
    def discharge(self, i):
        mdtrt, _ = self.visits[i % len(self.visits)]
        res = self.ward.inst.send("8203", {"mdtrt_id": mdtrt, "dscg_time": self.ward.now().isoformat()})
        assert res.ok or res.infcode == 3004, res.envelope

    @precondition(lambda self: self.visits)
    @rule(i=st.integers(0, 20))
    def register(self, i):
        mdtrt, _ = self.visits[i % len(self.visits)]
        res = self.ward.register(mdtrt, day=self.ward.now().date().isoformat())
        assert res.ok or res.infcode in {1001, 3002, 3004}, res.envelope
        if res.ok:
            self.regs[res.output["reg_id"]] = [res.output["status"]]

    @precondition(lambda self: self.regs)
    @rule(i=st.integers(0, 20), approve=st.booleans(), supplement=st.booleans())
    def review(self, i, approve, supplement):
        reg_id = sorted(self.regs)[i % len(self.regs)]
        if supplement:
            res = self.ward.inst.send("8603", {"reg_id": reg_id, "note": "补充材料说明",
                                               "attachment_ids": [self.ward.attach("evidence", b"%PDF-" + bytes([i]))]})
        else:
            res = self.ward.admin.send("8604", {"reg_id": reg_id, "approve": approve, "note": "审核"})
        if res.ok:
            self.regs[reg_id].append(res.output["status"])
        else:
            assert res.infcode in {1001, 3004}, res.envelope

    @rule(hours=st.sampled_from([4, 10, 16]))
    def pass_time(self, hours):
        self.ward.advance(hours=hours)

    @rule()
    def day_end(self):
        """Close every ended day not closed yet, in order."""
        day = date(2026, 3, 2)
        while day < self.ward.now().date():
            if day.isoformat() not in self.closed:
                res = self.ward.day_end(day.isoformat())
                assert res.ok, res.envelope
                self.closed.append(day.isoformat())
            day += timedelta(days=1)

    @invariant()
    def one_status_per_patient_day(self):
        if not hasattr(self, "ward"):
            return
        db = self.db()
        rows = db.all("SELECT p.mdtrt_id, p.day, p.status, p.lead_id, (SELECT count(*) FROM face_verifications v"
                      " WHERE v.mdtrt_id=p.mdtrt_id AND v.passed=1 AND substr(v.at,1,10)=p.day) AS passes,"
                      " (SELECT count(*) FROM leads l WHERE l.rule_id='INP-DAILY-FACE-CHECK' AND l.subject_id="
                      " p.institution_code || '/' || p.mdtrt_id || '/' || p.day) AS leads"
                      " FROM inpatient_patient_days p")
        for r in rows:
            assert (r["status"] == "compliant") == (r["passes"] > 0), r
            assert (r["status"] == "finding") == (r["leads"] == 1), r
            assert r["leads"] <= 1, r

    @invariant()
    def reviews_follow_the_workflow(self):
        edges = set(workflow().edges)
        for reg_id, states in getattr(self, "regs", {}).items():
            assert states[0] == "submitted"
            for a, b in zip(states, states[1:], strict=False):
                assert (a, b) in edges, (reg_id, states)
            events = self.db().all("SELECT from_status, to_status FROM special_registration_events WHERE reg_id=?"
                                   " ORDER BY id", (reg_id,))
            assert [e["to_status"] for e in events] == states

    @invariant()
    def indicators_match_a_recount(self):
        if not getattr(self, "closed", None):
            return
        out = self.ward.admin.call("8231", {"start": "2026-03-01", "end": "2026-04-30"})["ranking"]
        db = self.db()
        due = compliant = registered = 0
        for day in self.closed:
            for v in db.all("SELECT * FROM inpatient_visits WHERE dept_equipped=1 AND substr(adm_time,1,10)<?"
                            " AND (dscg_time IS NULL OR substr(dscg_time,1,10)>?)", (day, day)):
                due += 1
                passed = db.scalar("SELECT count(*) FROM face_verifications WHERE mdtrt_id=? AND passed=1"
                                   " AND substr(at,1,10)=?", (v["mdtrt_id"], day))
                compliant += passed > 0
                registered += db.scalar("SELECT count(*) FROM special_registrations WHERE subject_id=?",
                                        (f"{v['mdtrt_id']}/{day}",))
        if due == 0:
            assert all(r["daily_due"] == 0 for r in out)
            return
        (row,) = out
        assert (row["daily_due"], row["daily_compliant"], row["special_registrations"]) == (due, compliant, registered)
        assert row["daily_check_rate"] == pytest.approx(compliant / due, abs=1e-6)  # rates carry 6 decimals
        for key in ("daily_check_rate", "remote_check_rate", "special_registration_rate", "rejection_rate"):
            assert row[key] is None or 0 <= row[key] <= 1, (key, row)


def _run(tmp_path_factory, examples: int, steps: int):
    InpatientMachine.tmp_factory = tmp_path_factory
    InpatientMachine.TestCase.settings = settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                                                  suppress_health_check=list(HealthCheck))
    InpatientMachine.TestCase("runTest").runTest()


@pytest.mark.req("INP-3", "INP-5", "INP-7")
def test_random_inpatient_days_keep_the_invariants(tmp_path_factory):
    _run(tmp_path_factory, examples=12, steps=25)


@pytest.mark.slow
def test_random_inpatient_days_keep_the_invariants_long(tmp_path_factory):
    _run(tmp_path_factory, examples=150, steps=50)
