"""A small synthetic world set up through the interface: a district, institutions, terminals and
insured persons, each with a signed client. Used by the demo, the tests and the simulator.

Everything goes over the interface with the bureau's account, so the same code sets up a world
on the reference server or on a vendor's implementation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date

import httpx

from device_mocks.client import Client
from reference.idcard import make_certno


@dataclass
class Institution:
    code: str
    name: str
    client: Client
    terminals: dict[str, Client] = field(default_factory=dict)


@dataclass
class World:
    base_url: str
    bureau: Client
    district: str
    institutions: dict[str, Institution]
    persons: list[str]
    http: httpx.Client | None = None
    owns_http: bool = False

    def close(self) -> None:
        if self.owns_http and self.http is not None:
            self.http.close()

    def terminal(self, inst: str | None = None) -> Client:
        i = self.institutions[inst] if inst else next(iter(self.institutions.values()))
        return next(iter(i.terminals.values()))


def bootstrap_world(
    base_url: str,
    bureau_sender: str,
    bureau_secret: str,
    *,
    http: httpx.Client | None = None,
    n_institutions: int = 2,
    n_persons: int = 3,
    district: str | None = None,
    tag: str | None = None,
    log=lambda msg: None,
) -> World:
    """Create a district with `n_institutions` hospitals, one certified terminal each, and
    `n_persons` insured persons. `tag` makes codes unique so reruns do not collide."""
    tag = tag or secrets.token_hex(3).upper()
    owns_http = http is None
    http = http or httpx.Client(timeout=30.0)
    kw = {"http": http}
    bureau = Client(base_url, sender=bureau_sender, secret=bureau_secret, opter="bureau01",
                    opter_name="监管员", **kw)
    district = district or "4101" + f"{int(tag, 16) % 90 + 10:02d}"
    r = bureau.send("1201", {"code": district, "name": f"测试区{tag}"})
    if not r.ok and r.infcode != 3002:  # 3002: the district exists already (a rerun): fine
        raise RuntimeError(f"could not create district {district}: {r.envelope['err_msg']}")
    log(f"district {district} ready")
    institutions: dict[str, Institution] = {}
    for i in range(n_institutions):
        code = f"H{district}{tag}{i:02d}"
        name = f"测试医院{tag}-{i}"
        out = bureau.call("1202", {"fixmedins_code": code, "fixmedins_name": name,
                                   "inst_type": "secondary_hospital", "level": "2A",
                                   "district_code": district})
        inst_client = Client(base_url, sender=code, secret=out["secret"], fixmedins_code=code,
                             opter="his01", opter_name="住院处", **kw)
        log(f"institution {code} ({name}) registered; it received its signing secret")
        term_id = f"T{code}01"
        t = inst_client.call("1301", {"terminal_id": term_id, "model": "SM-FaceStation-3",
                                      "serial_no": f"SN{tag}{i:02d}", "cert_class": "III",
                                      "certification_id": f"NHSA-TERM-{tag}-{i:02d}",
                                      "location": "住院部一楼"})
        bureau.call("1302", {"terminal_id": term_id, "approve": True,
                             "reason": "class III, NHSA terminal spec V2.1 certificate checked"})
        log(f"terminal {term_id} registered by the institution and certified by the bureau")
        term_client = Client(base_url, sender=term_id, secret=t["secret"], fixmedins_code=code,
                             opter=term_id, opter_name="自助终端", opter_type="2", **kw)
        institutions[code] = Institution(code, name, inst_client, {term_id: term_client})
    persons = []
    first = next(iter(institutions.values()))
    for k in range(n_persons):
        psn_no = f"P{tag}{k:04d}"
        certno = make_certno(district, date(1950 + k % 50, 1 + k % 12, 1 + k % 28), (int(tag, 16) + k) % 1000)
        first.client.call("1101", {"psn_no": psn_no, "certno": certno, "psn_name": f"参保人{k}",
                                   "insuplc_admdvs": district[:4] + "00"})
        persons.append(psn_no)
    log(f"{n_persons} insured persons registered")
    return World(base_url, bureau, district, institutions, persons, http, owns_http)
