"""National-shape pre-/in-event analysis (3101 明细审核事前分析, 3102 明细审核事中分析) and the
institution's feedback on each violation (3103 事前事中服务反馈).

A national message describes patients and their encounters (就诊) with diagnoses, orders (医嘱)
and operations; scenemon's rule library judges settlements. Each encounter under analysis is
therefore mapped to the settlement the rules read (`encounter_settlement`): the orders are the
items (hilist_code / hilist_name / cnt / sumamt), the encounter's total fee is the amount, the
scene follows from the encounter and the orders, the time is the business clock's now (the
analysis happens at the moment of ordering or settling). Facts the message does not carry
(face verifications, person flags, earlier settlements) the rules look up as always. The
judgement is `settlements.judge` — the same path as 8711 / 8712 — so every rule evaluation is
a decision that 8722 replays; each hit becomes a violation `jr_id` (JR + the decision id).

3102 judges the in-event stage but stores no settlement: the national message is an analysis
of orders, not a settlement submission (8712 stores one with its result and takes appeals).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from reference.errors import InvalidField, NotFound
from reference.rules import engine, releases
from reference.rules.evaluators import Subject
from reference.rules.library import Rule, RuleSet
from reference.rules.params import institution_attrs
from reference.services import settlements
from reference.store import Db

WARN_TYPE = {"pre_event": "1", "in_event": "2"}  # national warn_type of a stage's violations
STAGE_OF = {v: k for k, v in WARN_TYPE.items()}
#: trig_scen codes (code table trig_scen) of inpatient moments: the encounter is inpatient.
INPATIENT_TRIGGERS = frozenset({"3", "4", "5", "8", "9"})
#: med_mdtrt_type (就诊类型) 2 inpatient, 3 drug purchase (public HIS adapters: 1 门诊 2 住院 3 购药 4 其他).
MED_MDTRT_INPATIENT, MED_MDTRT_PURCHASE = "2", "3"
#: A national message names no settlement method (its credential is not in 3101/3102): the rules
#: see this one, which is not `face` (a face settlement's verification is 8711/8712's to name).
UNSTATED_METHOD = "unstated"
#: Each rule's class of behaviour (code table vola_bhvr_type); a rule not listed is 9 (other).
BEHAVIOUR_CLASS: dict[str, str] = {
    "GEN-FACE-SETTLEMENT-VERIFIED": "1", "PH-FACE-OVER-AMOUNT": "1", "PH-KEY-POPULATION-FACE": "1",
    "HD-FACE-BEFORE-SETTLEMENT": "1", "HD-MONTHLY-CAP": "2", "BD-SUSPECTED-DEATH-CARE": "3",
}
OTHER_BEHAVIOUR = "9"
#: sev_deg (code table sev_deg) from a rule's in-event outcome.
SEVERITY = {"refuse": "1", "suspicion": "2"}
REMINDER_SEVERITY = "3"
AMOUNT_COMPUTED, AMOUNT_NOT_COMPUTABLE = "1", "2"  # code table vola_amt_stas
INVOLVED_ITEM = "2"  # code table vola_item_type
JR_PREFIX = "JR"
MAX_EVIDENCE = 500  # vola_evid: 字符型 500


def given(value: Any) -> Any:
    """A field's value, None when the client left it out ("" as deployed clients send it)."""
    return None if value == "" else value


def jr_id(decision_id: int) -> str:
    return f"{JR_PREFIX}{decision_id:010d}"


def scene_of(encounter: dict[str, Any], trig_scen: str | None, inst_type: str | None,
             categories: Collection[str]) -> str:
    """The monitored scene whose rules judge an encounter: inpatient when the encounter or its
    trigger is inpatient; pharmacy for a drug purchase or at a retail pharmacy; hemodialysis when
    an order is a dialysis treatment (knowledge base); otherwise `any` (only every-scene rules)."""
    if encounter.get("med_mdtrt_type") == MED_MDTRT_INPATIENT or trig_scen in INPATIENT_TRIGGERS:
        return "inpatient"
    if encounter.get("med_mdtrt_type") == MED_MDTRT_PURCHASE or inst_type == "retail_pharmacy":
        return "pharmacy"
    if "dialysis" in categories:
        return "hemodialysis"
    return "any"


