"""Rule statistics (规则统计, RULE-6): per rule and period, how often it fired and how right it was.

- evaluations: decisions recorded (pre/in-event: every evaluation; post-event: hits)
- hits, reminders, refusals, suspicions
- leads created; of those audited: confirmed, cleared
- precision = confirmed / (confirmed + cleared); false-positive rate = cleared / (confirmed + cleared)
- refusals overturned on appeal
- national warnings (3101/3102 violations) the institution answered (3103): continued despite
  the warning, or changed the order after it (one answer per violation, the latest)
A rule whose false-positive rate exceeds the library's bound with enough audited leads is marked
for review (knowledge or thresholds to adjust, or retirement).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from reference.scope import Scope
from reference.store import Db


@dataclass
class RuleStats:
    rule_id: str
    evaluations: int = 0
    hits: int = 0
    reminders: int = 0
    refusals: int = 0
    suspicions: int = 0
    leads: int = 0
    confirmed: int = 0
    cleared: int = 0
    refusals_overturned: int = 0
    continued_despite_warning: int = 0
    changed_after_warning: int = 0
    precision: float | None = None
    false_positive_rate: float | None = None
    needs_review: bool = False
    review_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute(db: Db, start: str, end: str, *, rule_ids: list[str], max_fp_rate: float,
            min_audited: int, scope: Scope | None = None) -> list[RuleStats]:
    """Statistics of [start, end) over the institutions in `scope` (every institution if None)."""
    stats = {r: RuleStats(r) for r in rule_ids}
    inst, inst_params = scope.where_institution("institution_code") if scope else ("", [])
    d_inst, _ = scope.where_institution("d.institution_code") if scope else ("", [])
    w_inst, _ = scope.where_institution("w.institution_code") if scope else ("", [])

    def get(rid: str) -> RuleStats:
        return stats.setdefault(rid, RuleStats(rid))

    for r in db.all(f"SELECT rule_id, outcome, hit, count(*) n FROM decisions WHERE at>=? AND at<?{inst}"
                    " GROUP BY rule_id, outcome, hit", (start, end, *inst_params)):
        s = get(r["rule_id"])
        s.evaluations += r["n"]
        if r["hit"]:
            s.hits += r["n"]
            if r["outcome"] == "remind":
                s.reminders += r["n"]
            elif r["outcome"] == "refuse":
                s.refusals += r["n"]
            elif r["outcome"] == "suspicion":
                s.suspicions += r["n"]
    for r in db.all(f"SELECT rule_id, status, count(*) n FROM leads WHERE created_at>=? AND created_at<?{inst}"
                    " GROUP BY rule_id, status", (start, end, *inst_params)):
        s = get(r["rule_id"])
        s.leads += r["n"]
        if r["status"] == "confirmed":
            s.confirmed += r["n"]
        elif r["status"] == "cleared":
            s.cleared += r["n"]
    for r in db.all(
        "SELECT d.rule_id, count(*) n FROM appeals a JOIN decisions d ON d.institution_code=a.institution_code"
        " AND d.setl_id=a.setl_id AND d.stage='in_event' AND d.outcome='refuse'"
        f" WHERE a.status='overturned' AND d.at>=? AND d.at<?{d_inst} GROUP BY d.rule_id",
        (start, end, *inst_params)):
        get(r["rule_id"]).refusals_overturned += r["n"]
    for r in db.all(
        "SELECT w.rule_id, f.dspo_way, count(*) n FROM national_feedback f JOIN national_warnings w ON w.jr_id=f.jr_id"
        f" WHERE w.created_at>=? AND w.created_at<?{w_inst} GROUP BY w.rule_id, f.dspo_way",
        (start, end, *inst_params)):
        s = get(r["rule_id"])
        if r["dspo_way"] == "1":
            s.continued_despite_warning += r["n"]
        elif r["dspo_way"] == "2":
            s.changed_after_warning += r["n"]
    for s in stats.values():
        audited = s.confirmed + s.cleared
        if audited:
            s.precision = round(s.confirmed / audited, 4)
            s.false_positive_rate = round(s.cleared / audited, 4)
            if audited >= min_audited and s.false_positive_rate > max_fp_rate:
                s.needs_review = True
                s.review_reason = (f"false-positive rate {s.false_positive_rate:.0%} over {audited} audited leads "
                                   f"exceeds {max_fp_rate:.0%}: adjust its knowledge or thresholds, or retire it")
        if s.refusals and s.refusals_overturned / s.refusals > max_fp_rate and s.refusals >= min_audited:
            s.needs_review = True
            s.review_reason = (s.review_reason or "") + (
                f" {s.refusals_overturned} of {s.refusals} refusals overturned on appeal").strip()
    return sorted(stats.values(), key=lambda s: s.rule_id)
