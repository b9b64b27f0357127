"""The label-leak check: a clean synthetic run passes; each kind of leak planted on its own is
caught, by the check meant for it, naming the column."""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from simulator.leaks import auc, auc_se, check_leaks, main, stratified_auc

ENC_COLS = ["encounter_id", "scene", "kind", "institution_code", "district_code", "psn_no", "start", "end",
            "days", "amount_billed", "amount_paid", "month"]
TRUTH_COLS = ["encounter_id", "label", "pattern", "actor", "ring_id", "case_id"]
FLAG_COLS = ["encounter_id", "institution_code", "at", "source", "rule_id", "release_version", "outcome",
             "lead_id", "amount"]


def make_run(seed: int = 1, n: int = 2000, fraud_share: float = 0.12, trend: bool = True) -> dict[str, list[dict]]:
    """A clean run: fraud differs by behaviour (longer stays, larger bills, a few hospitals, and —
    with `trend` — more of it before a mid-year go-live), never by an artefact."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1)
    persons = [f"41010{rng.randrange(10**9, 10**10)}" for _ in range(600)]
    draws = []
    for _ in range(n):
        minute = rng.randrange(365 * 24 * 60)
        p_fraud = fraud_share * (1.6 if trend and minute < 182 * 24 * 60 else 0.4 if trend else 1.0)
        fraud = rng.random() < p_fraud
        scene = "inpatient" if fraud or rng.random() < 0.6 else "pharmacy"
        draws.append((minute, fraud, scene))
    # ties of start among a few encounters, as a busy minute gives
    for i in range(0, n, 50):
        draws[i] = (draws[i + 1][0], draws[i][1], draws[i][2])
    draws.sort(key=lambda d: d[0])  # creation order = start order, ties in draw order
    enc, truth, flags = [], [], []
    for i, (minute, fraud, scene) in enumerate(draws, 1):
        eid = f"E{i:07d}"
        start = t0 + timedelta(minutes=minute)
        inst = f"H4101{rng.randrange(2 if fraud else 20):02d}"
        if scene == "inpatient":
            days = max(1, int(rng.lognormvariate(2.0 if fraud else 1.6, 0.5)))
            end = (start + timedelta(days=days)).isoformat()
            billed = round(rng.lognormvariate(8.6 if fraud else 8.3, 0.6), 2)
            kind = "admission"
        else:
            days, end, kind = 0, "", "purchase"
            billed = round(rng.lognormvariate(4.5, 0.8), 2)
        paid = 0.0 if fraud and rng.random() < 0.2 else round(billed * 0.7, 2)
        enc.append({"encounter_id": eid, "scene": scene, "kind": kind, "institution_code": inst,
                    "district_code": inst[1:7], "psn_no": rng.choice(persons), "start": start.isoformat(),
                    "end": end, "days": days, "amount_billed": f"{billed:.2f}", "amount_paid": f"{paid:.2f}",
                    "month": start.strftime("%Y-%m")})
        if fraud:
            pattern = rng.choice(["inpatient.ghost_bed", "inpatient.split_stay"])
            ring = f"R{rng.randrange(5):03d}" if rng.random() < 0.3 else ""
            truth.append({"encounter_id": eid, "label": "fraud", "pattern": pattern, "actor": "institution",
                          "ring_id": ring, "case_id": f"C{i:07d}"})
        else:
            label = "decoy" if rng.random() < 0.05 else "honest"
            pattern = "inpatient.decoy_transfer" if label == "decoy" else f"{scene}.honest_{kind}"
            truth.append({"encounter_id": eid, "label": label, "pattern": pattern, "actor": "none",
                          "ring_id": "", "case_id": f"C{i:07d}"})
        if fraud and rng.random() < 0.5 or rng.random() < 0.02:
            flags.append({"encounter_id": eid, "institution_code": inst, "at": start.isoformat(), "source": "finding",
                          "rule_id": "INP-GHOST-BED", "release_version": "sim-1", "outcome": "finding",
                          "lead_id": str(len(flags) + 1), "amount": ""})
    return {"encounters": enc, "truth": truth, "flags": flags}


def write(run: dict[str, list[dict]], d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, cols in (("encounters", ENC_COLS), ("truth", TRUTH_COLS), ("flags", FLAG_COLS)):
        rows = run[name]
        cols = list(rows[0]) if rows else cols
        with (d / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    return d


def fraud_ids(run) -> set[str]:
    return {t["encounter_id"] for t in run["truth"] if t["label"] == "fraud"}


def found(rep, check: str, column: str) -> list:
    return [f for f in rep.findings if f.check == check and f.column == column]


# -- the statistics ------------------------------------------------------------------------------
def test_auc_and_its_null_standard_error():
    assert auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert auc([4, 3, 2, 1], [False, False, True, True]) == 0.0
    assert auc([1, 1, 1, 1], [False, True, False, True]) == 0.5
    assert auc([2, 1, 4, 3], [False, True, False, True]) == 0.25
    rng = np.random.default_rng(3)
    aucs = [auc(rng.random(300), rng.random(300) < 0.2) for _ in range(400)]
    se = auc_se(60, 240)
    assert abs(np.std(aucs) - se) < 0.25 * se  # the null SE is the spread of AUCs of random scores


def test_stratified_auc_counts_only_pairs_within_a_stratum():
    # across strata the score separates perfectly, within each it is reversed
    scores = np.array([1.0, 0.0, 3.0, 2.0])
    y = np.array([False, True, False, True])
    assert auc(scores, y) == 0.25
    a, n1, n0 = stratified_auc(scores, y, ["a", "a", "b", "b"])
    assert (a, n1, n0) == (0.0, 2, 2)


# -- clean -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_clean_run_passes_although_fraud_differs_by_behaviour_and_time(tmp_path, seed):
    run = make_run(seed)
    rep = check_leaks(write(run, tmp_path))
    assert rep.ok, rep.problems
    assert rep.fraud_encounters > 150 and rep.statistics > 20
    # the start time does separate fraud (more before go-live): ids in start order may follow it
    starts = [e["start"] for e in run["encounters"]]
    y = [e["encounter_id"] in fraud_ids(run) for e in run["encounters"]]
    assert auc(np.unique(starts, return_inverse=True)[1], y) < 0.45
    data = json.loads(rep.to_json())
    assert data["ok"] is True and data["problems"] == []


def test_rows_in_random_order_are_no_leak(tmp_path):
    run = make_run(4)
    random.Random(0).shuffle(run["encounters"])
    assert check_leaks(write(run, tmp_path)).ok


# -- (a) truth in public tables -----------------------------------------------------------------
def test_a_pattern_name_in_a_flag_cell_is_caught(tmp_path):
    run = make_run(5)
    run["flags"][3]["rule_id"] = "inpatient.ghost_bed"
    rep = check_leaks(write(run, tmp_path))
    assert not rep.ok
    (f,) = found(rep, "truth-value", "rule_id")
    assert f.table == "flags" and "inpatient.ghost_bed" in f.detail
    assert any("flags.rule_id" in p for p in rep.problems)


@pytest.mark.parametrize("value", ["ghost_bed-7", "FRAUD", "R003"])
def test_a_pattern_suffix_label_word_or_ring_id_in_a_cell_is_caught(tmp_path, value):
    run = make_run(5)
    if value == "R003":
        run["truth"][next(i for i, t in enumerate(run["truth"]) if t["label"] == "fraud")]["ring_id"] = "R003"
    run["flags"][0]["release_version"] = value
    rep = check_leaks(write(run, tmp_path))
    assert [f.table for f in found(rep, "truth-value", "release_version")] == ["flags"]


def test_a_truth_column_in_the_encounters_is_caught(tmp_path):
    run = make_run(6)
    for e, t in zip(run["encounters"], run["truth"], strict=True):
        e["actor"] = t["actor"]
    rep = check_leaks(write(run, tmp_path))
    assert found(rep, "truth-name", "actor")


# -- (b) identifiers ----------------------------------------------------------------------------
def test_person_numbers_assigned_fraud_first_are_caught(tmp_path):
    run = make_run(7)
    fr = fraud_ids(run)
    frauders = sorted({e["psn_no"] for e in run["encounters"] if e["encounter_id"] in fr})
    honest = sorted({e["psn_no"] for e in run["encounters"]} - set(frauders))
    new = {p: f"41010{i:010d}" for i, p in enumerate(frauders + honest)}
    for e in run["encounters"]:
        e["psn_no"] = new[e["psn_no"]]
    rep = check_leaks(write(run, tmp_path))
    (f,) = [f for f in found(rep, "identifier", "psn_no") if "rank" in f.statistic]
    assert f.value < 0.3 and "psn_no" in f.text()


def test_encounter_ids_assigned_fraud_first_are_caught(tmp_path):
    run = make_run(8)
    fr = fraud_ids(run)
    order = sorted(run["encounters"], key=lambda e: e["encounter_id"] not in fr)
    new = {e["encounter_id"]: f"E{i:07d}" for i, e in enumerate(order, 1)}
    for row in run["encounters"] + run["truth"] + run["flags"]:
        row["encounter_id"] = new[row["encounter_id"]]
    rep = check_leaks(write(run, tmp_path))
    assert [f for f in found(rep, "identifier", "encounter_id") if "rank" in f.statistic]
    assert found(rep, "ordering", "encounter_id")  # and they no longer follow the start time


def test_a_prefix_on_fraud_person_numbers_is_caught(tmp_path):
    run = make_run(9)
    fr = fraud_ids(run)
    frauders = {e["psn_no"] for e in run["encounters"] if e["encounter_id"] in fr}
    for e in run["encounters"]:
        if e["psn_no"] in frauders:
            e["psn_no"] = "F" + e["psn_no"][1:]
    rep = check_leaks(write(run, tmp_path))
    stats = {f.statistic for f in found(rep, "identifier", "psn_no")}
    assert "share difference of prefix" in stats and "share difference of character classes" in stats
    f = next(f for f in found(rep, "identifier", "psn_no") if f.statistic == "share difference of prefix")
    assert "'F'" in f.detail


def test_a_longer_id_for_fraud_is_caught_by_length(tmp_path):
    run = make_run(10)
    fr = fraud_ids(run)
    frauders = {e["psn_no"] for e in run["encounters"] if e["encounter_id"] in fr}
    for e in run["encounters"]:
        if e["psn_no"] in frauders:
            e["psn_no"] = e["psn_no"] + "0"
    rep = check_leaks(write(run, tmp_path))
    assert {"AUC of length against is_fraud", "share difference of length"} <= {
        f.statistic for f in found(rep, "identifier", "psn_no")}


# -- (c) ordering -------------------------------------------------------------------------------
def test_fraud_rows_sorted_last_are_caught(tmp_path):
    run = make_run(11)
    fr = fraud_ids(run)
    run["encounters"].sort(key=lambda e: e["encounter_id"] in fr)  # stable: otherwise in id order
    rep = check_leaks(write(run, tmp_path))
    (f,) = [f for f in found(rep, "ordering", "(row order)") if f.statistic == "AUC of row index against is_fraud"]
    assert f.value > 0.9
    assert not found(rep, "identifier", "encounter_id")  # the ids themselves are clean


def test_fraud_numbered_last_among_equal_starts_is_caught(tmp_path):
    """Every fraud encounter shares its start with an honest one and gets the higher id (fraud
    created after honest care at the same minute): the id order beyond the start time leaks."""
    run = make_run(12, trend=False)
    enc = run["encounters"]
    y = {t["encounter_id"]: t["label"] == "fraud" for t in run["truth"]}
    for i in range(1, len(enc)):
        if y[enc[i]["encounter_id"]] and not y[enc[i - 1]["encounter_id"]]:
            enc[i]["start"] = enc[i - 1]["start"]
    rep = check_leaks(write(run, tmp_path))
    (f,) = found(rep, "ordering", "encounter_id")
    assert f.statistic == "AUC of id order among equal starts against is_fraud" and f.value > 0.9
    (g,) = found(rep, "ordering", "(row order)")
    assert g.statistic == "AUC of row index among equal starts against is_fraud"


def test_ids_out_of_start_order_are_caught(tmp_path):
    run = make_run(13)
    a, b = run["encounters"][10], run["encounters"][900]
    a["start"], b["start"] = b["start"], a["start"]
    rep = check_leaks(write(run, tmp_path))
    (f,) = found(rep, "ordering", "encounter_id")
    assert f.statistic == "id steps going back in start time" and f.value >= 1


# -- (d) telltale values ------------------------------------------------------------------------
def test_round_fraud_amounts_are_caught(tmp_path):
    run = make_run(14)
    fr = fraud_ids(run)
    for e in run["encounters"]:
        if e["encounter_id"] in fr:
            e["amount_billed"] = f"{round(float(e['amount_billed']), -2) or 100:.2f}"
    rep = check_leaks(write(run, tmp_path))
    (f,) = found(rep, "round-amount", "amount_billed")
    assert f.value > 0.9 and "amount_billed" in f.text()
    assert not found(rep, "round-amount", "amount_paid")


def test_a_repeated_amount_only_fraud_has_is_caught(tmp_path):
    run = make_run(15)
    fr = fraud_ids(run)
    k = 0
    for e in run["encounters"]:
        if e["encounter_id"] in fr and k < 30:
            e["amount_paid"], k = "4321.57", k + 1
    rep = check_leaks(write(run, tmp_path))
    (f,) = found(rep, "fraud-only", "amount_paid")
    assert f.value == 30 and "4321.57" in f.detail
    assert not found(rep, "round-amount", "amount_paid")


def test_a_column_constant_within_fraud_is_caught_but_not_the_scene(tmp_path):
    run = make_run(16)
    fr = fraud_ids(run)
    rng = random.Random(1)
    for e in run["encounters"]:
        e["channel"] = "batch" if e["encounter_id"] in fr else rng.choice(["batch", "online", "counter", "app"])
    rep = check_leaks(write(run, tmp_path))
    (f,) = found(rep, "constant", "channel")
    assert "inpatient" in f.detail
    # every fraud encounter is inpatient here and pharmacy is honest-only: behaviour, no problem
    assert not found(rep, "constant", "scene") and not found(rep, "constant", "kind")


def test_small_samples_are_skipped_with_a_note(tmp_path):
    run = make_run(17, n=60, fraud_share=0.03, trend=False)
    rep = check_leaks(write(run, tmp_path))
    assert any("skipped" in n for n in rep.notes)


def test_cli_exit_status(tmp_path, capsys):
    assert main([str(write(make_run(18), tmp_path / "ok"))]) == 0
    assert "no label leak" in capsys.readouterr().out
    bad = make_run(18)
    bad["flags"][0]["outcome"] = "fraud"
    assert main([str(write(bad, tmp_path / "bad")), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
