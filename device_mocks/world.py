"""A small synthetic world set up through the interface: a district, institutions with their
monitored scenes enabled, terminals and insured persons, each with its own signed transport.
Used by the demo, the tests and the simulator.

Everything goes over the interface with the bureau's account, through the typed drivers, so the
same code sets up a world on the reference server or on a vendor's implementation — over HTTP
(`bootstrap_world`) or in process (`build_world(InProcess.of_app(app, ...))`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import httpx

from device_mocks.client import Client
from device_mocks.results import TxError
from device_mocks.transport import Transport
from reference.idcard import make_certno

#: The scenes a world's institutions monitor (8014), from the world's first business day.
SCENES: tuple[str, ...] = ("inpatient", "pharmacy", "hemodialysis", "rehab")


@dataclass
class Institution:
    code: str
    name: str
    client: Transport
    terminals: dict[str, Transport] = field(default_factory=dict)


@dataclass
class World:
    base_url: str | None
    bureau: Transport
    district: str
    institutions: dict[str, Institution]
    persons: list[str]
    http: httpx.Client | None = None
    owns_http: bool = False

    def close(self) -> None:
        if self.owns_http and self.http is not None:
            self.http.close()

    def terminal(self, inst: str | None = None) -> Transport:
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
    scenes: Sequence[str] = SCENES,
    log: Callable[[str], None] = lambda msg: None,
) -> World:
    """`build_world` over HTTP at `base_url` with the bureau account `bureau_sender`."""
    owns_http = http is None
    http = http or httpx.Client(timeout=30.0)
    bureau = Client(base_url, sender=bureau_sender, secret=bureau_secret, opter="bureau01", opter_name="监管员",
                    http=http)
    world = build_world(bureau, n_institutions=n_institutions, n_persons=n_persons, district=district, tag=tag,
                        scenes=scenes, log=log)
    world.http, world.owns_http = http, owns_http
    return world


def build_world(
    bureau: Transport,
    *,
    n_institutions: int = 2,
    n_persons: int = 3,
    district: str | None = None,
    tag: str | None = None,
    scenes: Sequence[str] = SCENES,
    log: Callable[[str], None] = lambda msg: None,
) -> World:
    """Create a district with `n_institutions` hospitals, each monitoring `scenes` from today's
    business date and with one certified terminal, and `n_persons` insured persons. Every
    account reaches the server the way `bureau` does. `tag` makes codes unique so reruns do not
    collide."""
    tag = tag or secrets.token_hex(3).upper()
    district = district or "4101" + f"{int(tag, 16) % 90 + 10:02d}"
    today = bureau.admin.ping().business_time[:10]
    try:
        bureau.registry.district_add(code=district, name=f"测试区{tag}")
    except TxError as exc:
        if exc.infcode != 3002:  # 3002: the district exists already (a rerun): fine
            raise RuntimeError(f"could not create district {district}: {exc.err_msg}") from None
    log(f"district {district} ready")
    institutions: dict[str, Institution] = {}
    for i in range(n_institutions):
        code = f"H{district}{tag}{i:02d}"
        name = f"测试医院{tag}-{i}"
        out = bureau.registry.institution_add(fixmedins_code=code, fixmedins_name=name,
                                              inst_type="secondary_hospital", level="2A", district_code=district)
        his = bureau.for_account(code, _secret(out.secret, "8012"), fixmedins_code=code, opter="his01",
                                 opter_name="住院处")
        log(f"institution {code} ({name}) registered; it received its signing secret")
        enable_scenes(bureau, code, scenes, since=today)
        log(f"scenes {', '.join(scenes)} enabled for {code} from {today}")
        term_id = f"T{code}01"
        t = his.devices.terminal_register(terminal_id=term_id, model="SM-FaceStation-3", serial_no=f"SN{tag}{i:02d}",
                                          cert_class="III", certification_id=f"NHSA-TERM-{tag}-{i:02d}",
                                          location="住院部一楼")
        bureau.devices.terminal_certify(terminal_id=term_id, approve=True,
                                        reason="class III, NHSA terminal spec V2.1 certificate checked")
        log(f"terminal {term_id} registered by the institution and certified by the bureau")
        term = bureau.for_account(term_id, _secret(t.secret, "8101"), fixmedins_code=code, opter=term_id,
                                  opter_name="自助终端", opter_type="2")
        institutions[code] = Institution(code, name, his, {term_id: term})
    persons = []
    first = next(iter(institutions.values()))
    for k in range(n_persons):
        psn_no = f"P{tag}{k:04d}"
        certno = make_certno(district, date(1950 + k % 50, 1 + k % 12, 1 + k % 28), (int(tag, 16) + k) % 1000)
        first.client.registry.person_add(psn_no=psn_no, certno=certno, psn_name=f"参保人{k}",
                                         insuplc_admdvs=district[:4] + "00")
        persons.append(psn_no)
    log(f"{n_persons} insured persons registered")
    return World(getattr(bureau, "base_url", None), bureau, district, institutions, persons)


def enable_scenes(bureau: Transport, fixmedins_code: str, scenes: Sequence[str], *, since: str) -> None:
    """Enable each of `scenes` for the institution from the date `since` (8014)."""
    for scene in scenes:
        bureau.registry.institution_scene(fixmedins_code=fixmedins_code, scene=scene, enabled=True, since=since)


def _secret(secret: str | None, infno: str) -> str:
    if not secret:
        raise RuntimeError(f"{infno} did not return the new account's signing secret")
    return secret
