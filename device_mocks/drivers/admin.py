"""Administration (tag `admin`): ping, the business clock (8901) and the access log."""

from __future__ import annotations

from typing import Any

from device_mocks.drivers._base import Fields, SceneDriver, tx
from reference.envelope import Empty
from reference.scenes.admin import AccessLogIn, AccessLogOut, ClockIn, ClockOut, PingOut


class AdminDriver(SceneDriver):
    tag = "admin"

    @tx("8000")
    def ping(self, inp: Empty | Fields | None = None, /, **kw: Any) -> PingOut:
        """8000 连通性测试 — ping: who the server thinks you are, and its business time."""
        return self._call(self.ping, inp, kw)

    @tx("8901")
    def clock(self, inp: ClockIn | Fields | None = None, /, **kw: Any) -> ClockOut:
        """8901 设置业务时钟 — move the business clock (`set_to=` or `advance_seconds=`); servers
        started with clock=manual only."""
        return self._call(self.clock, inp, kw)

    @tx("8902")
    def access_log(self, inp: AccessLogIn | Fields | None = None, /, **kw: Any) -> AccessLogOut:
        """8902 查询个人信息访问日志 — query the personal-data access log."""
        return self._call(self.access_log, inp, kw)
