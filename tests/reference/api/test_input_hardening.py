"""Crafted inputs that crashed a handler, exhausted memory or were stored as nonsense (issue 11):
each is refused with a coded 4xx naming the field, and the refusal leaves every table unchanged."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import time
import tracemalloc
import zlib
from datetime import date

import numpy as np
import pytest

from device_mocks.world import bootstrap_world
from reference.api.app import create_app
from reference.idcard import make_certno
from reference.store.db import Store
from tests.conftest import ADMIN_SECRET, BASE, TestClient, make_settings

NOW = "2026-03-02T09:00:00"
ITEMS = [{"item_code": "XA01", "item_name": "阿莫西林胶囊", "qty": 2, "amount": 10.0}]
SETTLEMENT = {"setl_id": "S1", "psn_no": "P1", "scene": "pharmacy", "setl_time": NOW, "method": "ssc",
              "total_amount": 10.0, "items": ITEMS}
CONSENT = {"face_recognition": True, "video_monitoring": True, "signed_at": NOW}
ADMISSION = {"mdtrt_id": "V1", "psn_no": "P1", "adm_time": NOW, "dept_code": "NK", "dept_name": "内科",
             "bed_no": "12", "dept_equipped": True, "consent": CONSENT}
HEARTBEAT = {"app_version": "3.1", "camera_ok": True, "liveness_module_ok": True, "detail": {"temp_c": 41.5}}
FAULT = {"terminal_id": "T-0001", "device_kind": "camera", "description": "黑屏", "occurred_at": NOW}
PERSON = {"psn_no": "PX1", "certno": make_certno("410102", date(1980, 5, 6), 7), "psn_name": "王五",
          "insuplc_admdvs": "410100"}
EMBEDDING = [float(x) for x in np.random.default_rng(0).standard_normal(512)]
BIG = 2**63  # one past SQLite's largest rowid


def with_(base: dict, **changes) -> dict:
    return {**base, **changes}


# (case id, sender, infno, input, err_field). Senders: bureau (city-admin), institution, terminal.
# A value given as RAW("text") is put into the body as that JSON text, unquoted.
class RAW(str):
    pass


CASES = [
    # integer ids of 2**63 and more: OverflowError in the store before
    ("id-task", "terminal", "8205", {"mdtrt_id": "V1", "psn_no": "P1", "task_id": BIG,
                                     "capture": {"embedding": EMBEDDING, "embedding_model": "synthetic:v1"}},
     "input.task_id"),
    ("id-task-query", "bureau", "8212", {"task_id": BIG}, "input.task_id"),
    ("id-since-task", "bureau", "8212", {"since_task_id": 10**30}, "input.since_task_id"),
    ("id-ticket", "institution", "8105", {"ticket_id": BIG, "resolution": "换了摄像头"}, "input.ticket_id"),
    ("id-reg-supplement", "institution", "8603", {"reg_id": BIG, "note": "补充了检查记录", "attachment_ids": [1]},
     "input.reg_id"),
    ("id-attachment", "institution", "8603", {"reg_id": 1, "note": "补充了检查记录", "attachment_ids": [BIG]},
     "input.attachment_ids.0"),
    ("id-reg-review", "bureau", "8604", {"reg_id": BIG, "approve": True, "note": "同意"}, "input.reg_id"),
    ("id-reg-query", "bureau", "8605", {"reg_id": BIG}, "input.reg_id"),
    ("id-appeal", "bureau", "8714", {"appeal_id": BIG, "overturn": False, "note": "维持"}, "input.appeal_id"),
    ("id-lead-list", "bureau", "8811", {"lead_id": BIG}, "input.lead_id"),
    ("id-lead-move", "bureau", "8812", {"lead_id": BIG, "to_status": "screened"}, "input.lead_id"),
    ("id-decision", "bureau", "8722", {"decision_id": BIG}, "input.decision_id"),
    ("id-verification", "institution", "8712", with_(SETTLEMENT, method="face", verification_id=BIG),
     "input.verification_id"),
    # dates at the calendar's edges, and times whose conversion to CST leaves years 1-9999
    ("date-first", "bureau", "8801", {"start": "0001-01-01", "end": "0001-01-02"}, "input.start"),
    ("date-last", "bureau", "8801", {"start": "9999-12-30", "end": "9999-12-31"}, "input.start"),
    ("date-last-simulate", "bureau", "8705", {"start": "9999-12-30", "end": "9999-12-31", "version": "2026.1"},
     "input.start"),
    ("date-first-simulate", "bureau", "8705", {"start": "2026-03-01", "end": "0001-01-01", "version": "2026.1"},
     "input.end"),
    ("time-fault", "institution", "8104", with_(FAULT, occurred_at="9999-12-31T23:00:00-05:00"),
     "input.occurred_at"),
    ("time-admission", "institution", "8201", with_(ADMISSION, adm_time="0001-01-01T03:00:00+09:00"),
     "input.adm_time"),
    ("time-settlement", "institution", "8712", with_(SETTLEMENT, setl_time="9999-12-31T20:00:00-10:00"),
     "input.setl_time"),
    ("admission-year-1", "institution", "8201", with_(ADMISSION, adm_time="0001-06-01T08:00:00"), "input.adm_time"),
    ("clock-advance", "bureau", "8901", {"advance_seconds": 10**12}, "input.advance_seconds"),
    ("clock-set", "bureau", "8901", {"set_to": "9999-12-31T23:59:59"}, "input.set_to"),
    # amounts: Infinity (inf - inf passed the sum check), 1e308, an overflow to infinity
    ("amount-1e308", "institution", "8712", with_(SETTLEMENT, total_amount=1e308,
                                                  items=[with_(ITEMS[0], amount=1e308)]), "input.total_amount"),
    ("amount-overflow", "institution", "8712", with_(SETTLEMENT, total_amount=RAW("1e400"),
                                                     items=[with_(ITEMS[0], amount=RAW("1e400"))]),
     "input.total_amount"),
    ("amount-negative", "institution", "8711", with_(SETTLEMENT, total_amount=-10.0,
                                                     items=[with_(ITEMS[0], amount=-10.0)]), "input.total_amount"),
    ("qty-huge", "institution", "8711", with_(SETTLEMENT, items=[with_(ITEMS[0], qty=1e9)]), "input.items.0.qty"),
    ("recovered-1e308", "bureau", "8812", {"lead_id": 1, "to_status": "confirmed", "amount_recovered": 1e308},
     "input.amount_recovered"),
    ("heartbeat-overflow", "terminal", "8103", with_(HEARTBEAT, detail={"temp_c": RAW("-1e400")}),
     "input.detail.temp_c"),
    ("heartbeat-disk", "terminal", "8103", with_(HEARTBEAT, free_disk_mb=2**40), "input.free_disk_mb"),
    # the envelope's time must be a real date-time
    ("inf-time", "bureau", "8000", {}, "inf_time"),
    # ID numbers: born in the future, an area naming no province
    ("certno-2090", "institution", "8001", with_(PERSON, certno=make_certno("410102", date(2090, 1, 1), 1)),
     "input.certno"),
    ("certno-area-0", "institution", "8001", with_(PERSON, certno=make_certno("000000", date(1980, 1, 1), 1)),
     "input.certno"),
    ("certno-1800", "institution", "8001", with_(PERSON, certno=make_certno("410102", date(1800, 1, 1), 1)),
     "input.certno"),
    ("certno-arabic-digits", "institution", "8001",
     with_(PERSON, certno=PERSON["certno"].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))), "input.certno"),
    ("district-arabic-digits", "bureau", "8011", {"code": "٤١٠١٩٩", "name": "测试区"}, "input.code"),
    # control characters
    ("nul-name", "institution", "8001", with_(PERSON, psn_name="王\x00五"), "input.psn_name"),
    ("nul-detail", "terminal", "8103", with_(HEARTBEAT, detail={"note": "ok\x00"}), "input.detail.note"),
    ("nul-deep", "institution", "8713", {"setl_id": "S1", "reason": "本人确已到店", "evidence": ["ok", "b\x00"]},
     "input.evidence.1"),
    ("bell-in-note", "bureau", "8604", {"reg_id": 1, "approve": True, "note": "同意\x07"}, "input.note"),
    ("newline-in-name", "institution", "8001", with_(PERSON, psn_name="王\n五"), "input.psn_name"),
    ("c1-in-name", "institution", "8001", with_(PERSON, psn_name="王\x85五"), "input.psn_name"),
    ("del-in-name", "institution", "8001", with_(PERSON, psn_name="王\x7f五"), "input.psn_name"),
    ("nul-key", "terminal", "8103", with_(HEARTBEAT, detail={"k\x00": 1}), "input.detail"),
    # loose coercion
    ("yes-is-not-true", "institution", "8201", with_(ADMISSION, dept_equipped="yes"), "input.dept_equipped"),
    ("one-is-not-true", "institution", "8201", with_(ADMISSION, dept_equipped=1), "input.dept_equipped"),
    ("text-is-not-a-number", "institution", "8711", with_(SETTLEMENT, items=[with_(ITEMS[0], qty="1")]),
     "input.items.0.qty"),
    ("integer-is-not-a-date", "bureau", "8801", {"start": 20260301, "end": "2026-03-02"}, "input.start"),
    ("unix-time-is-not-a-time", "institution", "8104", with_(FAULT, occurred_at=1772409600), "input.occurred_at"),
    ("number-is-not-a-code", "institution", "8711", with_(SETTLEMENT, scene=1), "input.scene"),
    ("float-is-not-an-id", "bureau", "8722", {"decision_id": 1.0}, "input.decision_id"),
    ("text-is-not-an-id", "bureau", "8722", {"decision_id": "1"}, "input.decision_id"),
    # nesting: a deep list names the field where the depth ran out
    ("deep-20", "terminal", "8103", with_(HEARTBEAT, detail={"k": RAW("[" * 20 + "]" * 20)}),
     "input.detail.k" + ".0" * 13),
]


def _body(client, infno: str, inp: dict, **envelope) -> bytes:
    env = {**client.envelope(infno, {}), **envelope}
    raws: dict[str, str] = {}

    def mark(v):
        if isinstance(v, RAW):
            key = f"@@raw{len(raws)}@@"
            raws[key] = str(v)
            return key
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    env["input"] = mark(inp)
    text = json.dumps(env, ensure_ascii=False)
    for key, raw in raws.items():
        text = text.replace(f'"{key}"', raw)
    return text.encode()


def table_digest(store: Store, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """A hash of every table's rows (and of the schema), to show that a call changed nothing."""
    with store.read() as db:
        out = {"sqlite_master": _hash(db.all("SELECT type, name, sql FROM sqlite_master ORDER BY type, name"))}
        for t in db.all("SELECT name FROM sqlite_master WHERE type='table' AND sql NOT LIKE 'CREATE VIRTUAL%'"):
            if t["name"] not in skip:
                out[t["name"]] = _hash(db.all(f'SELECT * FROM "{t["name"]}"'))
    return out