def _current_orders(encounter: dict[str, Any]) -> list[dict[str, Any]]:
    """The orders this analysis is about: those flagged current (curr_drord_flag 1), or all when
    none is flagged."""
    orders = encounter.get("fsi_order_dtos") or []
    flagged = [o for o in orders if o.get("curr_drord_flag") == "1"]
    return flagged or orders


def encounter_settlement(patient: dict[str, Any], encounter: dict[str, Any], *, institution_code: str,
                         inst_type: str | None, trig_scen: str | None, now: datetime) -> dict[str, Any]:
    """The settlement the rules judge for one encounter (see the module docstring)."""
    orders = _current_orders(encounter)
    items = [{"item_code": o["hilist_code"], "item_name": o["hilist_name"], "qty": o["cnt"], "amount": o["sumamt"],
              "rx_id": o["rx_id"]} for o in orders]
    total = given(encounter.get("medfee_sumamt"))
    if total is None:
        total = round(sum(o["sumamt"] for o in orders), 2)
    payload = {"setl_id": f"mdtrt:{encounter['mdtrt_id']}", "psn_no": patient["patn_id"],
               "mdtrt_id": encounter["mdtrt_id"], "scene": "any", "setl_time": now, "method": UNSTATED_METHOD,
               "verification_id": None, "total_amount": total, "items": items,
               "diagnoses": [d["dise_codg"] for d in encounter.get("fsi_diagnose_dtos") or [] if d.get("dise_codg")]}
    s = settlements.normalise(payload, institution_code, now)
    s["scene"] = scene_of(encounter, trig_scen, inst_type, s["categories"])
    return s


def _analysed(patient: dict[str, Any], path: str, institution_code: str) -> list[tuple[int, dict[str, Any]]]:
    """(index, encounter) of the encounters under analysis: the current one (curr_mdtrt_id) or,
    without it, all; each must be at the sender's institution (the others are history)."""
    encounters = patient["fsi_encounter_dtos"]
    current = given(patient.get("curr_mdtrt_id"))
    picked = [(j, e) for j, e in enumerate(encounters) if current is None or e["mdtrt_id"] == current]
    if not picked:
        raise InvalidField(f"curr_mdtrt_id {current} is none of the patient's encounters",
                           field=f"{path}.curr_mdtrt_id")
    for j, e in picked:
        if given(e.get("medins_id")) not in (None, institution_code):
            raise InvalidField(f"encounter {e['mdtrt_id']} is at {e['medins_id']}: an institution analyses its "
                               "own encounters", field=f"{path}.fsi_encounter_dtos.{j}.medins_id")
    return picked


def check_rule_ids(rs: RuleSet, rule_ids: list[str], stage: str) -> None:
    for i, rid in enumerate(rule_ids):
        rule = rs.rules.get(rid)
        if rule is None or stage not in rule.stages:
            raise InvalidField(f"no rule {rid} judges the {stage.replace('_', '-')} stage in release {rs.version}",
                               field=f"input.data.rule_ids.{i}")


def _result(rule: Rule, d: engine.Decision, patient: dict[str, Any], s: dict[str, Any], task_id: str | None,
            stage: str) -> dict[str, Any]:
    jr = jr_id(d.decision_id or 0)
    outcome = d.outcome if stage == "in_event" else rule.stages.get("in_event")
    evidence = f"{rule.source}; {', '.join(rule.requirements)}"
    return {
        "jr_id": jr, "rule_id": rule.id, "rule_name": rule.name_zh, "vola_cont": d.message[:500],
        "patn_id": patient["patn_id"], "mdtrt_id": s["mdtrt_id"],
        "judge_result_detail_dtos": [
            {"jrd_id": f"{jr}-{n}", "patn_id": patient["patn_id"], "mdtrt_id": s["mdtrt_id"], "rx_id": it["rx_id"],
             "vola_item_type": INVOLVED_ITEM, "vola_amt": it["amount"]} for n, it in enumerate(s["items"], 1)],
        "vola_amt": d.amount or 0.0,
        "vola_amt_stas": AMOUNT_COMPUTED if d.amount is not None else AMOUNT_NOT_COMPUTABLE,
        "sev_deg": SEVERITY.get(outcome or "", REMINDER_SEVERITY), "vola_evid": evidence[:MAX_EVIDENCE],
        "vola_bhvr_type": BEHAVIOUR_CLASS.get(rule.id, OTHER_BEHAVIOUR), "task_id": task_id,
    }


