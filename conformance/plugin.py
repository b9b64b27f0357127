"""The kit's pytest plugin: the `req` marker, the fixtures every kit test uses, and the report.

Fixtures (all but `faces` are session-scoped, so the test world is built once per run):

    config     the `KitSettings` of this run (base URL, accounts, limits, run tag)
    http       one shared `httpx.Client`
    bureau     a signed client for the bureau account (a city bureau, 市医保局)
    world      the kit's own test world, created through the interface with codes unique to
               this run through the typed drivers (`device_mocks.drivers`): a district,
               institutions A and B (both monitoring the inpatient, pharmacy, hemodialysis and
               rehab scenes from the run's business date, 8014), a certified terminal of A,
               an uncertified terminal of A, and `world.new_person()` for fresh insured persons
    faces      synthetic face captures (`faces.capture("key")`), seeded per test

`KitPlugin` is registered by the runner together with this module; it records every test's
outcome with its requirement IDs (from `@pytest.mark.req("GEN-5", ...)`) and its title (the
first paragraph of its docstring), adds both to the JUnit XML as properties, and builds the
JSON report.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from device_mocks.client import Client
from device_mocks.results import OutputMismatch, TxError
from device_mocks.world import SCENES
from reference.face.synthetic import SyntheticFaces
from reference.idcard import make_certno
from reference.signing import ALG_SHA256

KIT_VERSION = "0.1.0"
OutT = TypeVar("OutT", bound=BaseModel)
MARKER_LINE = "req(*ids): the requirement IDs (GEN-1, DEV-3, ...) a conformance test verifies"
# Schema-level tests judge only what the OpenAPI document says (a schema-only mock passes them);
# every other test is behaviour level (issue 17). `scenemon conformance --level` selects either.
LEVEL_MARKER_LINE = "schema_level: the test checks only what the OpenAPI document says (passes against a mock)"
LEVELS = ("schema", "behaviour")


@dataclass
class KitSettings:
    """Everything a kit run needs to know about the implementation under test."""

    base_url: str
    bureau_sender: str
    bureau_secret: str
    institution_code: str | None = None
    institution_secret: str | None = None
    terminal_id: str | None = None
    terminal_secret: str | None = None
    region_code: str = "410100"
    max_body_bytes: int = 8 * 1024 * 1024
    timeout_s: float = 30.0
    run_tag: str = ""

    def public(self) -> dict[str, Any]:
        """The settings without secrets (for the report)."""
        return {
            "base_url": self.base_url, "bureau_sender": self.bureau_sender,
            "institution_code": self.institution_code, "terminal_id": self.terminal_id,
            "region_code": self.region_code, "max_body_bytes": self.max_body_bytes,
            "run_tag": self.run_tag,
        }


class KitSetupError(RuntimeError):
    """The kit could not build its test world; the message says which step and why."""


SETTINGS_KEY = pytest.StashKey[KitSettings]()


# --- marker and report ------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_LINE)
    config.addinivalue_line("markers", LEVEL_MARKER_LINE)


def level_of(item: pytest.Item) -> str:
    return "schema" if item.get_closest_marker("schema_level") else "behaviour"


def requirement_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers("req"):
        ids.extend(str(a) for a in mark.args if str(a) not in ids)
    return ids


def title_of(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    first = doc.strip().split("\n\n")[0]
    return " ".join(line.strip() for line in first.splitlines()) or item.name


@dataclass
class ResultRecord:
    nodeid: str
    title: str
    requirements: list[str]
    level: str = "behaviour"
    outcome: str = "not run"
    duration: float = 0.0
    message: str = ""


def _message(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple):  # a skip: (path, lineno, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message)
    return str(longrepr).strip().splitlines()[-1] if str(longrepr).strip() else ""


@dataclass
class KitPlugin:
    """Carries the settings into the session and collects the results of one run."""

    settings: KitSettings
    records: dict[str, ResultRecord] = field(default_factory=dict)
    collect_errors: list[dict[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[SETTINGS_KEY] = self.settings

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:  # after -k deselection
            reqs, title = requirement_ids(item), title_of(item)
            self.records[item.nodeid] = ResultRecord(item.nodeid, title, reqs, level_of(item))
            item.user_properties.append(("requirements", " ".join(reqs)))
            item.user_properties.append(("title", title))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append({"nodeid": report.nodeid, "message": _message(report)})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rec = self.records.get(report.nodeid)
        if rec is None:
            return
        rec.duration += report.duration
        if report.when == "call":
            rec.outcome = report.outcome
            if report.failed or report.skipped:
                rec.message = _message(report)
        elif report.failed:  # a fixture (e.g. the world) failed in setup or teardown
            rec.outcome, rec.message = "error", _message(report)
        elif report.skipped and report.when == "setup":
            rec.outcome, rec.message = "skipped", _message(report)

    def pytest_sessionfinish(self) -> None:
        self.finished = time.time()

    # --- the report ---------------------------------------------------------------------------
    def totals(self, level: str | None = None) -> dict[str, int]:
        recs = [r for r in self.records.values() if level is None or r.level == level]
        return {
            "tests": len(recs),
            "passed": sum(r.outcome == "passed" for r in recs),
            "failed": sum(r.outcome == "failed" for r in recs),
            "error": sum(r.outcome == "error" for r in recs) + len(self.collect_errors),
            "skipped": sum(r.outcome == "skipped" for r in recs),
            "not_run": sum(r.outcome == "not run" for r in recs),
        }

    def by_requirement(self) -> dict[str, dict[str, Any]]:
        """Per requirement: its tests and a verdict (fail if any failed, pass if any passed)."""
        out: dict[str, dict[str, Any]] = {}
        for rec in self.records.values():
            for req in rec.requirements:
                entry = out.setdefault(req, {"status": "", "tests": 0, "passed": 0, "failed": 0,
                                             "skipped": 0, "nodeids": []})
                entry["tests"] += 1
                entry["nodeids"].append(rec.nodeid)
                if rec.outcome == "passed":
                    entry["passed"] += 1
                elif rec.outcome in {"failed", "error"}:
                    entry["failed"] += 1
                else:
                    entry["skipped"] += 1
        for entry in out.values():
            entry["status"] = ("fail" if entry["failed"] else "pass" if entry["passed"] else "not tested")
        return dict(sorted(out.items(), key=lambda kv: _req_sort_key(kv[0])))

    def report(self) -> dict[str, Any]:
        return {
            "kit": "scenemon-conformance",
            "kit_version": KIT_VERSION,
            "settings": self.settings.public(),
            "started_at": datetime.fromtimestamp(self.started, UTC).isoformat(timespec="seconds"),
            "duration": round((self.finished or time.time()) - self.started, 3),
            "totals": self.totals(),
            "levels": {level: self.totals(level) for level in LEVELS},
            "requirements": self.by_requirement(),
            "tests": [
                {"nodeid": r.nodeid, "title": r.title, "requirements": r.requirements, "level": r.level,
                 "outcome": r.outcome, "duration": round(r.duration, 3), "message": r.message}
                for r in self.records.values()
            ],
            "collection_errors": self.collect_errors,
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.report(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _req_sort_key(req: str) -> tuple[str, int, str]:
    prefix, _, num = req.partition("-")
    return (prefix, int(num) if num.isdigit() else 0, req)


# --- the test world -------------------------------------------------------------------------------


@dataclass
class Party:
    """One signing account of the world (an institution or a terminal) and its client."""

    sender: str
    secret: str
    fixmedins_code: str | None
    client: Client


@dataclass
class Person:
    psn_no: str
    certno: str
    psn_name: str


@dataclass
class World:
    """The kit's own districts, institutions, terminals and persons for this run."""

    settings: KitSettings
    http: httpx.Client
    tag: str
    district_code: str
    inst_a: Party
    inst_b: Party
    terminal: Party
    uncertified: Party
    _rng: random.Random
    _persons: int = 0

    def client(self, sender: str, secret: str, fixmedins_code: str | None = None,
               opter_type: str = "1", http: httpx.Client | None = None, signing: str = ALG_SHA256) -> Client:
        """A client of this run's server; `signing` HMAC-SHA256 (default), HMAC-SM3 or x-tif."""
        return make_client(self.settings, sender, secret, fixmedins_code, opter_type, http or self.http, signing)

    def next_psn_no(self) -> str:
        self._persons += 1
        return f"CK{self.tag}P{self._persons:03d}"

    def new_certno(self) -> str:
        born = date(1950, 1, 1) + timedelta(days=self._rng.randrange(365 * 50))
        return make_certno(self.district_code, born, self._rng.randrange(1, 1000))

    def person_input(self) -> dict[str, Any]:
        """The input of a 8001 registration for a fresh person (not sent)."""
        psn_no = self.next_psn_no()
        return {"psn_no": psn_no, "certno": self.new_certno(), "psn_name": f"测试{psn_no[-3:]}",
                "insuplc_admdvs": self.settings.region_code}

    def new_person(self) -> Person:
        """Register a fresh insured person through institution A (8001)."""
        registry = self.inst_a.client.registry
        for _ in range(5):
            inp = self.person_input()
            res = registry.send(registry.person_add, inp)
            if res.ok:
                return Person(inp["psn_no"], inp["certno"], inp["psn_name"])
            if res.infcode != 3002:  # 3002: the random ID number is taken; draw another
                break
        raise KitSetupError(f"could not register a person through institution A: {_describe(res)}")


