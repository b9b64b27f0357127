"""Checks for every scene: care by a suspected deceased person (BD-3), late fault reports (GEN-3),
and settlements relying on a face verification that really passed (PH-3, HD-11)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from reference.rules.evaluators import FactView, Subject, Verdict, evaluator


@evaluator("BD-SUSPECTED-DEATH-CARE")
class SuspectedDeathCare:
    def gather(self, view: FactView, s: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        category = params["deceased_item_category"]
        return {"psn_no": s["psn_no"], "setl_time": s["setl_time"], "total_amount": s["total_amount"],
                "person_flags": view.person_flags(s["psn_no"]),
                "earlier_by_category": {category: [
                    f"{r['institution_code']}/{r['setl_id']}"
                    for r in view.earlier_settlements_with(s["psn_no"], category, s["setl_time"])]}}

    def scan(self, view: FactView, start: datetime, end: datetime,
             params_for) -> Iterable[tuple[Subject, dict[str, Any]]]:
        for s in view.settlements_between(start, end):
            facts = self.gather(view, s, params_for(s["institution_code"]))
            yield Subject("settlement", f"{s['institution_code']}/{s['setl_id']}", s["institution_code"],
                          s["psn_no"], s["setl_id"]), facts

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        earlier = facts["earlier_by_category"].get(params["deceased_item_category"], [])
        flagged = "suspected_deceased" in facts["person_flags"]
        if not (flagged or earlier):
            return Verdict(False)
        why = "flagged suspected deceased" if flagged else f"an earlier settlement ({earlier[0]}) contained 尸体料理"
        return Verdict(True, f"care or purchase for {facts['psn_no']} who is {why}", amount=facts["total_amount"],
                       evidence=[{"kind": "settlement", "id": e} for e in earlier])


@evaluator("GEN-FAULT-LATE-REPORT")
class FaultLateReport:
    def scan(self, view: FactView, start: datetime, end: datetime,
             params_for) -> Iterable[tuple[Subject, dict[str, Any]]]:
        for inst, tickets in view.late_fault_reports(start, end).items():
            yield Subject("institution", inst, inst), {"late_tickets": [t["ticket_id"] for t in tickets]}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        n = len(facts["late_tickets"])
        if n < params["min_late_reports"]:
            return Verdict(False)
        return Verdict(True, f"{n} fault(s) reported more than 24 h after they occurred",
                       evidence=[{"kind": "fault_ticket", "id": t} for t in facts["late_tickets"]])


@evaluator("GEN-FACE-SETTLEMENT-VERIFIED")
class FaceSettlementVerified:
    def gather(self, view: FactView, s: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        vid = s.get("verification_id")
        v = view.verification(vid) if vid is not None else None
        return {"psn_no": s["psn_no"], "method": s["method"], "setl_time": s["setl_time"],
                "total_amount": s["total_amount"], "verification_id": vid,
                "verification": None if v is None else {"psn_no": v["psn_no"], "passed": bool(v["passed"]),
                                                        "at": v["at"], "institution_code": v["institution_code"]}}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        v = facts["verification"]
        if v is None:
            if facts["method"] != "face":
                return Verdict(False)
            problems = ["names no face verification"]
        else:
            problems = []
            if not v["passed"]:
                problems.append(f"verification {facts['verification_id']} did not pass")
            if v["psn_no"] != facts["psn_no"]:
                problems.append(f"verification {facts['verification_id']} is of another person")
            at, setl = datetime.fromisoformat(v["at"]), datetime.fromisoformat(facts["setl_time"])
            if at > setl:
                problems.append(f"verification {facts['verification_id']} ({v['at']}) is after the settlement")
            elif setl - at > timedelta(minutes=params["window_minutes"]):
                problems.append(f"verification {facts['verification_id']} ({v['at']}) is more than "
                                f"{params['window_minutes']} min before the settlement")
        if not problems:
            return Verdict(False)
        return Verdict(True, f"settlement by {facts['method']} relying on face: " + "; ".join(problems),
                       amount=facts["total_amount"],
                       evidence=[] if facts["verification_id"] is None
                       else [{"kind": "face_verification", "id": facts["verification_id"]}])
