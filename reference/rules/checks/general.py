"""Checks for every scene: care by a suspected deceased person (BD-3), late fault reports (GEN-3)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
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
