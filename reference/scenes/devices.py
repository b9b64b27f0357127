"""Terminal transactions: registration, certification, heartbeat, faults (GEN-3, GEN-6, DEV-3)."""

from __future__ import annotations

import json

from pydantic import ConfigDict, Field

from reference.clock import to_cst
from reference.codes import DeviceKind, TerminalStatus
from reference.context import Ctx
from reference.envelope import Model
from reference.errors import Forbidden, InvalidField
from reference.fields import (
    BizDateTime,
    Coded,
    Count,
    InstitutionCode,
    LongText,
    RowId,
    Scalar,
    ScalarKey,
    TerminalId,
    Text,
)
from reference.services import terminals as svc
from reference.transactions import BUREAU_ROLES, transaction


class TerminalIn(Model):
    terminal_id: TerminalId
    model: Text = Field(min_length=1, max_length=100, description="Manufacturer model (型号)")
    serial_no: Text = Field(min_length=1, max_length=100)
    cert_class: Text = Field(max_length=10, description="Terminal class (终端类别); only 'III' is accepted (GEN-6)",
                             json_schema_extra={"enum": ["III"]})
    cert_spec: Text = Field("NHSA-TERMINAL-V2.1", max_length=50,
                            description="Specification certified against (终端规范版本)")
    certification_id: Text = Field(min_length=1, max_length=100, description="Certificate number")
    location: Text | None = Field(None, max_length=200, description="Ward, counter or room")


class TerminalOut(Model):
    terminal_id: str
    fixmedins_code: str
    model: str
    serial_no: str
    cert_class: str
    cert_spec: str
    certification_id: str
    location: str | None
    status: Coded[TerminalStatus]  # type: ignore[valid-type]
    status_reason: str | None
    registered_at: str
    certified_at: str | None
    last_heartbeat_at: str | None
    secret: str | None = Field(None, description="Signing secret; returned once, at registration")


def _term_out(row: dict, secret: str | None = None) -> TerminalOut:
    return TerminalOut(
        fixmedins_code=row["institution_code"], secret=secret,
        **{k: row[k] for k in TerminalOut.model_fields if k in row},
    )


@transaction("8101", "device-terminal-register", en="Register a terminal", zh="登记医保服务终端",
             roles={"institution"}, tag="devices", reqs=("GEN-6", "DEV-3"))
def register_terminal(ctx: Ctx, inp: TerminalIn) -> TerminalOut:
    """The terminal stays refused until a bureau confirms its certification (8102)."""
    secret = svc.register(
        ctx.db, terminal_id=inp.terminal_id, institution_code=ctx.own_institution(),
        model=inp.model, serial_no=inp.serial_no, cert_class=inp.cert_class,
        cert_spec=inp.cert_spec, certification_id=inp.certification_id, location=inp.location,
        now=ctx.now_iso(),
    )
    return _term_out(svc.get(ctx.db, inp.terminal_id), secret)


class CertifyIn(Model):
    # A refusal or disabling says why (the terminal's owner reads it).
    model_config = ConfigDict(json_schema_extra={
        "if": {"required": ["approve"], "properties": {"approve": {"const": False}}},
        "then": {"required": ["reason"], "properties": {"reason": {"type": "string", "pattern": "\\S"}}}})

    terminal_id: TerminalId
    approve: bool = Field(description="true: certified and active; false: refuse or disable")
    reason: LongText | None = Field(None, max_length=500)


def _scoped_terminal(ctx: Ctx, terminal_id: str) -> dict:
    """The terminal if it belongs to an institution in scope; one elsewhere does not exist."""
    return svc.get(ctx.db, terminal_id, scope=ctx.scope)


@transaction("8102", "device-terminal-certify", en="Confirm, refuse or disable a terminal",
             zh="终端准入审核", roles={"city_bureau", "district_bureau"}, tag="devices",
             reqs=("GEN-6", "DEV-3"))
def certify_terminal(ctx: Ctx, inp: CertifyIn) -> TerminalOut:
    _scoped_terminal(ctx, inp.terminal_id)
    row = svc.decide_certification(ctx.db, terminal_id=inp.terminal_id, approve=inp.approve,
                                   reason=inp.reason, by=ctx.principal.id, now=ctx.now_iso())
    return _term_out(row)


class HeartbeatIn(Model):
    app_version: Text = Field(max_length=50)
    camera_ok: bool
    liveness_module_ok: bool
    free_disk_mb: Count | None = None
    detail: dict[ScalarKey, Scalar] = Field(default_factory=dict, max_length=50,
                                            description="Further status values by name (at most 50)")


class HeartbeatOut(Model):
    terminal_id: str
    received_at: str


@transaction("8103", "device-terminal-heartbeat", en="Terminal heartbeat", zh="终端心跳",
             roles={"terminal"}, tag="devices", reqs=("GEN-6", "DEV-3"))
