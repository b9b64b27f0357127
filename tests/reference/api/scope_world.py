"""A world for the scope matrix: two districts, three institutions and one object of every kind
per institution, every account kind, all through the signed interface.

District D1 (410102) holds institutions A and A2, district D2 (410105) holds B. For each
institution X the world holds, under `targets[X]`, one object of each kind a transaction can
name — persons, visits in hospital and discharged, a remote-check task, attachments, special
registrations (submitted and rejected), refused settlements, an appeal, a decision, a lead, a
fault ticket, terminals, a verification — so that a transaction can be sent with targets of an
institution inside or outside the sender's scope. `targets[ABSENT]` names objects that do not
exist; a target outside the scope must be answered exactly as those are.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from device_mocks.client import Client
from reference.face.synthetic import SyntheticFaces
from reference.idcard import make_certno

ABSENT = "ABSENT"
DISTRICTS = {"D1": "410102", "D2": "410105"}
INSTITUTIONS = {"A": "D1", "A2": "D1", "B": "D2"}
SINCE = "2026-01-01"
FACES = SyntheticFaces()
PDF = b"%PDF-1.4\n% scope matrix attachment "
_n = itertools.count(1)


def capture(key: str, rng: np.random.Generator) -> dict[str, Any]:
    return {"embedding": FACES.capture(key, rng).tolist(), "embedding_model": FACES.model_id,
            "quality": 0.9, "liveness": {"passed": True}}


@dataclass
class Actor:
    name: str
    role: str
    client: Client
    institutions: frozenset[str]  # the world's institution keys (A, A2, B) in its scope


@dataclass
class ScopeWorld:
    admin: Client
    actors: dict[str, Actor]
    targets: dict[str, dict[str, Any]]
    codes: dict[str, str]  # institution key → code
    free_persons: list[str] = field(default_factory=list)
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(11))

    def free_person(self) -> str:
        """A person linked to no institution (registered by the city bureau, insured in D2)."""
        n = next(_n)
        psn = f"PFREE{n:05d}"
        self.admin.call("8001", {"psn_no": psn, "certno": make_certno("410105", date(1970, 1, 1) + timedelta(days=n),
                                                                      n % 1000),
                                 "psn_name": f"自由{n}", "insuplc_admdvs": "410105"})
        return psn


def _certno(n: int, district: str) -> str:
    return make_certno(district, date(1955, 1, 1) + timedelta(days=97 * n), n % 1000)


def build(http, admin: Client, base: str) -> ScopeWorld:
    rng = np.random.default_rng(3)
    for key, code in DISTRICTS.items():
        admin.call("8011", {"code": code, "name": f"区{key}"})
    insts: dict[str, Client] = {}
    terms: dict[str, Client] = {}
    codes: dict[str, str] = {}
    targets: dict[str, dict[str, Any]] = {}
    for key, dkey in INSTITUTIONS.items():
        code = f"H{DISTRICTS[dkey]}{key}X"
        codes[key] = code
        out = admin.call("8012", {"fixmedins_code": code, "fixmedins_name": f"医院{key}",
                                  "inst_type": "secondary_hospital", "level": "2A",
                                  "district_code": DISTRICTS[dkey]})
        inst = insts[key] = Client(base, sender=code, secret=out["secret"], fixmedins_code=code, http=http)
        for scene in ("inpatient", "pharmacy", "hemodialysis", "rehab"):
            admin.call("8014", {"fixmedins_code": code, "scene": scene, "enabled": True, "since": SINCE})
        tid = f"T{code}1"
        t = inst.call("8101", {"terminal_id": tid, "model": "SM-3", "serial_no": f"S{code}1", "cert_class": "III",
                               "certification_id": f"C{code}1"})
        admin.call("8102", {"terminal_id": tid, "approve": True})
        terms[key] = Client(base, sender=tid, secret=t["secret"], fixmedins_code=code, http=http, opter_type="2")
        pending = f"T{code}2"
        inst.call("8101", {"terminal_id": pending, "model": "SM-3", "serial_no": f"S{code}2", "cert_class": "III",
                           "certification_id": f"C{code}2"})
        d = DISTRICTS[dkey]
        persons = {}
        for role_key in ("p", "p2", "q", "e"):
            n = next(_n)
            psn = f"P{key}{role_key.upper()}{n:03d}"
            certno = _certno(n, d)
            inst.call("8001", {"psn_no": psn, "certno": certno, "psn_name": f"住{key}{role_key}", "insuplc_admdvs": d})
            persons[role_key] = (psn, certno, f"住{key}{role_key}")
        targets[key] = {"institution": code, "district": d, "terminal": tid, "terminal_new": pending,
                        "person": persons["p"][0], "certno": persons["p"][1], "name": persons["p"][2],
                        "person2": persons["p2"][0], "person_d": persons["q"][0], "person_e": persons["e"][0],
                        "certno_e": persons["e"][1]}
    # Day 1: admissions with capture.
    for key in INSTITUTIONS:
        tg, inst, term = targets[key], insts[key], terms[key]
        for vkey, pkey in (("visit", "person"), ("visit2", "person2"), ("visit_d", "person_d")):
            mdtrt = f"M{key}{vkey.upper()}"
            psn = tg[pkey]
            inst.call("8201", {"mdtrt_id": mdtrt, "psn_no": psn, "adm_time": "2026-03-02T08:00:00", "dept_code": "NK",
                               "dept_name": "内科", "ward": "W1", "bed_no": f"B{next(_n)}", "dept_equipped": True,
                               "consent": {"face_recognition": True, "video_monitoring": True,
                                           "signed_at": "2026-03-02T08:00:00"}})
            certno = admin.call("8002", {"psn_no": psn})["certno"]
            term.call("8202", {"mdtrt_id": mdtrt, "certno": certno, "capture": capture(psn, rng)})
            tg[vkey] = mdtrt
        # A visit whose identity and face capture (8202) is still due.
        inst.call("8201", {"mdtrt_id": f"M{key}VISITE", "psn_no": tg["person_e"], "adm_time": "2026-03-02T08:00:00",
                           "dept_code": "NK", "dept_name": "内科", "bed_no": f"B{next(_n)}", "dept_equipped": False,
                           "consent": {"face_recognition": True, "video_monitoring": True,
                                       "signed_at": "2026-03-02T08:00:00"}})
        tg["visit_e"] = f"M{key}VISITE"
    # Day 3: close day 2 (leads), then the objects of day 3.
    admin.call("8901", {"set_to": "2026-03-04T09:00:00"})
    admin.call("8209", {"day": "2026-03-03"})
    for key in INSTITUTIONS:
        tg, inst, term = targets[key], insts[key], terms[key]
        code = tg["institution"]
        inst.call("8203", {"mdtrt_id": tg["visit_d"], "dscg_time": "2026-03-04T08:30:00"})

        def attach(kind: str, inst: Client = inst, code: str = code) -> int:
            content = base64.b64encode(PDF + f"{code} {kind} {next(_n)}".encode()).decode()
            return inst.call("8601", {"att_type": kind, "filename": f"{kind}.pdf", "media_type": "application/pdf",
                                      "content_b64": content})["attachment_id"]

        tg["att"], tg["att2"], tg["att3"] = attach("treatment_record"), attach("evidence"), attach("treatment_record")
        tg["reg"] = inst.call("8602", {"subject": {"patient_day": {"mdtrt_id": tg["visit"], "day": "2026-03-04"}},
                                       "reason": "under_treatment",
                                       "explanation": "在放射科检查", "attachment_ids": [tg["att"]]})["reg_id"]
        task = admin.call("8211", {"fixmedins_code": code, "selection": "patients", "mdtrt_ids": [tg["visit2"]],
                                   "deadline": "2026-03-04T12:00:00"})
        tg["task"] = task["task_id"]
        item = {"mdtrt_id": tg["visit2"], "task_id": tg["task"]}
        tg["reg_r"] = inst.call("8602", {"subject": {"bed_check_item": item},
                                         "reason": "under_treatment",
                                         "explanation": "正在做检查治疗", "attachment_ids": [tg["att3"]]})["reg_id"]
        admin.call("8604", {"reg_id": tg["reg_r"], "approve": False, "note": "材料不足"})
        tg["verification"] = term.call("8122", {"psn_no": tg["person"], "scene": "pharmacy",
                                                "capture": capture(tg["person"], rng)})["verification_id"]
        for skey in ("setl", "setl2"):
            setl_id = f"S{key}{skey.upper()}"
            out = inst.call("8712", {"setl_id": setl_id, "psn_no": tg["person"], "scene": "pharmacy",
                                     "setl_time": "2026-03-04T08:00:00", "method": "ssc", "total_amount": 1500.0,
                                     "items": [{"item_code": "XA01", "item_name": "阿莫西林", "qty": 1,
                                                "amount": 1500.0}]})
            assert out["result"] == "refused", out
            tg[skey] = setl_id
            tg["decision"] = out["decisions"][0]["decision_id"]
        tg["appeal"] = inst.call("8713", {"setl_id": tg["setl"], "reason": "buyer was checked"})["appeal_id"]
        # A national pre-event violation (3101) to answer with 3103: a purchase over 1,000 yuan
        # by a person with no face check at the institution.
        analysis = inst.call("3101", {"data": {"patient_dtos": [{"patn_id": tg["person2"], "fsi_encounter_dtos": [
            {"mdtrt_id": f"MZ{key}", "med_mdtrt_type": "3", "fsi_order_dtos": [
                {"rx_id": "R1", "hilist_code": "XA01", "hilist_name": "阿莫西林", "cnt": 1, "sumamt": 1500.0}]}]}]}})
        tg["jr"] = analysis["result"][0]["jr_id"]
        tg["ticket"] = inst.call("8104", {"terminal_id": tg["terminal"], "device_kind": "camera",
                                          "description": "镜头模糊", "occurred_at": "2026-03-04T07:00:00"})["ticket_id"]
        leads = admin.call("8811", {"fixmedins_code": code})["leads"]
        assert leads, f"the day end found nothing for {code}"
        tg["lead"] = leads[0]["lead_id"]
        tg["capture"] = capture(tg["person"], rng)
        tg["capture_d"] = capture(tg["person_d"], rng)
        tg["capture_e"] = capture(tg["person_e"], rng)
        # A live sign-in (9001) of the institution's own account, for 9002.
        tg["sign_no"] = inst.call("9001", {"signIn": {"opter_no": "0001", "mac": "00-1A-2B-3C-4D-5E",
                                                      "ip": "10.0.0.1"}})["signinoutb"]["sign_no"]
    admin.call("8703", {"base_version": "2026.1", "version": "2026.9-scope", "effective_from": "2026-06-01",
                        "changes": [{"rule_id": "PH-FACE-OVER-AMOUNT", "params": {"amount_threshold_yuan": 900}}]})
    targets[ABSENT] = {
        "institution": "HABSENT01", "district": "410199", "terminal": "TABSENT01", "terminal_new": "TABSENT02",
        "person": "PABSENT01", "person2": "PABSENT02", "person_d": "PABSENT03", "person_e": "PABSENT04",
        "certno": make_certno("410102", date(1966, 6, 6), 998),
        "certno_e": make_certno("410102", date(1967, 7, 7), 997),
        "name": "无此人", "visit": "MABSENT01", "visit2": "MABSENT02", "visit_d": "MABSENT03", "att": 987654301,
        "att2": 987654302, "att3": 987654303, "reg": 987654304, "reg_r": 987654305, "task": 987654306,
        "verification": 987654307, "setl": "SABSENT01", "setl2": "SABSENT02", "decision": 987654308,
        "appeal": 987654309, "ticket": 987654310, "lead": 987654311, "jr": "JR0987654312",
        "visit_e": "MABSENT04", "capture": capture("nobody", rng), "capture_d": capture("nobody-d", rng),
        "capture_e": capture("nobody-e", rng), "sign_no": "410100202603040900009999999999"}
    # Accounts of every kind.
    actors: dict[str, Actor] = {"city": Actor("city", "city_bureau", admin, frozenset(INSTITUTIONS))}
    for name, role, district in (("district1", "district_bureau", "D1"), ("agency_city", "agency", None),
                                 ("agency1", "agency", "D1"), ("audit_city", "audit_centre", None),
                                 ("audit1", "audit_centre", "D1"), ("ops", "ops_vendor", None)):
        inp = {"id": f"u-{name}", "role": role, "display_name": name}
        if district:
            inp["district_code"] = DISTRICTS[district]
        secret = admin.call("8015", inp)["secret"]
        scope = frozenset(k for k, d in INSTITUTIONS.items() if district in (None, d))
        actors[name] = Actor(name, role, Client(base, sender=f"u-{name}", secret=secret, http=http), scope)
    for key in ("A", "A2"):
        actors[f"inst{key}"] = Actor(f"inst{key}", "institution", insts[key], frozenset({key}))
        actors[f"term{key}"] = Actor(f"term{key}", "terminal", terms[key], frozenset({key}))
    return ScopeWorld(admin, actors, targets, codes, rng=rng)
