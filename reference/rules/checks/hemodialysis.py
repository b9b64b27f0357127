"""Hemodialysis checks: the monthly cost cap (HD-6, HD-11) and no settlement without a passed
face check on the session's day (HD-2, HD-11)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reference.rules.evaluators import FactView, Verdict, evaluator


@evaluator("HD-MONTHLY-CAP")
class MonthlyCap:
    def gather(self, view: FactView, s: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        month = s["setl_time"][:7]
        return {"month": month, "total_amount": s["total_amount"],
                "month_total_before": view.month_total(s["psn_no"], "hemodialysis", month,
                                                       (s["institution_code"], s["setl_id"]))}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        after = round(facts["month_total_before"] + facts["total_amount"], 2)
        if after <= params["cap_yuan"]:
            return Verdict(False)
        return Verdict(True, f"{facts['month']} dialysis total would be {after:.2f} yuan, over the "
                             f"{params['cap_yuan']:g} yuan monthly cap", amount=round(after - params["cap_yuan"], 2))


@evaluator("HD-FACE-BEFORE-SETTLEMENT")
class FaceBeforeSettlement:
    def gather(self, view: FactView, s: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        at = datetime.fromisoformat(s["setl_time"])
        day_start = at.replace(hour=0, minute=0, second=0, microsecond=0)
        day_end = day_start.replace(hour=23, minute=59, second=59)
        checks = view.passed_face_checks(s["psn_no"], s["institution_code"], day_start, day_end, scene="hemodialysis")
        return {"day": day_start.date().isoformat(), "passed_checks": [c["verification_id"] for c in checks],
                "total_amount": s["total_amount"]}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        n = len(facts["passed_checks"])
        if n >= params["min_passed_checks"]:
            return Verdict(False)
        return Verdict(True, f"{n} passed dialysis face check(s) on {facts['day']}, "
                             f"{params['min_passed_checks']} required", amount=facts["total_amount"])