def _hash(rows) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(repr(sorted(r.items())).encode())
    return h.hexdigest()


def _sender(world, kind: str):
    return {"bureau": world.bureau, "institution": next(iter(world.institutions.values())).client,
            "terminal": world.terminal()}[kind]


@pytest.mark.req("GEN-2", "RULE-9")
@pytest.mark.parametrize(("case", "sender", "infno", "inp", "field"), CASES, ids=[c[0] for c in CASES])
def test_a_crafted_input_is_refused_naming_its_field_and_changes_nothing(app, world, case, sender, infno, inp,
                                                                         field):
    client = _sender(world, sender)
    extra = {"inf_time": "2024-13-45 25:61:61"} if case == "inf-time" else {}
    store = app.state.scenemon.store
    before = table_digest(store)
    resp = client.post_raw(infno, _body(client, infno, inp, **extra))
    env = resp.json()
    assert (resp.status_code, env["infcode"], env["err_field"]) == (422, 1001, field), env["err_msg"]
    assert env["err_msg"].startswith(field + ":")
    assert table_digest(store) == before  # nothing stored, not even the nonce or the message


@pytest.mark.req("GEN-2")
@pytest.mark.parametrize(("case", "body"), [
    ("deep-1000", None),
    ("infinity", b'{"v": Infinity}'),
    ("nan", b'{"v": NaN}'),
    ("utf-16", "utf-16"),
    ("utf-32", "utf-32"),
])
def test_a_body_that_is_not_utf8_json_within_the_limits_is_malformed(app, world, case, body):
    client = world.terminal()
    env = client.envelope("8103", HEARTBEAT)
    if case == "deep-1000":
        body = _body(client, "8103", with_(HEARTBEAT, detail={"k": RAW("[" * 1000 + "]" * 1000)}))
    elif case in {"utf-16", "utf-32"}:
        body = json.dumps(env, ensure_ascii=False).encode(case)
    store = app.state.scenemon.store
    before = table_digest(store)
    resp = client.post_raw("8103", body)
    assert (resp.status_code, resp.json()["infcode"], resp.json()["err_field"]) == (400, 1002, "body")
    assert table_digest(store) == before


