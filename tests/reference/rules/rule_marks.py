"""The `rule` marks of the collected tests, as JSON, for test_rule_coverage.py:

    python -m tests.reference.rules.rule_marks OUT.json [pytest collection args, default: tests]

Collects in a process of its own (the default selection: `-m 'not slow'` from pyproject), so the
answer does not depend on which tests the calling session selected. Tests expected to fail
(xfail) or skipped unconditionally are reported with `counts: false`: they prove nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest


class RuleMarks:
    def __init__(self) -> None:
        self.marks: list[dict] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            counts = item.get_closest_marker("xfail") is None and item.get_closest_marker("skip") is None
            for m in item.iter_markers("rule"):
                self.marks.append({"nodeid": item.nodeid, "args": list(m.args), "fires": m.kwargs.get("fires"),
                                   "stages": list(m.kwargs.get("stages", ())), "counts": counts,
                                   "other_kwargs": sorted(set(m.kwargs) - {"fires", "stages"})})


def main(argv: list[str]) -> int:
    out, args = Path(argv[0]), argv[1:] or ["tests"]
    plugin = RuleMarks()
    code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *args], plugins=[plugin])
    out.write_text(json.dumps(plugin.marks, ensure_ascii=False, indent=1), encoding="utf-8")
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
