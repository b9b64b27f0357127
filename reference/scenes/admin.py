"""Administration transactions: ping (the no-op), business-clock control, the access log."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from reference.clock import EARLIEST, LATEST, MAX_ADVANCE_SECONDS, ManualClock
from reference.context import Ctx
from reference.envelope import Empty, Model
from reference.errors import InvalidField, InvalidState
from reference.fields import BizDateTime, PsnNo, SenderId, exactly_one_of
from reference.services import access_log as access_log_svc
from reference.services import business_clock
from reference.transactions import ANY_ROLE, transaction


class PingOut(Model):
    business_time: str = Field(description="The server's business time (CST)")
    sender: str
    role: str


@transaction("8000", "admin-ping", en="Ping", zh="连通性测试", roles=ANY_ROLE, tag="admin", reqs=("GEN-2",))
def ping(ctx: Ctx, inp: Empty) -> PingOut:
    """A transaction with no effect: proves signing, envelope and idempotency end to end."""
    return PingOut(business_time=ctx.now_iso(), sender=ctx.principal.id, role=ctx.principal.role)


class ClockIn(Model):
    model_config = ConfigDict(json_schema_extra={
        **exactly_one_of("set_to", "advance_seconds"),
        "x-server-checks": ["the new business time is not before the current one and not after "
                            f"{LATEST:%Y-%m-%d %H:%M:%S} CST"]})

    set_to: BizDateTime | None = Field(
        None,
        description=("Move business time to this moment (CST if naive); not before the current business time, "
                     f"within {EARLIEST:%Y-%m-%d} … {LATEST:%Y-%m-%d}"),
    )
    advance_seconds: int | None = Field(
        None, ge=0, le=MAX_ADVANCE_SECONDS,
        description=("Or advance it by this many seconds: at most 100 years (36,525 days); the result must not "
                     f"pass {LATEST:%Y-%m-%d}"),
    )


class ClockOut(Model):
    business_time: str


@transaction("8901", "admin-clock", en="Set business time", zh="设置业务时钟",
             roles={"city_bureau"}, tag="admin")
def set_clock(ctx: Ctx, inp: ClockIn) -> ClockOut:
    """Only on servers started with the manual clock (tests, simulator, conformance). The new time
    is stored in this transaction and survives a restart; the running clock moves once it has
    committed (reference.services.business_clock)."""
    clock = ctx.clock
    if not isinstance(clock, ManualClock):
        raise InvalidState("the server runs on real time; start it with clock=manual", field="input")
    if (inp.set_to is None) == (inp.advance_seconds is None):
        raise InvalidField("give exactly one of set_to and advance_seconds", field="input.set_to")
    new = business_clock.move(ctx.db, clock, set_to=inp.set_to, advance_seconds=inp.advance_seconds)
    ctx.after_commit(lambda: clock.catch_up(new))
    return ClockOut(business_time=new.isoformat(timespec="seconds"))


class AccessLogIn(Model):
    psn_no: PsnNo | None = None
    principal_id: SenderId | None = None
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


@transaction("8902", "admin-access-log", en="Query the personal-data access log",
             zh="查询个人信息访问日志", roles={"city_bureau", "audit_centre"}, tag="admin",
             reqs=("GEN-5",), log_person_reads=False)
def access_log(ctx: Ctx, inp: AccessLogIn) -> AccessLogOut:
    """Who read or changed whose personal data (GEN-5). A district audit account sees the reads
    and writes made by the senders of its district. Reading the log is itself not logged per
    person, but the request is kept with its msgid like every other."""
    return AccessLogOut(entries=[AccessEntry(**r) for r in access_log_svc.entries(
        ctx.db, ctx.scope, psn_no=inp.psn_no, principal_id=inp.principal_id, limit=inp.limit)])
