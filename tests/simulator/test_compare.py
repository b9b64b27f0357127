"""Policy comparison over replications (simulator/compare.py): Student-t intervals, B − A paired or Welch, the
monthly fund-spending band, and the HTML page — checked against values computed by hand.

Replications are synthetic run directories (tests/simulator/fixtures_tables.py): policy A flags 12, 14, 16 of the
20 ghost beds (recall 60, 70, 80 %), policy B 15, 16, 17 (75, 80, 85 %); A's monitored fund spending is scaled by
0.90, 0.92, 0.94 and B's by 0.80, 0.82, 0.84.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from simulator.compare import compare, compare_table, diff_ci, mean_ci, summarise, t_cdf, t_quantile
from tests.simulator.fixtures_tables import build_run

T2 = (2 * 0.975 - 1) / math.sqrt(2 * 0.975 * 0.025)  # t(0.975, df=2) in closed form: 4.3027


def test_t_quantile_closed_forms() -> None:
    assert t_quantile(0.975, 1) == pytest.approx(math.tan(math.pi * (0.975 - 0.5)), rel=1e-10)
    assert t_quantile(0.975, 2) == pytest.approx(T2, rel=1e-10)
    # df = 4: F(t) = 1/2 + (3/8)·s·(1 − s²/3)·… — use the exact CDF instead: x = t/√(4+t²), F = 1/2 + x(3 − x²)/4
    t4 = t_quantile(0.975, 4)
    x = t4 / math.sqrt(4 + t4 * t4)
    assert 0.5 + x * (3 - x * x) / 4 == pytest.approx(0.975, abs=1e-12)
    assert t_quantile(0.975, 10_000) == pytest.approx(1.959963984540054, rel=1e-3)
    assert t_cdf(0.0, 3.3) == pytest.approx(0.5)


def test_t_quantile_matches_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 2.941, 3, 7.5, 30):
        assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-10)


def test_mean_ci_by_hand() -> None:
    e = mean_ci([60.0, 70.0, 80.0])
    assert (e.n, e.mean, e.sd) == (3, 70.0, pytest.approx(10.0))
    half = T2 * 10 / math.sqrt(3)
    assert e.ci == pytest.approx((70 - half, 70 + half))
    one = mean_ci([5.0])
    assert one.mean == 5.0 and one.ci is None and "no interval" in one.method
    assert mean_ci([None, 1.0, 3.0]).mean == 2.0


def test_diff_ci_paired_and_welch_by_hand() -> None:
    a, b = [60.0, 70.0, 80.0], [75.0, 80.0, 85.0]
    paired = diff_ci(a, b, paired=True)  # differences 15, 10, 5: mean 10, sd 5
    assert paired.mean == pytest.approx(10) and paired.ci == pytest.approx((10 - T2 * 5 / math.sqrt(3),
                                                                            10 + T2 * 5 / math.sqrt(3)))
    welch = diff_ci(a, b, paired=False)
    se2 = 100 / 3 + 25 / 3
    df = se2 ** 2 / ((100 / 3) ** 2 / 2 + (25 / 3) ** 2 / 2)
    assert df == pytest.approx(2.941, abs=1e-3)
    half = t_quantile(0.975, df) * math.sqrt(se2)
    assert welch.ci == pytest.approx((10 - half, 10 + half))
    assert "Welch" in welch.method


def _policies(tmp_path: Path, b_seeds=(1, 2, 3)) -> dict[str, list[Path]]:
    a = [build_run(tmp_path / f"A{s}", seed=s, ghost_flagged=g, fund_scale=f)
         for s, g, f in ((1, 12, 0.90), (2, 14, 0.92), (3, 16, 0.94))]
    b = [build_run(tmp_path / f"B{s}", seed=s, ghost_flagged=g, fund_scale=f)
         for s, g, f in zip(b_seeds, (15, 16, 17), (0.80, 0.82, 0.84), strict=True)]
    return {"A": a, "B": b}


def test_three_plus_three_replications_same_seeds(tmp_path: Path) -> None:
    c = summarise(_policies(tmp_path))
    assert c.paired == {"B": True}
    recall = c.row("recall:inpatient.ghost_bed")
    assert recall.per_group["A"].mean == pytest.approx(70)
    assert recall.per_group["A"].ci == pytest.approx((70 - T2 * 10 / math.sqrt(3), 70 + T2 * 10 / math.sqrt(3)))
    assert recall.per_group["B"].ci == pytest.approx((80 - T2 * 5 / math.sqrt(3), 80 + T2 * 5 / math.sqrt(3)))
    d = recall.diffs["B"]
    assert d.mean == pytest.approx(10) and d.ci == pytest.approx((10 - T2 * 5 / math.sqrt(3),
                                                                  10 + T2 * 5 / math.sqrt(3)))
    # a figure that does not change between replications has a zero-width interval
    split = c.row("recall:inpatient.split_stay")
    assert split.per_group["A"].ci == pytest.approx((40, 40)) and split.diffs["B"].mean == pytest.approx(0)
    # total monitored fund spending: Σ_months (admissions·5000·scale + 10,000), admissions 50 + 47 + 44
    # = 705,000·scale + 30,000
    fund = c.row("fund_spending")
    assert fund.per_group["A"].mean == pytest.approx(705_000 * 0.92 + 30_000)
    assert fund.per_group["A"].sd == pytest.approx(705_000 * 0.02)
    assert fund.diffs["B"].mean == pytest.approx(-705_000 * 0.10)
    assert fund.diffs["B"].ci == pytest.approx((-70_500, -70_500))  # the same −0.10 on every seed


def test_different_seeds_use_welch(tmp_path: Path) -> None:
    c = summarise(_policies(tmp_path, b_seeds=(4, 5, 6)))
    assert c.paired == {"B": False}
    d = c.row("recall:inpatient.ghost_bed").diffs["B"]
    se2 = 100 / 3 + 25 / 3
    df = se2 ** 2 / ((100 / 3) ** 2 / 2 + (25 / 3) ** 2 / 2)
    half = t_quantile(0.975, df) * math.sqrt(se2)
    assert d.mean == pytest.approx(10) and d.ci == pytest.approx((10 - half, 10 + half))


def test_monthly_fund_spending_band(tmp_path: Path) -> None:
    c = summarise(_policies(tmp_path))
    months, mean, lo, hi = c.fund_series["A"]
    assert months == ["2026-01", "2026-02", "2026-03"]
    # January: 50 admissions · 5,000 yuan · scale + 10,000; scales 0.90, 0.92, 0.94 → mean at 0.92, sd 250,000·0.02
    assert mean[0] == pytest.approx(250_000 * 0.92 + 10_000)
    half = T2 * 250_000 * 0.02 / math.sqrt(3)
    assert (lo[0], hi[0]) == pytest.approx((mean[0] - half, mean[0] + half))
    assert c.fund_series["B"][1][2] == pytest.approx(220_000 * 0.82 + 10_000)


def test_one_replication_says_no_interval(tmp_path: Path) -> None:
    groups = {"A": [build_run(tmp_path / "a", seed=1, ghost_flagged=12)],
              "B": [build_run(tmp_path / "b", seed=1, ghost_flagged=16)]}
    c = summarise(groups)
    r = c.row("recall:inpatient.ghost_bed")
    assert r.per_group["A"].ci is None and r.diffs["B"].ci is None and r.diffs["B"].mean == pytest.approx(20)
    text = compare_table(c)
    assert "no interval" in text and "recall inpatient.ghost_bed" in text
    with pytest.raises(ValueError):
        summarise({"A": groups["A"]})


class _Svgs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, int] = {}
        self.current: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.current = dict(attrs).get("data-chart")
            self.charts[self.current] = 0
        elif self.current is not None and tag in ("path", "use", "rect"):
            self.charts[self.current] += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.current = None


def test_compare_page(tmp_path: Path) -> None:
    groups = _policies(tmp_path)
    out = compare(groups, tmp_path / "cmp" / "compare.html")
    html = out.read_text(encoding="utf-8")
    p = _Svgs()
    p.feed(html)
    assert set(p.charts) == {"compare-recall", "compare-precision", "compare-decoy", "compare-fp", "compare-money",
                             "compare-series-fund"}
    assert all(n > 50 for n in p.charts.values()), p.charts
    assert "paired by seed" in html
    assert set(re.findall(r"https?://[^\"'<> ]*", html)) <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    text = compare_table(groups)
    first = next(line for line in text.splitlines() if line.startswith("recall inpatient.ghost_bed"))
    assert "70.00 [45.16, 94.84]" in first and "10.00 [-2.42, 22.42]" in first
