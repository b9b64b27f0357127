"""Rule and lead transactions (7xxx): the catalogue and releases (RULE-5), pre-event reminders and
in-event review of settlements (RULE-3, RULE-8), appeals, post-event analysis, leads and audit
plans (RULE-7, PH-6), rule statistics (RULE-6) and decision replay."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from reference.clock import to_cst
from reference.codes import Scene, code_enum
from reference.context import Ctx
from reference.envelope import Model
from reference.errors import InvalidField
from reference.fields import (
    Amount,
    BizDate,
    BizDateTime,
    Coded,
    InstitutionCode,
    LongText,
    Month,
    PsnNo,
    Qty,
    Reference,
    ReleaseVersion,
    RowId,
    RuleId,
    SettlementId,
    Text,
    VisitId,
)
from reference.rules import engine, leads, releases, stats
from reference.rules.library import RuleChange, diff
from reference.scenes.periods import PeriodIn
from reference.services import face as face_svc
from reference.services import settlements as svc
from reference.transactions import BUREAU_ROLES, transaction

SettlementMethod = code_enum("settlement_method", "SettlementMethod")
LeadStatus = Literal["new", "screened", "audit_planned", "confirmed", "cleared"]


# --- catalogue and releases ----------------------------------------------------------------
class CatalogueIn(Model):
    version: ReleaseVersion | None = Field(None, description="A release version; the one in force when omitted")
    fixmedins_code: InstitutionCode | None = Field(None, description="Resolve parameters for this institution")


class RuleView(Model):
    id: str
    name_en: str
    name_zh: str
    scene: str
    stages: dict[str, str] = Field(description="stage → outcome (remind / refuse / suspicion)")
    severity: str
    requirements: list[str]
    enabled: bool
    params: dict[str, Any] = Field(description="Parameter values (resolved for the institution when given)")
    overrides: list[dict[str, Any]]
    composite: dict[str, Any] | None


class CatalogueOut(Model):
    version: str
    effective_from: str
    rules: list[RuleView]


@transaction("8701", "rules-catalogue", en="Rule catalogue", zh="规则目录", roles=BUREAU_ROLES | {"institution"},
             tag="rules", reqs=("RULE-4", "RULE-5"))
def catalogue(ctx: Ctx, inp: CatalogueIn) -> CatalogueOut:
    """The rules of a release; an institution gets its own resolved parameters so that its
    systems can embed the checks at the point of care (RULE-4)."""
    rs = releases.get(ctx.db, inp.version)[0] if inp.version else releases.in_force(ctx.db, ctx.now().date())
    code = inp.fixmedins_code
    if ctx.principal.role == "institution":
        code = code or ctx.own_institution()
    inst = ctx.require_institution(code, field="input.fixmedins_code") if code else None
    return CatalogueOut(version=rs.version, effective_from=rs.effective_from, rules=[
        RuleView(id=r.id, name_en=r.name_en, name_zh=r.name_zh, scene=r.scene, stages=dict(r.stages),
                 severity=r.severity, requirements=r.requirements, enabled=r.enabled, params=r.resolve(inst),
                 overrides=[o.model_dump() for o in r.overrides],
                 composite=r.composite.model_dump() if r.composite else None)
        for r in rs.rules.values()])


class ReleaseListOut(Model):
    releases: list[dict[str, Any]]
    in_force: str


@transaction("8702", "rules-release-list", en="List rule releases", zh="规则版本列表", roles=BUREAU_ROLES,
             tag="rules", reqs=("RULE-5",))
def release_list(ctx: Ctx, inp: CatalogueIn) -> ReleaseListOut:
    return ReleaseListOut(releases=releases.list_releases(ctx.db),
                          in_force=releases.in_force(ctx.db, ctx.now().date()).version)


class DraftIn(Model):
    base_version: ReleaseVersion
    version: ReleaseVersion
    effective_from: BizDate
    notes: LongText = Field("", max_length=2000)
    changes: list[RuleChange] = Field(min_length=1, max_length=200)


class DraftOut(Model):
    version: str
    status: str
    effective_from: str
    diff: list[str] = Field(description="Human-readable changes against the base release")


@transaction("8703", "rules-release-draft", en="Save a draft rule release", zh="保存规则版本草稿",
             roles={"city_bureau"}, tag="rules", reqs=("RULE-2", "RULE-5"))
def release_draft(ctx: Ctx, inp: DraftIn) -> DraftOut:
    """A patch over a published release: new parameter defaults, new overrides, enabling or
    retiring rules. Drafts never affect live decisions."""
    draft = releases.save_draft(ctx.db, base_version=inp.base_version, version=inp.version,
                                effective_from=inp.effective_from, changes=inp.changes, notes=inp.notes,
                                by=ctx.principal.id, now=ctx.now_iso())
    base = releases.get(ctx.db, inp.base_version)[0]
    return DraftOut(version=draft.version, status="draft", effective_from=draft.effective_from,
                    diff=diff(base, draft))


class VersionIn(Model):
    version: ReleaseVersion


@transaction("8704", "rules-release-publish", en="Publish a rule release", zh="发布规则版本",
             roles={"city_bureau"}, tag="rules", reqs=("RULE-5",))
def release_publish(ctx: Ctx, inp: VersionIn) -> DraftOut:
    """From its effective date on, new decisions use this release; earlier decisions keep theirs."""
    rs = releases.publish(ctx.db, version=inp.version, today=ctx.now().date(), now=ctx.now_iso())
    base = releases.get(ctx.db, rs.base_version)[0] if rs.base_version else rs
    return DraftOut(version=rs.version, status="published", effective_from=rs.effective_from, diff=diff(base, rs))


class SimulateIn(PeriodIn):
    version: ReleaseVersion = Field(description="The draft (or any release) to evaluate on history")


class SimulationRowOut(Model):
    rule_id: str
    live_hits: int
    draft_hits: int
    newly_flagged: list[str]
    no_longer_flagged: list[str]


class SimulateOut(Model):
    live_version: str
    draft_version: str
    rows: list[SimulationRowOut]


@transaction("8705", "rules-release-simulate", en="Evaluate a draft release on history",
             zh="规则草稿历史回测", roles={"city_bureau", "district_bureau", "agency"}, tag="rules",
             reqs=("RULE-5", "RULE-6"))
def release_simulate(ctx: Ctx, inp: SimulateIn) -> SimulateOut:
    """"What would this change have flagged last month?" — reads history, writes nothing. A
    district account sees its district's institutions only."""
    start, end = inp.bounds()
    live = releases.in_force(ctx.db, ctx.now().date())
    draft = releases.get(ctx.db, inp.version)[0]
    rows = engine.simulate(ctx.db, live, draft, start, end, institutions=ctx.scope.institution_codes(ctx.db))
    return SimulateOut(live_version=live.version, draft_version=draft.version,
                       rows=[SimulationRowOut(**r.__dict__) for r in rows])


