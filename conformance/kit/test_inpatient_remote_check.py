"""Remote bed checks (远程查床, INP-4): tasks, per-patient status, completion, deadline."""

from datetime import timedelta

import pytest

from conformance.kit.inpatient import Inpatient
from conformance.kit.support import expect_error, expect_ok, send


@pytest.mark.req("INP-4", "INP-8")
def test_task_items_are_verified_before_the_deadline_and_open_ones_become_findings(world, bureau, faces):
    """The bureau issues a task (8211) for two in-hospital patients; the terminal polls it
    (8212) and verifies one patient against it (8205 with task_id): completion 0.5. After the
    deadline a verification against the task is refused with 3004 naming `input.task_id`, the
    other item shows `expired`, and the deadline day's day end makes it a finding."""
    ip = Inpatient(world, bureau, faces)
    ip.require_manual_clock()
    a, b = ip.admit(), ip.admit()
    t = ip.next_day(hour=9)
    task = expect_ok(send(bureau, bureau.envelope("8211", {
        "fixmedins_code": ip.code, "selection": "patients", "mdtrt_ids": [a[0], b[0]],
        "deadline": (t + timedelta(hours=2)).isoformat()})))
    polled = expect_ok(send(ip.term, ip.term.envelope("8212", {})))["tasks"]
    assert task["task_id"] in [x["task_id"] for x in polled], polled
    assert expect_ok(ip.check(*a, task_id=task["task_id"]))["task_item_status"] == "passed"
    ip.set_clock(t + timedelta(hours=2, seconds=1))
    expect_error(ip.check(*b, task_id=task["task_id"]), 3004, "input.task_id")
    view = expect_ok(send(bureau, bureau.envelope("8212", {"task_id": task["task_id"]})))["tasks"][0]
    assert view["completion"] == 0.5, view
    assert {i["mdtrt_id"]: i["status"] for i in view["items"]} == {a[0]: "passed", b[0]: "expired"}, view
    ip.next_day(hour=0)
    found = expect_ok(ip.day_end(t.date().isoformat()))["findings"]
    expired = {f["subject_id"] for f in found if f["rule_id"] == "INP-REMOTE-CHECK-EXPIRED"}
    assert f"{task['task_id']}/{b[0]}" in expired and f"{task['task_id']}/{a[0]}" not in expired, found


@pytest.mark.req("INP-4")
def test_only_the_bureau_issues_tasks_2005(world, bureau, faces):
    """An institution issuing a remote bed-check task (8211) is refused with 2005."""
    ip = Inpatient(world, bureau, faces)
    a = ip.admit()
    ans = send(ip.inst, ip.inst.envelope("8211", {
        "fixmedins_code": ip.code, "selection": "patients", "mdtrt_ids": [a[0]],
        "deadline": (ip.now() + timedelta(hours=2)).isoformat()}))
    expect_error(ans, 2005)
