"""National-shape analysis (明细审核) of the smart-supervision subsystem: 3101 pre-event analysis
(事前分析), 3102 in-event analysis (事中分析) and 3103 feedback (事前事中服务反馈) — RULE-3,
RULE-4, RULE-8, RULE-6.

    3101/3102  input  {"data": {syscode, rule_ids[], task_id, trig_scen,
                                patient_dtos[{patn_id, patn_name, gend, brdy, poolarea, curr_mdtrt_id,
                                  fsi_encounter_dtos[{mdtrt_id, medins_id, …, medfee_sumamt, …,
                                    fsi_diagnose_dtos[], fsi_order_dtos[], fsi_operation_dtos[]}]}]}}
               output {"result": [{jr_id, rule_id, rule_name, vola_cont, patn_id, mdtrt_id,
                                   judge_result_detail_dtos[{jrd_id, patn_id, mdtrt_id, rx_id,
                                                             vola_item_type, vola_amt}],
                                   vola_amt, vola_amt_stas, sev_deg, vola_evid, vola_bhvr_type, task_id}]}
    3103       input  {"data": {warn_type, warns[{warn_rslt_id, dspo_way, dspo_way_rea}]}}

Field names, nesting and lengths follow public HIS integration code (the national analysis page
names the sources and what stays unconfirmed). The judgement is the rule library's, through the
same service as 8711 / 8712 (reference.services.analysis). Deployed clients send "" for a field
they leave out: the optional fields accept it and read it as absent. Unknown fields are named in
warn_msg (reference.national).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reference.codes import code_enum
from reference.context import Ctx
from reference.fields import Amount, Coded, LongText, NationalDateTime, PsnNo, Qty, RuleId, Text, VisitId
from reference.national import NationalModel
from reference.services import analysis as svc
from reference.transactions import transaction

TrigScen = code_enum("trig_scen", "TrigScen")
SevDeg = code_enum("sev_deg", "SevDeg")
VolaBhvrType = code_enum("vola_bhvr_type", "VolaBhvrType")
VolaAmtStas = code_enum("vola_amt_stas", "VolaAmtStas")
VolaItemType = code_enum("vola_item_type", "VolaItemType")



def _blank_schema(schema: dict[str, Any]) -> None:
    schema.setdefault("anyOf", []).append({"type": "string", "const": ""})


def _blank_to_none(value: Any) -> Any:
    return svc.given(value)


# An optional value that deployed clients send as "" when they leave it out: read as absent.
BLANK = (BeforeValidator(_blank_to_none), Field(json_schema_extra=_blank_schema))
Id50 = Annotated[Text, StringConstraints(min_length=1, max_length=50)]
Code3 = Annotated[Text, StringConstraints(max_length=3)]
Code6 = Annotated[Text, StringConstraints(max_length=6)]
Code10 = Annotated[Text, StringConstraints(max_length=10)]
Code20 = Annotated[Text, StringConstraints(max_length=20)]
Code30 = Annotated[Text, StringConstraints(max_length=30)]
Code50 = Annotated[Text, StringConstraints(max_length=50)]
Name = Annotated[Text, StringConstraints(max_length=200)]
Text500 = Annotated[LongText, StringConstraints(max_length=500)]
OptAmount = Annotated[Amount | None, *BLANK]
OptTime = Annotated[NationalDateTime | None, *BLANK]
# A national date (yyyy-MM-dd) or date-time: public clients send either for diagnosis dates.
NationalDay = Annotated[str, StringConstraints(
    pattern=r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])( ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])?$")]

# Bounds that keep a crafted message small (the body limit holds too): a pre-event check is about
# one patient's current encounter, with its history; a few patients are accepted in one message.
MAX_PATIENTS, MAX_ENCOUNTERS, MAX_ORDERS, MAX_DIAGNOSES, MAX_OPERATIONS = 20, 20, 2000, 100, 50
MAX_ORDERS_PER_MESSAGE = 5000
MAX_WARNS = 500


class DiagnoseIn(NationalModel):
    """诊断信息 (fsi_diagnose_dtos[])."""

    dise_id: Id50 = Field(description="Diagnosis id (诊断标识)")
    inout_dise_type: Code3 | None = Field(None, description="1 admission, 2 discharge diagnosis (出入诊断类别)")
    maindise_flag: Code3 | None = Field(None, description="Main diagnosis 1 / 0 (主诊断标志)")
    dias_srt_no: Code10 | None = Field(None, description="Diagnosis order number (诊断排序号)")
    dise_codg: Code50 | None = Field(None, description="Diagnosis code, e.g. ICD-10 (诊断代码)")
    dise_name: Name | None = Field(None, description="Diagnosis name (诊断名称)")
    dise_date: Annotated[NationalDay | None, *BLANK] = Field(
        None, description="yyyy-MM-dd or yyyy-MM-dd HH:mm:ss (诊断日期)")


class OrderIn(NationalModel):
    """处方(医嘱)信息 (fsi_order_dtos[]): one order line; an item the rules judge."""

    rx_id: Id50 = Field(description="Order id (处方(医嘱)标识), named again in judge_result_detail_dtos")
    rxno: Code20 | None = Field(None, description="Prescription number (处方号)")
    grpno: Code20 | None = Field(None, description="Group number (组编号)")
    long_drord_flag: Code3 | None = Field(None, description="Long-term order 1 / 0 (是否为长期医嘱)")
    hilist_type: Code3 | None = Field(None, description="Catalogue type (目录类别)")
    chrg_type: Code3 | None = Field(None, description="Charge type (收费类别)")
    drord_bhvr: Code3 | None = Field(None, description="Order behaviour (医嘱行为)")
    hilist_code: Annotated[Text, StringConstraints(min_length=1, max_length=50)] = Field(
        description="National catalogue code (医保目录代码): the item code rules and the knowledge base read")
    hilist_name: Annotated[Text, StringConstraints(min_length=1, max_length=200)] = Field(
        description="National catalogue name (医保目录名称)")
    hilist_dosform: Code50 | None = Field(None, description="Dosage form (医保目录剂型)")
    hilist_lv: Code3 | None = Field(None, description="Catalogue level (医保目录等级)")
    hilist_pric: OptAmount = Field(None, description="Catalogue price, yuan (医保目录价格)")
    lv1_hosp_item_pric: OptAmount = Field(None, description="Grade-1 hospital price (一级医院目录价格)")
    lv2_hosp_item_pric: OptAmount = Field(None, description="Grade-2 hospital price (二级医院目录价格)")
    lv3_hosp_item_pric: OptAmount = Field(None, description="Grade-3 hospital price (三级医院目录价格)")
    hilist_memo: Name | None = Field(None, description="Catalogue note (医保目录备注)")
    hosplist_code: Code50 | None = Field(None, description="Hospital catalogue code (医院目录代码)")
    hosplist_name: Name | None = Field(None, description="Hospital catalogue name (医院目录名称)")
    hosplist_dosform: Code50 | None = Field(None, description="Hospital dosage form (医院目录剂型)")
    cnt: Qty = Field(description="Quantity (数量)")
    pric: OptAmount = Field(None, description="Unit price, yuan (单价)")
    sumamt: Amount = Field(description="Line amount, yuan (总费用)")
    ownpay_amt: OptAmount = Field(None, description="Own-expense amount (自费金额)")
    selfpay_amt: OptAmount = Field(None, description="Self-pay amount (自付金额)")
    spec: Annotated[Text, StringConstraints(max_length=100)] | None = Field(None, description="Specification (规格)")
    spec_unt: Code20 | None = Field(None, description="Unit (数量单位)")
    drord_begn_date: OptTime = Field(None, description="Order start (医嘱开始日期)")
    drord_stop_date: OptTime = Field(None, description="Order stop (医嘱停止日期)")
    drord_dept_codg: Code30 | None = Field(None, description="Ordering department (下达医嘱的科室标识)")
    drord_dept_name: Name | None = Field(None, description="Ordering department name")
    drord_dr_codg: Code30 | None = Field(None, description="Ordering doctor (开处方(医嘱)医生标识)")
    drord_dr_name: Code50 | None = Field(None, description="Ordering doctor's name")
    drord_dr_profttl: Code3 | None = Field(None, description="Doctor's title (医职称)")
    curr_drord_flag: Code3 | None = Field(
        None, description="Current order 1 / 0 (是否当前处方(医嘱)): the current orders are judged (all when none is)")


class OperationIn(NationalModel):
    """手术操作 (fsi_operation_dtos[]): accepted and bounded; no rule reads operations yet."""

    setl_list_oprn_id: Code30 = Field(description="Operation id (手术操作ID)")
    oprn_code: Code30 | None = Field(None, description="Operation code (手术操作代码)")
    oprn_name: Text500 | None = Field(None, description="Operation name (手术操作名称)")
    main_oprn_flag: Code3 | None = Field(None, description="Main operation 1 / 0 (主手术操作标志)")
    oprn_date: OptTime = Field(None, description="Operation date (手术操作日期)")
    anst_way: Code30 | None = Field(None, description="Anaesthesia (麻醉方式)")
    oper_dr_name: Code50 | None = Field(None, description="Operating doctor (术者医师姓名)")
    oper_dr_code: Code30 | None = Field(None, description="Operating doctor's code")
    anst_dr_name: Code50 | None = Field(None, description="Anaesthetist (麻醉医师姓名)")
    anst_dr_code: Code30 | None = Field(None, description="Anaesthetist's code")


class EncounterIn(NationalModel):
    """就诊信息 (fsi_encounter_dtos[]): the current encounter and, as history, earlier ones."""

    model_config = ConfigDict(json_schema_extra={"x-server-checks": [
        "an analysed encounter's medins_id, when given, is the sender's own institution code"]})

    mdtrt_id: VisitId = Field(description="Visit id (就诊标识)")
    medins_id: Annotated[Text, StringConstraints(max_length=50)] | None = Field(
        None, description="Institution (医疗服务机构标识): an analysed encounter is the sender's own")
    medins_name: Name | None = Field(None, description="Institution name")
    medins_admdvs: Code6 | None = Field(None, description="Institution's area (医疗机构行政区划编码)")
    medins_type: Code3 | None = Field(None, description="Institution type (医疗服务机构类型)")
    medins_lv: Code3 | None = Field(None, description="Institution level (医疗机构等级)")
    wardarea_codg: Code20 | None = Field(None, description="Ward area (病区标识)")
    wardno: Code20 | None = Field(None, description="Ward (病房号)")
    bedno: Code20 | None = Field(None, description="Bed (病床号)")
    adm_date: OptTime = Field(None, description="Admission (入院日期)")
    dscg_date: OptTime = Field(None, description="Discharge (出院日期)")
    dscg_main_dise_codg: Code50 | None = Field(None, description="Main discharge diagnosis code (主诊断编码)")
    dscg_main_dise_name: Name | None = Field(None, description="Main discharge diagnosis name")
    dr_codg: Code30 | None = Field(None, description="Doctor (医师标识)")
    adm_dept_codg: Code30 | None = Field(None, description="Admitting department (入院科室标识)")
    adm_dept_name: Name | None = Field(None, description="Admitting department name")
    dscg_dept_codg: Code30 | None = Field(None, description="Discharging department (出院科室标识)")
    dscg_dept_name: Name | None = Field(None, description="Discharging department name")
    med_mdtrt_type: Code3 | None = Field(
        None, description="Encounter type (就诊类型): 2 inpatient and 3 drug purchase choose the scene's rules")
    med_type: Code6 | None = Field(None, description="Medical type (医疗类别)")
    matn_stas: Code3 | None = Field(None, description="Maternity state (生育状态)")
    medfee_sumamt: OptAmount = Field(None, description="Total fee, yuan (总费用): the amount rules judge "
                                                       "(the current orders' sum when absent)")
    ownpay_amt: OptAmount = Field(None, description="Own-expense amount (自费金额)")
    selfpay_amt: OptAmount = Field(None, description="Self-pay amount (自付金额)")
    acct_payamt: OptAmount = Field(None, description="Personal account payment (个人账户支付金额)")
    ma_amt: OptAmount = Field(None, description="Medical assistance payment (救助金支付金额)")
    hifp_payamt: OptAmount = Field(None, description="Pooled fund payment (统筹金支付金额)")
    setl_totlnum: Annotated[int, Field(ge=0, le=9999)] | None = Field(
        None, description="Settlements so far (结算总次数)")
    insutype: Code6 | None = Field(None, description="Insurance type (险种)")
    reim_flag: Code3 | None = Field(None, description="Reimbursement flag (报销标志)")
    out_setl_flag: Code3 | None = Field(None, description="Out-of-area settlement flag (异地结算标志)")
    fsi_diagnose_dtos: list[DiagnoseIn] = Field(default_factory=list, max_length=MAX_DIAGNOSES,
                                                description="Diagnoses (诊断信息)")
    fsi_order_dtos: list[OrderIn] = Field(min_length=1, max_length=MAX_ORDERS, description="Orders (处方(医嘱)信息)")
    fsi_operation_dtos: list[OperationIn] = Field(default_factory=list, max_length=MAX_OPERATIONS,
                                                  description="Operations (手术操作)")


class PatientIn(NationalModel):
    """参保人信息 (patient_dtos[])."""

    model_config = ConfigDict(json_schema_extra={"x-server-checks": [
        "curr_mdtrt_id, when given, is the mdtrt_id of one of fsi_encounter_dtos"]})

    patn_id: PsnNo = Field(description="The insured person (参保人标识): scenemon's person number (psn_no)")
    patn_name: Code50 | None = Field(None, description="Name (姓名)")
    gend: Code3 | None = Field(None, description="Gender (性别)")
    brdy: Annotated[NationalDay | None, *BLANK] = Field(None, description="Birth date yyyy-MM-dd (出生日期)")
    poolarea: Code10 | None = Field(None, description="Pooling area (统筹区编码)")
    curr_mdtrt_id: Annotated[VisitId | None, *BLANK] = Field(
        None, description="The current encounter (当前就诊标识): the one analysed (all encounters when absent)")
    fsi_his_data_dto: Annotated[LongText, StringConstraints(max_length=2000)] | None = Field(
        None, description="Hospital information (医院信息集合): accepted, not read")
    fsi_encounter_dtos: list[EncounterIn] = Field(min_length=1, max_length=MAX_ENCOUNTERS,
                                                  description="Encounters (就诊信息集合)")


class AnalysisData(NationalModel):
    model_config = ConfigDict(json_schema_extra={"x-server-checks": [
        f"at most {MAX_ORDERS_PER_MESSAGE} orders in all encounters of the message",
        "each of rule_ids is a rule of the release in force that judges this stage (3101 pre-event, 3102 in-event)"]})

    syscode: Code10 | None = Field(None, description="Caller's system code (系统编码)")
    rule_ids: list[RuleId] = Field(default_factory=list, max_length=100,
                                   description="Only these rules (规则标识集合; all of the stage when empty)")
    task_id: Code50 | None = Field(None, description="The request's id (任务ID), echoed in each result")
    trig_scen: Annotated[Coded[TrigScen] | None, *BLANK] = Field(  # type: ignore[valid-type]
        None, description="Trigger scene (触发场景, code table trig_scen)")
    patient_dtos: list[PatientIn] = Field(min_length=1, max_length=MAX_PATIENTS,
                                          description="The insured persons (参保人信息)")

    @model_validator(mode="after")
    def _orders_bounded(self):
        n = sum(len(e.fsi_order_dtos) for p in self.patient_dtos for e in p.fsi_encounter_dtos)
        if n > MAX_ORDERS_PER_MESSAGE:
            raise ValueError(f"{n} orders in one message, at most {MAX_ORDERS_PER_MESSAGE}")
        return self


class AnalysisIn(NationalModel):
    data: AnalysisData


class JudgeDetailOut(NationalModel):
    jrd_id: str = Field(description="Detail id (违规明细标识)")
    patn_id: str
    mdtrt_id: str
    rx_id: str = Field(description="The order (处方(医嘱)标识)")
    vola_item_type: Coded[VolaItemType] = Field(  # type: ignore[valid-type]
        description="1 violating, 2 involved item (违规明细类型, code table vola_item_type)")
    vola_amt: float = Field(description="The order's amount, yuan")


class JudgeResultOut(NationalModel):
    jr_id: str = Field(description="Violation id (违规标识): answer it with 3103; JR + the decision id (8722)")
    rule_id: str
    rule_name: str = Field(description="The rule's Chinese name (规则名称)")
    vola_cont: str = Field(description="What was violated (违规内容)")
    patn_id: str
    mdtrt_id: str
    judge_result_detail_dtos: list[JudgeDetailOut] = Field(description="The orders concerned (违规明细)")
    vola_amt: float = Field(description="Amount at issue, yuan (违规金额)")
    vola_amt_stas: Coded[VolaAmtStas] = Field(  # type: ignore[valid-type]
        description="Whether the amount was computed (违规金额计算状态, code table vola_amt_stas)")
    sev_deg: Coded[SevDeg] = Field(  # type: ignore[valid-type]
        description="Severity from the rule's in-event outcome (严重程度, code table sev_deg)")
    vola_evid: str = Field(description="Basis: the rule's source and requirement ids (违规依据)")
    vola_bhvr_type: Coded[VolaBhvrType] = Field(  # type: ignore[valid-type]
        description="Class of behaviour (违规行为分类, code table vola_bhvr_type)")
    task_id: str | None


class AnalysisOut(NationalModel):
    result: list[JudgeResultOut] = Field(description="One entry per rule hit; empty: no violation")


def _analyse(ctx: Ctx, inp: AnalysisIn, stage: str) -> AnalysisOut:
    def visible(psn_no: str, field: str) -> None:
        ctx.person(psn_no, field=field)
        ctx.log_access(psn_no, "read")

    rows = svc.analyse(ctx.db, inp.data.model_dump(mode="json"), institution_code=ctx.own_institution(),
                       stage=stage, now=ctx.now(), visible=visible)
    return AnalysisOut.model_validate({"result": rows}, strict=False)


ANALYSTS = {"institution", "terminal"}


@transaction("3101", "rules-analysis-pre-event", en="Pre-event analysis (national)", zh="明细审核事前分析服务",
             roles=ANALYSTS, tag="rules", reqs=("RULE-3", "RULE-4", "RULE-8"), national=True)
def pre_event_analysis(ctx: Ctx, inp: AnalysisIn) -> AnalysisOut:
    """The institution's system asks before it orders or settles (事前提醒): every encounter under
    analysis is judged by the pre-event rules of the release in force, as 8711 judges a
    settlement; each hit is a violation to answer with 3103. Never blocks, stores no settlement.
    The person must be visible to the institution."""
    return _analyse(ctx, inp, "pre_event")


@transaction("3102", "rules-analysis-in-event", en="In-event analysis (national)", zh="明细审核事中分析服务",
             roles=ANALYSTS, tag="rules", reqs=("RULE-3", "RULE-8"), national=True)
def in_event_analysis(ctx: Ctx, inp: AnalysisIn) -> AnalysisOut:
    """The in-event rules (事中审核) judge the encounter as 8712 judges a settlement: sev_deg 1 is a
    clear violation (8712 would refuse), 2 a suspicion (a lead). No settlement is stored: submit
    it with 8712 for a result the institution can appeal (8713)."""
    return _analyse(ctx, inp, "in_event")


class WarnIn(NationalModel):
    model_config = ConfigDict(json_schema_extra={
        "if": {"required": ["dspo_way"], "properties": {"dspo_way": {"const": "1"}}},
        "then": {"required": ["dspo_way_rea"],
                 "properties": {"dspo_way_rea": {"type": "string", "minLength": 1, "pattern": r"\S"}}}})

    warn_rslt_id: Id50 = Field(description="The jr_id answered (违规标识)")
    dspo_way: Literal["1", "2"] = Field(description="1 continue despite the warning, 2 go back and change the order "
                                                    "(处理方式)")
    dspo_way_rea: Text500 | None = Field(
        None, validate_default=True, description="Why the institution continues (处理原因): required with dspo_way 1")

    @field_validator("dspo_way_rea")
    @classmethod
    def _reason_when_continuing(cls, v: str | None, info: ValidationInfo) -> str | None:
        if not v and info.data.get("dspo_way") == "1":
            raise ValueError("continuing despite a warning (dspo_way 1) needs a reason")
        return v or None


class FeedbackData(NationalModel):
    model_config = ConfigDict(json_schema_extra={"x-server-checks": [
        "each warn_rslt_id is answered once in a message",
        "warn_type is the stage of the answered violation (1 for a 3101 jr_id, 2 for a 3102 one)"]})

    warn_type: Literal["1", "2"] = Field(description="1 pre-event (3101) or 2 in-event (3102) violations (反馈类型)")
    warns: list[WarnIn] = Field(min_length=1, max_length=MAX_WARNS, description="The answers (处理数据集合)")


class FeedbackIn(NationalModel):
    data: FeedbackData


class FeedbackRowOut(NationalModel):
    warn_rslt_id: str
    rule_id: str
    dspo_way: str
    replaced: bool = Field(description="An earlier answer to this jr_id was replaced (it counts once)")


class FeedbackOut(NationalModel):
    warns: list[FeedbackRowOut] = Field(description="Each answer as recorded")


@transaction("3103", "rules-analysis-feedback", en="Pre-/in-event feedback (national)", zh="事前事中服务反馈服务",
             roles=ANALYSTS, tag="rules", reqs=("RULE-3", "RULE-6", "RULE-8"), national=True)
def feedback(ctx: Ctx, inp: FeedbackIn) -> FeedbackOut:
    """The institution's answer to each violation of a 3101 / 3102 answer: continued despite the
    warning (with its reason) or changed the order. A jr_id of another institution is answered
    like an absent one (3003). Counted per rule in the rule statistics (8721)."""
    rows = svc.record_feedback(ctx.db, institution_code=ctx.own_institution(), warn_type=inp.data.warn_type,
                               warns=[w.model_dump() for w in inp.data.warns], by=ctx.principal.id, now=ctx.now())
    return FeedbackOut.model_validate({"warns": rows})
