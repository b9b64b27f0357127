"""The hand-written inpatient page cannot drift: every conformance test tagged with an INP
requirement is listed in that requirement's row, and every listed test carries the tag."""

from __future__ import annotations

import re
from pathlib import Path

from reference.requirements import covered_requirements

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "scenes" / "inpatient.md"


def _page_rows() -> dict[str, set[str]]:
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| \[(INP-\d+)\]\(", line)
        if m:
            rows[m.group(1)] = set(re.findall(r"`(test_[a-z0-9_]+)`", line))
    return rows


def test_inpatient_page_lists_exactly_the_conformance_tests_of_each_requirement():
    covered = covered_requirements([ROOT / "conformance" / "kit"])
    rows = _page_rows()
    assert sorted(rows) == [f"INP-{i}" for i in range(1, 9)]
    for rid, names in rows.items():
        tagged = {n.split("::")[-1] for n in covered.get(rid, [])}
        assert names == tagged, (rid, sorted(names ^ tagged))
