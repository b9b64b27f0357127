"""What the inpatient tests share: admitting kit persons to institution A, terminal captures,
attachments, special registrations, day ends, and moving the server's manual business clock.

Tests that need business days to pass (day ends, deadlines) skip on a server without a manual
business clock (transaction 8901 refused)."""

from __future__ import annotations

import base64
import itertools
from datetime import datetime, timedelta

import pytest

from conformance.kit.support import Answer, expect_ok, parse_time, send

_seq = itertools.count(1)


class Inpatient:
    def __init__(self, world, bureau, faces) -> None:
        self.world, self.bureau, self.faces = world, bureau, faces
        self.inst = world.inst_a.client
        self.term = world.terminal.client
        self.code = world.inst_a.fixmedins_code
        self.certnos: dict[str, str] = {}

    # --- business clock ---------------------------------------------------------------------
    def now(self) -> datetime:
        return parse_time(expect_ok(send(self.bureau, self.bureau.envelope("8000", {})))["business_time"])

    def require_manual_clock(self) -> None:
        if send(self.bureau, self.bureau.envelope("8901", {"advance_seconds": 0})).infcode != 0:
            pytest.skip("needs a server with a manual business clock (transaction 8901)")

    def set_clock(self, when: datetime) -> None:
        expect_ok(send(self.bureau, self.bureau.envelope("8901", {"set_to": when.isoformat(timespec="seconds")})))

    def next_day(self, hour: int = 9) -> datetime:
        """Move to the next business day at `hour`:00 and return that time."""
        t = (self.now() + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
        self.set_clock(t)
        return t

    # --- visits and checks ------------------------------------------------------------------
    def admit(self, *, at: datetime | None = None, equipped: bool = True, enrol: bool = True,
              ward: str = "CK1") -> tuple[str, str]:
        person = self.world.new_person()
        self.certnos[person.psn_no] = person.certno
        mdtrt = f"CK{self.world.tag}M{next(_seq):03d}"
        when = (at or self.now()).isoformat(timespec="seconds")
        expect_ok(send(self.inst, self.inst.envelope("8201", {
            "mdtrt_id": mdtrt, "psn_no": person.psn_no, "adm_time": when, "dept_code": "CKNK", "dept_name": "内科",
            "ward": ward, "bed_no": f"{next(_seq):02d}", "dept_equipped": equipped,
            "consent": {"face_recognition": True, "video_monitoring": True, "signed_at": when}})))
        if enrol:
            self.enrol(mdtrt, person.psn_no)
        return mdtrt, person.psn_no

    def enrol(self, mdtrt: str, psn_no: str) -> Answer:
        ans = send(self.term, self.term.envelope("8202", {"mdtrt_id": mdtrt, "certno": self.certnos[psn_no],
                                                          "capture": self.faces.capture(psn_no)}))
        expect_ok(ans)
        return ans

    def check(self, mdtrt: str, psn_no: str, *, genuine: bool = True, task_id: int | None = None) -> Answer:
        inp = {"mdtrt_id": mdtrt, "psn_no": psn_no,
               "capture": self.faces.capture(psn_no if genuine else f"other-{psn_no}")}
        if task_id is not None:
            inp["task_id"] = task_id
        return send(self.term, self.term.envelope("8205", inp))

    # --- special registration ---------------------------------------------------------------
    def attach(self, att_type: str) -> int:
        content = b"%PDF-1.4\n% conformance " + f"{att_type} {next(_seq)} {self.world.tag}".encode()
        return expect_ok(send(self.inst, self.inst.envelope("8601", {
            "att_type": att_type, "filename": f"{att_type}.pdf", "media_type": "application/pdf",
            "content_b64": base64.b64encode(content).decode()})))["attachment_id"]

    def register(self, mdtrt: str, *, day: str | None = None, task_id: int | None = None,
                 reason: str = "under_treatment", att_type: str = "treatment_record") -> Answer:
        subject = ({"patient_day": {"mdtrt_id": mdtrt, "day": day}} if task_id is None
                   else {"bed_check_item": {"mdtrt_id": mdtrt, "task_id": task_id}})
        inp = {"subject": subject, "reason": reason, "explanation": "一致性测试：患者外出检查",
               "attachment_ids": [self.attach(att_type)]}
        return send(self.inst, self.inst.envelope("8602", inp))

    def day_end(self, day: str) -> Answer:
        return send(self.bureau, self.bureau.envelope("8209", {"day": day, "fixmedins_code": self.code}))

