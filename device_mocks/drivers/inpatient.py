"""The inpatient scene (tag `inpatient`, 住院): admission with consent, the capture after
admission, discharge and its registration, daily face checks, the day end, remote bed checks
and institution indicators. Special registration is its own driver (`special_registration`)."""

from __future__ import annotations

from typing import Any

from device_mocks.drivers._base import Fields, SceneDriver, tx
from reference.scenes.inpatient import (
    AdmitIn,
    DayEndIn,
    DayEndOut,
    DischargeIn,
    DischargeRegisterOut,
    EnrolVisitIn,
    EnrolVisitOut,
    FaceCheckIn,
    FaceCheckOut,
    FaceStepIn,
    IndicatorsIn,
    IndicatorsOut,
    TaskIn,
    TaskListOut,
    TaskOut,
    TaskQueryIn,
    VisitListOut,
    VisitOut,
    VisitQueryIn,
)


class InpatientDriver(SceneDriver):
    tag = "inpatient"

    @tx("8201")
    def admit(self, inp: AdmitIn | Fields | None = None, /, **kw: Any) -> VisitOut:
        """8201 入院信息上传 — upload an admission, with the patient's consent."""
        return self._call(self.admit, inp, kw)

    @tx("8202")
    def enrol(self, inp: EnrolVisitIn | Fields | None = None, /, **kw: Any) -> EnrolVisitOut:
        """8202 入院身份及人脸采集 — capture identity (ID card) and face after admission."""
        return self._call(self.enrol, inp, kw)

    @tx("8203")
    def discharge(self, inp: DischargeIn | Fields | None = None, /, **kw: Any) -> VisitOut:
        """8203 出院信息上传 — upload a discharge."""
        return self._call(self.discharge, inp, kw)

    @tx("8204")
    def discharge_register(self, inp: FaceStepIn | Fields | None = None, /, **kw: Any) -> DischargeRegisterOut:
        """8204 出院登记（人脸核验） — discharge registration on a terminal (a face verification)."""
        return self._call(self.discharge_register, inp, kw)

    @tx("8205")
    def face_check(self, inp: FaceCheckIn | Fields | None = None, /, **kw: Any) -> FaceCheckOut:
        """8205 住院人脸核验 — a daily or remote-check face verification (`task_id=` for a task)."""
        return self._call(self.face_check, inp, kw)

    @tx("8206")
    def visit_query(self, inp: VisitQueryIn | Fields | None = None, /, **kw: Any) -> VisitListOut:
        """8206 查询住院就诊 — query inpatient visits."""
        return self._call(self.visit_query, inp, kw)

    @tx("8209")
    def day_end(self, inp: DayEndIn | Fields | None = None, /, **kw: Any) -> DayEndOut:
        """8209 住院日终 — close an ended business day: its findings become leads."""
        return self._call(self.day_end, inp, kw)

    @tx("8211")
    def bed_check_issue(self, inp: TaskIn | Fields | None = None, /, **kw: Any) -> TaskOut:
        """8211 下发远程查床任务 — issue a remote bed-check task."""
        return self._call(self.bed_check_issue, inp, kw)

    @tx("8212")
    def bed_check_query(self, inp: TaskQueryIn | Fields | None = None, /, **kw: Any) -> TaskListOut:
        """8212 查询远程查床任务 — query remote bed-check tasks (a terminal: its open ones)."""
        return self._call(self.bed_check_query, inp, kw)

    @tx("8231")
    def indicators(self, inp: IndicatorsIn | Fields | None = None, /, **kw: Any) -> IndicatorsOut:
        """8231 机构指标与远程查床排名 — institution indicators and the remote-check ranking."""
        return self._call(self.indicators, inp, kw)
