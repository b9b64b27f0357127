"""One scenario per rule branch, driven through the signed interface. Called with its defaults a
scenario makes its rule fire just past the line (one fen over an amount, one second past a
deadline); the tests call it again with the near miss (exactly at the line) to show the rule
stays quiet. `SCENARIOS` lists the firing defaults for test_rule_coverage.py, which disables each
rule in a release and checks its scenarios no longer fire.

Business time starts at 2026-03-02T08:00 CST (tests/conftest.py) and only moves forward.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from rule_support import RuleEnv, Seen, Site

from tests.reference.scenes.inpatient_support import capture

Scenario = Callable[[RuleEnv], Seen]
SCENARIOS: list[tuple[str, Scenario]] = []


def scenario(rule_id: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS.append((rule_id, fn))
        return fn

    return register


# --- pharmacy (PH-3, PH-5) -------------------------------------------------------------------------
@scenario("PH-FACE-OVER-AMOUNT")
def card_purchase(env: RuleEnv, amount: float = 1000.01, *, flags: tuple[str, ...] = (),
                  face_before: timedelta | None = None) -> Seen:
    """A purchase settled by social-security card at the pharmacy; with `face_before` the buyer
    passed a face check at the pharmacy that long before the settlement."""
    site = env.pharmacy
    psn = env.person(site, flags=flags)
    if face_before is not None:
        env.verify(site, psn, "pharmacy")
        env.advance(face_before)
    return env.settle(site, psn, amount, scene="pharmacy")


@scenario("PH-KEY-POPULATION-FACE")
def key_population_purchase(env: RuleEnv, flag: str = "past_violator", *,
                            face_before: timedelta | None = None) -> Seen:
    """A 10-yuan card purchase (far below the amount threshold) by a flagged person."""
    return card_purchase(env, 10.0, flags=(flag,), face_before=face_before)


@scenario("PH-REPEATED-NO-FACE")
def repeated_large_purchases(env: RuleEnv, first_at: str = "2026-03-03T00:00:00") -> Seen:
    """Three 1,200-yuan card purchases without face at one pharmacy by three persons (card
    pooling), the first at `first_at`; the post-event run on 2026-04-01 looks back 30 days,
    to 2026-03-03T00:00:00."""
    site = env.pharmacy
    for at in (first_at, "2026-03-10T09:00:00", "2026-03-20T09:00:00"):
        env.set_clock(at)
        refused = env.settle(site, env.person(site), 1200, scene="pharmacy")
        assert refused.of("PH-FACE-OVER-AMOUNT") == {"pre_event": "remind", "in_event": "refuse"}
    env.set_clock("2026-04-01T02:00:00")
    return env.post_event("2026-04-01", "2026-04-01")


# --- hemodialysis (HD-2, HD-6, HD-11) -------------------------------------------------------------
def _dialysis_patient(env: RuleEnv) -> tuple[Site, str]:
    site = env.dialysis
    return site, env.person(site)


@scenario("HD-MONTHLY-CAP")
def dialysis_month(env: RuleEnv, last: float = 1000.01) -> Seen:
    """6,000 yuan of dialysis accepted this month, then a settlement of `last` yuan (the cap is
    7,000 yuan a month); the patient passed the day's face check."""
    site, psn = _dialysis_patient(env)
    env.verify(site, psn, "hemodialysis")
    first = env.settle(site, psn, 6000, scene="hemodialysis", stages=("in_event",))
    assert first.result == "accepted", first
    return env.settle(site, psn, last, scene="hemodialysis")


SESSION_AT = datetime(2026, 3, 3, 8, 30, 30)


@scenario("HD-FACE-BEFORE-SETTLEMENT")
def dialysis_after_face_check(env: RuleEnv, checked_at: str = "2026-03-02T23:59:59", *, genuine: bool = True,
                              scene: str = "hemodialysis") -> Seen:
    """A face check at `checked_at` in `scene` at the dialysis centre (failed when not
    `genuine`), then a 500-yuan dialysis settlement there for the session of 2026-03-03 08:30:30
    (submitted at the check when that is later: a check-out)."""
    site, psn = _dialysis_patient(env)
    env.set_clock(checked_at)
    env.verify(site, psn, scene, genuine=genuine)
    if env.now().replace(tzinfo=None) < SESSION_AT:
        env.set_clock(SESSION_AT)
    return env.settle(site, psn, 500, scene="hemodialysis", at=SESSION_AT)


# --- any scene (BD-3, GEN-3) ----------------------------------------------------------------------------
@scenario("BD-SUSPECTED-DEATH-CARE")
def care_of_flagged_person(env: RuleEnv, flag: str = "suspected_deceased") -> Seen:
    """An 80-yuan inpatient nursing settlement for a person the bureau flagged."""
    psn = env.person(env.hospital, flags=(flag,), enrol=False)
    return env.settle(env.hospital, psn, 80, scene="inpatient")


DECEASED_CARE = ("F9001", "尸体料理")
DEATH_CARE_AT = datetime(2026, 3, 2, 10, 0, 0)