# --- settlements: pre-event and in-event ---------------------------------------------------
class SettlementItem(Model):
    item_code: Text = Field(min_length=1, max_length=50, description="National item/drug/consumable code")
    item_name: Text = Field(min_length=1, max_length=200)
    qty: Qty
    amount: Amount = Field(description="Line amount in yuan")


class SettlementIn(Model):
    model_config = ConfigDict(json_schema_extra={
        "if": {"required": ["method"], "properties": {"method": {"const": "face"}}},
        "then": {"required": ["verification_id"], "properties": {"verification_id": {"type": "integer"}}},
        "x-server-checks": ["total_amount equals the sum of the items' amounts (within 0.01 yuan)"]})

    setl_id: SettlementId = Field(description="Settlement id (结算ID)")
    psn_no: PsnNo
    mdtrt_id: VisitId | None = Field(None, description="Visit id (就诊ID)")
    scene: Coded[Scene]  # type: ignore[valid-type]
    setl_time: BizDateTime = Field(description="Settlement time (CST if no zone given)")
    method: Coded[SettlementMethod]  # type: ignore[valid-type]
    verification_id: int | None = Field(
        None, ge=1, le=2**53, validate_default=True,
        description="The passed 1:1 face verification (8122, or a scene's face check) this settlement relies on: "
                    "required with method face, optional otherwise. It must be of this person, made at this "
                    "institution shortly before the settlement (rule GEN-FACE-SETTLEMENT-VERIFIED)")
    total_amount: Amount = Field(description="Total in yuan; must equal the sum of the items")
    items: list[SettlementItem] = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _total(self):
        if abs(sum(i.amount for i in self.items) - self.total_amount) > 0.01:
            raise ValueError("total_amount differs from the sum of the item amounts")
        return self

    @field_validator("verification_id")
    @classmethod
    def _face_names_verification(cls, v: int | None, info: ValidationInfo) -> int | None:
        method = info.data.get("method")
        if v is None and method is not None and method.value == "face":
            raise ValueError("a face settlement names the verification it relies on")
        return v

    def payload(self) -> dict[str, Any]:
        d = self.model_dump(mode="python")
        d["scene"], d["method"] = self.scene.value, self.method.value
        d["setl_time"] = to_cst(self.setl_time)
        return d


