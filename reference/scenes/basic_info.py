"""Basic information (基础信息) in the national platform's shape: 1101 person information
(人员信息获取) and 1201 institution information (医药机构信息获取).

    1101  input  {"data": {"mdtrt_cert_type", "mdtrt_cert_no", "card_sn", "begntime",
                           "psn_cert_type", "certno", "psn_name"}}
          output {"baseinfo": {psn_no, psn_cert_type, certno, psn_name, gend, naty, brdy, age},
                  "insuinfo": [{balc, insutype, psn_type, psn_insu_stas, psn_insu_date,
                                paus_insu_date, cvlserv_flag, insuplc_admdvs, emp_name}],
                  "idetinfo": [{psn_idet_type, psn_type_lv, memo, begntime, endtime}]}
    1201  input  {"medinsinfo": {"fixmedins_type", "fixmedins_name", "fixmedins_code"}}
          output {"medinsinfo": [{fixmedins_code, fixmedins_name, uscc, fixmedins_type, hosp_lv}]}

Field names and nesting follow public HIS integration code that talks to the national platform
(see the national basic-information page for the sources and what stays unconfirmed). Both read
through the same services as our extension queries 8002 and 8013 (reference.services.registry),
so scope, person links and the access log are the same (GEN-1, GEN-5). Fields the registry does
not keep (nationality, insurance type, balance, identities, the unified social credit code …)
are answered null or as an empty list, never invented.

Deployed clients send "" for a field they leave out; the optional input fields here read "" as
absent.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

from reference.codes import code_enum, table
from reference.context import Ctx
from reference.errors import InvalidField
from reference.fields import CertNo, Coded, InstitutionCode, NationalDateTime, SchemaAdds, Text
from reference.national import NationalModel
from reference.services import registry as svc
from reference.transactions import BUREAU_ROLES, transaction

FixmedinsType = code_enum("fixmedins_type", "FixmedinsType")
#: mdtrt_cert_type of a resident ID card, the one credential the registry can resolve.
ID_CARD = "02"



def _blank_as_absent(value: Any) -> Any:
    return None if value == "" else value


class _BlankInSchema:
    """States in the JSON schema that "" is accepted too (and read as absent)."""

    def __get_pydantic_json_schema__(self, schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        return {**out, "anyOf": [*out.get("anyOf", [out]), {"type": "string", "const": ""}]}


#: Deployed clients send "" for a field they leave out: the optional fields read it as absent.
_BLANK = (BeforeValidator(_blank_as_absent), _BlankInSchema())
OptName = Annotated[Annotated[Text, StringConstraints(min_length=1, max_length=50)] | None, *_BLANK]
OptCardSn = Annotated[Annotated[Text, StringConstraints(min_length=1, max_length=32)] | None, *_BLANK]
OptCertType = Annotated[Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,6}$")] | None, *_BLANK]
OptCertNo = Annotated[CertNo | None, *_BLANK]
OptTime = Annotated[NationalDateTime | None, *_BLANK]
OptNamePart = Annotated[Annotated[Text, StringConstraints(min_length=1, max_length=200)] | None, *_BLANK]
OptCode = Annotated[InstitutionCode | None, *_BLANK]


def _resolvable(code: str) -> str:
    if code != ID_CARD:
        names = {c.code: c.en for c in table("mdtrt_cert_type").codes}
        what = names.get(code, "not a national credential type")
        raise ValueError(f"{code} ({what}) cannot be resolved: scenemon's registry holds resident ID numbers only; "
                         f"send {ID_CARD} with the ID number in mdtrt_cert_no")
    return code


# The national code table has 01-03 (code table mdtrt_cert_type); the schema states the one accepted.
ResolvedCertType = Annotated[str, AfterValidator(_resolvable), SchemaAdds(enum=[ID_CARD])]
#: psn_cert_type of a resident ID number (居民身份证), the only kind of number the registry holds.
RESIDENT_ID = "01"
#: 1201's fixmedins_type → our institution types (code tables fixmedins_type, institution_type).
NATIONAL_TYPES: dict[str, frozenset[str]] = {
    "1": frozenset({"tertiary_hospital", "secondary_hospital", "primary_hospital", "township_health_centre",
                    "village_clinic"}),
    "2": frozenset({"retail_pharmacy"}),
    "3": frozenset(), "4": frozenset(), "5": frozenset(),
}
#: Our institution level → the national hosp_lv (code tables institution_level, hosp_lv). Level
#: 1 keeps no A/B/C grade, which every national primary code has: it answers null.
HOSP_LV: dict[str, str | None] = {"3A": "02", "3B": "03", "2A": "05", "2B": "06", "1": None, "ungraded": "11"}


# --- 1101 person information --------------------------------------------------------------------
class PersonInfoQuery(NationalModel):
    """就诊凭证与人员信息 — the credential read at the counter and, optionally, the person's ID."""

    mdtrt_cert_type: ResolvedCertType = Field(
        description="Credential type (就诊凭证类型, code table mdtrt_cert_type): scenemon resolves only 02, the "
                    "resident ID card; 01 (e-voucher) and 03 (social-security card) are refused (1001)")
    mdtrt_cert_no: CertNo = Field(description="Credential number (就诊凭证编号): with 02 the resident ID number")
    card_sn: OptCardSn = Field(None, description="Card identification code (卡识别码), only with 03: "
                                                             "not read")
    begntime: OptTime = Field(
        None, description="Start time (开始时间) for historical insurance records: not read, the registry keeps "
                          "no history (warn_msg says so)")
    psn_cert_type: OptCertType = Field(
        None, description="Certificate type of certno (人员证件类型): 01 resident ID; read only with certno",
        json_schema_extra={"x-server-checks": ["01 when certno is given"]})
    certno: OptCertNo = Field(
        None, description="Certificate number (证件号码): when given, the same resident ID as mdtrt_cert_no",
        json_schema_extra={"x-server-checks": ["equal to mdtrt_cert_no"]})
    psn_name: OptName = Field(
        None,
        description="Name (人员姓名): required from institutions and terminals (the name on the ID card); "
                    "when given it must match",
        json_schema_extra={"x-server-checks": ["required (not blank) when an institution or terminal sends it"]})


