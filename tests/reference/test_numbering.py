"""Numbering (issue 12, GEN-2): national numbers only with their national meaning, our own in 8xxx."""

from __future__ import annotations

import dataclasses

import pytest

from reference import numbering
from reference.transactions import DEPRECATED_NUMBERS, load_all

pytestmark = pytest.mark.req("GEN-2")


def test_no_registered_number_has_another_national_meaning():
    assert numbering.problems(load_all()) == []


def test_an_extension_on_a_national_number_is_reported():
    reg = load_all()
    ping = reg["8000"]
    broken = dict(reg) | {"2001": dataclasses.replace(ping, infno="2001")}
    (problem,) = numbering.problems(broken)
    assert problem.startswith("2001 (admin-ping) has a national meaning, 人员待遇享受检查")


def test_a_national_flag_on_a_number_the_national_list_lacks_is_reported():
    reg = load_all()
    broken = dict(reg) | {"8000": dataclasses.replace(reg["8000"], national=True)}
    assert numbering.problems(broken) == [
        "8000 (admin-ping) is registered national=True, but the national list (transactions.yaml) has no 8000"]


def test_extensions_stay_in_their_group_and_scene_group():
    reg = load_all()
    visit = next(t for t in reg.values() if t.scene == "inpatient")
    broken = dict(reg) | {"7777": dataclasses.replace(reg["8000"], infno="7777"),
                          "8299": dataclasses.replace(visit, infno="8299"),
                          "8199": dataclasses.replace(visit, infno="8199")}
    got = numbering.problems(broken)
    assert any(p.startswith("7777 (admin-ping) is an extension outside the 8xxx groups") for p in got)
    assert any(p.startswith(f"8199 ({visit.operation_id}) belongs to scene inpatient, whose group is 82xx")
               for p in got)
    assert not any(p.startswith("8299") for p in got)


def test_a_deprecated_number_with_a_national_meaning_is_reported(monkeypatch):
    monkeypatch.setitem(DEPRECATED_NUMBERS, "9001", "8901")
    assert any(p.startswith("deprecated number 9001 has a national meaning (签到)")
               for p in numbering.problems(load_all()))


def test_every_deprecated_number_reaches_a_registered_transaction():
    reg = load_all()
    assert {new for new in DEPRECATED_NUMBERS.values()} <= set(reg)
    assert not set(DEPRECATED_NUMBERS) & set(reg)


def test_the_national_list_names_its_sources():
    cat = numbering.national_catalogue()
    for row in cat["transactions"]:
        assert row["status"] in {"corroborated", "listed", "unconfirmed"}, row
        assert row["sources"] and set(row["sources"]) <= set(cat["sources"]), row
    assert len({r["infno"] for r in cat["transactions"]}) == len(cat["transactions"])
    assert not any(r["infno"].startswith("8") for r in cat["transactions"])


def test_every_near_national_note_names_a_registered_extension_and_a_national_number():
    reg, nat = load_all(), numbering.national()
    for ours, (theirs, why) in numbering.NEAR_NATIONAL.items():
        assert ours in reg and not reg[ours].national and theirs in nat and why, ours


def test_a_deprecated_number_registered_again_or_pointing_nowhere_is_reported(monkeypatch):
    reg = load_all()
    broken = dict(reg) | {"1001": dataclasses.replace(reg["8000"], infno="1001")}
    monkeypatch.setitem(DEPRECATED_NUMBERS, "3099", "8298")
    got = numbering.problems(broken)
    assert "deprecated number 1001 is registered again (admin-ping)" in got
    assert "deprecated number 3099 points at 8298, which is not registered" in got


def test_old_numbers_lists_each_new_number_s_deprecated_numbers():
    old = numbering.old_numbers(load_all())
    assert old["8000"] == ["1001"] and old["8201"] == ["3001"]
    assert sum(len(v) for v in old.values()) == len(DEPRECATED_NUMBERS)
