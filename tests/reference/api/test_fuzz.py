"""Fuzzing every transaction through the real gateway in-process (signed requests over the
FastAPI TestClient): inputs drawn from each input model's JSON schema, mostly well formed, with
known ids of a small world mixed in so that handlers run, and with hostile values (huge numbers,
control characters, wrong types, deep nesting, non-finite floats) in any field. No answer may be a
server error (HTTP 5xx / infcode 9999), and a refused call changes no table.

The default run draws FUZZ_EXAMPLES inputs per transaction (~40 s here); `-m slow` runs
SLOW_EXAMPLES per transaction."""

from __future__ import annotations

import base64
import json
import re
import string
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_mocks.client import Client
from device_mocks.world import bootstrap_world
from reference.api.app import create_app
from reference.idcard import make_certno
from reference.transactions import load_all
from tests.conftest import ADMIN_SECRET, BASE, TestClient, make_settings
from tests.reference.api.test_input_hardening import png_of, table_digest

FUZZ_EXAMPLES = 40
SLOW_EXAMPLES = 400
TRANSACTIONS = load_all()
# What a refused call may still write: the gateway's own record of the call (its nonce, and the
# answer kept for an idempotent retry). Nothing a handler did survives a refusal.
BOOKKEEPING = frozenset({"nonces", "messages"})


# -- a world the fuzzer can aim at -----------------------------------------------------------------
@dataclass
class Target:
    http: TestClient
    senders: dict[str, Client]  # role → a signed client
    known: dict[str, list]  # field name → values that name existing objects
    store: object
    stats: dict[str, dict[int, int]]  # infno → infcode → count
    institutions: list[str]

    def monitor_every_scene(self) -> None:
        """Undo what fuzzing 8014 did, so that the scene transactions after it still run."""
        for code in self.institutions:
            for scene in ("inpatient", "pharmacy", "hemodialysis", "rehab"):
                self.senders["city_bureau"].call("8014", {"fixmedins_code": code, "scene": scene, "enabled": True,
                                                          "since": "2026-03-01"})


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    app = create_app(make_settings(d))
    with TestClient(app, base_url=BASE) as tc:
        w = bootstrap_world(BASE, "city-admin", ADMIN_SECRET, http=tc, tag="F0CC01")
        inst = next(iter(w.institutions.values()))
        senders = {"city_bureau": w.bureau, "institution": inst.client, "terminal": w.terminal()}
        for role in ("district_bureau", "agency", "audit_centre", "ops_vendor"):
            uid = f"fuzz-{role.replace('_', '-')}"
            out = w.bureau.call("8015", {"id": uid, "role": role, "display_name": role,
                                         **({"district_code": w.district} if role == "district_bureau" else {})})
            senders[role] = Client(BASE, sender=uid, secret=out["secret"], http=tc)
        known = {
            "psn_no": list(w.persons), "fixmedins_code": list(w.institutions), "district_code": [w.district],
            "terminal_id": [t for i in w.institutions.values() for t in i.terminals],
            "capture": [{"embedding": [float(x) for x in np.random.default_rng(1).standard_normal(512)],
                         "embedding_model": "synthetic:v1"},
                        {"image_b64": base64.b64encode(png_of(32, 32)).decode(), "aligned": True}],
            "version": ["2026.1"], "base_version": ["2026.1"],
            "certno": st.builds(make_certno, st.just(w.district), st.dates(date(1930, 1, 1), date(2025, 12, 31)),
                                st.integers(0, 999)),
            "content_b64": [base64.b64encode(png_of(8, 8)).decode()], "media_type": ["image/png"],
            "code": st.from_regex(r"^4101[0-9]{2}$", fullmatch=True), "cert_class": ["III"], "method": ["ssc"],
            # rows the fuzz run itself creates (faults, visits, leads, …) have small ids
            **{f: [1, 2, 3] for f in ("task_id", "reg_id", "ticket_id", "appeal_id", "lead_id", "decision_id",
                                      "verification_id")},
            "attachment_ids": [[1], [1, 2]],
        }
        yield Target(tc, senders, known, app.state.scenemon.store, {}, list(w.institutions))
    app.state.scenemon.store.close()


