"""Rule statistics (RULE-6) equal a plain recount of the raw decisions, leads and appeals, over
hypothesis-generated histories."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference.rules import stats
from reference.store import open_store

RULES = ["R-A", "R-B", "R-C"]
DAYS = [f"2026-03-{d:02d}T10:00:00" for d in range(1, 29)]
START, END = "2026-03-05T00:00:00", "2026-03-20T00:00:00"

decision = st.fixed_dictionaries({
    "rule_id": st.sampled_from(RULES), "at": st.sampled_from(DAYS), "hit": st.booleans(),
    "stage": st.sampled_from(["pre_event", "in_event", "post_event"]),
    "outcome": st.sampled_from(["remind", "refuse", "suspicion"]),
    "lead_status": st.sampled_from([None, "new", "screened", "audit_planned", "confirmed", "cleared"]),
    "appeal": st.sampled_from([None, "submitted", "upheld", "overturned"]),
})


@pytest.fixture(scope="module")
def store():
    with tempfile.TemporaryDirectory() as d:
        s = open_store(Path(d) / "stats.db", "NORMAL")
        yield s
        s.close()


def _load(store, history: list[dict]) -> None:
    with store.write() as db:
        for t in ("lead_events", "leads", "appeals", "decisions", "settlements"):
            db.execute(f"DELETE FROM {t}")
        for i, h in enumerate(history):
            outcome = h["outcome"] if h["hit"] else "pass"
            setl = f"S{i}"
            db.execute(
                "INSERT INTO decisions(decision_id, rule_id, release_version, params, stage, scene, subject_type,"
                " subject_id, institution_code, psn_no, setl_id, facts, hit, outcome, message, amount, at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (i + 1, h["rule_id"], "v1", "{}", h["stage"], "pharmacy", "settlement", f"I/{setl}", "I", "P",
                 setl, "{}", int(h["hit"]), outcome, "", 10.0, h["at"]))
            if h["hit"] and h["lead_status"]:
                db.execute(
                    "INSERT INTO leads(dedupe_key, rule_id, release_version, decision_id, scene, subject_type,"
                    " subject_id, severity, risk_score, summary, evidence, status, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (f"k{i}", h["rule_id"], "v1", i + 1, "pharmacy", "settlement", f"I/{setl}", "low", 1.0, "s",
                     json.dumps([]), h["lead_status"], h["at"], h["at"]))
            if h["appeal"] and h["stage"] == "in_event" and outcome == "refuse":
                db.execute(
                    "INSERT INTO appeals(institution_code, setl_id, reason, evidence, status, submitted_by,"
                    " submitted_at) VALUES (?,?,?,?,?,?,?)", ("I", setl, "reason", "[]", h["appeal"], "I", h["at"]))


def _recount(history: list[dict]) -> dict[str, dict]:
    out = {r: Counter() for r in RULES}
    for h in history:
        if not START <= h["at"] < END:
            continue
        c = out[h["rule_id"]]
        c["evaluations"] += 1
        if not h["hit"]:
            continue
        c["hits"] += 1
        c[{"remind": "reminders", "refuse": "refusals", "suspicion": "suspicions"}[h["outcome"]]] += 1
        if h["lead_status"]:
            c["leads"] += 1
            c[h["lead_status"]] += 1
        if h["appeal"] == "overturned" and h["stage"] == "in_event" and h["outcome"] == "refuse":
            c["refusals_overturned"] += 1
    return out


@pytest.mark.req("RULE-6")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(decision, max_size=40), st.floats(0.0, 1.0), st.integers(1, 5))
def test_statistics_match_a_recount_of_raw_records(store, history, bound, min_audited):
    _load(store, history)
    with store.read() as db:
        got = {s.rule_id: s for s in stats.compute(db, START, END, rule_ids=RULES, max_fp_rate=bound,
                                                   min_audited=min_audited)}
    for rid, c in _recount(history).items():
        s = got[rid]
        for key in ("evaluations", "hits", "reminders", "refusals", "suspicions", "leads", "confirmed", "cleared",
                    "refusals_overturned"):
            assert getattr(s, key) == c[key], (rid, key)
        audited = c["confirmed"] + c["cleared"]
        if audited:
            assert s.precision == pytest.approx(c["confirmed"] / audited, abs=1e-4)
            assert s.false_positive_rate == pytest.approx(c["cleared"] / audited, abs=1e-4)
            assert 0.0 <= s.precision <= 1.0
        else:
            assert s.precision is None and s.false_positive_rate is None
        fp_flag = audited >= min_audited and c["cleared"] / audited > bound if audited else False
        appeal_flag = (c["refusals"] >= min_audited and c["refusals_overturned"] / c["refusals"] > bound
                       if c["refusals"] else False)
        assert s.needs_review is (fp_flag or appeal_flag), (rid, c)