class PersonInfoIn(NationalModel):
    data: PersonInfoQuery = Field(description="输入（节点标识：data）")


class BaseInfo(NationalModel):
    """基本信息 — from the registry; nationality is not kept (null)."""

    psn_no: str = Field(description="Person number (人员编号)")
    psn_cert_type: str = Field(description="Certificate type (人员证件类型): always 01, a resident ID")
    certno: str = Field(description="Certificate number (证件号码)")
    psn_name: str = Field(description="Name (人员姓名)")
    gend: str = Field(description="Gender (性别, code table gender), from the ID number")
    naty: str | None = Field(description="Nationality (民族): not kept by scenemon, always null")
    brdy: str = Field(description="Birth date (出生日期), yyyy-MM-dd, from the ID number")
    age: int = Field(description="Age in whole years on the business date (年龄)")


class InsuInfo(NationalModel):
    """参保信息 — scenemon keeps only the insured area; every other field is null (not known)."""

    balc: float | None = Field(description="Personal account balance (余额): not kept, null")
    insutype: str | None = Field(description="Insurance type (险种类型): not kept, null")
    psn_type: str | None = Field(description="Person category (人员类别): not kept, null")
    psn_insu_stas: str | None = Field(description="Insurance status (人员参保状态): not kept, null")
    psn_insu_date: str | None = Field(description="Insured since (个人参保日期): not kept, null")
    paus_insu_date: str | None = Field(description="Insurance suspended on (暂停参保日期): not kept, null")
    cvlserv_flag: str | None = Field(description="Civil-servant flag (公务员标志): not kept, null")
    insuplc_admdvs: str = Field(description="Insured area (参保地医保区划), the registry's district code")
    emp_name: str | None = Field(description="Employer (单位名称): not kept, null")


class IdetInfo(NationalModel):
    """身份信息 — the national identity categories (离休, 低保 …); scenemon keeps none."""

    psn_idet_type: str = Field(description="Identity category (人员身份类别)")
    psn_type_lv: str | None = Field(None, description="Category level (人员类别等级)")
    memo: str | None = Field(None, description="Note (备注)")
    begntime: str | None = Field(None, description="From (开始时间)")
    endtime: str | None = Field(None, description="Until (结束时间)")


class PersonInfoOut(NationalModel):
    baseinfo: BaseInfo = Field(description="基本信息: the person as the registry holds them")
    insuinfo: list[InsuInfo] = Field(description="One entry: the registration's insured area")
    idetinfo: list[IdetInfo] = Field(description="Always empty: scenemon keeps no identity categories")


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@transaction("1101", "registry-person-info", en="Person information", zh="人员信息获取",
             roles=BUREAU_ROLES | {"institution", "terminal"}, tag="registry", reqs=("GEN-1", "GEN-5"),
             national=True)
