"""Administration transactions: ping (the no-op), business-clock control, the access log."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from reference.clock import ManualClock
from reference.context import Ctx
from reference.envelope import Empty, Model
from reference.errors import InvalidField, InvalidState
from reference.transactions import ANY_ROLE, transaction


class PingOut(Model):
    business_time: str = Field(description="The server's business time (CST)")
    sender: str
    role: str


@transaction("1001", "admin-ping", en="Ping", zh="连通性测试", roles=ANY_ROLE, tag="admin", reqs=("GEN-2",))
def ping(ctx: Ctx, inp: Empty) -> PingOut:
    """A transaction with no effect: proves signing, envelope and idempotency end to end."""
    return PingOut(business_time=ctx.now_iso(), sender=ctx.principal.id, role=ctx.principal.role)


class ClockIn(Model):
    set_to: datetime | None = Field(None, description="Move business time to this moment (CST if naive)")
    advance_seconds: int | None = Field(None, ge=0, description="Or advance it by this many seconds")


class ClockOut(Model):
    business_time: str


@transaction("9001", "admin-clock", en="Set business time", zh="设置业务时钟",
             roles={"city_bureau"}, tag="admin")
def set_clock(ctx: Ctx, inp: ClockIn) -> ClockOut:
    """Only on servers started with the manual clock (tests, simulator, conformance)."""
    clock = ctx.clock
    if not isinstance(clock, ManualClock):
        raise InvalidState("the server runs on real time; start it with clock=manual", field="input")
    if (inp.set_to is None) == (inp.advance_seconds is None):
        raise InvalidField("give exactly one of set_to and advance_seconds", field="input.set_to")
    try:
        if inp.set_to is not None:
            clock.set(inp.set_to)
        else:
            from datetime import timedelta

            clock.advance(timedelta(seconds=inp.advance_seconds or 0))
    except ValueError as exc:
        raise InvalidField(str(exc), field="input.set_to") from None
    return ClockOut(business_time=ctx.now_iso())


class AccessLogIn(Model):
    psn_no: str | None = Field(None, max_length=30)
    principal_id: str | None = Field(None, max_length=64)
    limit: int = Field(100, ge=1, le=1000)


class AccessEntry(Model):
    at: str
    principal_id: str
    role: str
    infno: str
    msgid: str
    psn_no: str
    action: str


class AccessLogOut(Model):
    entries: list[AccessEntry]


@transaction("9002", "admin-access-log", en="Query the personal-data access log",
             zh="查询个人信息访问日志", roles={"city_bureau", "audit_centre"}, tag="admin",
             reqs=("GEN-5",))
def access_log(ctx: Ctx, inp: AccessLogIn) -> AccessLogOut:
    """Who read or changed whose personal data (GEN-5). Reading the log is itself not logged
    per person, but the request is kept with its msgid like every other."""
    sql = "SELECT at, principal_id, role, infno, msgid, psn_no, action FROM access_log WHERE 1=1"
    params: list = []
    if inp.psn_no:
        sql += " AND psn_no=?"
        params.append(inp.psn_no)
    if inp.principal_id:
        sql += " AND principal_id=?"
        params.append(inp.principal_id)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(inp.limit)
    return AccessLogOut(entries=[AccessEntry(**r) for r in ctx.db.all(sql, params)])