class DecisionOut(Model):
    decision_id: int | None
    rule_id: str
    outcome: str = Field(description="pass, remind, refuse or suspicion")
    message: str | None
    lead_id: int | None = None


def _decisions(ds: list[engine.Decision], hits_only: bool = True) -> list[DecisionOut]:
    return [DecisionOut(decision_id=d.decision_id, rule_id=d.rule_id, outcome=d.outcome, message=d.message or None,
                        lead_id=d.lead_id) for d in ds if d.hit or not hits_only]


class PrecheckOut(Model):
    release_version: str
    reminders: list[DecisionOut]


@transaction("8711", "rules-precheck", en="Pre-event reminder check", zh="事前提醒", roles={"institution"},
             tag="rules", reqs=("RULE-3", "RULE-4", "RULE-8"))
def precheck(ctx: Ctx, inp: SettlementIn) -> PrecheckOut:
    """Called from the institution's system before it settles; never blocks, stores no settlement.
    The person must be visible to the institution (see the scope page)."""
    ctx.person(inp.psn_no)
    _check_verification(ctx, inp)
    s = svc.normalise(inp.payload(), ctx.own_institution(), ctx.now())
    ds = svc.precheck(ctx.db, s, ctx.now())
    return PrecheckOut(release_version=releases.in_force(ctx.db, ctx.now().date()).version, reminders=_decisions(ds))


def _check_verification(ctx: Ctx, inp: SettlementIn) -> None:
    """A named verification must be one made at this institution (any other does not exist here);
    whether it passed, is of this person and recent enough is the rule's judgement."""
    if inp.verification_id is not None:
        face_svc.passed_verification(ctx, inp.verification_id, field="input.verification_id")


class ReviewOut(Model):
    setl_id: str
    result: Literal["accepted", "refused", "suspended"] = Field(
        description="refused: a clear violation; suspended: a suspicion the institution may appeal (8713)")
    release_version: str
    decisions: list[DecisionOut] = Field(description="Every rule hit (remind, refuse, suspicion)")


@transaction("8712", "rules-review", en="In-event settlement review", zh="事中审核", roles={"institution"},
             tag="rules", reqs=("RULE-3", "RULE-8", "PH-3", "HD-11", "BD-3"))
def review(ctx: Ctx, inp: SettlementIn) -> ReviewOut:
    """The settlement is checked against the in-event rules of the release in force and stored
    with its result. Suspicions become leads. A settlement names its person by number and links
    them to the institution; a settlement relying on face names the verification (checked by rule
    GEN-FACE-SETTLEMENT-VERIFIED)."""
    _check_verification(ctx, inp)
    s = svc.normalise(inp.payload(), ctx.own_institution(), ctx.now())
    status, version, ds = svc.review(ctx.db, s, ctx.now())
    ctx.link_person(inp.psn_no, "settlement")
    ctx.log_access(inp.psn_no, "write")
    return ReviewOut(setl_id=inp.setl_id, result=status, release_version=version, decisions=_decisions(ds))


class AppealIn(Model):
    setl_id: SettlementId
    reason: LongText = Field(min_length=5, max_length=2000, description="The institution's explanation (申诉理由)")
    evidence: list[Reference] = Field(default_factory=list, max_length=50,
                                description="References to supporting records (HIS order, treatment record, …)")


class AppealOut(Model):
    appeal_id: int
    fixmedins_code: str
    setl_id: str
    status: str
    settlement_status: str
    reason: str
    review_note: str | None


def _appeal_out(a: dict) -> AppealOut:
    return AppealOut(appeal_id=a["appeal_id"], fixmedins_code=a["institution_code"], setl_id=a["setl_id"],
                     status=a["status"], settlement_status=a["settlement_status"], reason=a["reason"],
                     review_note=a["review_note"])


@transaction("8713", "rules-appeal", en="Appeal a refused or suspended settlement", zh="结算申诉",
             roles={"institution"}, tag="rules", reqs=("RULE-3", "RULE-8"))
def appeal(ctx: Ctx, inp: AppealIn) -> AppealOut:
    return _appeal_out(svc.appeal(ctx.db, institution_code=ctx.own_institution(), setl_id=inp.setl_id,
                                  reason=inp.reason, evidence=inp.evidence, by=ctx.principal.id, now=ctx.now()))


