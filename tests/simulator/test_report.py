"""The HTML report of a run (simulator/report.py): self-contained, every chart an inline non-empty SVG, go-lives
labelled, and — in headless Chromium — the page renders with its charts (a screenshot, checked pixel by pixel).

The run directory is synthetic test data from tests/simulator/fixtures_tables.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from simulator.report import write_report
from tests.simulator.fixtures_tables import build_run

CHARTS = ["recall-precision", "false-positives", "money", "audit", "series-fund_spending",
          "series-admission_rate_per_1000", "series-per_capita_inpatient_cost", "series-pharmacy_cost",
          "series-dialysis_sessions"]
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
SERIES = [c for c in CHARTS if c.startswith("series-")]


class _Page(HTMLParser):
    """Collects each inline SVG (by its data-chart name): its drawing elements and the elements with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: dict[str, dict] = {}
        self.current: str | None = None
        self.depth = 0
        self.stack: list[str] = []  # ids of open <g> elements inside the current svg
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "xlink:href"):
            if a.get(key):
                self.urls.append(a[key])
        if tag == "svg" and self.current is None:
            self.current = a.get("data-chart", "?")
            self.svgs[self.current] = {"drawing": 0, "ids": {}, "label": a.get("aria-label")}
            self.depth = 0
            return
        if self.current is None:
            return
        if tag in ("path", "use", "rect", "line", "polyline", "polygon", "circle"):
            self.svgs[self.current]["drawing"] += 1
            for gid in self.stack:
                self.svgs[self.current]["ids"][gid] += 1
        if tag == "g":
            gid = a.get("id", "")
            self.stack.append(gid)
            self.svgs[self.current]["ids"].setdefault(gid, 0)
        self.depth += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.current is not None and tag != "svg":
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.current is None:
            return
        if tag == "svg" and self.depth == 0:
            self.current = None
            self.stack = []
            return
        if tag == "g" and self.stack:
            self.stack.pop()
        self.depth -= 1

    def handle_data(self, data):
        if self.current is None:
            self.text.append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture()
def report(tmp_path: Path) -> Path:
    run_dir = build_run(tmp_path / "run", extra_monthly={"dialysis_sessions": [10, 12, 14]})
    return write_report(run_dir)


def test_every_chart_is_an_inline_nonempty_svg(report: Path) -> None:
    assert report.name == "report.html" and report.parent.name == "run"
    page = _parse(report)
    assert sorted(page.svgs) == sorted(CHARTS)
    for name, svg in page.svgs.items():
        assert svg["drawing"] > 50, name  # axes, ticks, glyphs, bars or lines
        assert svg["label"], name


def test_go_lives_are_labelled_vertical_lines_in_every_series(report: Path) -> None:
    page = _parse(report)
    for name in SERIES:
        ids = page.svgs[name]["ids"]
        assert ids.get("golive-line-0", 0) >= 1, name
        # the label "go-live: inpatient (tertiary)" is drawn as glyphs: one <use> per visible character
        assert ids.get("golive-label-0", 0) >= 20, name
    for name in ("recall-precision", "money", "audit"):
        assert "golive-line-0" not in page.svgs[name]["ids"]


def test_without_go_lives_there_is_no_go_live_line(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "run")
    meta = json.loads((run_dir / "run.json").read_text())
    meta["go_lives"] = []
    (run_dir / "run.json").write_text(json.dumps(meta))
    page = _parse(write_report(run_dir, tmp_path / "out" / "r.html"))
    for name in [s for s in SERIES if s != "series-dialysis_sessions"]:
        assert not any(k.startswith("golive") for k in page.svgs[name]["ids"]), name
    assert "No go-live" in "".join(page.text)


def test_a_pattern_without_a_rule_is_marked_in_the_chart(report: Path) -> None:
    ids = _parse(report).svgs["recall-precision"]["ids"]
    # fraud patterns sorted by id: ghost_bed, impersonation (no rule yet), split_stay, card_dodge
    assert ids.get("no-rule-1", 0) >= 10
    assert not any(k.startswith("no-rule-") and k != "no-rule-1" for k in ids)


def test_self_contained_with_facts_and_chinese_names(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    page = _parse(report)
    assert all(not u.startswith(("http:", "https:", "//")) for u in page.urls), page.urls
    assert "<script" not in html and "<link" not in html
    # the only URLs left are XML namespace names, which a browser never fetches
    assert set(re.findall(r"https?://[^\"'<> ]*", html)) <= NAMESPACES
    text = "".join(page.text)
    for fact in ("fixture-county", "inprocess", "2026-02-01", "tertiary", "挂床", "分解住院", "no rule yet",
                 "595.2", "25,200.00"):
        assert fact in text, fact


def test_report_is_deterministic(tmp_path: Path) -> None:
    a = write_report(build_run(tmp_path / "a"))
    b = write_report(build_run(tmp_path / "b"))
    assert a.read_bytes() == b.read_bytes()


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=900, check=False)
        found = shutil.which("chromium")
        if found:
            return found
    pytest.skip("headless Chromium not found and `apt-get install -y chromium` not possible here")


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    image_mod = pytest.importorskip("PIL.Image")
    browser = _chromium()
    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", f"--user-data-dir={profile}", f"--screenshot={shot}",
             "--window-size=1280,4000", report.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
    assert shot.exists(), proc.stderr[-2000:]
    with image_mod.open(shot) as im:
        assert im.size == (1280, 4000)
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50
        counts = {c: n for n, c in colours}
        # the recall bars (#1f77b4) and precision bars (#ff7f0e) of the first chart were painted
        assert counts.get((31, 119, 180), 0) > 2000
        assert counts.get((255, 127, 14), 0) > 2000
        # and the page is not blank: a band in the chart area differs from the white background
        band = rgb.crop((0, 1800, 1280, 2600))
        assert band.getcolors(maxcolors=1 << 20) is not None
        assert len(band.getcolors(maxcolors=1 << 20)) > 20


def test_report_generation_time(report: Path, tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "timed")
    t0 = time.perf_counter()
    write_report(run_dir)
    elapsed = time.perf_counter() - t0
    # nine charts on a small run: well under the few seconds that would make `scenemon demo` feel slow
    assert elapsed < 10, elapsed


def test_an_empty_run_and_a_run_without_counterfactual_still_report(tmp_path: Path) -> None:
    from tests.simulator.fixtures_tables import rewrite_table, write_table

    empty = build_run(tmp_path / "empty")
    for table in ("encounters", "truth", "flags", "audits", "monthly"):
        write_table(empty, table, [])
    page = _parse(write_report(empty))
    assert "recall-precision" in page.svgs  # the fixture's patterns are still declared in run.json
    assert not any(name.startswith("series-") for name in page.svgs)
    one_arm = build_run(tmp_path / "one")
    rewrite_table(one_arm, "monthly", lambda rows: [r for r in rows if r["arm"] == "monitored"])
    html = write_report(one_arm).read_text(encoding="utf-8")
    assert "series-fund_spending" in html and "no counterfactual" in html