@pytest.mark.req("GEN-2")
def test_escaped_text_is_read_like_raw_text_and_an_escaped_control_character_is_found(world):
    """Many JSON writers escape every non-ASCII character (\\u738b): such a body is taken as it is,
    and a control character hidden in an escape is still refused, naming its field."""
    inst = next(iter(world.institutions.values())).client
    person = with_(PERSON, psn_no="PX9", certno=make_certno("410102", date(1981, 2, 3), 9), psn_name="王\t五")
    ok = inst.post_raw("8001", json.dumps(inst.envelope("8001", with_(person, psn_name="王五"))).encode())
    assert ok.json()["infcode"] == 0 and ok.json()["output"]["psn_name"] == "王五"
    bad = inst.post_raw("8001", json.dumps(inst.envelope("8001", with_(person, psn_no="PX8"))).encode())
    assert (bad.json()["infcode"], bad.json()["err_field"]) == (1001, "input.psn_name")


@pytest.mark.req("GEN-2", "INP-1")
def test_an_unknown_embedding_model_is_refused_at_the_door_and_creates_no_table(app, world):
    term = world.terminal()
    store = app.state.scenemon.store
    before = table_digest(store)
    r = term.send("8121", {"psn_no": world.persons[0],
                           "capture": {"embedding": EMBEDDING, "embedding_model": "vendor-x:r100"}})
    assert (r.status, r.infcode, r.envelope["err_field"]) == (422, 1001, "input.capture.embedding_model")
    assert table_digest(store) == before  # no vector tables for a model nobody can judge
    ok = term.send("8121", {"psn_no": world.persons[0],
                            "capture": {"embedding": EMBEDDING, "embedding_model": "synthetic:v1"}})
    assert ok.ok, ok.envelope["err_msg"]