# -- strategies from JSON schema ---------------------------------------------------------------------
HOSTILE = st.one_of(
    st.none(), st.booleans(), st.just("yes"), st.just("1"), st.just(""), st.just("\x00"), st.just("a\u0085b"),
    st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([2**63, 2**63 - 1, -(2**63), 2**53 + 1]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 5e-324]),
    st.text(max_size=40), st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=400),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.integers(1, 40).map(lambda n: json.loads("[" * n + "]" * n)),
    st.sampled_from(["0001-01-01", "9999-12-31", "2026-02-30", "2026-03-02T25:00:00", "9999-12-31T23:59:59-12:00",
                     "0001-01-01T00:00:00+14:00", "20260302", "1772409600", "2026-03-02 08:00:00"]),
)
# Business dates and times: mostly on the world's first business day (its scenes are monitored from
# 2026-03-02, and it is 08:00), sometimes anywhere in the span the interface allows, or just outside.
DATES = st.one_of(st.dates(date(2026, 3, 1), date(2026, 3, 3)), st.dates(date(2000, 1, 1), date(2099, 12, 31)),
                  st.sampled_from([date(1999, 12, 31), date(2100, 1, 1)]))
TIMES = st.one_of(st.datetimes(datetime(2026, 3, 2), datetime(2026, 3, 2, 8)),
                  st.datetimes(datetime(1999, 12, 31), datetime(2100, 1, 1)))
ZONES = st.sampled_from(["", "", "+08:00", "Z", "-12:00", "+14:00"])
TEXT = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))