def analyse(db: Db, data: dict[str, Any], *, institution_code: str, stage: str, now: datetime,
            visible: Any) -> list[dict[str, Any]]:
    """3101 (`pre_event`) / 3102 (`in_event`): judge every encounter under analysis and answer the
    national `result` list (one entry per rule hit; empty: no violation). `visible(psn_no, field)`
    is the sender's scope check of a person (NotFound when it may not see them)."""
    inst = institution_attrs(db, institution_code)
    inst_type = inst["inst_type"] if inst else None
    rule_ids = data.get("rule_ids") or None
    trig_scen, task_id = given(data.get("trig_scen")), given(data.get("task_id"))
    if rule_ids:
        check_rule_ids(releases.in_force(db, now.date()), rule_ids, stage)
    at = now.isoformat(timespec="seconds")
    out: list[dict[str, Any]] = []
    for i, patient in enumerate(data["patient_dtos"]):
        path = f"input.data.patient_dtos.{i}"
        visible(patient["patn_id"], f"{path}.patn_id")
        for _, encounter in _analysed(patient, path, institution_code):
            s = encounter_settlement(patient, encounter, institution_code=institution_code, inst_type=inst_type,
                                     trig_scen=trig_scen, now=now)
            subject = Subject("encounter", f"{institution_code}/{encounter['mdtrt_id']}", institution_code,
                              patient["patn_id"])
            rs, decisions = settlements.judge(db, s, now, stage, subject=subject, only=rule_ids)
            for d in decisions:
                if not d.hit:
                    continue
                r = _result(rs.rules[d.rule_id], d, patient, s, task_id, stage)
                db.execute(
                    "INSERT INTO national_warnings(jr_id, decision_id, institution_code, warn_type, rule_id, patn_id,"
                    " mdtrt_id, task_id, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (r["jr_id"], d.decision_id, institution_code, WARN_TYPE[stage], d.rule_id, patient["patn_id"],
                     encounter["mdtrt_id"], task_id, at))
                out.append(r)
    return out


def record_feedback(db: Db, *, institution_code: str, warn_type: str, warns: list[dict[str, Any]], by: str,
                    now: datetime) -> list[dict[str, Any]]:
    """3103: the institution's answer to each violation. A jr_id of another institution is
    answered like an absent one (3003); a later answer to the same jr_id replaces the earlier."""
    seen: dict[str, int] = {}
    rows = []
    for i, w in enumerate(warns):
        field = f"input.data.warns.{i}.warn_rslt_id"
        jr = w["warn_rslt_id"]
        if jr in seen:
            raise InvalidField(f"{jr} is answered twice (warns.{seen[jr]} and warns.{i})", field=field)
        seen[jr] = i
        row = db.one("SELECT jr_id, rule_id, warn_type FROM national_warnings WHERE jr_id=? AND institution_code=?",
                     (jr, institution_code))
        if row is None:
            raise NotFound(f"no violation {jr}", field=field)
        if row["warn_type"] != warn_type:
            raise InvalidField(f"{jr} is a {STAGE_OF[row['warn_type']].replace('_', '-')} violation: answer it with "
                               f"warn_type {row['warn_type']}", field="input.data.warn_type")
        rows.append(row)
    at = now.isoformat(timespec="seconds")
    out = []
    for w, row in zip(warns, rows, strict=True):
        before = db.one("SELECT dspo_way FROM national_feedback WHERE jr_id=?", (row["jr_id"],))
        db.execute(
            "INSERT INTO national_feedback(jr_id, dspo_way, dspo_way_rea, answered_by, answered_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(jr_id) DO UPDATE SET dspo_way=excluded.dspo_way, dspo_way_rea=excluded.dspo_way_rea,"
            " answered_by=excluded.answered_by, answered_at=excluded.answered_at, answers=answers+1",
            (row["jr_id"], w["dspo_way"], w.get("dspo_way_rea") or None, by, at))
        out.append({"warn_rslt_id": row["jr_id"], "rule_id": row["rule_id"], "dspo_way": w["dspo_way"],
                    "replaced": before is not None})
    return out