class AppealDecisionIn(Model):
    appeal_id: RowId
    overturn: bool = Field(description="true: the settlement is accepted; false: the refusal stands")
    note: LongText = Field(min_length=1, max_length=2000)


@transaction("8714", "rules-appeal-decide", en="Decide an appeal", zh="申诉审核", roles={"agency", "city_bureau"},
             tag="rules", reqs=("RULE-8",))
def appeal_decide(ctx: Ctx, inp: AppealDecisionIn) -> AppealOut:
    svc.appeal_view(ctx.db, inp.appeal_id, scope=ctx.scope)
    return _appeal_out(svc.decide_appeal(ctx.db, appeal_id=inp.appeal_id, overturn=inp.overturn, note=inp.note,
                                         by=ctx.principal.id, role=ctx.principal.role, now=ctx.now()))


# --- post-event analysis, leads, plans ------------------------------------------------------
class PostEventOut(Model):
    release_version: str
    period: str
    hits: int
    leads_created: int
    by_rule: dict[str, int]


@transaction("8801", "rules-post-event", en="Run post-event analysis", zh="事后分析",
             roles={"city_bureau", "agency"}, tag="rules", reqs=("RULE-3", "RULE-7", "BD-3", "GEN-3"))
def post_event(ctx: Ctx, inp: PeriodIn) -> PostEventOut:
    """Batch analysis of a business-time period over the institutions in the sender's scope (a
    district agency analyses its district); reruns never duplicate leads."""
    start, end = inp.bounds()
    if end > ctx.now() + timedelta(days=1):
        raise InvalidField("the period must have begun; its end may be at most today", field="input.end")
    rs = releases.in_force(ctx.db, ctx.now().date())
    res = engine.run_post_event(ctx.db, rs, start, end, now=ctx.now(),
                                institutions=ctx.scope.institution_codes(ctx.db))
    by_rule: dict[str, int] = {}
    for d in res.hits:
        by_rule[d.rule_id] = by_rule.get(d.rule_id, 0) + 1
    return PostEventOut(release_version=rs.version, period=res.period, hits=len(res.hits),
                        leads_created=sum(1 for d in res.hits if d.lead_id is not None), by_rule=by_rule)


class LeadQueryIn(Model):
    status: LeadStatus | None = None
    rule_id: RuleId | None = None
    fixmedins_code: InstitutionCode | None = None
    lead_id: RowId | None = None
    limit: int = Field(100, ge=1, le=1000)


class LeadOut(Model):
    lead_id: int
    rule_id: str
    release_version: str
    scene: str
    subject_type: str
    subject_id: str
    fixmedins_code: str | None
    district_code: str | None
    psn_no: str | None
    severity: str
    risk_score: float
    amount: float | None
    summary: str
    evidence: list[dict[str, Any]]
    status: LeadStatus
    planned_month: str | None
    amount_recovered: float | None
    audit_note: str | None
    created_at: str
    events: list[dict[str, Any]] = Field(default_factory=list)


def _lead_out(row: dict) -> LeadOut:
    ev = row["evidence"] if isinstance(row["evidence"], list) else json.loads(row["evidence"])
    return LeadOut(fixmedins_code=row["institution_code"], evidence=ev, events=row.get("events", []),
                   **{k: row[k] for k in LeadOut.model_fields if k in row and k not in {"evidence", "events"}})


class LeadListOut(Model):
    leads: list[LeadOut]


@transaction("8811", "leads-list", en="Query leads", zh="查询线索", roles=BUREAU_ROLES, tag="rules",
             reqs=("RULE-7", "INP-8", "HD-10", "RH-3", "PH-5"))
def lead_list(ctx: Ctx, inp: LeadQueryIn) -> LeadListOut:
    """Leads in the sender's scope (a district bureau sees its district's)."""
    rows = leads.find(ctx.db, ctx.scope, status=inp.status, rule_id=inp.rule_id,
                      institution_code=inp.fixmedins_code, lead_id=inp.lead_id, limit=inp.limit)
    if inp.lead_id is not None and rows:
        rows = [leads.get(ctx.db, inp.lead_id, scope=ctx.scope)]
    return LeadListOut(leads=[_lead_out(r) for r in rows])


class LeadTransitionIn(Model):
    lead_id: RowId
    to_status: LeadStatus
    note: LongText | None = Field(None, max_length=2000)
    amount_recovered: Amount | None = Field(None, description="Yuan recovered; with to_status=confirmed")


