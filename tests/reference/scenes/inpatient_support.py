"""Helpers for the inpatient tests: a ward of admitted patients on one institution, synthetic face
captures, attachments and business-clock moves — all through the typed drivers
(`device_mocks.drivers`) over the signed interface."""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from device_mocks.results import TxResult
from device_mocks.transport import Transport
from reference.face.synthetic import SyntheticFaces

FACES = SyntheticFaces()
PDF = b"%PDF-1.4\n% scenemon test attachment\n"
_ids = itertools.count(1)


def capture(psn_no: str, rng: np.random.Generator, *, live: bool = True) -> dict:
    return {"embedding": FACES.capture(psn_no, rng).tolist(), "embedding_model": FACES.model_id, "quality": 0.9,
            "liveness": {"passed": live}}


@dataclass
class Ward:
    """One institution's ward: `admin` (a city-bureau account), the institution's HIS `inst` and
    its certified terminal `term`, each a transport with its typed drivers."""

    admin: Transport
    inst: Transport
    term: Transport
    code: str
    certnos: dict[str, str]
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(7))

    def now(self) -> datetime:
        return datetime.fromisoformat(self.admin.admin.ping().business_time)

    def set_clock(self, at: str) -> None:
        self.admin.admin.clock(set_to=at)

    def advance(self, **kw) -> None:
        self.admin.admin.clock(advance_seconds=int(timedelta(**kw).total_seconds()))

    def new_person(self) -> str:
        from reference.idcard import make_certno

        n = next(_ids)
        psn_no = f"IP{n:05d}"
        certno = make_certno("410102", datetime(1960, 1, 1).date() + timedelta(days=n * 37), n % 1000)
        self.inst.registry.person_add(psn_no=psn_no, certno=certno, psn_name=f"住院{n}", insuplc_admdvs="410100")
        self.certnos[psn_no] = certno
        return psn_no

    def admit(self, psn_no: str | None = None, *, equipped: bool = True, ward: str = "W1", at: str | None = None,
              enrol: bool = True) -> tuple[str, str]:
        psn_no = psn_no or self.new_person()
        mdtrt_id = f"M{next(_ids):06d}"
        when = at or self.now().isoformat()
        self.inst.inpatient.admit(mdtrt_id=mdtrt_id, psn_no=psn_no, adm_time=when, dept_code="NK01", dept_name="内科",
                                  ward=ward, bed_no=f"B{next(_ids)}", dept_equipped=equipped,
                                  consent={"face_recognition": True, "video_monitoring": True, "signed_at": when})
        if enrol:
            self.enrol(mdtrt_id, psn_no)
        return mdtrt_id, psn_no

    def enrol(self, mdtrt_id: str, psn_no: str) -> dict:
        return self.term.inpatient.enrol(mdtrt_id=mdtrt_id, certno=self.certnos[psn_no],
                                         capture=capture(psn_no, self.rng)).model_dump(mode="json")

    def check(self, mdtrt_id: str, psn_no: str, *, genuine: bool = True, task_id: int | None = None) -> TxResult:
        who = psn_no if genuine else f"impostor-{psn_no}"
        inp: dict[str, Any] = {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "capture": capture(who, self.rng)}
        if task_id is not None:
            inp["task_id"] = task_id
        return self.term.inpatient.send(self.term.inpatient.face_check, inp)

    def attach(self, att_type: str, content: bytes = PDF) -> int:
        return self.inst.special_registration.attachment(
            att_type=att_type, filename=f"{att_type}.pdf", media_type="application/pdf",
            content_b64=base64.b64encode(content + att_type.encode()).decode()).attachment_id

    def register(self, mdtrt_id: str, *, day: str | None = None, task_id: int | None = None,
                 reason: str = "under_treatment", att_type: str = "treatment_record") -> TxResult:
        subject = ({"patient_day": {"mdtrt_id": mdtrt_id, "day": day}} if task_id is None
                   else {"bed_check_item": {"mdtrt_id": mdtrt_id, "task_id": task_id}})
        inp: dict[str, Any] = {"subject": subject, "reason": reason, "explanation": "患者在放射科做检查",
                              "attachment_ids": [self.attach(att_type)]}
        return self.inst.special_registration.send(self.inst.special_registration.submit, inp)

    def day_end(self, day: str) -> TxResult:
        return self.admin.inpatient.send(self.admin.inpatient.day_end, day=day, fixmedins_code=self.code)


def make_ward(world, admin: Transport) -> Ward:
    inst = next(iter(world.institutions.values()))
    return Ward(admin, inst.client, world.terminal(inst.code), inst.code, {})
