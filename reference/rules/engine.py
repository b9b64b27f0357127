"""Rule evaluation by stage, decision records, replay and draft simulation.

Stages (RULE-3, RULE-8):

- **pre-event reminder (事前提醒)** — an institution asks before settling; hits come back as
  reminders and never block.
- **in-event review (事中审核)** — the settlement is submitted; a `refuse` hit refuses it, a
  `suspicion` hit suspends it until the institution appeals and the agency decides, and becomes
  a lead.
- **post-event analysis (事后分析)** — batch runs over a business-time period; every hit is a lead.

Every evaluation is a decision row holding the rule, the release version, the parameters used
and the facts seen, so `replay` reproduces it exactly. Draft simulation re-decides stored facts
with the draft's parameters and re-runs post-event scans read-only: live state never changes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from reference.rules import leads
from reference.rules.evaluators import FactView, Subject, Verdict, all_evaluators
from reference.rules.library import Rule, RuleSet
from reference.rules.params import INSTITUTION_ATTRS, institution_attrs
from reference.scope import Scope
from reference.services.monitoring import ANY_SCENE, MonitoredScenes, monitored
from reference.store import Db


@dataclass
class Decision:
    rule_id: str
    stage: str
    outcome: str  # pass | remind | refuse | suspicion
    hit: bool
    message: str
    params: dict[str, Any]
    facts: dict[str, Any]
    subject: Subject
    amount: float | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    decision_id: int | None = None
    lead_id: int | None = None


_institution = institution_attrs


def _record(db: Db, d: Decision, rs: RuleSet, scene: str, at: str, period: str | None) -> int:
    return db.insert(
        "INSERT INTO decisions(rule_id, release_version, params, stage, scene, subject_type, subject_id,"
        " institution_code, psn_no, setl_id, facts, hit, outcome, message, amount, at, period)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (d.rule_id, rs.version, json.dumps(d.params, ensure_ascii=False, sort_keys=True), d.stage, scene,
         d.subject.type, d.subject.id, d.subject.institution_code, d.subject.psn_no, d.subject.setl_id,
         json.dumps(d.facts, ensure_ascii=False, sort_keys=True), int(d.hit), d.outcome, d.message or None,
         d.amount, at, period),
    )


def _make_decision(rule: Rule, stage: str, subject: Subject, facts: dict, params: dict, v: Verdict) -> Decision:
    return Decision(rule.id, stage, rule.stages[stage] if v.hit else "pass", v.hit, v.message, params, facts,
                    subject, v.amount, list(v.evidence))


def evaluate_settlement(db: Db, rs: RuleSet, stage: str, settlement: dict[str, Any], *, now: datetime,
                        record: bool = True, subject: Subject | None = None,
                        only: Collection[str] | None = None) -> list[Decision]:
    """Run every active rule of `stage` for the settlement's scene — the scene's own rules only
    while the scene is monitored at the institution on the settlement's day (8014), rules of scene
    `any` always — and record the decisions. `subject` names what is judged when it is not a
    settlement (a national-shape encounter, 3101/3102); `only` limits the rules to those ids."""
    evaluators = all_evaluators()
    view = FactView(db)
    inst = _institution(db, settlement["institution_code"])
    scene_on = monitored(db, settlement["institution_code"], settlement["scene"], settlement["setl_time"])
    subject = subject or Subject("settlement", f"{settlement['institution_code']}/{settlement['setl_id']}",
                                 settlement["institution_code"], settlement["psn_no"], settlement["setl_id"])
    out = []
    for rule in rs.active(stage, settlement["scene"]):
        if (rule.scene != ANY_SCENE and not scene_on) or (only is not None and rule.id not in only):
            continue
        ev = evaluators[rule.id]
        params = rule.resolve(inst)
        facts = ev.gather(view, settlement, params)
        d = _make_decision(rule, stage, subject, facts, params, ev.decide(facts, params))
        if record:
            d.decision_id = _record(db, d, rs, settlement["scene"], now.isoformat(timespec="seconds"), None)
            if d.outcome == "suspicion":
                d.lead_id = leads.create_from_decision(db, rule, rs, d, settlement["scene"], now,
                                                       dedupe=f"{rule.id}|{subject.id}")
        out.append(d)
    return out


def decide_composite(rule: Rule, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
    """The one evaluator of all composite rules; facts = component hits of one group in the window."""
    comp = rule.composite
    assert comp is not None
    by_rule: dict[str, list] = defaultdict(list)
    for h in facts["hits"]:
        by_rule[h["rule_id"]].append(h)
    if comp.op == "all":
        hit = all(by_rule.get(r) for r in comp.of)
    elif comp.op == "any":
        hit = any(by_rule.get(r) for r in comp.of)
    else:
        hit = len(facts["hits"]) >= params["min_hits"]
    if not hit:
        return Verdict(False)
    amount = round(sum(h.get("amount") or 0 for h in facts["hits"]), 2) or None
    return Verdict(True, f"{len(facts['hits'])} hit(s) of {', '.join(comp.of)} for {comp.group_by} "
                         f"{facts['group']} within {params['window_days']} days ({comp.op})", amount=amount,
                   evidence=[{"kind": "decision", "id": h["decision_id"]} for h in facts["hits"]])


def _component_hits(db: Db, rule_ids: list[str], since: str, until: str) -> list[dict[str, Any]]:
    marks = ",".join("?" * len(rule_ids))
    return db.all(
        f"SELECT decision_id, rule_id, institution_code, psn_no, amount, at FROM decisions WHERE hit=1"
        f" AND rule_id IN ({marks}) AND at>=? AND at<? AND stage!='pre_event' ORDER BY decision_id",
        (*rule_ids, since, until))


def _composite_groups(rule: Rule, hits: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    key = "institution_code" if rule.composite.group_by == "institution" else "psn_no"
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in hits:
        if h.get(key):
            groups[h[key]].append(h)
    return groups


@dataclass
class PostEventResult:
    period: str
    decisions: list[Decision]

    @property
    def hits(self) -> list[Decision]:
        return [d for d in self.decisions if d.hit]


def run_post_event(db: Db, rs: RuleSet, start: datetime, end: datetime, *, now: datetime,
                   record: bool = True, component_hits: dict[str, list[dict[str, Any]]] | None = None,
                   institutions: Collection[str] | None = None, view: FactView | None = None
                   ) -> PostEventResult:
    """Post-event analysis of [start, end). Records hits and their leads unless `record` is False
    (then `record_post_event` may record them later, e.g. after a scan on a read snapshot);
    reruns of the same period never duplicate leads. With `institutions` (a caller's scope), only
    subjects of those institutions are judged, and scans read only their rows. A subject is judged
    by a scene's rules only if the scene is monitored at its institution on the period's last day
    (8014). `view` (a day end's, narrowed the same way) replaces the default fact view."""
    evaluators = all_evaluators()
    allowed = None if institutions is None else set(institutions)
    view = view or FactView(db, institutions=allowed)
    scene_on = MonitoredScenes(db)
    last_day = (end - timedelta(days=1)).date()

    def judged(rule: Rule, code: str | None) -> bool:
        if allowed is not None and code not in allowed:
            return False
        return scene_on(code, rule.scene, last_day)
    period = f"{start.isoformat(timespec='seconds')}/{end.isoformat(timespec='seconds')}"
    out: list[Decision] = []
    inst_cache: dict[str | None, dict | None] = {}
    if allowed:  # the run's institutions (and their scenes) in one query each, not one per institution
        scene_on.prefetch(allowed, last_day)
        inst_cache.update((r["code"], r) for r in db.all(
            f"SELECT {INSTITUTION_ATTRS} FROM institutions WHERE code IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(allowed)),)))

    def inst_of(code: str | None) -> dict | None:
        if code not in inst_cache:
            inst_cache[code] = _institution(db, code)
        return inst_cache[code]

    for rule in rs.active("post_event"):
        if rule.composite is not None:
            continue
        ev = evaluators[rule.id]
        for subject, facts in ev.scan(view, start, end, lambda c, r=rule: r.resolve(inst_of(c))):
            if not judged(rule, subject.institution_code):
                continue
            params = rule.resolve(inst_of(subject.institution_code))
            d = _make_decision(rule, "post_event", subject, facts, params, ev.decide(facts, params))
            if d.hit:
                out.append(d)
    for rule in rs.active("post_event"):
        if rule.composite is None:
            continue
        # The widest window any institution has (default or an override): each group narrows it below.
        widest = max([rule.resolve(None)["window_days"],
                      *(o.params["window_days"] for o in rule.overrides if "window_days" in o.params)])
        since = (end - timedelta(days=widest)).isoformat(timespec="seconds")
        if component_hits is None:
            hits = _component_hits(db, rule.composite.of, since, end.isoformat(timespec="seconds"))
        else:
            hits = [h for r in rule.composite.of for h in component_hits.get(r, [])
                    if since <= h["at"] < end.isoformat(timespec="seconds")]
        for group, group_hits in _composite_groups(rule, hits).items():
            inst_code = group if rule.composite.group_by == "institution" else group_hits[0]["institution_code"]
            if not judged(rule, inst_code):
                continue
            params = rule.resolve(inst_of(inst_code))
            g_since = (end - timedelta(days=params["window_days"])).isoformat(timespec="seconds")
            facts = {"group": group, "hits": [h for h in group_hits if h["at"] >= g_since]}
            subject = Subject(rule.composite.group_by, group, inst_code,
                              group if rule.composite.group_by == "person" else None)
            d = _make_decision(rule, "post_event", subject, facts, params, decide_composite(rule, facts, params))
            if d.hit:
                out.append(d)
    res = PostEventResult(period, out)
    if record:
        record_post_event(db, rs, res, now=now)
    return res


def record_post_event(db: Db, rs: RuleSet, res: PostEventResult, *, now: datetime) -> None:
    """Record the hits of a post-event run and their leads (setting `decision_id`, `lead_id`);
    a hit whose lead exists already (the same rule, subject and period) is skipped."""
    at = now.isoformat(timespec="seconds")
    for d in res.hits:
        dedupe = f"{d.rule_id}|{d.subject.id}" + ("" if d.subject.type == "settlement" else f"|{res.period}")
        if leads.exists(db, dedupe):
            continue
        rule = rs.rules[d.rule_id]
        d.decision_id = _record(db, d, rs, rule.scene, at, res.period)
        d.lead_id = leads.create_from_decision(db, rule, rs, d, rule.scene, now, dedupe=dedupe)


def replay(db: Db, decision_id: int, scope: Scope | None = None) -> tuple[dict[str, Any], Verdict]:
    """Re-decide a stored decision from its stored facts, parameters and release; a decision about
    an institution outside `scope` does not exist."""
    from reference.rules import releases

    clause, params = scope.where_institution("institution_code") if scope else ("", [])
    row = db.one(f"SELECT * FROM decisions WHERE decision_id=?{clause}", (decision_id, *params))
    if row is None:
        from reference.errors import NotFound

        raise NotFound(f"no decision {decision_id}", field="input.decision_id")
    rs, _ = releases.get(db, row["release_version"])
    rule = rs.rules[row["rule_id"]]
    facts, params = json.loads(row["facts"]), json.loads(row["params"])
    if rule.composite is not None:
        verdict = decide_composite(rule, facts, params)
    else:
        verdict = all_evaluators()[rule.id].decide(facts, params)
    return row, verdict


@dataclass
class SimulationRow:
    rule_id: str
    live_hits: int
    draft_hits: int
    newly_flagged: list[str]
    no_longer_flagged: list[str]


def simulate(db: Db, live: RuleSet, draft: RuleSet, start: datetime, end: datetime,
             institutions: Collection[str] | None = None) -> list[SimulationRow]:
    """What the draft would have flagged in [start, end) compared with what was flagged live,
    over the institutions given (a caller's scope; all when None). Reads only: nothing is
    recorded (RULE-5)."""
    s, e = start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")
    allowed = None if institutions is None else set(institutions)

    def mine(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows if allowed is None else [r for r in rows if r["institution_code"] in allowed]

    rows = mine(db.all("SELECT * FROM decisions WHERE at>=? AND at<? AND stage!='post_event'", (s, e)))
    evaluators = all_evaluators()
    live_flagged: dict[str, set[str]] = defaultdict(set)
    draft_flagged: dict[str, set[str]] = defaultdict(set)
    draft_component_hits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    institutions: dict[str | None, dict | None] = {}
    for r in rows:
        if r["hit"]:
            live_flagged[r["rule_id"]].add(r["subject_id"])
        rule = draft.rules.get(r["rule_id"])
        if rule is None or not rule.enabled or r["stage"] not in rule.stages:
            continue
        code = r["institution_code"]
        if code not in institutions:
            institutions[code] = _institution(db, code)
        v = evaluators[rule.id].decide(json.loads(r["facts"]), rule.resolve(institutions[code]))
        if v.hit:
            draft_flagged[rule.id].add(r["subject_id"])
            draft_component_hits[rule.id].append({
                "decision_id": r["decision_id"], "rule_id": rule.id, "institution_code": r["institution_code"],
                "psn_no": r["psn_no"], "amount": v.amount, "at": r["at"]})
    post_live = mine(db.all("SELECT rule_id, subject_id, institution_code FROM decisions WHERE stage='post_event'"
                            " AND hit=1 AND at>=? AND at<?", (s, e)))
    for r in post_live:
        live_flagged[r["rule_id"]].add(r["subject_id"])
    sim = run_post_event(db, draft, start, end, now=end, record=False, component_hits=draft_component_hits,
                         institutions=allowed)
    for d in sim.hits:
        draft_flagged[d.rule_id].add(d.subject.id)
    out = []
    for rid in sorted(set(live.rules) | set(draft.rules)):
        lf, df = live_flagged.get(rid, set()), draft_flagged.get(rid, set())
        out.append(SimulationRow(rid, len(lf), len(df), sorted(df - lf), sorted(lf - df)))
    return out