def png_of(width: int, height: int) -> bytes:
    """A valid grey PNG of this size, built row by row (the test never holds the pixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then black pixels
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def big_png() -> str:
    return base64.b64encode(png_of(6000, 6000)).decode()


@pytest.mark.req("GEN-2", "INP-1")
@pytest.mark.parametrize("engine", ["dlib", "insightface"])
def test_a_6000_by_6000_png_is_refused_in_under_a_second_without_growing_memory(tmp_path, big_png, engine):
    app = create_app(make_settings(tmp_path, face_engine=engine, face_model_dir=tmp_path / "no-models"))
    try:
        with TestClient(app, base_url=BASE) as tc:
            w = bootstrap_world(BASE, "city-admin", ADMIN_SECRET, http=tc, tag="B16B16")
            term = w.terminal()
            small = base64.b64encode(png_of(64, 64)).decode()
            term.send("8121", {"psn_no": w.persons[0], "capture": {"image_b64": small}})  # warm up: imports
            tracemalloc.start()
            started = time.perf_counter()
            r = term.send("8121", {"psn_no": w.persons[0], "capture": {"image_b64": big_png}})
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    finally:
        app.state.scenemon.store.close()
    assert (r.status, r.infcode, r.envelope["err_field"]) == (422, 1001, "input.capture.image_b64")
    assert "6000×6000" in r.envelope["err_msg"]
    assert elapsed < 1.0
    # The request and its base64 text are ~100 KB; decoding would have needed 108 MB (6000×6000×3).
    assert peak < 8 * 1024 * 1024, f"{peak:,} bytes allocated while refusing"


@pytest.mark.req("GEN-2")
def test_an_image_above_the_configured_pixel_limit_is_refused_and_one_within_is_decoded():
    from reference.errors import InvalidField
    from reference.face.core import decode_image

    png = base64.b64encode(png_of(40, 30)).decode()
    assert decode_image(png, max_pixels=1200).shape == (30, 40, 3)
    with pytest.raises(InvalidField, match="40×30 = 1,200 pixels; at most 1,199"):
        decode_image(png, max_pixels=1199)
    gif = base64.b64encode(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").decode()
    with pytest.raises(InvalidField, match="not a JPEG or PNG"):
        decode_image(gif, max_pixels=1200)


@pytest.mark.req("GEN-2")
def test_the_input_validation_page_states_the_bounds_in_force():
    from reference import fields
    from reference.api.gateway import MAX_JSON_DEPTH
    from reference.config import Settings
    from reference.idcard import MAX_AGE_YEARS
    from reference.paths import DOCS
    from reference.scenes.periods import MAX_PERIOD_DAYS

    page = (DOCS / "interface" / "input-validation.md").read_text(encoding="utf-8")
    for shown in (f"0 – {fields.MAX_AMOUNT_YUAN:,}", f"at most {fields.MAX_QTY:,}", "1 – 2⁶³−1",
                  f"years {fields.FIRST_YEAR} – {fields.LAST_YEAR}", f"at most {MAX_PERIOD_DAYS} days",
                  f"{Settings.model_fields['face_max_image_pixels'].default:,} by default",
                  f"{MAX_JSON_DEPTH} levels", f"{MAX_AGE_YEARS} years ago"):
        assert shown in page, shown
    assert fields.MAX_ROW_ID == 2**63 - 1 and fields.MAX_SAFE_INT == 2**53 and fields.MAX_COUNT == 2**31 - 1
