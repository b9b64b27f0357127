"""What the per-rule tests share: institutions of a chosen type and level with a certified
terminal and their scenes enabled (8014), persons registered and enrolled there, face checks,
settlements through 8711 and 8712, releases published through 8703 and 8704, post-event runs
(8801) and the leads that rules raise — all through the signed interface.

`fires(rule_id, *stages)` and `quiet(rule_id)` mark a test as proving that a rule fires at the
given stages or stays quiet on a near miss; test_rule_coverage.py requires both for every rule
file in interface_spec/rules/rules/.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from device_mocks.client import Client
from device_mocks.world import World
from reference.idcard import make_certno
from tests.reference.scenes.inpatient_support import Ward, capture

SCENES = ("pharmacy", "hemodialysis", "inpatient")
SCENES_SINCE = "2026-03-01"
ITEMS = {"pharmacy": ("XA01AA01", "阿莫西林胶囊"), "hemodialysis": ("311000010", "血液透析"),
         "inpatient": ("F0001", "护理费")}
_seq = itertools.count(1)


def fires(rule_id: str, *stages: str) -> pytest.MarkDecorator:
    """The test proves `rule_id` fires at each of `stages` (with the exact rule id and outcome)."""
    return pytest.mark.rule(rule_id, fires=True, stages=stages)


def quiet(rule_id: str) -> pytest.MarkDecorator:
    """The test proves `rule_id` stays quiet on a near miss of its condition."""
    return pytest.mark.rule(rule_id, fires=False)


def near_miss(rule_id: str, expected: dict[str, str], fire_value, quiet_value, *,
              ids: tuple[str, str] = ("fires", "near-miss"), before: tuple = ()) -> list:
    """Two test parameters (*before, value, expected outcomes): `fire_value` makes `rule_id` hit
    with `expected` (stage → outcome), `quiet_value` is the near miss where it must not hit ({})."""
    return [pytest.param(*before, fire_value, expected, marks=fires(rule_id, *expected), id=ids[0]),
            pytest.param(*before, quiet_value, {}, marks=quiet(rule_id), id=ids[1])]


def only(rule_id: str, expected: dict[str, str], observed: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Every hit of a scenario that observed the stages `observed`, when `rule_id` alone may hit."""
    return {stage: {rule_id: expected[stage]} if stage in expected else {} for stage in observed}


SETTLEMENT = ("pre_event", "in_event")
POST = ("post_event",)


@dataclass
class Site:
    """An institution with one certified terminal."""

    code: str
    inst: Client
    term: Client


@dataclass
class Seen:
    """What the rules said in one scenario: stage → {rule id: outcome}, the in-event result of
    the last settlement, the subjects of new leads by rule, and the subject the scenario is about."""

    hits: dict[str, dict[str, str]] = field(default_factory=dict)
    result: str | None = None
    subjects: dict[str, list[str]] = field(default_factory=dict)
    subject: str | None = None  # the subject a finding of the scenario's rule names
    leads: list[dict] = field(default_factory=list)  # the new leads (8811), oldest first

    def about(self, subject: str) -> Seen:
        self.subject = subject
        return self

    def of(self, rule_id: str) -> dict[str, str]:
        """Stage → outcome of `rule_id` ({} when it never hit)."""
        return {stage: out[rule_id] for stage, out in self.hits.items() if rule_id in out}