def make_client(settings: KitSettings, sender: str, secret: str, fixmedins_code: str | None = None,
                opter_type: str = "1", http: httpx.Client | None = None, signing: str = ALG_SHA256) -> Client:
    # retries=0: the kit reports what the server answered, it never papers over a 5xx.
    return Client(settings.base_url, sender=sender, secret=secret, fixmedins_code=fixmedins_code,
                  opter="conformance", opter_name="一致性测试", opter_type=opter_type, http=http,
                  retries=0, timeout_s=settings.timeout_s, signing=signing)


def _describe(res: Any) -> str:
    env = res.envelope
    return f"HTTP {res.status}, infcode {env.get('infcode')}: {env.get('err_msg')}"


def _setup(step: str, method: Callable[..., OutT], **inp: Any) -> OutT:
    """One step of building the world through a typed driver method; any failure is a
    `KitSetupError` that names the step and what the server answered."""
    try:
        return method(**inp)
    except TxError as exc:
        raise KitSetupError(f"{step} ({exc.infno}) failed: {_describe(exc.result)}") from None
    except httpx.HTTPError as exc:
        where = getattr(getattr(method, "__self__", None), "transport", None)
        raise KitSetupError(f"{step}: cannot reach {getattr(where, 'base_url', 'the server')}: {exc}") from None
    except OutputMismatch as exc:
        raise KitSetupError(f"{step}: the answer does not follow the interface: {exc}") from None
    except ValidationError:
        raise  # the kit's own input is wrong: a bug of the kit, not of the implementation
    except ValueError as exc:
        raise KitSetupError(f"{step}: the answer is not a JSON envelope: {exc}") from None


