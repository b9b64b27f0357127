"""The typed drivers: one method per transaction of the registry, typed from its models; and the
two transports, HTTP and in process, which go through the same gateway and answer the same."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import ValidationError

from device_mocks import cli
from device_mocks.client import Client
from device_mocks.drivers import DRIVERS, AdminDriver, Binding, Fields, InpatientDriver, SceneDriver, tx
from device_mocks.inpatient_day import play_day
from device_mocks.results import OutputMismatch, TxError, TxResult
from device_mocks.transport import InProcess
from device_mocks.world import SCENES, build_world
from reference.api.app import create_app
from reference.scenes.admin import AccessLogIn, ClockOut, PingOut
from reference.scenes.inpatient import AdmitIn
from reference.transactions import Transaction, load_all
from tests.conftest import ADMIN_SECRET, BASE, START, make_settings

REGISTRY = load_all()


# --- the drivers against the registry ------------------------------------------------------------


def method_name(t: Transaction) -> str:
    """A method is named by its operation id without the tag: ``inpatient-face-check`` →
    `face_check`, ``device-terminal-register`` → `terminal_register`, ``leads-list`` stays."""
    words, tag = t.operation_id.split("-"), t.tag.split("_")
    if words[: len(tag)] == tag:
        words = words[len(tag):]
    elif words[0] == t.tag.removesuffix("s"):
        words = words[1:]
    return "_".join(words)


def _stub(t: Transaction, name: str) -> str:
    return (f'    @tx("{t.infno}")\n'
            f"    def {name}(self, inp: {t.input_model.__name__} | Fields | None = None, /, **kw: Any)"
            f" -> {t.output_model.__name__}:\n"
            f'        """{t.infno} {t.title_zh} — {t.title_en.lower()}."""\n'
            f"        return self._call(self.{name}, inp, kw)")


def registry_problems(drivers: Mapping[str, type[SceneDriver]], registry: Mapping[str, Transaction]) -> list[str]:
    """Everything that keeps the drivers from matching the registry, each with what to do."""
    problems = []
    for t in registry.values():
        cls, name = drivers.get(t.tag), method_name(t)
        if cls is None:
            problems.append(f"{t.infno}: no driver for tag {t.tag!r}; add device_mocks/drivers/{t.tag}.py with a "
                            f"SceneDriver subclass (tag = {t.tag!r}), list it in DRIVERS and give Transport a "
                            "property for it")
            continue
        bound = [b for b in cls.bindings.values() if b.infno == t.infno]
        if not bound:
            problems.append(f"{t.infno}: {cls.__name__} has no method for {t.operation_id}; add\n{_stub(t, name)}")
            continue
        b = bound[0]
        if len(bound) > 1:
            problems.append(f"{t.infno}: {cls.__name__} has several methods for it: {[x.name for x in bound]}")
        if b.name != name:
            problems.append(f"{t.infno}: {cls.__name__}.{b.name} should be named {name} (from {t.operation_id})")
        if b.input_model is not t.input_model:
            problems.append(f"{t.infno}: {cls.__name__}.{b.name} takes {b.input_model.__name__}, the registry "
                            f"{t.input_model.__module__}.{t.input_model.__name__}")
        if b.output_model is not t.output_model:
            problems.append(f"{t.infno}: {cls.__name__}.{b.name} returns {b.output_model.__name__}, the registry "
                            f"{t.output_model.__module__}.{t.output_model.__name__}")
    for tag, cls in drivers.items():
        for b in cls.bindings.values():
            t = registry.get(b.infno)
            if t is None:
                problems.append(f"{cls.__name__}.{b.name}: there is no transaction {b.infno}")
            elif t.tag != tag:
                problems.append(f"{cls.__name__}.{b.name}: {b.infno} has tag {t.tag!r}, the driver {tag!r}")
    return problems


@pytest.mark.req("GEN-2")
def test_every_transaction_has_one_driver_method_typed_with_its_registry_models():
    problems = registry_problems(DRIVERS, REGISTRY)
    assert not problems, "the drivers drifted from the registry:\n" + "\n".join(problems)


class _DriftedAdmin(SceneDriver):
    """The admin driver as it would look after drifting: 8000 takes the wrong model, 8901 has
    another name, 8902 is missing, and a method names a transaction that does not exist."""

    tag = "admin"

    @tx("8000")
    def ping(self, inp: AccessLogIn | Fields | None = None, /, **kw: Any) -> PingOut:
        return self._call(self.ping, inp, kw)

    @tx("8901")
    def set_clock(self, inp: AccessLogIn | Fields | None = None, /, **kw: Any) -> ClockOut:
        return self._call(self.set_clock, inp, kw)

    @tx("9099")
    def ghost(self, inp: AccessLogIn | Fields | None = None, /, **kw: Any) -> PingOut:
        return self._call(self.ghost, inp, kw)


def test_the_registry_check_reports_each_kind_of_drift():
    new_scene = dataclasses.replace(REGISTRY["8000"], infno="8501", operation_id="pharmacy-sale", tag="pharmacy")
    registry = {k: t for k, t in REGISTRY.items() if t.tag == "admin"} | {"8501": new_scene}
    text = "\n".join(registry_problems({"admin": _DriftedAdmin}, registry))
    assert "8000: _DriftedAdmin.ping takes AccessLogIn, the registry reference.envelope.Empty" in text
    assert "8901: _DriftedAdmin.set_clock should be named clock" in text
    assert "8901: _DriftedAdmin.set_clock takes AccessLogIn, the registry reference.scenes.admin.ClockIn" in text
    assert "8902: _DriftedAdmin has no method for admin-access-log; add" in text
    assert "def access_log(self, inp: AccessLogIn | Fields | None = None, /, **kw: Any) -> AccessLogOut:" in text
    assert "_DriftedAdmin.ghost: there is no transaction 9099" in text
    assert "8501: no driver for tag 'pharmacy'" in text


def test_a_driver_method_without_the_typed_signature_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError, match="annotate the input"):
        class _Untyped(SceneDriver):
            tag = "admin"

            @tx("8000")
            def ping(self, inp: Fields | None = None, /, **kw: Any) -> PingOut:
                return self._call(self.ping, inp, kw)


def test_every_transport_carries_each_scene_driver_under_its_tag():
    t = InProcess(_NoGateway(), sender="x", secret="s")
    for tag, cls in DRIVERS.items():
        driver = getattr(t, tag)
        assert type(driver) is cls and driver.transport is t and getattr(t, tag) is driver


class _NoGateway:
    def handle(self, path_infno, headers, body):
        raise AssertionError("not reached")


class Recorder:
    """A transport that records what it is asked to send and answers `answer`."""

    def __init__(self, answer: dict[str, Any] | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.answer = answer if answer is not None else {"infcode": 0, "output": {}}

    def send(self, infno: str, input: dict[str, Any], *, msgid: str | None = None) -> TxResult:
        self.sent.append((infno, input))
        return TxResult(200 if self.answer["infcode"] == 0 else 422, self.answer)


def test_each_driver_method_sends_its_own_transaction(monkeypatch):
    monkeypatch.setattr(Binding, "request", lambda self, inp, kw: {})
    rec = Recorder({"infcode": 1001, "err_msg": "stop here"})
    for cls in DRIVERS.values():
        driver = cls(rec)
        for name, binding in cls.bindings.items():
            with pytest.raises(TxError) as refused:
                getattr(driver, name)()
            assert rec.sent[-1][0] == binding.infno == refused.value.infno, f"{cls.__name__}.{name}"


ADMISSION = {"mdtrt_id": "ZY1", "psn_no": "P1", "adm_time": "2026-03-02T09:00:00+08:00", "dept_code": "NK01",
             "dept_name": "内科", "bed_no": "01", "dept_equipped": True,
             "consent": {"face_recognition": True, "video_monitoring": True, "signed_at": "2026-03-02T09:00:00+08:00"}}


@pytest.mark.req("GEN-2")
def test_a_model_a_mapping_and_keywords_send_the_same_input_and_only_the_fields_given():
    rec = Recorder()
    drv = InpatientDriver(rec)
    for call in (lambda: drv.admit(AdmitIn.model_validate_json(json.dumps(ADMISSION))), lambda: drv.admit(ADMISSION),
                 lambda: drv.admit(**ADMISSION), lambda: drv.admit({**ADMISSION, "bed_no": "09"}, bed_no="01")):
        with pytest.raises(OutputMismatch):  # the recorder's empty output is no VisitOut
            call()
    assert [infno for infno, _ in rec.sent] == ["8201"] * 4
    assert all(sent == ADMISSION for _, sent in rec.sent)  # `ward` (optional) is not sent: not given


def test_input_that_does_not_fit_the_model_is_refused_before_anything_is_sent():
    rec = Recorder()
    drv = InpatientDriver(rec)
    with pytest.raises(ValidationError, match="bed_number"):
        drv.admit({**ADMISSION, "bed_number": "1"})
    with pytest.raises(TypeError, match="takes AdmitIn, not PingOut"):
        drv.admit(PingOut(business_time="x", sender="y", role="z"))
    with pytest.raises(TypeError, match="own methods"):
        drv.send(InpatientDriver(rec).admit, ADMISSION)
    assert rec.sent == []


def test_output_that_does_not_fit_the_model_raises_output_mismatch():
    drv = AdminDriver(Recorder({"infcode": 0, "output": {"business_time": "2026-03-02T08:00:00+08:00"}}))
    with pytest.raises(OutputMismatch, match=r"8000: the output does not match PingOut: output\.sender"):
        drv.ping()


# --- in process: through the gateway ---------------------------------------------------------------


@pytest.fixture
def bureau(app) -> InProcess:
    return InProcess.of_app(app, sender="city-admin", secret=ADMIN_SECRET, opter="bureau01", opter_name="监管员")


@pytest.mark.req("GEN-2")
def test_the_business_clock_is_an_admin_driver_method(bureau):
    assert bureau.admin.clock(advance_seconds=3600).business_time == "2026-03-02T09:00:00+08:00"
    out = bureau.admin.ping()
    assert isinstance(out, PingOut) and out.business_time == "2026-03-02T09:00:00+08:00"
    assert (out.sender, out.role) == ("city-admin", "city_bureau")


@pytest.mark.req("GEN-1", "GEN-5")
def test_in_process_calls_are_authenticated_and_authorised_by_the_gateway(app, bureau):
    forged = InProcess.of_app(app, sender="city-admin", secret="not-the-secret")
    with pytest.raises(TxError) as bad:
        forged.admin.ping()
    assert (bad.value.infcode, bad.value.err_field, bad.value.result.status) == (2002, "X-SM-Signature", 401)
    world = build_world(bureau, n_institutions=1, n_persons=1, tag="D1")
    term = world.terminal()
    with pytest.raises(TxError) as refused:  # a terminal may not close a day
        term.inpatient.day_end(day="2026-03-01")
    err = refused.value
    assert (err.infno, err.infcode, err.err_field) == ("8209", 2005, "infno")
    assert err.err_msg and "8209" in err.err_msg and err.envelope["output"] is None
    assert err.envelope["infcode"] == 2005 and err.result.status == 403


@pytest.mark.req("GEN-2")
def test_in_process_a_repeated_msgid_is_answered_once_from_the_idempotency_record(bureau):
    env = bureau.envelope("8011", {"code": "410188", "name": "测试区88"})
    first, again = bureau.send_envelope(env), bureau.send_envelope(env)
    assert first.ok and again.envelope == first.envelope
    assert bureau.registry.send(bureau.registry.district_add, code="410188", name="测试区88").infcode == 3002


def test_in_process_retries_a_5xx_with_the_same_msgid_and_a_fresh_nonce():
    seen = []

    class Flaky:
        def handle(self, path_infno, headers, body):
            seen.append((path_infno, json.loads(body)["msgid"], headers["X-SM-Nonce"]))
            if len(seen) < 3:
                return 503, {"infcode": 5002, "err_msg": "busy"}
            return 200, {"infcode": 0, "output": {"business_time": "t", "sender": "x", "role": "r"}}

    t = InProcess(Flaky(), sender="x", secret="s" * 20, retries=2, backoff_s=0)
    assert t.admin.ping().sender == "x"
    assert len(seen) == 3 and {p for p, _, _ in seen} == {"8000"}
    assert len({m for _, m, _ in seen}) == 1 and len({n for _, _, n in seen}) == 3
    seen.clear()
    assert InProcess(Flaky(), sender="x", secret="s" * 20).send("8000", {}).infcode == 5002  # default: no retry
    assert len(seen) == 1


@pytest.mark.req("GEN-5")
def test_in_process_reads_of_person_data_are_in_the_access_log(bureau):
    world = build_world(bureau, n_institutions=1, n_persons=1, tag="D2")
    psn = world.persons[0]
    assert bureau.registry.person_get(psn_no=psn).psn_no == psn
    entries = bureau.admin.access_log(psn_no=psn).entries
    assert [(e.principal_id, e.infno) for e in entries if e.infno == "8002"] == [("city-admin", "8002")]


@pytest.mark.req("GEN-1")
def test_a_world_enables_its_scenes_for_every_institution_from_the_business_date(bureau):
    world = build_world(bureau, n_institutions=2, n_persons=0, tag="D3")
    for code in world.institutions:
        scenes = bureau.registry.institution_get(fixmedins_code=code).scenes
        assert {(s.scene, s.enabled, s.since) for s in scenes} >= {(s, True, START[:10]) for s in SCENES}


@pytest.mark.req("GEN-2", "INP-3", "INP-4", "INP-8")
def test_http_and_in_process_give_the_same_answers_to_the_same_inpatient_day(http, tmp_path):
    over_http: list[str] = []
    with Client(BASE, sender="city-admin", secret=ADMIN_SECRET, opter="bureau01", opter_name="监管员",
                http=http) as bureau:
        out_http = play_day(bureau, patients=4, log=over_http.append, tag="A0A0A0")
        log_http = bureau.admin.access_log(limit=1000).model_dump(mode="json")
    (tmp_path / "inproc").mkdir()
    app = create_app(make_settings(tmp_path / "inproc"))
    try:
        in_process: list[str] = []
        bureau2 = InProcess.of_app(app, sender="city-admin", secret=ADMIN_SECRET, opter="bureau01",
                                   opter_name="监管员")
        out_inproc = play_day(bureau2, patients=4, log=in_process.append, tag="A0A0A0")
        log_inproc = bureau2.admin.access_log(limit=1000).model_dump(mode="json")
    finally:
        app.state.scenemon.store.close()
    assert out_inproc == out_http and in_process == over_http
    assert len(over_http) > 15 and out_http["day_end"]["findings"]

    def without_msgid(log: dict) -> list[dict]:  # msgids carry the wall-clock second they were made
        return [{k: v for k, v in e.items() if k != "msgid"} for e in log["entries"]]

    assert without_msgid(log_inproc) == without_msgid(log_http) and log_http["entries"]


# --- the mock CLI -----------------------------------------------------------------------------------


def test_the_mock_cli_terminal_actions_go_through_the_drivers(world, http, monkeypatch, capsys):
    monkeypatch.setattr(cli, "Client", functools.partial(Client, http=http))
    inst = next(iter(world.institutions.values()))
    term, psn = world.terminal(inst.code), world.persons[0]
    base = ["terminal", "--base-url", BASE, "--sender", term.sender, "--secret", term.secret,
            "--institution", inst.code]

    def run(*args: str) -> tuple[int, dict]:
        code = cli.main([*base, *args])
        return code, json.loads(capsys.readouterr().out)

    code, env = run("heartbeat")
    assert code == 0 and env["output"]["terminal_id"] == term.sender
    assert run("enrol", psn, "--synthetic")[0] == 0
    code, env = run("verify", psn, "--synthetic", "--scene", "inpatient")
    assert code == 0 and env["output"]["passed"] is True
    code, env = run("verify", psn, "--synthetic", "--as", world.persons[1])
    assert code == 0 and env["output"]["passed"] is False  # answered (infcode 0): not the same person