class RuleEnv:
    """The world's first institution as a hospital (`env.hospital`), plus sites made on demand."""

    def __init__(self, world: World, admin: Client) -> None:
        self.world, self.admin, self.bureau = world, admin, world.bureau
        self.rng = np.random.default_rng(11)
        first = next(iter(world.institutions.values()))
        self.hospital = Site(first.code, first.client, world.terminal(first.code))
        self.enable_scenes(self.hospital.code)
        self._pharmacy: Site | None = None
        self._dialysis: Site | None = None
        self._ward: Ward | None = None

    # --- institutions and persons -------------------------------------------------------------
    def enable_scenes(self, code: str, scenes: tuple[str, ...] = SCENES) -> None:
        for scene in scenes:
            self.bureau.call("8014", {"fixmedins_code": code, "scene": scene, "enabled": True,
                                      "since": SCENES_SINCE})

    def add_site(self, inst_type: str, level: str, scenes: tuple[str, ...] = SCENES, *,
                 district: str | None = None) -> Site:
        """A new institution (in the world's district unless told) with a certified terminal."""
        n = next(_seq)
        district = district or self.world.district
        code = f"R{district}{n:04d}"
        out = self.bureau.call("8012", {"fixmedins_code": code, "fixmedins_name": f"规则测试机构{n}",
                                        "inst_type": inst_type, "level": level, "district_code": district})
        inst = self._account(code, out["secret"], fixmedins_code=code)
        term_id = f"T{code}"
        t = inst.call("8101", {"terminal_id": term_id, "model": "SM-FaceStation-3", "serial_no": f"SN{code}",
                               "cert_class": "III", "certification_id": f"NHSA-TERM-{code}",
                               "location": "一楼大厅"})
        self.bureau.call("8102", {"terminal_id": term_id, "approve": True, "reason": "class III certificate checked"})
        term = self._account(term_id, t["secret"], fixmedins_code=code, opter=term_id, opter_type="2")
        self.enable_scenes(code, scenes)
        return Site(code, inst, term)

    def other_district(self) -> str:
        """A second district of the city."""
        code = "410199" if self.world.district != "410199" else "410198"
        self.bureau.call("8011", {"code": code, "name": f"规则测试区{code}"})
        return code

    def user(self, role: str, district: str | None = None) -> Client:
        """A bureau-side account (8015), district-scoped when `district` is given."""
        uid = f"rt-{role.replace('_', '-')}-{next(_seq)}"
        inp = {"id": uid, "role": role, "display_name": uid} | ({"district_code": district} if district else {})
        return self._account(uid, self.admin.call("8015", inp)["secret"])

    def _account(self, sender: str, secret: str, **kw) -> Client:
        """Another account reached the way the bureau's is."""
        for_account = getattr(self.bureau, "for_account", None)  # the typed transports (device_mocks)
        if for_account is not None:
            return for_account(sender, secret, **kw)
        return Client(self.world.base_url, sender=sender, secret=secret, http=self.world.http, **kw)

    @property
    def pharmacy(self) -> Site:
        if self._pharmacy is None:
            self._pharmacy = self.add_site("retail_pharmacy", "ungraded")
        return self._pharmacy

    @property
    def dialysis(self) -> Site:
        """A dialysis centre at a grade-2A hospital."""
        if self._dialysis is None:
            self._dialysis = self.add_site("secondary_hospital", "2A")
        return self._dialysis

    @property
    def ward(self) -> Ward:
        """The inpatient helper on the hospital (tests/reference/scenes/inpatient_support.py)."""
        if self._ward is None:
            self._ward = Ward(self.admin, self.hospital.inst, self.hospital.term, self.hospital.code, {})
        return self._ward

    def person(self, site: Site, *, flags: tuple[str, ...] = (), enrol: bool = True) -> str:
        """A person registered by `site` (so it may see them), flagged by the bureau, enrolled
        by the site's terminal."""
        n = next(_seq)
        psn_no = f"RP{n:05d}"
        certno = make_certno("410102", date(1950, 1, 1) + timedelta(days=n * 53), n % 1000)
        site.inst.call("8001", {"psn_no": psn_no, "certno": certno, "psn_name": f"规则{n}",
                                "insuplc_admdvs": "410100"})
        if flags:
            self.bureau.call("8003", {"psn_no": psn_no, "add": list(flags)})
        if enrol:
            site.term.call("8121", {"psn_no": psn_no, "capture": capture(psn_no, self.rng)})
        return psn_no

    def verify(self, site: Site, psn_no: str, scene: str, *, genuine: bool = True) -> dict:
        who = psn_no if genuine else f"impostor-{psn_no}"
        out = site.term.call("8122", {"psn_no": psn_no, "scene": scene, "capture": capture(who, self.rng)})
        assert out["passed"] is genuine, out
        return out

    # --- business clock ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromisoformat(self.admin.call("8000", {})["business_time"])

    def set_clock(self, at: str | datetime) -> None:
        self.admin.call("8901", {"set_to": at if isinstance(at, str) else at.isoformat()})

    def advance(self, delta: timedelta) -> None:
        self.admin.call("8901", {"advance_seconds": int(delta.total_seconds())})

    # --- settlements --------------------------------------------------------------------------------
    def settlement(self, psn_no: str, amount: float, *, scene: str, method: str = "ssc",
                   at: datetime | None = None, item: tuple[str, str] | None = None,
                   verification_id: int | None = None) -> dict:
        code, name = item or ITEMS[scene]
        when = (at or self.now()).replace(tzinfo=None).isoformat(timespec="seconds")
        s = {"setl_id": f"RS{next(_seq):06d}", "psn_no": psn_no, "scene": scene, "setl_time": when,
             "method": method, "total_amount": amount,
             "items": [{"item_code": code, "item_name": name, "qty": 1, "amount": amount}]}
        if verification_id is not None:
            s["verification_id"] = verification_id
        return s

    def settle(self, site: Site, psn_no: str, amount: float, *, scene: str,
               stages: tuple[str, ...] = ("pre_event", "in_event"), **kw) -> Seen:
        """Pre-event check (8711) and in-event review (8712) of one settlement."""
        s = self.settlement(psn_no, amount, scene=scene, **kw)
        seen = Seen()
        if "pre_event" in stages:
            out = site.inst.call("8711", s)
            seen.hits["pre_event"] = {r["rule_id"]: r["outcome"] for r in out["reminders"]}
        if "in_event" in stages:
            out = site.inst.call("8712", s)
            seen.hits["in_event"] = {d["rule_id"]: d["outcome"] for d in out["decisions"]}
            seen.result = out["result"]
        return seen

    # --- releases, post-event analysis, leads ---------------------------------------------------------
    def publish(self, changes: list[dict]) -> str:
        """A release over the one in force with `changes`, in force from today."""
        base = self.bureau.call("8702", {})["in_force"]
        version = f"t{next(_seq)}"
        self.bureau.call("8703", {"base_version": base, "version": version,
                                  "effective_from": self.now().date().isoformat(), "changes": changes})
        self.bureau.call("8704", {"version": version})
        assert self.bureau.call("8702", {})["in_force"] == version
        return version

    def params(self, rule_id: str, site: Site | None = None, *, by_bureau: bool = False) -> dict:
        """The rule's parameters in the catalogue (8701) as the site sees them, or as the bureau
        sees them for the site; the defaults when no site is given."""
        client = self.bureau if by_bureau or site is None else site.inst
        inp = {"fixmedins_code": site.code} if by_bureau and site else {}
        rules = {r["id"]: r for r in client.call("8701", inp)["rules"]}
        return rules[rule_id]["params"]

    def last_lead(self) -> int:
        return max((x["lead_id"] for x in self.bureau.call("8811", {"limit": 1000})["leads"]), default=0)

    def leads_since(self, mark: int) -> Seen:
        """The leads created after lead `mark`, as post-event hits: each lead's decision is
        replayed (8722), which must reproduce it, and gives the recorded outcome."""
        seen = Seen(hits={"post_event": {}})
        new = sorted((x for x in self.bureau.call("8811", {"limit": 1000})["leads"] if x["lead_id"] > mark),
                     key=lambda x: x["lead_id"])
        for lead in new:
            decision_id = next(e["id"] for e in lead["evidence"] if e["kind"] == "decision")
            explained = self.bureau.call("8722", {"decision_id": decision_id})
            assert explained["matches"] and explained["rule_id"] == lead["rule_id"], explained
            seen.hits["post_event"][lead["rule_id"]] = explained["recorded_outcome"]
            seen.subjects.setdefault(lead["rule_id"], []).append(lead["subject_id"])
            seen.leads.append(lead)
        return seen

    def post_event(self, start: str, end: str) -> Seen:
        mark = self.last_lead()
        self.bureau.call("8801", {"start": start, "end": end})
        return self.leads_since(mark)

    def close_day(self, day: str) -> Seen:
        """Move the clock just past `day` (unless it is later already) and run its day end."""
        after = datetime.fromisoformat(day) + timedelta(days=1, seconds=1)
        if self.now().replace(tzinfo=None) < after:
            self.set_clock(after)
        return self.day_end(day)

    def day_end(self, day: str) -> Seen:
        mark = self.last_lead()
        res = self.ward.day_end(day)
        assert res.ok, res.envelope
        return self.leads_since(mark)
