"""Provisioning a region on the reference server in process, checked back through the drivers:
institutions (8013), terminals (8106), persons (8002 after `register_person`), accounts, and a
scene enabled from a future date that is monitored only from that day (8201 refused with 3004
before, accepted after the business clock passes it)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from device_mocks.results import TxError
from device_mocks.transport import InProcess
from reference.api.app import create_app
from simulator.provision import provision, register_person
from simulator.world import WorldSpec, generate_region
from tests.conftest import ADMIN_SECRET, make_settings

START = date(2026, 3, 2)  # the business clock of make_settings starts 2026-03-02 08:00
GO_LIVE = date(2026, 3, 10)


@pytest.fixture
def setup(tmp_path):
    app = create_app(make_settings(tmp_path))
    bureau = InProcess.of_app(app, sender="city-admin", secret=ADMIN_SECRET, opter="bureau01", opter_name="监管员")
    region = generate_region(WorldSpec.preset("small"), 2, start=START, days=60)
    hospital = max(region.hospitals(), key=lambda i: i.beds)
    since = {(i.code, "inpatient"): START for i in region.hospitals() if i is not hospital}
    since[(hospital.code, "inpatient")] = GO_LIVE
    since |= {(p.code, "pharmacy"): START for p in region.pharmacies()}
    steps = []
    accounts = provision(region, bureau, scenes_since=since, progress=lambda done, total: steps.append((done, total)))
    yield app, region, accounts, hospital, since, steps
    app.state.scenemon.store.close()


def test_the_server_holds_the_region(setup):
    _, region, accounts, _, since, steps = setup
    assert steps[-1] == (len(region.institutions), len(region.institutions))
    bureau = accounts.bureau
    assert set(accounts.his) == {i.code for i in region.institutions}
    for inst in region.institutions:
        out = bureau.registry.institution_get(fixmedins_code=inst.code)
        assert (out.fixmedins_name, out.inst_type, out.level, out.district_code, out.speciality) == \
            (inst.name, inst.inst_type, inst.level, inst.district_code, inst.speciality)
        assert {(s.scene, s.since) for s in out.scenes if s.enabled} == \
            {(scene, d.isoformat()) for (code, scene), d in since.items() if code == inst.code}
        listed = accounts.his[inst.code].devices.terminal_list(fixmedins_code=inst.code).terminals
        assert sorted((t.terminal_id, t.status.value, t.location) for t in listed) == \
            sorted((t.terminal_id, "certified", t.location) for t in inst.terminals)
    # each terminal account signs as itself
    for tid, term in accounts.terminals.items():
        assert term.admin.ping().model_dump()  # accepted: the account exists and is certified
        assert term.sender == tid
    village = region.of_type("village_clinic")[0]
    assert not region.institution(village.code).terminals
    with pytest.raises(KeyError):
        accounts.terminal_for(village.code)
    hospital = max(region.hospitals(), key=lambda i: i.beds)
    dept = next(d for d in hospital.departments if d.equipped)
    term = accounts.terminal_for(hospital.code, dept.code)
    assert next(t for t in hospital.terminals if t.terminal_id == term.sender).dept_code == dept.code


def test_accounts_have_their_scope(setup):
    _, region, accounts, _, _, _ = setup
    inst = region.institutions[0]
    d = region.districts[0].code
    assert accounts.districts[d].registry.institution_get(fixmedins_code=inst.code).fixmedins_code == inst.code
    assert accounts.audit.registry.institution_get(fixmedins_code=inst.code).fixmedins_code == inst.code
    other = region.institutions[1]
    with pytest.raises(TxError) as e:
        accounts.his[inst.code].registry.institution_get(fixmedins_code=other.code)
    assert e.value.infcode == 3003


def test_register_person_lazily_with_flags_and_twice(setup):
    _, region, accounts, _, _, _ = setup
    flagged = next(p for p in region.persons if p.flags)
    plain = next(p for p in region.persons if not p.flags)
    home = flagged.home_institutions[0]
    with pytest.raises(TxError):  # not on the server before its first meeting
        accounts.bureau.registry.person_get(psn_no=flagged.psn_no)
    for p in (flagged, plain):
        register_person(accounts, region, p.psn_no, by_institution=home)
        register_person(accounts, region, p.psn_no, by_institution=home)  # twice is fine
        out = accounts.his[home].registry.person_get(psn_no=p.psn_no)
        assert (out.certno, out.psn_name, out.insuplc_admdvs, out.brdy, out.gend) == \
            (p.certno, p.name, p.insuplc_admdvs, p.birth_date.isoformat(), p.gender)
        assert sorted(out.flags) == sorted(p.flags)
    assert accounts.registered == {flagged.psn_no, plain.psn_no}
    # a second institution meets the person: linked by reading the ID card, so it sees them too
    other = region.pharmacies()[0].code
    with pytest.raises(TxError):
        accounts.his[other].registry.person_get(psn_no=plain.psn_no)
    register_person(accounts, region, plain.psn_no, by_institution=other)
    assert accounts.his[other].registry.person_get(psn_no=plain.psn_no).psn_no == plain.psn_no
    # a registration another process made counts too (3002 "exists")
    accounts.registered.clear()
    accounts.linked.clear()
    register_person(accounts, region, plain.psn_no, by_institution=home)
    assert plain.psn_no in accounts.registered


def test_a_scene_from_a_future_date_is_monitored_only_from_then(setup):
    _, region, accounts, hospital, _, _ = setup
    person = next(p for p in region.persons if not p.flags)
    register_person(accounts, region, person.psn_no, by_institution=hospital.code)
    dept = next(d for d in hospital.departments if d.equipped)
    his = accounts.his[hospital.code]

    def admit(mdtrt_id: str, at: datetime):
        when = at.isoformat(timespec="seconds")
        return his.inpatient.send(his.inpatient.admit, mdtrt_id=mdtrt_id, psn_no=person.psn_no, adm_time=when,
                                  dept_code=dept.code, dept_name=dept.name, ward=dept.ward, bed_no="01",
                                  dept_equipped=True,
                                  consent={"face_recognition": True, "video_monitoring": True, "signed_at": when})

    before = admit("M0001", datetime(2026, 3, 2, 7, 30))
    assert not before.ok and before.infcode == 3004 and "not monitored" in before.envelope["err_msg"]
    accounts.bureau.admin.clock(set_to="2026-03-10T10:00:00")
    after = admit("M0002", datetime(2026, 3, 10, 9, 30))
    assert after.ok, after.envelope