def _scoped_lead(ctx: Ctx, lead_id: int) -> dict:
    """The lead if it is in the sender's district (city-wide: any); another does not exist."""
    return leads.get(ctx.db, lead_id, scope=ctx.scope)


@transaction("8812", "leads-transition", en="Move a lead along its workflow", zh="线索流转",
             roles=BUREAU_ROLES, tag="rules", reqs=("RULE-7", "PH-6"))
def lead_transition(ctx: Ctx, inp: LeadTransitionIn) -> LeadOut:
    """Only the workflow's edges, each by its roles; every move is recorded with who and when."""
    _scoped_lead(ctx, inp.lead_id)
    return _lead_out(leads.transition(ctx.db, lead_id=inp.lead_id, to=inp.to_status, by=ctx.principal.id,
                                      role=ctx.principal.role, now=ctx.now(), note=inp.note,
                                      amount_recovered=inp.amount_recovered))


class PlanIn(Model):
    month: Month = Field(description="yyyy-mm")
    capacity: int | None = Field(None, ge=0, le=100000,
                                 description="Audits possible this month; the configured capacity when omitted")


class PlanOut(Model):
    month: str
    capacity: int
    planned: list[LeadOut]


@transaction("8813", "leads-audit-plan", en="Monthly audit plan", zh="月度稽核计划",
             roles={"city_bureau", "audit_centre"}, tag="rules", reqs=("PH-6", "RULE-2", "RULE-7"))
def audit_plan(ctx: Ctx, inp: PlanIn) -> PlanOut:
    """Takes the highest-risk screened leads in scope into the month's plan, up to capacity."""
    cap = inp.capacity if inp.capacity is not None else ctx.settings.audit_capacity_per_month
    district = None if ctx.scope.is_city else ctx.scope.district_code
    planned = leads.plan_month(ctx.db, month=inp.month, capacity=cap, district=district, by=ctx.principal.id,
                               role=ctx.principal.role, now=ctx.now())
    return PlanOut(month=inp.month, capacity=cap, planned=[_lead_out(p) for p in planned])


class StatsOut(Model):
    period: str
    max_false_positive_rate: float
    rules: list[dict[str, Any]]
    needs_review: list[str]


@transaction("8721", "rules-stats", en="Rule statistics", zh="规则统计", roles=BUREAU_ROLES, tag="rules",
             reqs=("RULE-6",))
def rule_stats(ctx: Ctx, inp: PeriodIn) -> StatsOut:
    """Per rule over the period, in the sender's scope (RULE-6): hits, audited outcomes and the
    false-positive rate against the release's bound (rules above it need review), and how
    institutions answered its pre-/in-event warnings through 3103: continued despite the warning
    (dspo_way 1) or changed after it (dspo_way 2)."""
    start, end = inp.bounds()
    rs = releases.in_force(ctx.db, ctx.now().date())
    bound = float(rs.review.get("max_false_positive_rate", 0.5))
    rows = stats.compute(ctx.db, start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds"),
                         rule_ids=sorted(rs.rules), max_fp_rate=bound, min_audited=int(rs.review.get("min_audited", 5)),
                         scope=ctx.scope)
    return StatsOut(period=f"{inp.start}/{inp.end}", max_false_positive_rate=bound,
                    rules=[r.as_dict() for r in rows], needs_review=[r.rule_id for r in rows if r.needs_review])


class ReplayIn(Model):
    decision_id: RowId


class ReplayOut(Model):
    decision_id: int
    rule_id: str
    release_version: str
    params: dict[str, Any]
    facts: dict[str, Any]
    recorded_outcome: str
    replayed_hit: bool
    replayed_message: str | None
    matches: bool = Field(description="The replay reproduces the recorded decision")


@transaction("8722", "rules-decision-explain", en="Explain and replay a decision", zh="决策解释与重放",
             roles=BUREAU_ROLES, tag="rules", reqs=("RULE-5",))
def decision_explain(ctx: Ctx, inp: ReplayIn) -> ReplayOut:
    row, v = engine.replay(ctx.db, inp.decision_id, scope=ctx.scope)
    return ReplayOut(decision_id=row["decision_id"], rule_id=row["rule_id"], release_version=row["release_version"],
                     params=json.loads(row["params"]), facts=json.loads(row["facts"]), recorded_outcome=row["outcome"],
                     replayed_hit=v.hit, replayed_message=v.message or None,
                     matches=bool(row["hit"]) == v.hit and (row["message"] or "") == (v.message or ""))
