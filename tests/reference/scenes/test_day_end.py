"""The generic day end (日终, reference.services.day_end) under the inpatient scene (8209): closures
per (scene, institution, day), only where the scene is monitored, set-based scans on a read
snapshot whose decisions the write phase re-checks, and one effect per message."""

from __future__ import annotations

from datetime import date, datetime

import apsw
import pytest
from inpatient_support import Ward, make_ward

from reference.clock import CST
from reference.scope import Scope
from reference.services import day_end

DAY = "2026-03-03"


@pytest.fixture
def ward(world, admin) -> Ward:
    return make_ward(world, admin)


@pytest.fixture
def store(app):
    return app.state.scenemon.store


def _second_ward(world, admin) -> Ward:
    code = list(world.institutions)[1]
    return Ward(admin, world.institutions[code].client, world.terminal(code), code, {})


def _scene(admin, code: str, enabled: bool, since: str = "2026-01-01") -> None:
    admin.call("8014", {"fixmedins_code": code, "scene": "inpatient", "enabled": enabled, "since": since})


def _now() -> datetime:
    return datetime(2026, 3, 4, 9, 0, tzinfo=CST)


@pytest.mark.req("INP-1", "INP-2", "INP-3", "INP-8")
def test_a_mixed_ward_gets_one_status_per_due_patient_day(ward, admin):
    """Compliant (a passed check), finding (a failed one), excused (special registration); the
    discharge day, the admission day and an unequipped department are not daily-check days; a
    patient discharged the day before is not in hospital. Each finding is a lead, and the
    statuses feed the indicators (8231)."""
    ward.set_clock("2026-03-02T09:00:00")
    compliant, finding, excused, discharged = (ward.admit() for _ in range(4))
    unequipped = ward.admit(equipped=False)
    gone = ward.admit()
    ward.set_clock("2026-03-02T19:00:00")
    ward.inst.call("8203", {"mdtrt_id": gone[0], "dscg_time": "2026-03-02T18:00:00"})
    ward.set_clock("2026-03-03T09:00:00")
    admitted_today = ward.admit()
    assert ward.check(*compliant).output["verification"]["passed"] is True
    assert ward.check(*finding, genuine=False).output["verification"]["passed"] is False
    reg = ward.register(excused[0], day=DAY).output
    ward.check(*discharged)
    ward.set_clock("2026-03-03T16:00:00")
    ward.inst.call("8203", {"mdtrt_id": discharged[0], "dscg_time": "2026-03-03T15:00:00"})
    ward.set_clock("2026-03-04T00:30:00")

    out = ward.day_end(DAY).output
    days = {d["mdtrt_id"]: d for d in out["patient_days"]}
    assert {m: d["status"] for m, d in days.items()} == {
        compliant[0]: "compliant", finding[0]: "finding", excused[0]: "excused"}
    assert not {discharged[0], admitted_today[0], unequipped[0], gone[0]} & set(days)
    assert [days[m]["passed_checks"] for m in (compliant[0], finding[0], excused[0])] == [1, 0, 0]
    assert days[excused[0]]["reg_id"] == reg["reg_id"] and days[compliant[0]]["reg_id"] is None
    daily = {f["subject_id"]: f["lead_id"] for f in out["findings"] if f["rule_id"] == "INP-DAILY-FACE-CHECK"}
    assert daily == {f"{ward.code}/{finding[0]}/{DAY}": days[finding[0]]["lead_id"]}
    assert days[compliant[0]]["lead_id"] is None and days[excused[0]]["lead_id"] is None
    discharge = [f["subject_id"] for f in out["findings"] if f["rule_id"] == "INP-DISCHARGE-SAME-DAY"]
    assert discharge == [f"{ward.code}/{discharged[0]}"]  # the discharge day's own rule judged it
    row = admin.call("8231", {"start": DAY, "end": DAY, "fixmedins_code": ward.code})["ranking"][0]
    assert (row["daily_due"], row["daily_compliant"], row["daily_excused"], row["daily_findings"]) == (3, 1, 1, 1)