def person_info(ctx: Ctx, inp: PersonInfoIn) -> PersonInfoOut:
    """The national card read: the person whose resident ID number is `mdtrt_cert_no`
    (mdtrt_cert_type 02), read through the same service and scope as 8002 by certno. An
    institution or terminal gives the name on the card (`psn_name`); when number and name match,
    the person is returned and linked to its institution (as a card read), so its later
    transactions on the person work. Bureau users see persons in their scope. Anything else is
    3003, whether or not the person exists; every answer's person is in the access log (GEN-5)."""
    q = inp.data
    number = q.mdtrt_cert_no  # mdtrt_cert_type is 02: a resident ID number, checked by its type
    if (certno := q.certno) is not None:
        if q.psn_cert_type not in (None, RESIDENT_ID):
            raise InvalidField("the registry holds resident ID numbers only (psn_cert_type 01)",
                               field="input.data.psn_cert_type")
        if certno != number:
            raise InvalidField("differs from mdtrt_cert_no, the ID number of mdtrt_cert_type 02",
                               field="input.data.certno")
    if q.begntime is not None:
        ctx.warn("input.data.begntime is not read: the registry keeps no insurance history (the answer is the "
                 "current registration)")
    row = svc.read_person(ctx, certno=number, psn_name=q.psn_name,
                          certno_field="input.data.mdtrt_cert_no", name_field="input.data.psn_name")
    born = date.fromisoformat(row["brdy"])
    return PersonInfoOut(
        baseinfo=BaseInfo(psn_no=row["psn_no"], psn_cert_type=RESIDENT_ID, certno=row["certno"],
                          psn_name=row["psn_name"], gend=row["gend"], naty=None, brdy=row["brdy"],
                          age=_age(born, ctx.now().date())),
        insuinfo=[InsuInfo(balc=None, insutype=None, psn_type=None, psn_insu_stas=None, psn_insu_date=None,
                           paus_insu_date=None, cvlserv_flag=None, insuplc_admdvs=row["insuplc_admdvs"],
                           emp_name=None)],
        idetinfo=[],
    )


# --- 1201 institution information ---------------------------------------------------------------
class MedinsQuery(NationalModel):
    """医药机构查询条件 — the type, and a code or part of a name."""

    fixmedins_type: Coded[FixmedinsType] = Field(  # type: ignore[valid-type]
        description="Service type (定点医疗服务机构类型, code table fixmedins_type): 1 medical institution, "
                    "2 retail pharmacy")
    fixmedins_name: OptNamePart = Field(None, description="Part of the name (定点医药机构名称, "
                                                                      "fuzzy match)")
    fixmedins_code: OptCode = Field(
        None, description="Institution code (定点医药机构编号): a lookup of that one institution")


class InstitutionInfoIn(NationalModel):
    medinsinfo: MedinsQuery = Field(description="输入（节点标识：medinsinfo）")


class MedinsInfo(NationalModel):
    fixmedins_code: str = Field(description="Institution code (定点医药机构编号)")
    fixmedins_name: str = Field(description="Institution name (定点医药机构名称)")
    uscc: str | None = Field(description="Unified social credit code (统一社会信用代码): not kept, null")
    fixmedins_type: str = Field(description="Service type (code table fixmedins_type)")
    hosp_lv: str | None = Field(description="Hospital grade (医院等级, code table hosp_lv); null for level 1, "
                                            "which keeps no A/B/C grade")


class InstitutionInfoOut(NationalModel):
    medinsinfo: list[MedinsInfo] = Field(description="The institutions found, in code order (at most 100)")


def _national_type(inst_type: str) -> str:
    return next(code for code, ours in NATIONAL_TYPES.items() if inst_type in ours)


@transaction("1201", "registry-institution-info", en="Institution information", zh="医药机构信息获取",
             roles=BUREAU_ROLES | {"institution", "ops_vendor"}, tag="registry", reqs=("GEN-1",), national=True)
def institution_info(ctx: Ctx, inp: InstitutionInfoIn) -> InstitutionInfoOut:
    """Institutions of the given type in the sender's scope (an institution sees itself, a district
    account its district), found through the same service as 8013. With `fixmedins_code` it is a
    lookup: no such institution in scope — absent, another scope's or another type — is 3003 naming
    input.medinsinfo.fixmedins_code, like 8013. Otherwise a search by part of the name; an empty
    list means none matched."""
    q = inp.medinsinfo
    rows = svc.institutions_in_scope(
        ctx.db, ctx.scope, code=q.fixmedins_code, name_contains=q.fixmedins_name,
        inst_types=NATIONAL_TYPES[q.fixmedins_type.value], field="input.medinsinfo.fixmedins_code")
    if len(rows) > svc.MAX_INSTITUTIONS_FOUND:
        rows = rows[: svc.MAX_INSTITUTIONS_FOUND]
        ctx.warn(f"only the first {svc.MAX_INSTITUTIONS_FOUND} institutions (in code order) are answered: "
                 "narrow the search with fixmedins_name")
    return InstitutionInfoOut(medinsinfo=[
        MedinsInfo(fixmedins_code=r["code"], fixmedins_name=r["name"], uscc=None,
                   fixmedins_type=_national_type(r["inst_type"]), hosp_lv=HOSP_LV[r["level"]])
        for r in rows])
