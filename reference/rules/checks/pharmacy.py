"""Pharmacy checks (PH-3): face recognition above the amount threshold and for key populations.

Both look for a passed face verification of the buyer at the pharmacy within the window; a
settlement's own `method: face` proves nothing by itself (GEN-FACE-SETTLEMENT-VERIFIED checks
the verification a face settlement names)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reference.rules.evaluators import FactView, Verdict, evaluator

FACE_LOOKBACK_MIN = 1440  # gather a day of checks; `decide` applies the rule's window (≤ 1440)


def _face_facts(view: FactView, s: dict[str, Any]) -> list[str]:
    at = datetime.fromisoformat(s["setl_time"])
    checks = view.passed_face_checks(s["psn_no"], s["institution_code"], at - timedelta(minutes=FACE_LOOKBACK_MIN), at)
    return [c["at"] for c in checks]


def _face_within(facts: dict[str, Any], minutes: int) -> bool:
    at = datetime.fromisoformat(facts["setl_time"])
    return any(at - timedelta(minutes=minutes) <= datetime.fromisoformat(t) <= at for t in facts["passed_face_at"])


@evaluator("PH-FACE-OVER-AMOUNT")
class FaceOverAmount:
    def gather(self, view: FactView, s: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        return {"setl_time": s["setl_time"], "method": s["method"], "total_amount": s["total_amount"],
                "passed_face_at": _face_facts(view, s)}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        threshold = params["amount_threshold_yuan"]
        if facts["total_amount"] <= threshold:  # "over 1,000 yuan" (超过): exactly the threshold needs none
            return Verdict(False)
        if _face_within(facts, params["face_window_minutes"]):
            return Verdict(False)
        return Verdict(True, f"{facts['total_amount']:.2f} yuan settled by {facts['method']} without a passed face "
                             f"check in the last {params['face_window_minutes']} min (over {threshold:g} yuan)",
                       amount=facts["total_amount"])


@evaluator("PH-KEY-POPULATION-FACE")
class KeyPopulationFace:
    def gather(self, view: FactView, s: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        return {"setl_time": s["setl_time"], "method": s["method"], "total_amount": s["total_amount"],
                "person_flags": view.person_flags(s["psn_no"]), "passed_face_at": _face_facts(view, s)}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        key = sorted(set(facts["person_flags"]) & set(params["key_flags"]))
        if not key or _face_within(facts, params["face_window_minutes"]):
            return Verdict(False)
        return Verdict(True, f"key population ({', '.join(key)}) settled by {facts['method']} without a passed "
                             "face check", amount=facts["total_amount"])