def heartbeat(ctx: Ctx, inp: HeartbeatIn) -> HeartbeatOut:
    """The terminal's running state, kept for monitoring (the last one per terminal)."""
    now = ctx.now_iso()
    svc.heartbeat(ctx.db, terminal_id=ctx.principal.id, state=inp.model_dump(), now=now)
    return HeartbeatOut(terminal_id=ctx.principal.id, received_at=now)


class FaultIn(Model):
    terminal_id: TerminalId
    device_kind: Coded[DeviceKind]  # type: ignore[valid-type]
    description: LongText = Field(min_length=1, max_length=1000)
    occurred_at: BizDateTime = Field(description="When the fault began (CST if no zone given)")


class FaultOut(Model):
    ticket_id: int
    terminal_id: str
    fixmedins_code: str
    device_kind: str
    description: str
    occurred_at: str
    reported_at: str
    reported_late: bool = Field(description=f"Reported more than {svc.FAULT_REPORT_HOURS:g} h after it occurred")
    status: str
    resolved_at: str | None
    resolution: str | None
    resolution_hours: float | None


def _fault_out(row: dict) -> FaultOut:
    return FaultOut(fixmedins_code=row["institution_code"], reported_late=bool(row["reported_late"]),
                    **{k: row[k] for k in FaultOut.model_fields
                       if k in row and k not in {"reported_late"}})


@transaction("8104", "device-fault-report", en="Report a terminal or camera fault",
             zh="设备故障报告", roles={"institution", "terminal", "ops_vendor"}, tag="devices",
             reqs=("GEN-3",))
def report_fault(ctx: Ctx, inp: FaultIn) -> FaultOut:
    """Faults are due within 24 h of occurring; a later report is accepted but flagged late."""
    _scoped_terminal(ctx, inp.terminal_id)
    if ctx.principal.kind == "terminal" and inp.terminal_id != ctx.principal.id:
        raise Forbidden("a terminal reports its own faults; the institution reports for its other terminals",
                        field="input.terminal_id")
    row = svc.report_fault(ctx.db, terminal_id=inp.terminal_id, device_kind=inp.device_kind.value,
                           description=inp.description, occurred_at=to_cst(inp.occurred_at),
                           now=ctx.now(), by=ctx.principal.id)
    return _fault_out(row)


class ResolveIn(Model):
    ticket_id: RowId
    resolution: LongText = Field(min_length=1, max_length=1000)


@transaction("8105", "device-fault-resolve", en="Resolve a fault ticket", zh="故障处理完成",
             roles={"institution", "ops_vendor"}, tag="devices", reqs=("GEN-3",))
def resolve_fault(ctx: Ctx, inp: ResolveIn) -> FaultOut:
    svc.ticket(ctx.db, inp.ticket_id, scope=ctx.scope)
    return _fault_out(svc.resolve_fault(ctx.db, ticket_id=inp.ticket_id, resolution=inp.resolution,
                                        now=ctx.now(), by=ctx.principal.id))


class DeviceListIn(Model):
    fixmedins_code: InstitutionCode | None = Field(None, description="Institution to list; institutions list their own")
    open_only: bool = Field(False, description="Fault list only: open tickets only")


class TerminalListOut(Model):
    terminals: list[TerminalOut]


@transaction("8106", "device-terminal-list", en="List terminals", zh="查询终端",
             roles=BUREAU_ROLES | {"institution", "ops_vendor"}, tag="devices",
             reqs=("GEN-6", "DEV-3"))
def list_terminals(ctx: Ctx, inp: DeviceListIn) -> TerminalListOut:
    rows = svc.list_terminals(ctx.db, ctx.scope, inp.fixmedins_code)
    return TerminalListOut(terminals=[_term_out(r) for r in rows])


class FaultListOut(Model):
    tickets: list[FaultOut]
    open_count: int
    late_reports: int
    mean_resolution_hours: float | None


@transaction("8107", "device-fault-list", en="List fault tickets", zh="查询故障工单",
             roles=BUREAU_ROLES | {"institution", "ops_vendor"}, tag="devices", reqs=("GEN-3",))
def list_faults(ctx: Ctx, inp: DeviceListIn) -> FaultListOut:
    """Tickets with the figures GEN-3 tracks: open tickets, late reports, resolution time."""
    rows = svc.list_faults(ctx.db, ctx.scope, inp.fixmedins_code, open_only=inp.open_only)
    resolved = [r["resolution_hours"] for r in rows if r["resolution_hours"] is not None]
    return FaultListOut(
        tickets=[_fault_out(r) for r in rows],
        open_count=sum(r["status"] == "open" for r in rows),
        late_reports=sum(bool(r["reported_late"]) for r in rows),
        mean_resolution_hours=round(sum(resolved) / len(resolved), 2) if resolved else None,
    )


_ = (json, InvalidField)
