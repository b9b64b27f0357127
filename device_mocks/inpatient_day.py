"""A full inpatient day for one institution, played over the interface (`scenemon mock inpatient-day`).

With a city-bureau account it sets up a small world (district, institution, certified terminal),
admits patients with consent and captures them (8201, 8202), moves the business clock to the next
day (8901 — the server needs `clock=manual`), runs the day's face checks (8205: most pass, one
fails, one is special-registered with a treatment record, 8601/8602), issues a remote bed check
(8211) that the terminal answers (8212, 8205), discharges one patient with the discharge
registration (8203, 8204), closes the day (8209) and prints the findings, the leads (8811) and
the institution's indicators (8231).

It is played through the typed drivers (`device_mocks.drivers`): `run_day` over HTTP, `play_day`
over any transport.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np

from device_mocks.client import Client
from device_mocks.transport import Transport
from device_mocks.world import build_world
from reference.face.synthetic import SyntheticFaces


def run_day(base_url: str, bureau_sender: str, bureau_secret: str, *, patients: int = 5,
            log: Callable[[str], None] = print, http: httpx.Client | None = None) -> dict[str, Any]:
    """`play_day` over HTTP at `base_url` with the bureau account `bureau_sender`."""
    with Client(base_url, sender=bureau_sender, secret=bureau_secret, opter="bureau01", opter_name="监管员",
                http=http) as bureau:
        return play_day(bureau, patients=patients, log=log)


def play_day(bureau: Transport, *, patients: int = 5, log: Callable[[str], None] = print,
             tag: str | None = None) -> dict[str, Any]:
    """The day, with a new world set up by `bureau` (reached over any transport). Returns the
    institution, the day end (8209), its leads (8811) and indicators (8231), as JSON data."""
    faces, rng = SyntheticFaces(), np.random.default_rng(5)

    def capture(key: str) -> dict:
        return {"embedding": faces.capture(key, rng).tolist(), "embedding_model": faces.model_id,
                "quality": 0.9, "liveness": {"passed": True}}

    world = build_world(bureau, n_institutions=1, n_persons=patients, tag=tag, log=log)
    inst = next(iter(world.institutions.values()))
    his, term = inst.client, world.terminal(inst.code)
    now = datetime.fromisoformat(bureau.admin.ping().business_time)
    certnos = {p: bureau.registry.person_get(psn_no=p).certno for p in world.persons}
    visits = []
    for k, psn in enumerate(world.persons):
        mdtrt = f"ZY{inst.code[-6:]}{k:03d}"
        his.inpatient.admit(mdtrt_id=mdtrt, psn_no=psn, adm_time=now.isoformat(), dept_code="NK01", dept_name="内科",
                            ward="一病区", bed_no=f"{k + 1:02d}", dept_equipped=True,
                            consent={"face_recognition": True, "video_monitoring": True,
                                     "signed_at": now.isoformat()})
        term.inpatient.enrol(mdtrt_id=mdtrt, certno=certnos[psn], capture=capture(psn))
        visits.append((mdtrt, psn))
        log(f"admitted {psn} as visit {mdtrt}, bed {k + 1:02d}; identity and face captured")
    day = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0)
    bureau.admin.clock(set_to=day.isoformat())
    log(f"business time → {day.isoformat()}")
    for i, (mdtrt, psn) in enumerate(visits):
        if i == len(visits) - 1:
            pdf = base64.b64encode(b"%PDF-1.4 CT record " + psn.encode()).decode()
            att = his.special_registration.attachment(att_type="treatment_record", filename="ct.pdf",
                                                      media_type="application/pdf", content_b64=pdf)
            reg = his.special_registration.submit(subject={"patient_day": {"mdtrt_id": mdtrt,
                                                                           "day": day.date().isoformat()}},
                                                  reason="under_treatment", explanation="患者在放射科做CT检查",
                                                  attachment_ids=[att.attachment_id])
            log(f"{psn}: away for a CT scan → special registration {reg.reg_id} ({reg.status})")
            continue
        who = psn if i != 1 else f"someone-else-{psn}"
        check = term.inpatient.face_check(mdtrt_id=mdtrt, psn_no=psn, capture=capture(who))
        log(f"{psn}: daily face check {'passed' if check.verification.passed else 'FAILED'} "
            f"(score {check.verification.score:.3f})")
    task = bureau.inpatient.bed_check_issue(fixmedins_code=inst.code, selection="patients", mdtrt_ids=[visits[0][0]],
                                            deadline=(day + timedelta(hours=2)).isoformat())
    log(f"bureau issued remote bed check {task.task_id} for {visits[0][1]}, deadline {task.deadline}")
    for t in term.inpatient.bed_check_query().tasks:
        for item in t.items:
            answer = term.inpatient.face_check(mdtrt_id=item.mdtrt_id, psn_no=item.psn_no, task_id=t.task_id,
                                               capture=capture(item.psn_no))
            log(f"terminal answered task {t.task_id} for {item.psn_no}: {answer.task_item_status}")
    mdtrt, psn = visits[0]
    bureau.admin.clock(set_to=(day + timedelta(hours=3)).isoformat())
    his.inpatient.discharge(mdtrt_id=mdtrt, dscg_time=(day + timedelta(hours=3)).isoformat())
    out = term.inpatient.discharge_register(mdtrt_id=mdtrt, psn_no=psn, capture=capture(psn))
    log(f"{psn} discharged; discharge registration {'recorded' if out.registered else 'FAILED'}")
    bureau.admin.clock(set_to=(day + timedelta(days=1)).replace(hour=0, minute=5).isoformat())
    end = bureau.inpatient.day_end(day=day.date().isoformat(), fixmedins_code=inst.code)
    log(f"day end {end.day} (rule release {end.release_version}):")
    for pd in end.patient_days:
        log(f"  {pd.psn_no} visit {pd.mdtrt_id}: {pd.status}")
    for f in end.findings:
        log(f"  finding {f.rule_id} → lead {f.lead_id}: {f.message}")
    leads = bureau.rules.leads_list(fixmedins_code=inst.code).leads
    log(f"{len(leads)} lead(s) open for {inst.code}")
    ind = bureau.inpatient.indicators(start=day.date().isoformat(), end=day.date().isoformat(),
                                      fixmedins_code=inst.code).ranking
    for row in ind:
        log(f"indicators: daily-check rate {row.daily_check_rate}, remote-check rate "
            f"{row.remote_check_rate}, special-registration rate {row.special_registration_rate}, "
            f"score {row.score} (targeted: {row.targeted})")
    return {"institution": inst.code, "day_end": end.model_dump(mode="json"),
            "leads": [lead.model_dump(mode="json") for lead in leads],
            "indicators": [row.model_dump(mode="json") for row in ind]}