@pytest.mark.req("GEN-1", "INP-3")
def test_a_day_end_closes_only_institutions_where_the_scene_is_monitored(world, admin):
    a, b = make_ward(world, admin), _second_ward(world, admin)
    a.set_clock("2026-03-02T09:00:00")
    a.admit()
    b.admit()
    _scene(admin, b.code, False)
    a.set_clock("2026-03-04T09:00:00")
    out = admin.call("8209", {"day": DAY})
    assert (out["closed"], out["not_monitored"], out["already_closed"]) == ([a.code], [b.code], [])
    named = admin.call("8209", {"day": DAY, "fixmedins_code": b.code})
    assert named["closed"] == [] and named["not_monitored"] == [b.code] and named["patient_days"] == []
    _scene(admin, b.code, True)
    again = admin.call("8209", {"day": DAY})
    assert (again["closed"], again["already_closed"], again["not_monitored"]) == ([b.code], [a.code], [])
    assert [d["fixmedins_code"] for d in again["patient_days"]] == [b.code]


@pytest.mark.req("INP-3", "INP-5")
def test_closures_of_different_scenes_do_not_collide(ward, admin, store):
    """Another scene's closure of the same institution and day leaves the inpatient day open:
    its special registrations are accepted and its day end closes it."""
    ward.set_clock("2026-03-02T09:00:00")
    mdtrt, _ = ward.admit()
    ward.set_clock("2026-03-04T09:00:00")
    with store.write() as db:
        db.execute("INSERT INTO day_closures(scene, institution_code, day, closed_at, closed_by)"
                   " VALUES ('hemodialysis', ?, ?, '2026-03-04T00:10:00+08:00', 'test')", (ward.code, DAY))
    assert ward.register(mdtrt, day=DAY).ok
    out = ward.day_end(DAY).output
    assert out["closed"] == [ward.code] and [d["status"] for d in out["patient_days"]] == ["excused"]
    rows = store.db().all("SELECT scene FROM day_closures WHERE institution_code=? AND day=? ORDER BY scene",
                          (ward.code, DAY))
    assert [r["scene"] for r in rows] == ["hemodialysis", "inpatient"]
    late = ward.register(ward.admit(at="2026-03-02T10:00:00")[0], day=DAY)
    assert late.infcode == 3004 and late.envelope["err_field"] == "input.subject.patient_day.day"  # closed now


@pytest.mark.req("INP-3", "INP-8")
def test_the_write_phase_scans_again_when_a_fact_changed_after_the_snapshot(ward, store):
    """A scan on a read snapshot is used only while every fact table it read is unchanged: a
    special registration arriving between the snapshot and the write turns the finding the
    snapshot saw into an excused day."""
    ward.set_clock("2026-03-02T09:00:00")
    unchanged, changed = ward.admit(), ward.admit()
    ward.set_clock("2026-03-03T09:00:00")
    scope = Scope("city")

    def scan():
        with store.read() as db:
            return day_end.scan(db, scene="inpatient", day=date(2026, 3, 3), scope=scope, institution=ward.code,
                                now=_now())

    snap = scan()
    assert [d["status"] for d in snap.results] == ["finding", "finding"]
    ward.register(changed[0], day=DAY)
    with store.write() as db:
        out = day_end.close(db, scene="inpatient", day=date(2026, 3, 3), scope=scope, institution=ward.code,
                            by="test", now=_now(), snapshot=snap)
    assert out["rescanned"] is True
    assert {d["mdtrt_id"]: d["status"] for d in out["results"]} == {unchanged[0]: "finding", changed[0]: "excused"}


