"""Institution indicators of the inpatient scene (INP-7, SUP-2) and the remote-check ranking.

Per institution and period (closed days only — a day counts once its day end has run):

- daily-check completion rate = compliant patient-days / due patient-days;
- remote-check completion rate = items verified / items whose deadline fell in the period;
- special-registration rate = special-registered patient-days and items / due days and items;
- rejection rate = registrations rejected at least once / registrations reviewed at least once.

The ranking orders institutions by the targeting score of rule INP-LOW-COMPLIANCE (its weights
are the documented, configurable policy) so the bureau knows where to send more remote checks.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from reference.rules.checks.inpatient import score
from reference.store import Db


def counts(db: Db, first: date, last: date, institutions: list[str] | None) -> list[dict[str, Any]]:
    """Raw counts per institution over the closed days in [first, last]."""
    s, e = first.isoformat(), last.isoformat()
    scope, params = "", []
    if institutions is not None:
        if not institutions:
            return []
        scope = f" AND institution_code IN ({','.join('?' * len(institutions))})"
        params = list(institutions)
    daily = {r["institution_code"]: r for r in db.all(
        "SELECT institution_code, count(*) AS due, sum(status='compliant') AS compliant,"
        " sum(status='excused') AS excused, sum(status='finding') AS findings, sum(reg_id IS NOT NULL) AS registered"
        f" FROM inpatient_patient_days WHERE day>=? AND day<=?{scope} GROUP BY institution_code", [s, e, *params])}
    remote = {r["institution_code"]: r for r in db.all(
        "SELECT t.institution_code, count(*) AS due, sum(i.status='passed') AS passed,"
        " sum(i.status='special_registered') AS registered FROM bed_check_items i JOIN bed_check_tasks t USING"
        " (task_id) JOIN day_closures c ON c.scene='inpatient' AND c.institution_code=t.institution_code"
        " AND c.day=substr(t.deadline,1,10) WHERE substr(t.deadline,1,10)>=? AND substr(t.deadline,1,10)<=?"
        f"{scope.replace('institution_code', 't.institution_code')} GROUP BY t.institution_code", [s, e, *params])}
    reviews = {r["institution_code"]: r for r in db.all(
        "SELECT institution_code,"
        " sum(EXISTS(SELECT 1 FROM special_registration_events e WHERE e.reg_id=r.reg_id"
        "  AND e.from_status='submitted')) AS reviewed,"
        " sum(EXISTS(SELECT 1 FROM special_registration_events e WHERE e.reg_id=r.reg_id"
        "  AND e.to_status='rejected')) AS rejected"
        f" FROM special_registrations r WHERE scene='inpatient' AND day>=? AND day<=?{scope}"
        " GROUP BY institution_code", [s, e, *params])}
    out = []
    for code in sorted(set(daily) | set(remote) | set(reviews)):
        d, r, v = daily.get(code, {}), remote.get(code, {}), reviews.get(code, {})
        out.append({
            "institution_code": code,
            "daily_due": int(d.get("due") or 0), "daily_compliant": int(d.get("compliant") or 0),
            "daily_excused": int(d.get("excused") or 0), "daily_findings": int(d.get("findings") or 0),
            "remote_due": int(r.get("due") or 0), "remote_passed": int(r.get("passed") or 0),
            "special_registrations": int(d.get("registered") or 0) + int(r.get("registered") or 0),
            "reviewed": int(v.get("reviewed") or 0), "rejected": int(v.get("rejected") or 0),
        })
    return out


def ranking(rows: list[dict[str, Any]], params_for) -> list[dict[str, Any]]:
    """Rows with rates, score and rank (1 = most in need of remote checks); `params_for(code)`
    gives the INP-LOW-COMPLIANCE parameters resolved for an institution."""
    scored = []
    for row in rows:
        params = params_for(row["institution_code"])
        s, rates = score(row, params)
        targeted = row["daily_due"] >= params["min_patient_days"] and s >= params["threshold"]
        scored.append({**row, **rates, "score": s, "targeted": targeted})
    scored.sort(key=lambda r: (-r["score"], r["institution_code"]))
    for i, r in enumerate(scored, 1):
        r["rank"] = i
    return scored
