"""The scope matrix (GEN-1, GEN-5): every transaction × every kind of account × targets inside and
outside the account's scope, generated from the transaction registry.

For each transaction the table `CASES` below gives one or more inputs whose targets are
placeholders (`"@visit"`, `"@person"`, …, see `scope_world`). Each case is sent by every account
kind with the targets of institution A, A2 and B and with targets that do not exist:

- a target outside the sender's scope must be answered exactly as a target that does not
  exist (same HTTP status, infcode, err_field and message once the ids are blanked) — never a
  success that an absent target would not get, never a 2006 naming the owner;
- such a call leaves every table unchanged (messages and nonces aside: the gateway records
  every message);
- no answer, in or out of scope, contains an identifier (institution code, person number, visit,
  settlement or terminal id) of an institution outside the sender's scope;
- every transaction succeeds for at least one sender with targets in its scope, so a handler
  that refuses everything cannot pass.

A transaction added to the registry without a case fails `test_every_transaction_has_a_case`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import defaultdict
from typing import Any

import pytest

from reference.transactions import load_all
from tests.conftest import BASE
from tests.reference.api.scope_world import ABSENT, INSTITUTIONS, ScopeWorld, build

NOW = "2026-03-04T09:02:00"  # the clock stands at 09:00; 5 minutes of drift are allowed
ITEMS = [{"item_code": "XA01", "item_name": "阿莫西林", "qty": 1, "amount": 20.0}]

#: infno → list of inputs. Placeholders: "@<kind>" a target of the institution under test;
#: "@free_person" a person linked to nobody (names a person the way an admission or a settlement
#: does); "@new" a fresh unique id. A case without "@<kind>" targets checks leaks and coverage.
CASES: dict[str, list[dict[str, Any]]] = {
    "8000": [{}],
    # National analysis: the person must be visible to the sender; the encounter is its own.
    "3101": [{"data": {"trig_scen": "7", "patient_dtos": [{"patn_id": "@person", "fsi_encounter_dtos": [
        {"mdtrt_id": "@new", "med_mdtrt_type": "3", "fsi_order_dtos": [
            {"rx_id": "R1", "hilist_code": "XA01", "hilist_name": "阿莫西林", "cnt": 1, "sumamt": 20.0}]}]}]}}],
    "3102": [{"data": {"patient_dtos": [{"patn_id": "@person", "fsi_encounter_dtos": [
        {"mdtrt_id": "@new", "fsi_order_dtos": [
            {"rx_id": "R1", "hilist_code": "XA01", "hilist_name": "阿莫西林", "cnt": 1, "sumamt": 20.0}]}]}]}}],
    "3103": [{"data": {"warn_type": "1", "warns": [{"warn_rslt_id": "@jr", "dspo_way": "2"}]}}],
    # 1101 by ID number alone: bureaus within their scope; institutions and terminals must add the
    # name on the card (1001 here, in and out of scope alike). A card read with number and name
    # finds any person whose card the institution holds and links them (by design, like 8002 by
    # certno): tests/reference/scenes/test_basic_info.py covers it.
    "1101": [{"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "@certno", "psn_cert_type": "01"}}],
    "1201": [{"medinsinfo": {"fixmedins_type": "1", "fixmedins_code": "@institution"}},
             {"medinsinfo": {"fixmedins_type": "1", "fixmedins_name": "医院"}}],
    "8001": [{"psn_no": "@new", "certno": "@new_certno", "psn_name": "新人", "insuplc_admdvs": "410102"}],
    "8002": [{"psn_no": "@person"}],
    "8003": [{"psn_no": "@person", "add": ["past_violator"]}],
    "8011": [{"code": "@new_district", "name": "新区"}],
    "8012": [{"fixmedins_code": "@new", "fixmedins_name": "新医院", "inst_type": "primary_hospital", "level": "1",
              "district_code": "@district"}],
    "8013": [{"fixmedins_code": "@institution"}],
    "8014": [{"fixmedins_code": "@institution", "scene": "rehab", "enabled": True, "since": "2026-01-01"}],
    "8015": [{"id": "@new", "role": "district_bureau", "display_name": "新账号", "district_code": "@district"}],
    # The city bureau sees every sender; an institution's or a terminal's mode may be switched.
    "8016": [{"sender": "@institution", "x_tif_enabled": True}, {"sender": "@terminal", "x_tif_enabled": False}],
    "8101": [{"terminal_id": "@new", "model": "SM-9", "serial_no": "@new", "cert_class": "III",
              "certification_id": "@new"}],
    "8102": [{"terminal_id": "@terminal_new", "approve": True}],
    "8103": [{"app_version": "3.1", "camera_ok": True, "liveness_module_ok": True}],
    "8104": [{"terminal_id": "@terminal", "device_kind": "camera", "description": "镜头脏",
              "occurred_at": "2026-03-04T08:00:00"}],
    "8105": [{"ticket_id": "@ticket", "resolution": "已清洁"}],
    "8106": [{"fixmedins_code": "@institution"}, {}],
    "8107": [{"fixmedins_code": "@institution"}, {}],
    "8121": [{"psn_no": "@person", "capture": "@capture"}],
    "8122": [{"psn_no": "@person", "scene": "inpatient", "capture": "@capture"}],
    "8123": [{"psn_no": "@person"}],
    "8124": [{"capture": "@capture", "fixmedins_code": "@institution"},
             {"capture": "@capture", "district_code": "@district"}, {"capture": "@capture"}],
    "8125": [{"fixmedins_code": "@institution"}, {"district_code": "@district"}, {"psn_no": "@person"}, {}],
    "8201": [{"mdtrt_id": "@new", "psn_no": "@free_person", "adm_time": "2026-03-04T08:00:00", "dept_code": "NK",
              "dept_name": "内科", "bed_no": "@new", "dept_equipped": True,
              "consent": {"face_recognition": True, "video_monitoring": True, "signed_at": "2026-03-04T08:00:00"}}],
    "8202": [{"mdtrt_id": "@visit_e", "certno": "@certno_e", "capture": "@capture_e"}],
    "8203": [{"mdtrt_id": "@visit", "dscg_time": "2026-03-04T09:00:00"}],
    "8204": [{"mdtrt_id": "@visit_d", "psn_no": "@person_d", "capture": "@capture_d"}],
    "8205": [{"mdtrt_id": "@visit", "psn_no": "@person", "capture": "@capture"}],
    "8206": [{"fixmedins_code": "@institution"}, {"fixmedins_code": "@institution", "mdtrt_id": "@visit"}, {}],
    "8209": [{"day": "2026-03-03", "fixmedins_code": "@institution"}, {"day": "2026-03-03"}],
    "8211": [{"fixmedins_code": "@institution", "selection": "patients", "mdtrt_ids": ["@visit"],
              "deadline": "2026-03-04T12:00:00"}],
    "8212": [{"task_id": "@task"}, {"fixmedins_code": "@institution", "open_only": False}, {}],
    "8601": [{"att_type": "evidence", "filename": "e.pdf", "media_type": "application/pdf",
              "content_b64": "@new_pdf"}],
    "8602": [{"subject": {"patient_day": {"mdtrt_id": "@visit2", "day": "2026-03-04"}},
              "reason": "face_unrecognisable", "explanation": "正在做检查治疗", "attachment_ids": ["@att2"]}],
    "8603": [{"reg_id": "@reg_r", "note": "补充了检查记录", "attachment_ids": ["@att2"]}],
    "8604": [{"reg_id": "@reg", "approve": True, "note": "同意"}],
    "8605": [{"reg_id": "@reg"}, {"fixmedins_code": "@institution"}],
    "8231": [{"start": "2026-03-02", "end": "2026-03-03", "fixmedins_code": "@institution"},
             {"start": "2026-03-02", "end": "2026-03-03"}],
    "8701": [{"fixmedins_code": "@institution"}, {}],
    "8702": [{}],
    "8703": [{"base_version": "2026.1", "version": "@new_version", "effective_from": "2026-07-01",
              "changes": [{"rule_id": "HD-MONTHLY-CAP", "params": {"cap_yuan": 6500}}]}],
    "8704": [{"version": "2026.9-scope"}],
    "8705": [{"start": "2026-03-01", "end": "2026-03-04", "version": "2026.9-scope"}],
    "8711": [{"setl_id": "@new", "psn_no": "@person", "scene": "pharmacy", "setl_time": NOW, "method": "ssc",
              "total_amount": 20.0, "items": ITEMS},
             {"setl_id": "@new", "psn_no": "@person", "scene": "pharmacy", "setl_time": NOW, "method": "face",
              "verification_id": "@verification", "total_amount": 20.0, "items": ITEMS}],
    "8712": [{"setl_id": "@new", "psn_no": "@free_person", "scene": "pharmacy", "setl_time": NOW, "method": "ssc",
              "total_amount": 20.0, "items": ITEMS},
             {"setl_id": "@new", "psn_no": "@free_person", "scene": "pharmacy", "setl_time": NOW, "method": "face",
              "verification_id": "@verification", "total_amount": 20.0, "items": ITEMS}],
    "8713": [{"setl_id": "@setl2", "reason": "本人确已到店"}],
    "8714": [{"appeal_id": "@appeal", "overturn": False, "note": "维持"}],
    "8801": [{"start": "2026-03-02", "end": "2026-03-04"}],
    "8811": [{"fixmedins_code": "@institution"}, {"lead_id": "@lead"}, {}],
    "8812": [{"lead_id": "@lead", "to_status": "screened"}],
    "8813": [{"month": "2026-03", "capacity": 50}],
    "8721": [{"start": "2026-03-01", "end": "2026-03-04"}],
    "8722": [{"decision_id": "@decision"}],
    "8901": [{"advance_seconds": 0}],
    "8902": [{"psn_no": "@person"}, {}],
    "9001": [{"signIn": {"opter_no": "0001", "mac": "00-1A-2B-3C-4D-5E", "ip": "10.0.0.1"}}],
    "9002": [{"signOut": {"sign_no": "@sign_no", "opter_no": "0001"}}],
}

#: Cases that change what later cases find (discharge, erasure, publishing): sent last.
LAST = ("8203", "8123", "8704")
#: Tables every message writes, refused or not (the idempotency record and the nonce).
ALWAYS_WRITTEN = {"messages", "nonces"}
PLACEHOLDER = re.compile(r"^@([a-z_0-9]+)$")
_seq = iter(range(1, 10**6))


def _fill(value: Any, targets: dict[str, Any], world: ScopeWorld) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, targets, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, targets, world) for v in value]
    m = PLACEHOLDER.match(value) if isinstance(value, str) else None
    if not m:
        return value
    kind = m.group(1)
    n = next(_seq)
    if kind == "new":
        return f"N{n:06d}"
    if kind == "new_certno":
        from datetime import date, timedelta

        from reference.idcard import make_certno

        return make_certno("410102", date(1980, 1, 1) + timedelta(days=n), n % 1000)
    if kind == "new_district":
        return f"4101{n % 80 + 20:02d}"
    if kind == "new_version":
        return f"2026.{n}"
    if kind == "new_pdf":
        import base64

        return base64.b64encode(b"%PDF-1.4 matrix " + str(n).encode()).decode()
    if kind == "free_person":
        return world.free_person()
    return copy.deepcopy(targets[kind])


def _targets_used(case: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str) and (m := PLACEHOLDER.match(v)) and not m.group(1).startswith("new") \
                and m.group(1) != "free_person":
            found.add(m.group(1))

    walk(case)
    return found


def _db_state(app) -> dict[str, str]:
    """A digest of every table's rows (virtual tables are covered by their shadow tables)."""
    db = app.state.scenemon.store.db()
    out = {}
    for t in db.all("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                    " AND sql NOT LIKE 'CREATE VIRTUAL%'"):
        name = t["name"]
        if name in ALWAYS_WRITTEN:
            continue
        h = hashlib.sha256()
        for row in db.conn.execute(f'SELECT * FROM "{name}"'):
            h.update(repr(row).encode())
        out[name] = h.hexdigest()
    return out


def _identifiers(targets: dict[str, Any], codes: dict[str, str], key: str) -> set[str]:
    """The string identifiers that belong to institution `key` (leak markers)."""
    out = {codes[key], f"T{codes[key]}1", f"T{codes[key]}2"}
    for kind in ("person", "person2", "person_d", "person_e", "certno", "certno_e", "visit", "visit2", "visit_d",
                 "visit_e", "setl", "setl2", "jr"):
        out.add(str(targets[kind]))
    return out


def _blank(text: str | None, values: list[Any]) -> str | None:
    if text is None:
        return None
    for v in sorted((str(x) for x in values if isinstance(x, (str, int))), key=len, reverse=True):
        text = text.replace(v, "<id>")
    return text


def _shape(res, values: list[Any]) -> tuple:
    env = res.envelope
    out = None if res.infcode else json.dumps(env.get("output"), sort_keys=True, ensure_ascii=False)
    return (res.status, res.infcode, env.get("err_field"), _blank(env.get("err_msg"), values), _blank(out, values))


@pytest.fixture
def scope_world(app, http, admin) -> ScopeWorld:
    return build(http, admin, BASE)


def test_every_transaction_has_a_case():
    missing = sorted(set(load_all()) - set(CASES))
    unknown = sorted(set(CASES) - set(load_all()))
    assert not missing, f"transactions without a scope-matrix case (add them to CASES): {missing}"
    assert not unknown, f"cases for transactions that no longer exist: {unknown}"


@pytest.mark.req("GEN-1", "GEN-5")
def test_scope_matrix(app, scope_world):
    w = scope_world
    registry = load_all()
    order = [i for i in CASES if i not in LAST] + [i for i in LAST if i in CASES]
    problems: list[str] = []
    successes: dict[str, int] = defaultdict(int)
    refusals: dict[str, set[str]] = defaultdict(set)
    calls = 0
    # Phase 1: targets outside each sender's scope, compared with absent targets (nothing changes).
    for infno in order:
        roles = registry[infno].roles
        for case in CASES[infno]:
            used = _targets_used(case)
            if not used:
                continue
            for actor in w.actors.values():
                if actor.role not in roles:
                    continue
                for key in INSTITUTIONS:
                    if key in actor.institutions:
                        continue
                    values = [w.targets[key][k] for k in used] + [w.targets[ABSENT][k] for k in used]
                    inp, absent_inp = _fill(case, w.targets[key], w), _fill(case, w.targets[ABSENT], w)
                    before = _db_state(app)
                    outside = actor.client.send(infno, inp)
                    after = _db_state(app)
                    absent = actor.client.send(infno, absent_inp)
                    calls += 2
                    label = f"{infno} {case} by {actor.name} on {key}'s targets"
                    if _shape(outside, values) != _shape(absent, values):
                        problems.append(f"{label}: answered {outside.status}/{outside.infcode} "
                                        f"{outside.envelope.get('err_msg')!r}, but for absent targets "
                                        f"{absent.status}/{absent.infcode} {absent.envelope.get('err_msg')!r}")
                    elif outside.infcode == 2006:
                        problems.append(f"{label}: 2006 discloses that the target exists")
                    changed = sorted(t for t in after if after[t] != before.get(t))
                    if changed:
                        problems.append(f"{label}: changed tables {changed}")
    # Phase 2: every sender with targets of each institution; answers must not leak other scopes.
    for infno in order:
        roles = registry[infno].roles
        for case in CASES[infno]:
            for actor in w.actors.values():
                if actor.role not in roles:
                    continue
                for key in INSTITUTIONS:
                    if key not in actor.institutions and _targets_used(case):
                        continue  # done in phase 1
                    res = actor.client.send(infno, _fill(case, w.targets[key], w))
                    calls += 1
                    if res.infcode == 9999 or res.status >= 500:
                        problems.append(f"{infno} by {actor.name}: server error {res.envelope.get('err_msg')}")
                    if not res.ok:
                        refusals[infno].add(f"{res.infcode} {res.envelope.get('err_msg')}")
                        continue
                    successes[infno] += 1
                    text = json.dumps(res.output, ensure_ascii=False)
                    for other in INSTITUTIONS:
                        if other in actor.institutions:
                            continue
                        leaked = sorted(i for i in _identifiers(w.targets[other], w.codes, other) if i in text)
                        if leaked:
                            problems.append(f"{infno} {case} by {actor.name}: the answer names {other}'s {leaked}")
                    if not _targets_used(case):
                        break  # one success per sender is enough for cases without targets
    never = sorted(set(CASES) - set(successes))
    if never:
        problems.append(f"transactions that never succeeded in scope (the matrix would prove nothing): {never}; "
                        + "; ".join(f"{i}: {sorted(refusals[i])[:3]}" for i in never))
    assert calls > 500
    assert not problems, f"{len(problems)} scope problem(s) in {calls} calls:\n  " + "\n  ".join(problems)
