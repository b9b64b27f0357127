"""`scenemon rules list|show|diff|simulate` on a server database (RULE-5 tooling for bureau users)."""

from __future__ import annotations

import pytest

from scenemon.cli import main
from tests.reference.rules.test_rules_flow import _inst, _settlement

PATCH = """\
version: 2026.2-draft
effective_from: 2026-05-01
notes: lower the pharmacy threshold
changes:
  - rule_id: PH-FACE-OVER-AMOUNT
    params: {amount_threshold_yuan: 500}
"""


@pytest.fixture
def history(world, admin, settings, tmp_path):
    for amount in (600, 800, 1500):
        _inst(world).client.call("8712", _settlement(world.persons[0], amount))
    patch = tmp_path / "draft.yaml"
    patch.write_text(PATCH, encoding="utf-8")
    return settings.db_path, patch


def test_list_and_show(capsys):
    assert main(["rules", "list", "--scene", "pharmacy"]) == 0
    out = capsys.readouterr().out
    assert "PH-FACE-OVER-AMOUNT" in out and "HD-MONTHLY-CAP" not in out
    assert main(["rules", "show", "HD-MONTHLY-CAP"]) == 0
    out = capsys.readouterr().out
    assert "cap_yuan = 7000 yuan" in out and "HD-6" in out


def test_show_resolves_for_an_institution_and_names_unknown_rules(history, world, capsys):
    db, _ = history
    code = _inst(world).code
    assert main(["rules", "show", "PH-FACE-OVER-AMOUNT", "--db", str(db), "--institution", code]) == 0
    assert f"resolved for {code}" in capsys.readouterr().out
    assert main(["rules", "show", "NO-SUCH", "--db", str(db)]) == 2
    assert "has no rule NO-SUCH" in capsys.readouterr().err


@pytest.mark.req("RULE-5")
def test_diff_and_simulate_a_draft_file_against_stored_history(history, app, capsys):
    db, patch = history
    assert main(["rules", "diff", "library", str(patch), "--db", str(db)]) == 0
    assert "PH-FACE-OVER-AMOUNT.amount_threshold_yuan: 1000 → 500 yuan" in capsys.readouterr().out
    with app.state.scenemon.store.read() as d:
        before = d.scalar("SELECT count(*) FROM decisions")
    assert main(["rules", "simulate", str(patch), "--db", str(db), "--start", "2026-03-01",
                 "--end", "2026-03-31", "--live", "2026-03-02", "-v"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("PH-FACE-OVER-AMOUNT"))
    assert line.split()[1:] == ["1", "3", "2", "0"]
    with app.state.scenemon.store.read() as d:
        assert d.scalar("SELECT count(*) FROM decisions") == before


def test_errors_are_plain_sentences(tmp_path, capsys):
    assert main(["rules", "diff", "library", "2026.9", "--db", str(tmp_path / "none.db")]) == 2
    assert "no database at" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\neffective_from: 2026-01-01\nchanges:\n  - rule_id: HD-MONTHLY-CAP\n"
                   "    params: {cap_yuan: -3}\n", encoding="utf-8")
    assert main(["rules", "diff", "library", str(bad)]) == 2
    assert "below the minimum" in capsys.readouterr().err
