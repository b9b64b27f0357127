"""Institution indicators and the remote-check ranking (INP-7, SUP-2)."""

import pytest

from conformance.kit.inpatient import Inpatient
from conformance.kit.support import expect_error, expect_ok, send


@pytest.mark.req("INP-7", "SUP-2")
def test_indicators_count_closed_days_and_rates_are_within_0_and_1(world, bureau, faces):
    """After a day end (8209) with one checked and one unchecked patient, the indicators (8231)
    of institution A count the due patient-days, give rates in [0, 1] and rank it with a score."""
    ip = Inpatient(world, bureau, faces)
    ip.require_manual_clock()
    a, _b = ip.admit(), ip.admit()
    t = ip.next_day()
    expect_ok(ip.check(*a))
    ip.next_day(hour=0)
    expect_ok(ip.day_end(t.date().isoformat()))
    day = t.date().isoformat()
    out = expect_ok(send(bureau, bureau.envelope("8231", {"start": day, "end": day, "fixmedins_code": ip.code})))
    (row,) = out["ranking"]
    assert row["daily_due"] >= 2 and row["daily_compliant"] >= 1 and row["rank"] == 1, row
    assert row["daily_check_rate"] == pytest.approx(row["daily_compliant"] / row["daily_due"]), row
    for key in ("daily_check_rate", "remote_check_rate", "special_registration_rate", "rejection_rate"):
        assert row[key] is None or 0 <= row[key] <= 1, (key, row)
    assert row["score"] >= 0


@pytest.mark.req("INP-7")
def test_indicators_are_for_bureau_users_only_2005(world, bureau, faces):
    """An institution asking for the indicators (8231) is refused with 2005."""
    ip = Inpatient(world, bureau, faces)
    day = ip.now().date().isoformat()
    expect_error(send(ip.inst, ip.inst.envelope("8231", {"start": day, "end": day})), 2005)