@scenario("BD-SUSPECTED-DEATH-CARE")
def care_after_deceased_care(env: RuleEnv, offset: timedelta = timedelta(seconds=1)) -> Seen:
    """A settlement containing 尸体料理 (care of the deceased) at 10:00, then another settlement
    for the same person timed `offset` after it (a negative offset: care before the death)."""
    psn = env.person(env.hospital, enrol=False)
    env.set_clock("2026-03-02T10:05:00")
    death = env.settle(env.hospital, psn, 300, scene="inpatient", item=DECEASED_CARE, at=DEATH_CARE_AT)
    assert death.result == "accepted" and death.of("BD-SUSPECTED-DEATH-CARE") == {}, death
    return env.settle(env.hospital, psn, 80, scene="inpatient", at=DEATH_CARE_AT + offset)


@scenario("BD-SUSPECTED-DEATH-CARE")
def flagged_after_settlement(env: RuleEnv, setl_time: str = "2026-03-03T00:00:00") -> Seen:
    """A settlement at `setl_time` is accepted; later the bureau flags the person suspected
    deceased, and the post-event run over 2026-03-03 looks at the day's settlements."""
    psn = env.person(env.hospital, enrol=False)
    env.set_clock("2026-03-03T09:00:00")
    accepted = env.settle(env.hospital, psn, 80, scene="inpatient", stages=("in_event",),
                          at=datetime.fromisoformat(setl_time))
    assert accepted.result == "accepted", accepted
    env.bureau.call("8003", {"psn_no": psn, "add": ["suspected_deceased"]})
    return env.post_event("2026-03-03", "2026-03-03")


@scenario("GEN-FACE-SETTLEMENT-VERIFIED")
def face_settlement(env: RuleEnv, after: timedelta = timedelta(minutes=30, seconds=1), *,
                    genuine: bool = True) -> Seen:
    """An 80-yuan face settlement (刷脸结算) at the pharmacy naming the buyer's face check made
    `after` before it (a failed one when not `genuine`); 80 yuan needs no face by amount."""
    site = env.pharmacy
    psn = env.person(site)
    vid = env.verify(site, psn, "pharmacy", genuine=genuine)["verification_id"]
    env.advance(after)
    return env.settle(site, psn, 80, scene="pharmacy", method="face", verification_id=vid)


@scenario("GEN-FAULT-LATE-REPORT")
def late_fault_reports(env: RuleEnv, delay: timedelta = timedelta(hours=24, seconds=1), *,
                       site: Site | None = None, reports: int = 1) -> Seen:
    """`reports` faults that occurred now, each reported `delay` later by the site's terminal,
    then the post-event run over the day of the reports."""
    site = site or env.hospital
    occurred = env.now().replace(tzinfo=None).isoformat(timespec="seconds")
    env.advance(delay)
    for k in range(reports):
        site.term.call("8104", {"terminal_id": site.term.sender, "device_kind": "camera",
                                "description": f"摄像头黑屏 {k}", "occurred_at": occurred})
    day = env.now().date().isoformat()
    return env.post_event(day, day)


# --- inpatient (INP-1 … INP-8) --------------------------------------------------------------------------
@scenario("INP-ENROL-24H")
def admission_capture(env: RuleEnv, after: timedelta = timedelta(hours=24, seconds=1)) -> Seen:
    """Admitted 2026-03-02 10:00 to a ward without cameras, identity and face captured `after`
    the admission; the day end of 2026-03-03 judges the deadline."""
    ward = env.ward
    ward.set_clock("2026-03-02T10:00:00")
    mdtrt, psn = ward.admit(enrol=False, equipped=False)
    ward.advance(seconds=int(after.total_seconds()))
    ward.enrol(mdtrt, psn)
    ward.set_clock("2026-03-04T00:00:01")
    return env.day_end("2026-03-03").about(f"{ward.code}/{mdtrt}")


@scenario("INP-DISCHARGE-SAME-DAY")
def discharge_registration(env: RuleEnv, registered_at: str = "2026-03-04T00:00:00", *,
                           judged_on: str = "2026-03-03") -> Seen:
    """Discharged 2026-03-03 10:00, discharge-registered on a terminal at `registered_at`; the
    day end of `judged_on` (the discharge day plus the rule's grace days) judges it."""
    ward = env.ward
    ward.set_clock("2026-03-02T09:00:00")
    mdtrt, psn = ward.admit()
    ward.set_clock("2026-03-03T10:00:00")
    ward.inst.call("8203", {"mdtrt_id": mdtrt, "dscg_time": "2026-03-03T10:00:00"})
    ward.set_clock(registered_at)
    ward.term.call("8204", {"mdtrt_id": mdtrt, "psn_no": psn, "capture": capture(psn, ward.rng)})
    return env.close_day(judged_on).about(f"{ward.code}/{mdtrt}")


