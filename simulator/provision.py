"""Put a generated region on a server, through the typed drivers only.

`provision(region, bureau, scenes_since=...)` creates, with the city bureau's account:

- the districts (8011; one that exists already is fine),
- a city-wide audit-centre account and a district-bureau account per district (8015),
- every institution (8012), each with its HIS account from the secret 8012 returns once,
- the monitored scenes from their go-live dates (8014 `since`, which may lie in the future: the
  server monitors the scene from that day on; an institution not named for a scene gets no call),
- the terminals the world gives (8101 by the institution's HIS, certified by the bureau with 8102),
  each with its own account.

Persons are registered lazily (`register_person`), when a person first meets an institution: the
treating institution's HIS registers them (8001), which links them to it; their flags
(major_disease, kidney_transplant, out_of_area) are then set by the city bureau (8003), since the
server lets only bureaus set flags. A later first meeting with another institution reads the ID
card there (8002 with certno and name), which links the person to that institution as well.

Everything goes through `device_mocks.transport.Transport`, so the same code provisions an
in-process gateway or a server over HTTP. Provisioning expects a server that does not hold the
region's institutions yet (their secrets are shown only once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from device_mocks.results import TxError
from device_mocks.transport import Transport
from simulator.world import Region

EXISTS = 3002  # infcode: the object exists already


class ProvisionError(RuntimeError):
    pass


@dataclass
class Accounts:
    bureau: Transport  # the city bureau account given
    audit: Transport  # a city-wide audit_centre account (8015)
    districts: dict[str, Transport]  # district code → its district_bureau account
    his: dict[str, Transport]  # institution code → its HIS account (8012 secret)
    terminals: dict[str, Transport]  # terminal id → its account (8101 secret, certified by 8102)
    registered: set[str] = field(default_factory=set)  # psn_no registered on the server so far
    #: (psn_no, institution code) pairs the server has linked (registration or an ID-card read)
    linked: set[tuple[str, str]] = field(default_factory=set)
    #: institution code → [(dept_code, terminal id)] in the world's order
    terminal_ids: dict[str, list[tuple[str | None, str]]] = field(default_factory=dict)

    def terminal_for(self, inst_code: str, dept_code: str | None = None) -> Transport:
        """The terminal of the department, else the institution's first (KeyError if it has none)."""
        ids = self.terminal_ids.get(inst_code) or []
        if not ids:
            raise KeyError(f"institution {inst_code} has no terminal")
        for dept, tid in ids:
            if dept == dept_code and dept_code is not None:
                return self.terminals[tid]
        return self.terminals[ids[0][1]]


def _secret(secret: str | None, what: str) -> str:
    if not secret:
        raise ProvisionError(f"{what}: the server did not return the new account's signing secret")
    return secret


