"""Typed drivers: one per scene (registry tag), one method per transaction.

Every transport has them as attributes, named by tag:

    his = Client(base_url, sender=code, secret=secret, fixmedins_code=code)   # or InProcess(...)
    visit = his.inpatient.admit(mdtrt_id="ZY1", psn_no="P1", adm_time="2026-03-02T09:00:00", ...)
    visit.status                                   # 'in_hospital' (a VisitOut)
    bureau.admin.clock(advance_seconds=3600)       # 9001, the business clock
    res = term.inpatient.send(term.inpatient.face_check, inp)   # the TxResult, never raises

    admin                 AdminDriver                 1001, 9001, 9002
    registry              RegistryDriver              1101–1205
    devices               DevicesDriver               1301–1307
    face                  FaceDriver                  2001–2005
    inpatient             InpatientDriver             3001–3012, 3031
    special_registration  SpecialRegistrationDriver   3021–3025
    rules                 RulesDriver                 7001–7501

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
from device_mocks.drivers.special_registration import SpecialRegistrationDriver

#: registry tag → its driver class
DRIVERS: dict[str, type[SceneDriver]] = {
    d.tag: d for d in (AdminDriver, RegistryDriver, DevicesDriver, FaceDriver, InpatientDriver,
                       SpecialRegistrationDriver, RulesDriver)
}

__all__ = [
    "DRIVERS", "AdminDriver", "Binding", "DevicesDriver", "FaceDriver", "Fields", "InpatientDriver",
    "RegistryDriver", "RulesDriver", "SceneDriver", "Sends", "SpecialRegistrationDriver", "tx",
]