@scenario("INP-DAILY-FACE-CHECK")
def daily_check(env: RuleEnv, checked_at: str = "2026-03-04T00:00:00",
                admitted_at: str = "2026-03-02T09:00:00") -> Seen:
    """A patient admitted at `admitted_at` passes a face check at `checked_at`; the day end of
    2026-03-03 judges that day."""
    ward = env.ward
    ward.set_clock(admitted_at)
    mdtrt, psn = ward.admit()
    ward.set_clock(checked_at)
    assert ward.check(mdtrt, psn).output["verification"]["passed"] is True
    ward.set_clock("2026-03-04T00:00:01")
    return env.day_end("2026-03-03").about(f"{ward.code}/{mdtrt}/2026-03-03")


@scenario("INP-REMOTE-CHECK-EXPIRED")
def remote_check(env: RuleEnv, verified_at: str = "2026-03-02T11:00:01") -> Seen:
    """A remote bed check with the deadline 2026-03-02 11:00:00; the listed patient is verified
    against it at `verified_at` (refused after the deadline); the day end of 2026-03-02."""
    ward = env.ward
    ward.set_clock("2026-03-02T09:00:00")
    mdtrt, psn = ward.admit()
    task = env.admin.call("8211", {"fixmedins_code": ward.code, "selection": "patients", "mdtrt_ids": [mdtrt],
                                   "deadline": "2026-03-02T11:00:00"})
    ward.set_clock(verified_at)
    ward.check(mdtrt, psn, task_id=task["task_id"])
    ward.set_clock("2026-03-03T00:00:01")
    return env.day_end("2026-03-02").about(f"{task['task_id']}/{mdtrt}")


def _registration(env: RuleEnv) -> dict:
    """A special registration on 2026-03-02 09:00 for the patient-day 2026-03-02 of a patient
    admitted the day before, who passes the daily check of 2026-03-07 (the day judged); its first
    review is due by 2026-03-07."""
    ward = env.ward
    ward.set_clock("2026-03-02T09:00:00")
    mdtrt, psn = ward.admit(at="2026-03-01T08:00:00")
    reg = ward.register(mdtrt, day="2026-03-02")
    assert reg.ok, reg.envelope
    return reg.output | {"_patient": (mdtrt, psn)}


def _checked_on_due_day(env: RuleEnv, reg: dict) -> None:
    env.set_clock("2026-03-07T09:00:00")
    assert env.ward.check(*reg["_patient"]).ok


@scenario("INP-SR-REVIEW-OVERDUE")
def review_deadline(env: RuleEnv, reviewed_at: str = "2026-03-08T00:00:00") -> Seen:
    """The bureau approves the registration at `reviewed_at`; the day end of the due day."""
    reg = _registration(env)
    assert reg["review_due"] == "2026-03-07"
    _checked_on_due_day(env, reg)
    env.set_clock(reviewed_at)
    env.admin.call("8604", {"reg_id": reg["reg_id"], "approve": True, "note": "材料齐全"})
    env.set_clock("2026-03-08T00:00:01")
    return env.day_end("2026-03-07").about(f"{reg['reg_id']}/first")


@scenario("INP-SR-VIOLATION")
def unsupplemented_rejection(env: RuleEnv, supplement_at: str = "2026-03-08T00:00:00") -> Seen:
    """The bureau rejects the registration at once (supplement due by 2026-03-07); the
    institution tries to supplement at `supplement_at` (refused after the due day); the day end
    of the due day."""
    reg = _registration(env)
    rejected = env.admin.call("8604", {"reg_id": reg["reg_id"], "approve": False, "note": "记录不清晰"})
    assert rejected["supplement_due"] == "2026-03-07"
    _checked_on_due_day(env, reg)
    ward = env.ward
    ward.set_clock(supplement_at)
    ward.inst.send("8603", {"reg_id": reg["reg_id"], "note": "补充检查单原件",
                            "attachment_ids": [ward.attach("treatment_record", b"%PDF-supplement")]})
    ward.set_clock("2026-03-08T00:00:01")
    return env.day_end("2026-03-07").about(str(reg["reg_id"]))


@scenario("INP-LOW-COMPLIANCE")
def ward_compliance(env: RuleEnv, patients: int = 10, checked: int = 5, *, unchecked_day_after: bool = False) -> Seen:
    """`patients` admitted on 2026-03-02, `checked` of them pass a face check on 2026-03-03; that
    day is closed (and the next one, with no checks at all, if `unchecked_day_after`) and the
    post-event run over 2026-03-03 scores the institution (default weights: 0.4 × the daily-check
    shortfall; threshold 0.2 at ≥ 10 due patient-days)."""
    ward = env.ward
    ward.set_clock("2026-03-02T09:00:00")
    admitted = [ward.admit() for _ in range(patients)]
    ward.set_clock("2026-03-03T09:00:00")
    for mdtrt, psn in admitted[:checked]:
        assert ward.check(mdtrt, psn).ok
    env.close_day("2026-03-03")
    if unchecked_day_after:
        env.close_day("2026-03-04")
    return env.post_event("2026-03-03", "2026-03-03")