def provision(region: Region, bureau: Transport, *, scenes_since: Mapping[tuple[str, str], date],
              progress: Callable[[int, int], None] | None = None) -> Accounts:
    """Create the region's districts, accounts, institutions, scenes and terminals on the server
    `bureau` (a city_bureau account) reaches; `progress(done, total)` after each institution."""
    unknown = sorted({code for code, _ in scenes_since} - set(region.institutions_by_code))
    if unknown:
        raise ValueError(f"scenes_since names institutions not in the region: {', '.join(unknown[:5])}")
    for d in region.districts:
        try:
            bureau.registry.district_add(code=d.code, name=d.name)
        except TxError as exc:
            if exc.infcode != EXISTS:
                raise ProvisionError(f"district {d.code}: {exc.err_msg}") from None
    region_code = region.spec.region_code
    audit_id = f"audit-{region_code}"
    try:
        out = bureau.registry.user_add(id=audit_id, role="audit_centre",
                                       display_name=f"{region.spec.region_name}医保稽核中心")
    except TxError as exc:
        raise ProvisionError(f"audit account {audit_id}: {exc.err_msg} (provision needs a fresh server)") from None
    audit = bureau.for_account(audit_id, _secret(out.secret, "8015"), opter="audit01", opter_name="稽核员")
    districts: dict[str, Transport] = {}
    for d in region.districts:
        uid = f"bureau-{d.code}"
        out = bureau.registry.user_add(id=uid, role="district_bureau", display_name=f"{d.name}医保局",
                                       district_code=d.code)
        districts[d.code] = bureau.for_account(uid, _secret(out.secret, "8015"), opter="district01",
                                               opter_name="区县监管员")
    accounts = Accounts(bureau=bureau, audit=audit, districts=districts, his={}, terminals={})
    scenes: dict[str, list[tuple[str, date]]] = {}
    for (code, scene), since in sorted(scenes_since.items()):
        scenes.setdefault(code, []).append((scene, since))
    total = len(region.institutions)
    for k, inst in enumerate(region.institutions, 1):
        try:
            out = bureau.registry.institution_add(
                fixmedins_code=inst.code, fixmedins_name=inst.name, inst_type=inst.inst_type, level=inst.level,
                district_code=inst.district_code, speciality=inst.speciality)
        except TxError as exc:
            raise ProvisionError(f"institution {inst.code}: {exc.err_msg} (provision needs a fresh server)") from None
        his = bureau.for_account(inst.code, _secret(out.secret, f"8012 {inst.code}"), fixmedins_code=inst.code,
                                 opter="his01", opter_name="医保办")
        accounts.his[inst.code] = his
        for scene, since in scenes.get(inst.code, ()):
            bureau.registry.institution_scene(fixmedins_code=inst.code, scene=scene, enabled=True,
                                              since=since.isoformat())
        ids: list[tuple[str | None, str]] = []
        for t in inst.terminals:
            reg = his.devices.terminal_register(terminal_id=t.terminal_id, model=t.model, serial_no=t.serial_no,
                                                cert_class=t.cert_class, certification_id=t.certification_id,
                                                location=t.location)
            bureau.devices.terminal_certify(terminal_id=t.terminal_id, approve=True,
                                            reason="class III, NHSA terminal spec V2.1 certificate checked")
            accounts.terminals[t.terminal_id] = bureau.for_account(
                t.terminal_id, _secret(reg.secret, f"8101 {t.terminal_id}"), fixmedins_code=inst.code,
                opter=t.terminal_id, opter_name="自助终端", opter_type="2")
            ids.append((t.dept_code, t.terminal_id))
        accounts.terminal_ids[inst.code] = ids
        if progress is not None:
            progress(k, total)
    return accounts


def register_person(accounts: Accounts, region: Region, psn_no: str, *, by_institution: str) -> None:
    """Make `psn_no` known to the server and to `by_institution` (idempotent).

    The first time: the institution's HIS registers the person (8001; a 3002 "exists" answer
    counts as registered) and the bureau sets their flags (8003). A person registered already but
    new to this institution: the HIS reads their ID card (8002 certno + name), which links them."""
    if (psn_no, by_institution) in accounts.linked:
        return
    p = region.person(psn_no)
    his = accounts.his[by_institution]
    if psn_no not in accounts.registered:
        try:
            his.registry.person_add(psn_no=p.psn_no, certno=p.certno, psn_name=p.name,
                                    insuplc_admdvs=p.insuplc_admdvs)
            created = True
        except TxError as exc:
            if exc.infcode != EXISTS:
                raise ProvisionError(f"person {psn_no}: {exc.err_msg}") from None
            created = False
        if p.flags:
            accounts.bureau.registry.person_flags(psn_no=p.psn_no, add=list(p.flags))
        accounts.registered.add(psn_no)
        if created:
            accounts.linked.add((psn_no, by_institution))
            return
    his.registry.person_get(certno=p.certno, psn_name=p.name)
    accounts.linked.add((psn_no, by_institution))