@pytest.mark.req("INP-3")
def test_an_unchanged_snapshot_is_written_as_it_was_scanned(ward, store):
    ward.set_clock("2026-03-02T09:00:00")
    ward.admit()
    ward.set_clock("2026-03-03T09:00:00")
    scope = Scope("city")
    with store.read() as db:
        snap = day_end.scan(db, scene="inpatient", day=date(2026, 3, 3), scope=scope, institution=None, now=_now())
    with store.write() as db:
        out = day_end.close(db, scene="inpatient", day=date(2026, 3, 3), scope=scope, institution=None, by="test",
                            now=_now(), snapshot=snap)
    assert out["rescanned"] is False and out["closed"] == [ward.code]
    assert [d["status"] for d in out["results"]] == ["finding"] and out["results"][0]["lead_id"] is not None


@pytest.mark.req("INP-3", "GEN-2")
def test_the_day_end_reads_the_same_number_of_queries_for_a_larger_ward(world, admin, store):
    """The scan is set-based: tripling the patients (and adding an institution) adds no query."""
    a, b = make_ward(world, admin), _second_ward(world, admin)
    a.set_clock("2026-03-02T09:00:00")

    def statements(day: str) -> int:
        seen = 0

        def count(cursor, sql, bindings):
            nonlocal seen
            seen += 1
            return True

        with store.read() as db:
            db.conn.exec_trace = count
            try:
                day_end.scan(db, scene="inpatient", day=date.fromisoformat(day), scope=Scope("city"),
                             institution=None, now=_now().replace(day=9))
            finally:
                db.conn.exec_trace = None
        return seen

    for _ in range(2):
        a.check(*a.admit())
    small = statements("2026-03-03")
    for ward in (a, b, b):
        for _ in range(2):
            ward.check(*ward.admit())
    assert statements("2026-03-04") == small


@pytest.mark.req("INP-3", "GEN-2")
def test_a_repeated_day_end_message_has_one_effect(ward, admin, store):
    ward.set_clock("2026-03-02T09:00:00")
    ward.admit()
    ward.set_clock("2026-03-04T09:00:00")
    first = admin.send("8209", {"day": DAY, "fixmedins_code": ward.code}, msgid="DAYEND-ONCE-0001")
    again = admin.send("8209", {"day": DAY, "fixmedins_code": ward.code}, msgid="DAYEND-ONCE-0001")
    assert first.ok and again.envelope["output"] == first.envelope["output"]
    assert first.output["closed"] == [ward.code] and len(first.output["findings"]) == 1
    assert store.db().scalar("SELECT count(*) FROM leads WHERE rule_id='INP-DAILY-FACE-CHECK'") == 1


def test_the_read_phase_cannot_write(store):
    """The gateway runs a transaction's read phase query-only: a write there fails."""
    with store.read() as db:
        db.execute("PRAGMA query_only=ON")
        try:
            with pytest.raises(apsw.ReadOnlyError):
                db.execute("INSERT INTO fact_versions(name, version) VALUES ('x', 0)")
        finally:
            db.execute("PRAGMA query_only=OFF")


@pytest.mark.req("INP-3")
def test_every_counted_fact_table_of_a_day_end_has_its_version_and_triggers(store):
    """Without them a snapshot could be trusted after a change: each counted table has its
    `fact_versions` row and a trigger per statement kind, and a write bumps the version."""
    db = store.db()
    triggers = {r["name"] for r in db.all("SELECT name FROM sqlite_master WHERE type='trigger'")}
    for hooks in day_end.scenes().values():
        assert day_end.fingerprint(db, hooks) is not None
        for table in (*day_end.COMMON_COUNTERS, *hooks.counters):
            assert {f"{table}_v_insert", f"{table}_v_update", f"{table}_v_delete"} <= triggers, table
    before = day_end.fingerprint(db, day_end.hooks_for("inpatient"))
    with store.write() as w:
        w.execute("UPDATE rule_releases SET notes=notes")  # the baseline release: one row
    assert day_end.fingerprint(db, day_end.hooks_for("inpatient")) != before
