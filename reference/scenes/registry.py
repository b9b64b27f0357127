"""Registry transactions: districts, institutions, bureau accounts, insured persons (GEN-1)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from reference.codes import InstitutionLevel, InstitutionType, PersonFlag, Role, Scene, Speciality
from reference.context import Ctx
from reference.envelope import Model
from reference.errors import Forbidden, InvalidField, NotFound
from reference.fields import (
    BizDate,
    CertNo,
    Coded,
    DistrictCode,
    InstitutionCode,
    PsnNo,
    SenderId,
    Text,
    exactly_one_of,
)
from reference.services import registry as svc
from reference.transactions import BUREAU_ROLES, transaction


class DistrictIn(Model):
    code: DistrictCode = Field(description="District division code (区县医保区划)", json_schema_extra={
        "x-server-checks": ["inside the server's region (setting region_code: its first four digits)"]})
    name: Text = Field(min_length=1, max_length=50)


class DistrictOut(Model):
    code: str
    name: str
    region_code: str


@transaction("8011", "registry-district-add", en="Add a district", zh="新增区县",
             roles={"city_bureau"}, tag="registry", reqs=("GEN-1",))
def add_district(ctx: Ctx, inp: DistrictIn) -> DistrictOut:
    region = ctx.settings.region_code
    svc.add_district(ctx.db, code=inp.code, name=inp.name, region_code=region, now=ctx.now_iso())
    return DistrictOut(code=inp.code, name=inp.name, region_code=region)


class InstitutionIn(Model):
    fixmedins_code: InstitutionCode
    fixmedins_name: Text = Field(min_length=1, max_length=200)
    inst_type: Coded[InstitutionType]  # type: ignore[valid-type]
    level: Coded[InstitutionLevel]  # type: ignore[valid-type]
    district_code: DistrictCode
    speciality: Coded[Speciality] = Field(  # type: ignore[valid-type]
        Speciality("general"), description="Speciality (专科类别); rule parameters may depend on it (RULE-2)")


class SceneState(Model):
    scene: str
    enabled: bool
    since: str


class InstitutionOut(Model):
    fixmedins_code: str
    fixmedins_name: str
    inst_type: str
    level: str
    district_code: str
    speciality: str
    scenes: list[SceneState]
    secret: str | None = Field(
        None, description="The institution's signing secret; returned once, at creation only"
    )


def _inst_out(row: dict, secret: str | None = None) -> InstitutionOut:
    return InstitutionOut(
        fixmedins_code=row["code"], fixmedins_name=row["name"], inst_type=row["inst_type"],
        level=row["level"], district_code=row["district_code"], speciality=row["speciality"],
        scenes=[SceneState(scene=s["scene"], enabled=bool(s["enabled"]), since=s["since"])
                for s in row["scenes"]],
        secret=secret,
    )


@transaction("8012", "registry-institution-add", en="Add a designated institution",
             zh="新增定点医药机构", roles={"city_bureau", "district_bureau"}, tag="registry",
             reqs=("GEN-1", "GEN-2"))
def add_institution(ctx: Ctx, inp: InstitutionIn) -> InstitutionOut:
    """Creates the institution and its signing account; the secret is shown only here."""
    ctx.require_district(inp.district_code, field="input.district_code")
    secret = svc.add_institution(
        ctx.db, code=inp.fixmedins_code, name=inp.fixmedins_name, inst_type=inp.inst_type.value,
        level=inp.level.value, district_code=inp.district_code, speciality=inp.speciality.value,
        now=ctx.now_iso(),
    )
    return _inst_out(svc.institution_view(ctx.db, inp.fixmedins_code), secret)


class InstitutionQueryIn(Model):
    fixmedins_code: InstitutionCode


@transaction("8013", "registry-institution-get", en="Query an institution", zh="查询定点机构",
             roles=BUREAU_ROLES | {"institution", "ops_vendor"}, tag="registry", reqs=("GEN-1",))
def get_institution(ctx: Ctx, inp: InstitutionQueryIn) -> InstitutionOut:
    """The institution if it is in the sender's scope; otherwise 3003, like one that does not
    exist. The national 1201 finds institutions through the same service."""
    return _inst_out(svc.institutions_in_scope(ctx.db, ctx.scope, code=inp.fixmedins_code)[0])


class SceneIn(Model):
    fixmedins_code: InstitutionCode
    scene: Coded[Scene]  # type: ignore[valid-type]
    enabled: bool
    since: BizDate = Field(description="Date from which the scene is monitored")


@transaction("8014", "registry-institution-scene", en="Enable or disable a monitored scene",
             zh="设置机构监控场景", roles={"city_bureau", "district_bureau"}, tag="registry",
             reqs=("GEN-1",))
def set_scene(ctx: Ctx, inp: SceneIn) -> InstitutionOut:
    ctx.require_institution(inp.fixmedins_code, field="input.fixmedins_code")
    svc.set_scene(ctx.db, institution_code=inp.fixmedins_code, scene=inp.scene.value,
                  enabled=inp.enabled, since=inp.since, now=ctx.now_iso())
    return _inst_out(svc.institution_view(ctx.db, inp.fixmedins_code))


class UserIn(Model):
    # The role decides the district: required for a district bureau, absent for city-wide roles;
    # institutions and terminals get their accounts from 8012 and 8101.
    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"properties": {"role": {"not": {"enum": ["institution", "terminal"]}}}},
        {"if": {"required": ["role"], "properties": {"role": {"const": "district_bureau"}}},
         "then": {"required": ["district_code"], "properties": {"district_code": {"type": "string"}}}},
        {"if": {"required": ["role"], "properties": {"role": {"enum": ["city_bureau", "ops_vendor"]}}},
         "then": {"properties": {"district_code": {"type": "null"}}}},
    ]})

    id: SenderId = Field(min_length=3)
    role: Coded[Role]  # type: ignore[valid-type]
    display_name: Text = Field(min_length=1, max_length=100)
    district_code: DistrictCode | None = Field(
        None, description="Required for district bureaus; optional for agency/audit"
    )


class UserOut(Model):
    id: str
    role: str
    district_code: str | None
    secret: str = Field(description="The account's signing secret; returned once, at creation only")


@transaction("8015", "registry-user-add", en="Add a bureau or operations account",
             zh="新增监管或运维账号", roles={"city_bureau"}, tag="registry", reqs=("GEN-1",))
def add_user(ctx: Ctx, inp: UserIn) -> UserOut:
    role = inp.role.value
    if role in {"institution", "terminal"}:
        raise InvalidField("institutions and terminals get accounts via 8012 and 8101", field="input.role")
    if role == "district_bureau" and not inp.district_code:
        raise InvalidField("a district bureau needs its district", field="input.district_code")
    if role in {"city_bureau", "ops_vendor"} and inp.district_code:
        raise InvalidField(f"a {role} account is city-wide; omit district_code", field="input.district_code")
    if inp.district_code and not svc.district_exists(ctx.db, inp.district_code):
        raise NotFound(f"district {inp.district_code} does not exist", field="input.district_code")
    secret = svc.add_principal(ctx.db, id=inp.id, kind="user", role=role,
                               display_name=inp.display_name, now=ctx.now_iso(),
                               district_code=inp.district_code)
    return UserOut(id=inp.id, role=role, district_code=inp.district_code, secret=secret)


class PersonIn(Model):
    psn_no: PsnNo = Field(description="Person number (人员编号)")
    certno: CertNo = Field(description="Resident ID number (身份证号), GB 11643: check digit, a real province, a birth "
                                       "date neither in the future nor more than 130 years ago")
    psn_name: Text = Field(min_length=1, max_length=50)
    insuplc_admdvs: DistrictCode = Field(description="Insured area (参保地医保区划)")
    flags: list[Coded[PersonFlag]] = Field(default_factory=list, max_length=20)  # type: ignore[valid-type]


class PersonOut(Model):
    psn_no: str
    certno: str
    psn_name: str
    gend: str
    brdy: str
    insuplc_admdvs: str
    flags: list[str]


def _person_out(row: dict) -> PersonOut:
    return PersonOut(**{k: row[k] for k in PersonOut.model_fields})


@transaction("8001", "registry-person-add", en="Register an insured person", zh="登记参保人员",
             roles={"city_bureau", "district_bureau", "institution"}, tag="registry",
             reqs=("GEN-5",))
def add_person(ctx: Ctx, inp: PersonIn) -> PersonOut:
    """Gender and birth date are derived from the ID number, which must pass its check digit."""
    flags = [f.value for f in inp.flags]
    if ctx.principal.role == "institution" and flags:
        raise Forbidden("only bureaus set person flags", field="input.flags")
    row = svc.add_person(ctx.db, psn_no=inp.psn_no, certno=inp.certno, psn_name=inp.psn_name,
                         insuplc_admdvs=inp.insuplc_admdvs, flags=flags, now=ctx.now_iso(),
                         by=ctx.principal.id)
    if ctx.principal.role == "institution":
        ctx.link_person(inp.psn_no, "registration")
    ctx.log_access(inp.psn_no, "write")
    return _person_out(row)


class PersonQueryIn(Model):
    model_config = ConfigDict(json_schema_extra=exactly_one_of("psn_no", "certno"))

    psn_no: PsnNo | None = None
    certno: CertNo | None = None
    psn_name: Text | None = Field(
        None, min_length=1, max_length=50,
        description="With certno, for institutions and terminals: the name on the ID card read at the counter",
        json_schema_extra={"x-server-checks": ["required with certno when an institution or terminal sends it"]})


@transaction("8002", "registry-person-get", en="Query an insured person", zh="查询参保人员",
             roles=BUREAU_ROLES | {"institution", "terminal"}, tag="registry", reqs=("GEN-1", "GEN-5"))
def get_person(ctx: Ctx, inp: PersonQueryIn) -> PersonOut:
    """By `psn_no`: a person visible to the sender (see the scope page). By `certno`: bureau users
    within their scope; an institution or terminal reads the ID card at its counter and gives the
    name on it too (`psn_name`) — when both match, the person is returned and linked to the
    institution; a bureau user's `psn_name`, when given, must match too. Anything else is 3003,
    whether or not the person exists. Every successful read is written to the access log (GEN-5).
    The national 1101 reads persons through the same service."""
    if (inp.psn_no is None) == (inp.certno is None):
        raise InvalidField("give exactly one of psn_no and certno", field="input.psn_no")
    return _person_out(svc.read_person(ctx, psn_no=inp.psn_no, certno=inp.certno, psn_name=inp.psn_name))


class PersonFlagsIn(Model):
    psn_no: PsnNo
    add: list[Coded[PersonFlag]] = Field(default_factory=list, max_length=20)  # type: ignore[valid-type]
    remove: list[Coded[PersonFlag]] = Field(default_factory=list, max_length=20)  # type: ignore[valid-type]


@transaction("8003", "registry-person-flags", en="Set a person's flags", zh="设置人员标识",
             roles={"city_bureau", "district_bureau", "agency", "audit_centre"}, tag="registry",
             reqs=("PH-3", "BD-3"))
def set_person_flags(ctx: Ctx, inp: PersonFlagsIn) -> PersonOut:
    """Key-population flags (past violator, suspected deceased, …) that rules read everywhere in
    the city, so a district account may set them only on persons insured in its district."""
    ctx.scope.person_for_write(ctx.db, inp.psn_no)
    row = svc.set_person_flags(ctx.db, psn_no=inp.psn_no, add=[f.value for f in inp.add],
                               remove=[f.value for f in inp.remove], now=ctx.now_iso())
    ctx.log_access(inp.psn_no, "write")
    return _person_out(row)
