"""Devices (tag `devices`): terminal registration and certification, heartbeats and faults."""

from __future__ import annotations

from typing import Any

from device_mocks.drivers._base import Fields, SceneDriver, tx
from reference.scenes.devices import (
    CertifyIn,
    DeviceListIn,
    FaultIn,
    FaultListOut,
    FaultOut,
    HeartbeatIn,
    HeartbeatOut,
    ResolveIn,
    TerminalIn,
    TerminalListOut,
    TerminalOut,
)


class DevicesDriver(SceneDriver):
    tag = "devices"

    @tx("8101")
    def terminal_register(self, inp: TerminalIn | Fields | None = None, /, **kw: Any) -> TerminalOut:
        """8101 登记医保服务终端 — register a terminal (its signing secret is returned once)."""
        return self._call(self.terminal_register, inp, kw)

    @tx("8102")
    def terminal_certify(self, inp: CertifyIn | Fields | None = None, /, **kw: Any) -> TerminalOut:
        """8102 终端准入审核 — confirm, refuse or disable a terminal."""
        return self._call(self.terminal_certify, inp, kw)

    @tx("8103")
    def terminal_heartbeat(self, inp: HeartbeatIn | Fields | None = None, /, **kw: Any) -> HeartbeatOut:
        """8103 终端心跳 — a terminal's heartbeat."""
        return self._call(self.terminal_heartbeat, inp, kw)

    @tx("8104")
    def fault_report(self, inp: FaultIn | Fields | None = None, /, **kw: Any) -> FaultOut:
        """8104 设备故障报告 — report a terminal or camera fault."""
        return self._call(self.fault_report, inp, kw)

    @tx("8105")
    def fault_resolve(self, inp: ResolveIn | Fields | None = None, /, **kw: Any) -> FaultOut:
        """8105 故障处理完成 — resolve a fault ticket."""
        return self._call(self.fault_resolve, inp, kw)

    @tx("8106")
    def terminal_list(self, inp: DeviceListIn | Fields | None = None, /, **kw: Any) -> TerminalListOut:
        """8106 查询终端 — list terminals."""
        return self._call(self.terminal_list, inp, kw)

    @tx("8107")
    def fault_list(self, inp: DeviceListIn | Fields | None = None, /, **kw: Any) -> FaultListOut:
        """8107 查询故障工单 — list fault tickets."""
        return self._call(self.fault_list, inp, kw)
