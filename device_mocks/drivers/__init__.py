"""Typed drivers: one per scene (registry tag), one method per transaction.

Every transport has them as attributes, named by tag:

    his = Client(base_url, sender=code, secret=secret, fixmedins_code=code)   # or InProcess(...)
    visit = his.inpatient.admit(mdtrt_id="ZY1", psn_no="P1", adm_time="2026-03-02T09:00:00", ...)
    visit.status                                   # 'in_hospital' (a VisitOut)
    bureau.admin.clock(advance_seconds=3600)       # 8901, the business clock
    res = term.inpatient.send(term.inpatient.face_check, inp)   # the TxResult, never raises

    admin                 AdminDriver                 8000, 8901, 8902
    registry              RegistryDriver              8001–8015
    devices               DevicesDriver               8101–8107
    face                  FaceDriver                  8121–8125
    inpatient             InpatientDriver             8201–8212, 8231
    special_registration  SpecialRegistrationDriver   8601–8605
    rules                 RulesDriver                 8701–8722, 8801, 8811–8813
    session               SessionDriver               9001 sign-in, 9002 sign-out (national)

A method's name is its operation id without the tag (``inpatient-face-check`` → `face_check`,
``device-terminal-register`` → `terminal_register`, ``leads-list`` → `leads_list`); the
machinery is in `device_mocks.drivers._base`. A new scene adds a module here with its driver,
an entry in `DRIVERS` and a property on `device_mocks.transport.Transport`; the registry test
says what is missing.
"""

from __future__ import annotations

from device_mocks.drivers._base import Binding, Fields, SceneDriver, Sends, tx
from device_mocks.drivers.admin import AdminDriver
from device_mocks.drivers.devices import DevicesDriver
from device_mocks.drivers.face import FaceDriver
from device_mocks.drivers.inpatient import InpatientDriver
from device_mocks.drivers.registry import RegistryDriver
from device_mocks.drivers.rules import RulesDriver
from device_mocks.drivers.session import SessionDriver
from device_mocks.drivers.special_registration import SpecialRegistrationDriver

#: registry tag → its driver class
DRIVERS: dict[str, type[SceneDriver]] = {
    d.tag: d for d in (AdminDriver, RegistryDriver, DevicesDriver, FaceDriver, InpatientDriver,
                       SpecialRegistrationDriver, RulesDriver, SessionDriver)
}

__all__ = [
    "DRIVERS", "AdminDriver", "Binding", "DevicesDriver", "FaceDriver", "Fields", "InpatientDriver",
    "RegistryDriver", "RulesDriver", "SceneDriver", "Sends", "SessionDriver", "SpecialRegistrationDriver", "tx",
]