def _resolve(s: dict, defs: dict) -> dict:
    while "$ref" in s:
        s = {**defs[s["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in s.items() if k != "$ref"}}
    return s


def _text(s: dict) -> st.SearchStrategy:
    lo, hi = s.get("minLength", 0), min(s.get("maxLength", 40), 60)
    if s.get("format") == "date":
        return DATES.map(date.isoformat)
    if s.get("format") == "date-time":
        return st.tuples(TIMES, ZONES, st.sampled_from(["T", " "])).map(
            lambda t: t[0].isoformat(sep=t[2], timespec="seconds") + t[1])
    if "pattern" in s:
        # Python's regex dialect for the server's (Rust) one: the patterns here use both alike.
        pattern = re.compile(s["pattern"])
        return st.from_regex(pattern, fullmatch=True).filter(lambda v: lo <= len(v) <= s.get("maxLength", 10**9))
    return st.text(alphabet=TEXT, min_size=lo, max_size=hi)


def from_schema(s: dict, defs: dict, known: dict, name: str | None = None, depth: int = 0,
                hostile: int = 0) -> st.SearchStrategy:
    """Values for one schema node: well formed, a known id where the field names one, and (with
    `hostile` = n) something hostile once in n draws."""
    s = _resolve(s, defs)
    good = _well_formed(s, defs, known, depth, hostile)
    if name in known:
        k = known[name]
        good = st.one_of(k if isinstance(k, st.SearchStrategy) else st.sampled_from(k), good)
    if not hostile:
        return good
    return st.integers(1, hostile).flatmap(lambda r: HOSTILE if r == 1 else good)


def _well_formed(s: dict, defs: dict, known: dict, depth: int, hostile: int) -> st.SearchStrategy:
    def sub(schema: dict, name: str | None = None) -> st.SearchStrategy:
        return from_schema(schema, defs, known, name, depth + 1, hostile)

    if "anyOf" in s:
        return st.one_of([sub(a) for a in s["anyOf"]])
    if "enum" in s:
        return st.sampled_from(s["enum"])
    if "const" in s:
        return st.just(s["const"])
    kind = s.get("type")
    if kind == "string":
        return _text(s)
    if kind == "integer":
        return st.integers(s.get("minimum", s.get("exclusiveMinimum", -(2**64))),
                           s.get("maximum", s.get("exclusiveMaximum", 2**64)))
    if kind == "number":
        return st.floats(s.get("minimum", s.get("exclusiveMinimum")), s.get("maximum", s.get("exclusiveMaximum")),
                         allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        lo = s.get("minItems", 0)
        return st.lists(sub(s.get("items", {})), min_size=lo, max_size=max(lo, min(s.get("maxItems", 4), 4)))
    if kind == "object" and "properties" in s:
        required = set(s.get("required", []))
        props = {k: sub(v, k) for k, v in s["properties"].items()}
        return st.fixed_dictionaries({k: v for k, v in props.items() if k in required},
                                     optional={k: v for k, v in props.items() if k not in required})
    if kind == "object" or depth > 6:
        values = [sub(v) for v in (s.get("patternProperties") or {}).values()]
        return st.dictionaries(st.text(string.ascii_letters + "_", min_size=1, max_size=8),
                               values[0] if values else st.integers(), max_size=3)
    return HOSTILE  # an untyped value (Any)


def _inputs(infno: str, known: dict) -> st.SearchStrategy:
    """Two draws in three are well formed throughout (so handlers run); the third puts something
    hostile in about one field in eight."""
    schema = TRANSACTIONS[infno].input_model.model_json_schema()
    defs = schema.get("$defs", {})
    clean = from_schema(schema, defs, known)
    return st.one_of(clean, clean.map(_consistent), from_schema(schema, defs, known, hostile=8))


def _consistent(inp):
    """A settlement whose total is the sum of its lines (otherwise nearly every draw is refused)."""
    if isinstance(inp, dict) and isinstance(inp.get("items"), list) and "total_amount" in inp:
        amounts = [i.get("amount") for i in inp["items"] if isinstance(i, dict)]
        if amounts and all(type(a) in (int, float) for a in amounts):
            return {**inp, "total_amount": round(sum(amounts), 2)}
    return inp


# -- the property -------------------------------------------------------------------------------------
def _one_call(target: Target, infno: str, sender_role: str, inp) -> None:
    client = target.senders[sender_role]
    before = table_digest(target.store, skip=BOOKKEEPING)
    env = client.envelope(infno, inp)
    res = client.post_raw(infno, json.dumps(env, ensure_ascii=False).encode())
    body = res.json()
    target.stats.setdefault(infno, {}).setdefault(body["infcode"], 0)
    target.stats[infno][body["infcode"]] += 1
    assert res.status_code < 500 and body["infcode"] != 9999, (infno, inp, body)
    if body["infcode"] != 0:
        assert table_digest(target.store, skip=BOOKKEEPING) == before, (infno, inp, body)


def _fuzz(target: Target, infno: str, examples: int) -> None:
    roles = sorted(r for r in TRANSACTIONS[infno].roles if r in target.senders)

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large])
    @given(role=st.sampled_from(roles), inp=_inputs(infno, target.known))
    def run(role, inp):
        _one_call(target, infno, role, inp)

    run()
    if infno == "8014":
        target.monitor_every_scene()


@pytest.mark.req("GEN-2", "RULE-9")
@pytest.mark.parametrize("infno", sorted(TRANSACTIONS))
def test_no_input_makes_a_server_error_and_a_refusal_changes_nothing(target, infno):
    _fuzz(target, infno, FUZZ_EXAMPLES)
    codes = target.stats[infno]
    assert sum(codes.values()) >= FUZZ_EXAMPLES // 2  # the calls were made (hypothesis may stop early)


@pytest.mark.slow
@pytest.mark.req("GEN-2", "RULE-9")
@pytest.mark.parametrize("infno", sorted(TRANSACTIONS))
def test_many_inputs_make_no_server_error(target, infno):
    _fuzz(target, infno, SLOW_EXAMPLES)


