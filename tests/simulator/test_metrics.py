"""Metrics of a run directory (simulator/metrics.py) against answers counted by hand on synthetic tables.

The tables come from tests/simulator/fixtures_tables.py (test data, not simulator output); each test that checks
a figure also changes the rows underneath it and checks that the figure moves, so a broken metric fails.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest

from simulator.metrics import NO_RULE_YET, compute, print_headline, read_run, render_headline, wilson
from tests.simulator.fixtures_tables import EXPECTED, FACE, build_run, rewrite_table


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return build_run(tmp_path / "run")


def _metrics(run_dir: Path, **kw):
    return compute(read_run(run_dir, **kw))


def _pattern(m, pid):
    return next(p for p in m.patterns if p.id == pid)


def test_recall_and_precision_per_fraud_pattern(run_dir: Path) -> None:
    m = _metrics(run_dir)
    ghost = _pattern(m, "inpatient.ghost_bed")
    assert (ghost.encounters, ghost.flagged, ghost.flagged_by_rules_total) == (20, 15, 21)
    assert ghost.recall == pytest.approx(EXPECTED["ghost_recall"])
    assert ghost.precision == pytest.approx(EXPECTED["ghost_precision"])
    split = _pattern(m, "inpatient.split_stay")
    assert split.recall == pytest.approx(EXPECTED["split_recall"])
    assert split.precision == pytest.approx(EXPECTED["split_precision"])
    card = _pattern(m, "pharmacy.card_dodge")
    assert card.recall == pytest.approx(EXPECTED["card_recall"])
    assert card.precision == pytest.approx(EXPECTED["card_precision"])
    # of the 21 face-check flags 16 are fraud (15 ghost + 1 impersonation)
    assert ghost.precision_any_fraud == pytest.approx(16 / 21)
    assert ghost.recall_ci == pytest.approx(wilson(15, 20))
    assert ghost.precision_ci == pytest.approx(wilson(15, 21))


def test_recall_moves_when_a_flag_goes(run_dir: Path) -> None:
    ghost_ids = {r["encounter_id"] for r in _truth(run_dir) if r["pattern"] == "inpatient.ghost_bed"}
    removed = []

    def drop_one(rows):
        out = []
        for r in rows:
            if not removed and r["encounter_id"] in ghost_ids and r["rule_id"] == FACE:
                removed.append(r)
                continue
            out.append(r)
        return out

    rewrite_table(run_dir, "flags", drop_one)
    ghost = _pattern(_metrics(run_dir), "inpatient.ghost_bed")
    assert ghost.recall == pytest.approx(14 / 20)
    assert ghost.precision == pytest.approx(14 / 20)  # 21 − 1 flagged by the rule


def test_precision_counts_every_encounter_the_rules_flag(run_dir: Path) -> None:
    honest = [r["encounter_id"] for r in _truth(run_dir) if r["pattern"] == "inpatient.honest_stay"]

    def add_face_flag(rows):
        return rows + [dict(rows[0], encounter_id=honest[50], rule_id=FACE, source="finding", outcome="finding")]

    rewrite_table(run_dir, "flags", add_face_flag)
    m = _metrics(run_dir)
    assert _pattern(m, "inpatient.ghost_bed").precision == pytest.approx(15 / 22)
    assert _pattern(m, "inpatient.ghost_bed").recall == pytest.approx(15 / 20)
    assert m.false_positives.count == 11


def test_a_flag_by_another_rule_does_not_count_for_recall(run_dir: Path) -> None:
    ghost = [r["encounter_id"] for r in _truth(run_dir) if r["pattern"] == "inpatient.ghost_bed"]

    def other_rule(rows):
        return rows + [dict(rows[0], encounter_id=ghost[-1], rule_id="INP-SOMETHING-ELSE", source="finding")]

    rewrite_table(run_dir, "flags", other_rule)
    ghost_m = _pattern(_metrics(run_dir), "inpatient.ghost_bed")
    assert ghost_m.recall == pytest.approx(15 / 20)
    assert ghost_m.flagged_any == 16


def test_no_rule_yet_is_not_a_recall_of_zero(run_dir: Path) -> None:
    m = _metrics(run_dir)
    imp = _pattern(m, "inpatient.impersonation")
    assert imp.status == NO_RULE_YET
    assert imp.recall is None and imp.precision is None
    assert imp.flagged == EXPECTED["impersonation_flagged_any"]
    row = next(r for r in m.headline_rows() if r["pattern"] == "inpatient.impersonation")
    assert row["recall"] == NO_RULE_YET and row["rules"] == NO_RULE_YET
    # once the pattern has a rule, it gets a recall
    meta = json.loads((run_dir / "run.json").read_text())
    next(p for p in meta["patterns"] if p["id"] == "inpatient.impersonation")["detected_by"] = [FACE]
    (run_dir / "run.json").write_text(json.dumps(meta))
    imp = _pattern(_metrics(run_dir), "inpatient.impersonation")
    assert imp.status == "ok" and imp.recall == pytest.approx(1 / 5)


def test_decoy_false_positive_rates(run_dir: Path) -> None:
    m = _metrics(run_dir)
    transfer = _pattern(m, "inpatient.decoy_transfer")
    ill = _pattern(m, "inpatient.decoy_ill_face")
    assert transfer.rules == ["INP-READMIT-10D"]  # from the split-stay pattern it mimics
    assert transfer.fp_rate == pytest.approx(EXPECTED["decoy_transfer_fp"])
    assert ill.fp_rate == pytest.approx(EXPECTED["decoy_ill_face_fp"])
    assert ill.fp_rate_ci == pytest.approx(wilson(2, 10))
    # a face-check finding on a transfer decoy is not the mimicked rule: the decoy's rate stays, flagged_any grows
    transfers = [r["encounter_id"] for r in _truth(run_dir) if r["pattern"] == "inpatient.decoy_transfer"]
    rewrite_table(run_dir, "flags", lambda rows: rows + [dict(rows[0], encounter_id=transfers[5], rule_id=FACE)])
    transfer = _pattern(_metrics(run_dir), "inpatient.decoy_transfer")
    assert transfer.fp_rate == pytest.approx(2 / 8) and transfer.flagged_any == 3
    rewrite_table(run_dir, "flags", lambda rows: rows + [dict(rows[0], encounter_id=transfers[6],
                                                                rule_id="INP-READMIT-10D")])
    assert _pattern(_metrics(run_dir), "inpatient.decoy_transfer").fp_rate == pytest.approx(3 / 8)


def test_false_positives_per_10k_honest_overall_and_per_scene(run_dir: Path) -> None:
    m = _metrics(run_dir)
    assert (m.false_positives.count, m.false_positives.denominator) == (10, 168)
    assert m.false_positives_per_10k_honest == pytest.approx(EXPECTED["fp_per_10k"])
    assert m.false_positives_per_scene["inpatient"].per_10k == pytest.approx(EXPECTED["fp_per_10k_inpatient"])
    assert m.false_positives_per_scene["pharmacy"].per_10k == pytest.approx(EXPECTED["fp_per_10k_pharmacy"])


def test_a_review_reminder_is_a_burden_but_not_a_false_positive(run_dir: Path) -> None:
    m = _metrics(run_dir)
    assert m.burden.extra_steps.count == EXPECTED["honest_extra_steps"]
    assert m.burden.refused.count == EXPECTED["honest_refused"]
    assert m.burden.flagged_any.count == EXPECTED["honest_flagged_any"]
    assert m.burden.refused.per_10k == pytest.approx(3 / 168 * 10_000)
    assert m.burden.per_scene["pharmacy"]["refused"].count == 2
    # the reminder turned into a refusal: one more false positive, one more refused, one fewer extra step
    rewrite_table(run_dir, "flags", lambda rows: [dict(r, outcome="refused") if r["outcome"] == "remind" else r
                                                  for r in rows])
    m2 = _metrics(run_dir)
    assert m2.false_positives.count == 11
    assert m2.burden.refused.count == 4 and m2.burden.extra_steps.count == 0


def test_honest_institutions_flagged(run_dir: Path) -> None:
    m = _metrics(run_dir)
    # leads/findings name H000–H003; every one of them also has fraud encounters in this fixture
    assert (m.burden.institutions_flagged, m.burden.honest_institutions_flagged) == (4, 0)
    rewrite_table(run_dir, "flags", lambda rows: rows + [dict(rows[-1], institution_code="H999")])
    m2 = _metrics(run_dir)
    assert (m2.burden.institutions_flagged, m2.burden.honest_institutions_flagged) == (5, 1)


def test_money(run_dir: Path) -> None:
    mo = _metrics(run_dir).money
    assert mo.refused_fraud == pytest.approx(EXPECTED["refused_fraud"])
    assert mo.refused_honest == pytest.approx(EXPECTED["refused_honest"])
    assert mo.recovered_total == pytest.approx(EXPECTED["recovered_total"])
    assert mo.recovered_fraud == pytest.approx(EXPECTED["recovered_fraud"])
    assert mo.recovered_honest == 0
    assert mo.fraud_paid == pytest.approx(EXPECTED["fraud_paid"])
    assert mo.fraud_prevented == pytest.approx(EXPECTED["fraud_prevented"])
    assert mo.fraud_paid_net == pytest.approx(EXPECTED["fraud_paid"] - EXPECTED["recovered_fraud"])


def test_money_moves_with_the_rows(run_dir: Path) -> None:
    ghost = {r["encounter_id"] for r in _truth(run_dir) if r["pattern"] == "inpatient.ghost_bed"}
    honest = {r["encounter_id"] for r in _truth(run_dir) if r["pattern"] == "inpatient.honest_stay"}
    first_ghost = min(ghost)
    # a ghost bed refused in part at settlement: 1,000 more refused fraud, 1,000 less fraud paid
    rewrite_table(run_dir, "encounters", lambda rows: [dict(r, amount_paid="4000.00")
                                                       if r["encounter_id"] == first_ghost else r for r in rows])
    # an audit that wrongly recovered 700 from an honest stay
    rewrite_table(run_dir, "audits", lambda rows: rows + [dict(rows[0], encounter_id=min(honest),
                                                               amount_recovered="700.00")])
    mo = _metrics(run_dir).money
    assert mo.refused_fraud == pytest.approx(EXPECTED["refused_fraud"] + 1000)
    assert mo.fraud_paid == pytest.approx(EXPECTED["fraud_paid"] - 1000)
    assert mo.recovered_honest == pytest.approx(700)
    assert mo.recovered_fraud == pytest.approx(EXPECTED["recovered_fraud"])
    assert mo.fraud_prevented == pytest.approx(EXPECTED["fraud_prevented"] + 1000)


def test_audit_workload_against_capacity(run_dir: Path) -> None:
    a = _metrics(run_dir).audit
    assert [x.month for x in a.months] == ["2026-01", "2026-02", "2026-03"]
    assert {x.month: x.done for x in a.months} == EXPECTED["audits_done"]
    assert [x.capacity for x in a.months] == [3, 3, 3]
    assert [x.backlog for x in a.months] == [0, 1, 2]
    assert [(x.confirmed, x.cleared) for x in a.months] == [(0, 0), (2, 1), (1, 1)]
    assert a.confirmed_share == pytest.approx(3 / 5)
    assert a.capacity_total == 9 and a.utilisation == pytest.approx(5 / 9)
    rewrite_table(run_dir, "audits", lambda rows: [r for r in rows if r["month"] != "2026-03"])
    rewrite_table(run_dir, "monthly", lambda rows: [dict(r, audit_capacity="5") if r["month"] == "2026-03" else r
                                                    for r in rows])
    a2 = _metrics(run_dir).audit
    assert [x.done for x in a2.months] == [0, 3, 0]
    assert [x.capacity for x in a2.months] == [3, 3, 5]
    assert a2.confirmed_share == pytest.approx(2 / 3)


def test_series_per_arm_includes_a_later_scenes_columns(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "r", extra_monthly={"dialysis_sessions": [10, 12, 14]})
    m = _metrics(run_dir)
    assert set(m.series) == {"monitored", "unmonitored"}
    assert m.series["monitored"]["month"] == ["2026-01", "2026-02", "2026-03"]
    assert m.series["unmonitored"]["admissions"] == [50, 55, 60]
    assert m.series["monitored"]["fund_spending"] == pytest.approx([260000.0, 245000.0, 230000.0])
    assert "dialysis_sessions" in m.series_columns
    assert m.series["unmonitored"]["dialysis_sessions"] == pytest.approx([10, 12, 14])
    assert m.series["monitored"]["dialysis_sessions"] == pytest.approx([8, 9.6, 11.2])


def test_flags_of_unknown_encounters_are_counted_apart(run_dir: Path) -> None:
    rewrite_table(run_dir, "flags", lambda rows: rows + [dict(rows[0], encounter_id="E9999999")])
    m = _metrics(run_dir)
    assert m.unmatched_flags == 1
    assert m.false_positives.count == 10


def test_parquet_and_csv_give_the_same_metrics(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    run_dir = build_run(tmp_path / "r", parquet=True)
    assert read_run(run_dir).source_format == "parquet"
    assert read_run(run_dir, prefer="csv").source_format == "csv"
    assert _metrics(run_dir).to_json() == _metrics(run_dir, prefer="csv").to_json()


def test_to_json_is_deterministic_and_complete(tmp_path: Path) -> None:
    a = _metrics(build_run(tmp_path / "a")).to_json()
    b = _metrics(build_run(tmp_path / "b")).to_json()
    assert a == b
    data = json.loads(a)
    assert [p["id"] for p in data["patterns"]] == sorted(p["id"] for p in data["patterns"])
    assert data["false_positives"]["count"] == 10
    assert data["money"]["fraud_prevented"] == EXPECTED["fraud_prevented"]
    assert list(data) == sorted(data)


def test_wilson_matches_the_quadratic_it_solves() -> None:
    # The Wilson bounds are the two p with (k/n − p)² = z² p (1 − p) / n; solve that quadratic independently.
    z = 1.959963984540054
    for k, n in ((15, 20), (0, 7), (7, 7), (2, 168)):
        ph = k / n
        a = 1 + z * z / n
        b = -(2 * ph + z * z / n)
        c = ph * ph
        disc = math.sqrt(max(0.0, b * b - 4 * a * c))
        assert wilson(k, n) == pytest.approx(((-b - disc) / (2 * a), (-b + disc) / (2 * a)), abs=1e-12)
    assert wilson(0, 0) is None


def test_headline_table_plain_and_rich(run_dir: Path) -> None:
    m = _metrics(run_dir)
    rows = m.headline_rows()
    assert [r["pattern"] for r in rows] == ["inpatient.ghost_bed", "inpatient.impersonation", "inpatient.split_stay",
                                            "pharmacy.card_dodge", "inpatient.decoy_ill_face",
                                            "inpatient.decoy_transfer"]
    ghost = rows[0]
    assert ghost["recall"].startswith("75.0%") and ghost["precision"].startswith("71.4%")
    assert rows[-1]["fp rate"].startswith("25.0%")
    text = render_headline(m)
    assert "inpatient.ghost_bed" in text and "595.2" in text
    out = io.StringIO()
    print_headline(m, file=out, plain=True)
    assert out.getvalue() == text
    pytest.importorskip("rich")
    out = io.StringIO()
    print_headline(m, file=out)
    assert "INP-DAILY-FACE-CHECK" in out.getvalue() and "no rule yet" in out.getvalue()


def _truth(run_dir: Path) -> list[dict[str, str]]:
    from tests.simulator.fixtures_tables import read_table

    return read_table(run_dir, "truth")[1]