def _create_district(bureau: Client, settings: KitSettings, rng: random.Random) -> str:
    """A fresh district of the region; after many taken codes, reuse one (reruns fill up)."""
    prefix = settings.region_code[:4]
    last = None
    for _ in range(20):
        code = f"{prefix}{rng.randrange(1, 100):02d}"
        res = bureau.registry.send(bureau.registry.district_add, code=code, name=f"一致性测试区{code[-2:]}")
        if res.ok:
            return code
        if res.infcode != 3002:
            raise KitSetupError(f"adding a district (8011) failed: {_describe(res)}")
        last = code
    assert last is not None
    return last


def build_world(settings: KitSettings, http: httpx.Client, bureau: Client) -> World:
    tag = settings.run_tag
    rng = random.Random(tag)
    district = _create_district(bureau, settings, rng)
    today = _setup("reading the business date", bureau.admin.ping).business_time[:10]

    def institution(suffix: str) -> Party:
        code = f"CK{tag}{suffix}"
        out = _setup(f"adding institution {suffix}", bureau.registry.institution_add, fixmedins_code=code,
                     fixmedins_name=f"一致性测试医院{suffix}", inst_type="secondary_hospital", level="2A",
                     district_code=district)
        if not out.secret:
            raise KitSetupError("8012 did not return the institution's signing secret")
        return Party(code, out.secret, code, make_client(settings, code, out.secret, code, http=http))

    if settings.institution_code and settings.institution_secret:
        code = settings.institution_code
        inst_a = Party(code, settings.institution_secret, code,
                       make_client(settings, code, settings.institution_secret, code, http=http))
    else:
        inst_a = institution("A")
    inst_b = institution("B")
    for party in (inst_a, inst_b):
        for scene in SCENES:
            _setup(f"enabling scene {scene} for {party.sender}", bureau.registry.institution_scene,
                   fixmedins_code=party.sender, scene=scene, enabled=True, since=today)

    def terminal(suffix: str, certify: bool) -> Party:
        tid = f"CKT{tag}{suffix}"
        out = _setup(f"registering terminal {suffix}", inst_a.client.devices.terminal_register, terminal_id=tid,
                     model="CK-FaceBox", serial_no=f"CK{tag}{suffix}", cert_class="III",
                     cert_spec="NHSA-TERMINAL-V2.1", certification_id=f"NHSA-CK-{tag}{suffix}", location="一致性测试")
        if not out.secret:
            raise KitSetupError("8101 did not return the terminal's signing secret")
        if certify:
            _setup(f"certifying terminal {suffix}", bureau.devices.terminal_certify, terminal_id=tid, approve=True)
        return Party(tid, out.secret, inst_a.fixmedins_code,
                     make_client(settings, tid, out.secret, inst_a.fixmedins_code, "2", http))

    if settings.terminal_id and settings.terminal_secret:
        term = Party(settings.terminal_id, settings.terminal_secret, inst_a.fixmedins_code,
                     make_client(settings, settings.terminal_id, settings.terminal_secret,
                                 inst_a.fixmedins_code, "2", http))
    else:
        term = terminal("C", certify=True)
    uncertified = terminal("U", certify=False)
    return World(settings, http, tag, district, inst_a, inst_b, term, uncertified, rng)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def config(pytestconfig: pytest.Config) -> KitSettings:
    """The settings of this kit run."""
    try:
        return pytestconfig.stash[SETTINGS_KEY]
    except KeyError:
        pytest.skip("the conformance kit runs through `scenemon conformance` (no settings given)")


