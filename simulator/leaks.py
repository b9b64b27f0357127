"""The label-leak check (标签泄漏检查): nothing in the public tables may give fraud away by itself.

A run directory holds public tables — `encounters.csv` (what a claims system would hold) and
`flags.csv` (what the server said) — and the ground truth (`truth.csv`: label, pattern, actor,
ring, case). A model trained on the public tables must learn fraud from behaviour, as it would
have to in the real world, not from an artefact of how the simulator wrote its files. A *label
leak* is an identifier, an ordering or a value that separates fraud from honest encounters
although nothing in the world would make it so.

The line drawn here:

* **Behaviour is not a leak.** Days of stay, amounts, the scene, the institution and district,
  the month, start and end times may all differ between fraud and honest encounters: that is
  what fraud looks like, and what the rules are meant to find. Such columns are only checked for
  artefacts that no behaviour produces (round numbers, a value repeated only in fraud).
* **Artefacts are leaks.** What the simulator *assigns* — encounter ids, person numbers, any
  `*_id` column of the encounters, the row order — must carry no information about the label
  beyond what the legitimate columns carry. Encounter ids are numbered in start-time order by
  contract, so an id (and the row order, when rows follow the ids) may be exactly as informative
  as the start time — fraud may well fall after go-live (deterrence) — but no more: ids that are
  not in start-time order, or whose order among encounters starting at the same minute follows
  the label, are leaks. Person numbers (`psn_no`) are compared at the person level (a person is
  "fraud" with at least one fraud encounter), so that one person's many encounters are not taken
  for many independent draws.
* **Truth never appears in public.** No public column is named like a truth column, no cell
  holds or contains a fraud pattern's module id (`inpatient.ghost_bed`, or `ghost_bed` inside
  a cell), a ring or case id, or a label word (`fraud`, `decoy`).

Checks and statistics (each problem names its table, column and statistic):

  truth-name     public column named label, pattern, actor, ring_id, case_id, is_fraud, truth
  truth-value    a public cell equal to a truth value, or containing a module id
  identifier     AUC of an id's rank, numeric part and length against is_fraud, outside
                 0.5 ± tolerance; the distribution of its format (length, character classes,
                 prefix) different between fraud and honest units
  ordering       encounter ids not in start-time order; the row index's AUC against is_fraud
                 explained neither by chance nor by the start time; the id order (or row order)
                 among encounters with the same start following the label
  round-amount   share of round amounts (whole yuan, tens, hundreds; zero excluded) in fraud vs
                 honest rows
  fraud-only     an amount repeated among fraud rows that no honest row has, improbably often
  constant       a column constant within the fraud rows of a scene that varies within its
                 honest rows, where chance cannot explain it

Tolerances come from the sample size: an AUC under the null (no relation) has standard error
sqrt((n1 + n0 + 1) / (12 n1 n0)); a share difference sqrt(p (1 − p) (1/n1 + 1/n0)). A statistic
is a problem beyond `z` (default 4) standard errors *and* beyond a floor (0.02), so that a run
with a dozen statistics rarely raises a false alarm (two-sided p ≈ 6e-5 each) and a huge run is
not failed over a negligible difference. Fewer than `min_units` (5) fraud or honest units: the
statistic is skipped and noted.

    report = check_leaks(Path("var/sim/run"))
    report.ok, report.problems, report.to_json()
    python -m simulator.leaks RUN_DIR
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

PUBLIC = ("encounters", "flags")
TRUTH_COLUMNS = ("label", "pattern", "actor", "ring_id", "case_id")
FORBIDDEN_NAMES = frozenset({*TRUTH_COLUMNS, "is_fraud", "fraud", "truth", "is_decoy", "ring", "case"})
LABEL_WORDS = ("fraud", "decoy")
#: Identifiers the simulator assigns (besides any `*_id` column of the encounters). The
#: institution and district codes are the world's legitimate features, not assigned ids.
ASSIGNED_IDS = ("encounter_id", "psn_no")
#: Columns that are behaviour, never checked for being constant within fraud: where care happened.
WHERE_COLUMNS = frozenset({"institution_code", "district_code"})
AMOUNT_COLUMNS = ("amount_billed", "amount_paid")
ROUND_UNITS = (1, 10, 100)


@dataclass
class Finding:
    check: str
    table: str
    column: str
    statistic: str
    value: float
    tolerance: float | None
    detail: str = ""

    def text(self) -> str:
        tol = "" if self.tolerance is None else f" (tolerance {self.tolerance:.3f})"
        more = f": {self.detail}" if self.detail else ""
        return f"[{self.check}] {self.table}.{self.column}: {self.statistic} = {self.value:.4g}{tol}{more}"


@dataclass
class LeakReport:
    """What the check found: `ok` when no problem; `problems` one line each (check, table.column,
    statistic, value, tolerance); `findings` the same as records; `notes` what was skipped and why;
    `statistics` how many statistics were computed."""

    problems: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    statistics: int = 0
    fraud_encounters: int = 0
    other_encounters: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, f: Finding) -> None:
        self.findings.append(f)
        self.problems.append(f.text())

    def to_dict(self) -> dict:
        return {"ok": self.ok, "problems": self.problems, "findings": [asdict(f) for f in self.findings],
                "notes": self.notes, "statistics": self.statistics,
                "fraud_encounters": self.fraud_encounters, "other_encounters": self.other_encounters}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


# -- statistics ------------------------------------------------------------------------------------
def auc(scores: Sequence[float] | np.ndarray, positive: Sequence[bool] | np.ndarray) -> float:
    """Area under the ROC curve of `scores` for `positive` (Mann–Whitney U / n1 n0, ties as ½)."""
    from scipy.stats import rankdata

    s = np.asarray(scores, dtype=float)
    y = np.asarray(positive, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return 0.5
    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auc_se(n1: int, n0: int) -> float:
    """Standard error of the AUC when scores and labels are unrelated (Hanley–McNeil null)."""
    return math.sqrt((n1 + n0 + 1) / (12.0 * n1 * n0))


def stratified_auc(scores: np.ndarray, positive: np.ndarray, strata: Sequence[str]) -> tuple[float, int, int]:
    """AUC counting only pairs (fraud, other) in the same stratum, and its n1, n0 (units in
    strata holding both classes): does the score order the label *within* ties of a covariate?"""
    from scipy.stats import rankdata

    groups: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(strata):
        groups[g].append(i)
    u = pairs = 0.0
    n1 = n0 = 0
    for idx in groups.values():
        if len(idx) < 2:
            continue
        y = positive[idx]
        a, b = int(y.sum()), int((~y).sum())
        if a == 0 or b == 0:
            continue
        r = rankdata(scores[idx])
        u += r[y].sum() - a * (a + 1) / 2
        pairs += a * b
        n1, n0 = n1 + a, n0 + b
    return (u / pairs if pairs else 0.5), n1, n0


def _tol(se: float, z: float, floor: float) -> float:
    return max(floor, z * se)


# -- reading ---------------------------------------------------------------------------------------
def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        r = csv.DictReader(fh)
        rows = list(r)
        return list(r.fieldnames or []), rows


def _digits(s: str) -> float:
    d = re.sub(r"\D", "", s)
    return float(int(d)) if d and len(d) <= 18 else (float(int(d[:18])) if d else math.nan)


def _shape(s: str) -> str:
    """Character classes of a value: digits → 9, Latin letters → A/a, CJK → 汉, others as they are."""
    out = []
    for ch in s:
        if ch.isdigit():
            out.append("9")
        elif "A" <= ch <= "Z":
            out.append("A")
        elif "a" <= ch <= "z":
            out.append("a")
        elif "\u4e00" <= ch <= "\u9fff":
            out.append("汉")
        else:
            out.append(ch)
    return "".join(out)


def _prefix(s: str) -> str:
    m = re.match(r"\D*", s)
    return m.group(0) if m else ""


def _float(s: str) -> float | None:
    try:
        return float(s) if s != "" else None
    except ValueError:
        return None


# -- the check -------------------------------------------------------------------------------------
class _Checker:
    def __init__(self, run_dir: Path, z: float, floor: float, min_units: int) -> None:
        self.run_dir, self.z, self.floor, self.min_units = run_dir, z, floor, min_units
        self.rep = LeakReport()

    def tables(self) -> tuple[dict[str, tuple[list[str], list[dict[str, str]]]], list[dict[str, str]]]:
        public = {}
        for name in PUBLIC:
            p = self.run_dir / f"{name}.csv"
            if p.exists():
                public[name] = _read(p)
            else:
                self.rep.notes.append(f"{name}.csv missing: not checked")
        truth_path = self.run_dir / "truth.csv"
        if not truth_path.exists():
            raise FileNotFoundError(f"{truth_path}: the leak check needs the ground truth")
        return public, _read(truth_path)[1]

    # (a) truth names and values ------------------------------------------------------------------
    def truth_in_public(self, public, truth) -> None:
        modules = sorted({r.get("pattern", "") for r in truth} - {""})
        needles = [m.lower() for m in modules]
        # the pattern's own name without its scene (`ghost_bed`) inside a cell; short or
        # underscore-free names (`stay`) would match ordinary words and are left to the full id
        needles += [m.split(".", 1)[1].lower() for m in modules if "." in m and "_" in m.split(".", 1)[1]
                    and len(m.split(".", 1)[1]) >= 6]
        exact = {r.get(c, "") for r in truth for c in ("ring_id", "case_id")} - {""}
        exact = {v for v in exact if len(v) >= 3}
        for table, (cols, rows) in public.items():
            for c in cols:
                self.rep.statistics += 1
                if c.lower() in FORBIDDEN_NAMES:
                    self.rep.add(Finding("truth-name", table, c, "truth column name in a public table", 1, None))
            hits: dict[str, Counter] = defaultdict(Counter)
            for row in rows:
                for c, v in row.items():
                    if not v:
                        continue
                    low = v.lower()
                    if low in LABEL_WORDS:
                        hits[c][f"label {v!r}"] += 1
                    elif v in exact:
                        hits[c][f"ring/case id {v!r}"] += 1
                    else:
                        for n in needles:
                            if n in low:
                                hits[c][f"module id {n!r}"] += 1
                                break
            for c in cols:
                self.rep.statistics += 1
                if hits.get(c):
                    n = sum(hits[c].values())
                    what = ", ".join(f"{k} ×{k_n}" for k, k_n in hits[c].most_common(3))
                    self.rep.add(Finding("truth-value", table, c, "cells holding a truth value", n, None, what))

    # helpers -------------------------------------------------------------------------------------
    def _auc_check(self, check: str, table: str, column: str, statistic: str, scores, y, *,
                   explained_by: float | None = None) -> None:
        y = np.asarray(y, dtype=bool)
        s = np.asarray(scores, dtype=float)
        keep = ~np.isnan(s)
        s, y = s[keep], y[keep]
        n1, n0 = int(y.sum()), int((~y).sum())
        if n1 < self.min_units or n0 < self.min_units:
            self.rep.notes.append(f"{table}.{column} {statistic}: {n1} fraud / {n0} other units, skipped")
            return
        self.rep.statistics += 1
        a = auc(s, y)
        tol = _tol(auc_se(n1, n0), self.z, self.floor)
        if abs(a - 0.5) <= tol:
            return
        if explained_by is not None and abs(a - explained_by) <= tol:
            return  # as informative as the start time, a legitimate column (deterrence, seasons)
        why = f"{n1} fraud vs {n0} other units"
        if explained_by is not None:
            why += f"; the start time's AUC is {explained_by:.3f}"
        self.rep.add(Finding(check, table, column, f"AUC of {statistic} against is_fraud", a, tol, why))

    def _distribution_check(self, table: str, column: str, statistic: str, cats: Sequence[str], y) -> None:
        y = np.asarray(y, dtype=bool)
        n1, n0 = int(y.sum()), int((~y).sum())
        if n1 < self.min_units or n0 < self.min_units:
            return
        self.rep.statistics += 1
        c1 = Counter(c for c, f in zip(cats, y, strict=True) if f)
        c0 = Counter(c for c, f in zip(cats, y, strict=True) if not f)
        worst = None
        for cat in sorted(set(c1) | set(c0)):  # sorted, and on equal excess the fraud-heavy one: deterministic
            p1, p0 = c1[cat] / n1, c0[cat] / n0
            p = (c1[cat] + c0[cat]) / (n1 + n0)
            tol = _tol(math.sqrt(max(p * (1 - p), 1e-12) * (1 / n1 + 1 / n0)), self.z, self.floor)
            d = abs(p1 - p0)
            if d > tol and (worst is None or (d - tol, p1) > (worst[0] - worst[1], worst[3])):
                worst = (d, tol, cat, p1, p0)
        if worst:
            d, tol, cat, p1, p0 = worst
            self.rep.add(Finding("identifier", table, column, f"share difference of {statistic}", d, tol,
                                 f"{statistic} {cat!r}: {p1:.1%} of fraud vs {p0:.1%} of other units"))

    # (b) identifiers, (c) ordering ---------------------------------------------------------------
    def encounters(self, cols: list[str], rows: list[dict[str, str]], truth: list[dict[str, str]]) -> None:
        label = {r["encounter_id"]: r.get("label", "") for r in truth}
        missing = sum(1 for r in rows if r.get("encounter_id") not in label)
        if missing:
            self.rep.notes.append(f"{missing} encounters without a truth row: counted as not fraud")
        y = np.array([label.get(r.get("encounter_id", ""), "") == "fraud" for r in rows], dtype=bool)
        self.rep.fraud_encounters, self.rep.other_encounters = int(y.sum()), int((~y).sum())
        starts = [r.get("start", "") for r in rows]
        start_rank = np.unique(np.array(starts), return_inverse=True)[1].astype(float)
        start_auc = auc(start_rank, y) if "start" in cols else None

        ids = [c for c in cols if c in ASSIGNED_IDS or c.endswith("_id")]
        for c in ids:
            vals = [r.get(c, "") for r in rows]
            if c == "encounter_id":
                units, uy = vals, y
            else:  # one unit per distinct value (a person), fraud if any of its encounters is
                agg: dict[str, bool] = {}
                for v, f in zip(vals, y, strict=True):
                    agg[v] = agg.get(v, False) or bool(f)
                units, uy = list(agg), np.array(list(agg.values()), dtype=bool)
            expl = start_auc if c == "encounter_id" else None
            rank = np.unique(np.array(units), return_inverse=True)[1].astype(float)
            self._auc_check("identifier", "encounters", c, "rank", rank, uy, explained_by=expl)
            num = np.array([_digits(u) for u in units])
            if not np.array_equal(np.argsort(num, kind="stable"), np.argsort(rank, kind="stable")):
                self._auc_check("identifier", "encounters", c, "numeric part", num, uy, explained_by=expl)
            self._auc_check("identifier", "encounters", c, "length", [len(u) for u in units], uy)
            self._distribution_check("encounters", c, "length", [str(len(u)) for u in units], uy)
            self._distribution_check("encounters", c, "character classes", [_shape(u) for u in units], uy)
            self._distribution_check("encounters", c, "prefix", [_prefix(u) for u in units], uy)

        if "encounter_id" in cols and "start" in cols:
            self.id_order(rows, y, starts)
        self._auc_check("ordering", "encounters", "(row order)", "row index", np.arange(len(rows)), y,
                        explained_by=start_auc)
        if "start" in cols:
            # among encounters that start at the same minute, the row order must not follow the label
            a, n1, n0 = stratified_auc(np.arange(len(rows), dtype=float), y, starts)
            self._tie_check("(row order)", "row index among equal starts", a, n1, n0)

    def id_order(self, rows, y, starts) -> None:
        eids = [r["encounter_id"] for r in rows]
        order = sorted(range(len(rows)), key=lambda i: (_digits(eids[i]), eids[i]))
        self.rep.statistics += 1
        back = sum(1 for a, b in zip(order, order[1:], strict=False) if starts[b] < starts[a])
        if back:
            self.rep.add(Finding("ordering", "encounters", "encounter_id",
                                 "id steps going back in start time", back, 0,
                                 "ids must be numbered in start-time order (ties by creation order)"))
        num = np.array([_digits(e) for e in eids])
        a, n1, n0 = stratified_auc(num, y, starts)
        self._tie_check("encounter_id", "id order among equal starts", a, n1, n0)

    def _tie_check(self, column: str, statistic: str, a: float, n1: int, n0: int) -> None:
        if n1 < self.min_units or n0 < self.min_units:
            return
        self.rep.statistics += 1
        tol = _tol(auc_se(n1, n0), self.z, self.floor)
        if abs(a - 0.5) > tol:
            self.rep.add(Finding("ordering", "encounters", column, f"AUC of {statistic} against is_fraud", a, tol,
                                 f"{n1} fraud vs {n0} other encounters sharing a start with the other class"))

    # (d) telltale values -------------------------------------------------------------------------
    def values(self, table: str, cols: list[str], rows: list[dict[str, str]], y: np.ndarray) -> None:
        n1, n0 = int(y.sum()), int((~y).sum())
        for c in (c for c in AMOUNT_COLUMNS if c in cols):
            vals = [_float(r.get(c, "")) for r in rows]
            pos = [(v, f) for v, f in zip(vals, y, strict=True) if v is not None and v != 0]
            f_vals = [v for v, f in pos if f]
            o_vals = [v for v, f in pos if not f]
            if len(f_vals) < self.min_units or len(o_vals) < self.min_units:
                continue
            for unit in ROUND_UNITS:
                self.rep.statistics += 1
                r1 = sum(1 for v in f_vals if _is_round(v, unit)) / len(f_vals)
                r0 = sum(1 for v in o_vals if _is_round(v, unit)) / len(o_vals)
                p = (r1 * len(f_vals) + r0 * len(o_vals)) / (len(f_vals) + len(o_vals))
                se = math.sqrt(max(p * (1 - p), 1e-12) * (1 / len(f_vals) + 1 / len(o_vals)))
                tol = _tol(se, self.z, self.floor)
                if abs(r1 - r0) > tol:
                    self.rep.add(Finding("round-amount", table, c, f"share of multiples of {unit} yuan, fraud − other",
                                         r1 - r0, tol,
                                         f"{r1:.1%} of fraud vs {r0:.1%} of other amounts (zero excluded)"))
                    break  # one line per column: the coarser units follow from the finer one
            self.fraud_only(table, c, [f"{v:.2f}" for v, _ in pos], np.array([f for _, f in pos], dtype=bool))
        if n1 < 2 * self.min_units or n0 < 2 * self.min_units:
            return
        scenes = [r.get("scene", "") for r in rows]
        for c in cols:
            if c in WHERE_COLUMNS or c in ASSIGNED_IDS or c.endswith("_id") or c in ("scene", "start", "end"):
                continue
            self.constant(table, c, [r.get(c, "") for r in rows], y, scenes)

    def fraud_only(self, table: str, column: str, vals: list[str], y: np.ndarray) -> None:
        """An exact amount that only fraud rows have, repeated: under random labels a value seen c
        times is all-fraud with probability p^c (p the fraud share); Bonferroni over the values."""
        n = len(vals)
        p = y.sum() / n if n else 0
        if not 0 < p < 1:
            return
        total = Counter(vals)
        in_fraud = Counter(v for v, f in zip(vals, y, strict=True) if f)
        self.rep.statistics += 1
        alpha = 1e-4 / max(1, len(total))
        bad = [(v, c) for v, c in in_fraud.items() if c == total[v] and c >= 3 and p ** c < alpha]
        if bad:
            rows = sum(c for _, c in bad)
            top = ", ".join(f"{v} ×{c}" for v, c in sorted(bad, key=lambda t: -t[1])[:3])
            self.rep.add(Finding("fraud-only", table, column, "fraud rows whose exact amount no other row has",
                                 rows, None, f"{len(bad)} values (chance p^count < {alpha:.1g}): {top}"))

    def constant(self, table: str, column: str, vals: list[str], y: np.ndarray, scenes: list[str]) -> None:
        by_scene: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(scenes):
            by_scene[s].append(i)
        for scene, idx in sorted(by_scene.items()):
            f = [vals[i] for i in idx if y[i]]
            o = [vals[i] for i in idx if not y[i]]
            if len(f) < 2 * self.min_units or len(o) < 2 * self.min_units:
                continue
            self.rep.statistics += 1
            fv = set(f)
            if len(fv) != 1 or len(set(o)) < 2:
                continue
            v = next(iter(fv))
            q = sum(1 for x in o if x == v) / len(o)
            # chance that every fraud row of the scene takes a value the other rows take with share q
            if q ** len(f) < 1e-6:
                self.rep.add(Finding("constant", table, column, "share of other rows with the fraud rows' one value",
                                     q, None, f"scene {scene or '-'}: all {len(f)} fraud rows are {v!r}, "
                                     f"{len(set(o))} values among {len(o)} other rows"))


def _is_round(v: float, unit: int) -> bool:
    cents = round(v * 100)
    return cents % (unit * 100) == 0


def check_leaks(run_dir: Path, *, z: float = 4.0, floor: float = 0.02, min_units: int = 5) -> LeakReport:
    """Check a run directory's public tables (encounters.csv, flags.csv) against truth.csv for
    label leaks; see the module docstring for what counts."""
    ck = _Checker(Path(run_dir), z, floor, min_units)
    public, truth = ck.tables()
    ck.truth_in_public(public, truth)
    if "encounters" in public:
        cols, rows = public["encounters"]
        ck.encounters(cols, rows, truth)
        label = {r["encounter_id"]: r.get("label", "") for r in truth}
        y = np.array([label.get(r.get("encounter_id", ""), "") == "fraud" for r in rows], dtype=bool)
        ck.values("encounters", cols, rows, y)
    return ck.rep


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--z", type=float, default=4.0, help="standard errors before a statistic is a problem")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(list(argv) if argv is not None else None)
    rep = check_leaks(args.run_dir, z=args.z)
    if args.json:
        print(rep.to_json())
    else:
        print(f"{rep.statistics} statistics, {rep.fraud_encounters} fraud / {rep.other_encounters} other encounters: "
              + ("no label leak" if rep.ok else f"{len(rep.problems)} problems"))
        for p in rep.problems:
            print("  " + p)
        for n in rep.notes:
            print("  note: " + n)
    return 0 if rep.ok else 1


if __name__ == "__main__":
    sys.exit(main())
