"""Release 0.1's numbers (issue 12): those without a national meaning still work for one release
and say they are deprecated; those with a national meaning no longer reach our transactions."""

from __future__ import annotations

import pytest

from reference.transactions import DEPRECATED_NUMBERS

pytestmark = pytest.mark.req("GEN-2")


def _inst(world):
    return next(iter(world.institutions.values())).client


def test_an_old_number_answers_as_the_new_one_with_a_deprecation_warning(world):
    inst = _inst(world)
    res = inst.send("1001", {})
    assert res.envelope["infcode"] == 0
    assert res.envelope["output"]["sender"] == inst.sender
    assert res.envelope["warn_msg"].startswith("infno 1001 is deprecated: use 8000")


def test_the_new_number_has_no_warning(world):
    res = _inst(world).send("8000", {})
    assert res.envelope["infcode"] == 0 and res.envelope["warn_msg"] is None


def test_a_retried_old_number_message_has_one_effect_and_the_same_answer(world):
    inst = _inst(world)
    env = inst.envelope("1001", {})
    first, again = inst.send_envelope(env), inst.send_envelope(env)
    assert first.envelope["infcode"] == again.envelope["infcode"] == 0
    assert first.envelope["inf_refmsgid"] == again.envelope["inf_refmsgid"]  # the stored answer
    assert again.envelope["warn_msg"] == first.envelope["warn_msg"]


@pytest.mark.parametrize("old", ["1301", "2001", "7101", "7102", "7201"])
def test_an_old_number_with_a_national_meaning_does_not_reach_ours(world, old):
    assert old not in DEPRECATED_NUMBERS
    res = _inst(world).send(old, {})
    assert res.envelope["infcode"] == 1003, res.envelope