@pytest.fixture(scope="session")
def http(config: KitSettings) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=config.timeout_s) as client:
        yield client


@pytest.fixture(scope="session")
def bureau(config: KitSettings, http: httpx.Client) -> Client:
    """The bureau account; checked once with a ping (8000)."""
    client = make_client(config, config.bureau_sender, config.bureau_secret, None, "1", http)
    _setup("the bureau account's ping", client.admin.ping)
    return client


@pytest.fixture(scope="session")
def world(config: KitSettings, http: httpx.Client, bureau: Client) -> World:
    return build_world(config, http, bureau)


class Faces:
    """Synthetic face captures: `capture(key)` is a fresh noisy capture of identity `key`."""

    def __init__(self, seed: int) -> None:
        self.model = SyntheticFaces()
        self.rng = np.random.default_rng(seed)

    def capture(self, key: str, *, live: bool = True, quality: float = 0.9, blob: bool = False) -> dict[str, Any]:
        """A capture of `key`'s face: the embedding as a JSON list, or with ``blob`` as
        `embedding_b64` (base64 of little-endian float32)."""
        vector = self.model.capture(key, self.rng)
        if blob:
            encoded = {"embedding_b64": base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()}
        else:
            encoded = {"embedding": [float(x) for x in vector]}
        return {
            **encoded,
            "embedding_model": self.model.model_id,
            "quality": quality,
            "liveness": {"passed": live, "score": 0.98 if live else 0.05, "method": "rgb"},
        }


@pytest.fixture
def faces(request: pytest.FixtureRequest) -> Faces:
    return Faces(seed=sum(request.node.nodeid.encode()))
