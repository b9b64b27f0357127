"""Bounded field types of the interface (字段约束): every amount, count, id, date, time and text an
interface model accepts, each with the bound its domain allows and the reason for that bound.

Interface models (`reference.envelope.Model`) validate strictly: a JSON number is never read
from a string ("1" is not 1.0), a boolean is only `true`/`false` ("yes" is not true), an integer
is never a date, and Infinity/NaN are refused. Each bound below shows in the OpenAPI document
and the spec site's field tables (as a range, a length or a pattern), so a vendor can see it.

    numbers   Amount (yuan), Qty, RowId (stored integer ids), Cursor, Count
    text      Text (one line), LongText (line breaks allowed), Reference; none takes control characters;
              Scalar (a device's status value: one line, a number or a boolean)
    codes     PsnNo, InstitutionCode, DistrictCode, VisitId, SettlementId, TerminalId, SenderId, ModelId,
              RuleId, ReleaseVersion, CertNo, Month; Coded[SomeEnum] for code-table values
    time      BizDate, BizDateTime: ISO strings within business years FIRST_YEAR … LAST_YEAR
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    PlainValidator,
    Strict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

from reference.clock import CST, to_cst
from reference.idcard import CertnoError, validate_certno

T = TypeVar("T")

# --- numbers -----------------------------------------------------------------------------------
# The largest amount one settlement or one of its lines may carry: 10 million yuan (一千万元).
# The dearest single treatments the insurance pays for cost about 1.2 million yuan (a CAR-T
# infusion), a long intensive-care stay a few hundred thousand; 10 million leaves a factor of
# eight above the dearest while refusing nonsense such as 1e308 that would swamp every sum.
MAX_AMOUNT_YUAN = 10_000_000
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT_YUAN)]

# The largest quantity on one settlement line: 100,000 units (a year of daily tablets is 365;
# counted consumables such as test strips or sutures stay in the thousands).
MAX_QTY = 100_000
Qty = Annotated[float, Field(gt=0, le=MAX_QTY)]

# Stored integer ids (task, registration, ticket, appeal, lead, decision, attachment ids) are
# SQLite rowids: signed 64-bit, so at most 2**63 - 1. A larger number cannot name a row, and
# passing it to the store raised OverflowError.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
Cursor = Annotated[int, Field(ge=0, le=MAX_ROW_ID)]  # "after this id"; 0 = from the start

# Counts a device reports (free disk in MB, …): a signed 32-bit integer's range (2 PB in MB).
MAX_COUNT = 2**31 - 1
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]

# Integers a JSON reader holds exactly everywhere (IEEE doubles): at most 2**53 in magnitude.
MAX_SAFE_INT = 2**53

# --- text ----------------------------------------------------------------------------------------
# Control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F) have no place in names,
# codes or notes: NUL truncates strings in C-based systems downstream, and others corrupt logs
# and exports. Long free texts (explanations, review notes) may keep tabs and line breaks.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _single_line(v: str) -> str:
    if CONTROL.search(v):
        raise ValueError("must not contain control characters (tabs and line breaks included)")
    return v


def _lines(v: str) -> str:
    if CONTROL_BUT_LINES.search(v):
        raise ValueError("must not contain control characters (only tabs and line breaks)")
    return v


# The same rules as JSON Schema patterns (ECMA 262 and Python read them alike), so that the
# OpenAPI document says what the validators enforce. ANY_TEXT_PATTERN is the gateway's rule for
# every string of a body (reference/api/gateway.py); the OpenAPI builder adds it to each request
# string that has no stricter pattern.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
ANY_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


class SchemaAdds:
    """Adds keywords to a type's JSON schema without replacing it (unlike WithJsonSchema): what an
    AfterValidator enforces is invisible to pydantic's schema, so the type states it here too.
    Existing keywords win (a field's own pattern stays)."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = {k.replace("_", "-") if k.startswith("x_") else k: v for k, v in keywords.items()}

    def __get_pydantic_json_schema__(self, schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler.resolve_ref_schema(handler(schema))
        for key, value in self.keywords.items():
            out.setdefault(key, value)
        return out


Text = Annotated[str, AfterValidator(_single_line), SchemaAdds(pattern=SINGLE_LINE_PATTERN)]
LongText = Annotated[str, AfterValidator(_lines), SchemaAdds(pattern=ANY_TEXT_PATTERN)]
# A reference to a record kept elsewhere (an order number, a document id): one line, 1-200 characters.
Reference = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_single_line),
                      SchemaAdds(pattern=SINGLE_LINE_PATTERN)]



def _scalar(v: Any) -> Any:
    if type(v) is bool:
        return v
    if type(v) in (int, float):
        if not (math.isfinite(v) and abs(v) <= MAX_SAFE_INT):
            raise ValueError(f"a number here is finite and at most {MAX_SAFE_INT} in magnitude")
        return v
    if type(v) is str:
        if len(v) > MAX_SCALAR_TEXT:
            raise ValueError(f"a text here has at most {MAX_SCALAR_TEXT} characters")
        return _single_line(v)
    raise ValueError("must be a text, a number or a boolean")


# A free-form status value a device reports (heartbeat `detail`): one line of text, a number or a
# boolean — one type, so that a refusal names the value instead of each alternative in turn.
MAX_SCALAR_TEXT = 200
Scalar = Annotated[
    str | int | float | bool, PlainValidator(_scalar),
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": MAX_SCALAR_TEXT},
                              {"type": "number", "minimum": -MAX_SAFE_INT, "maximum": MAX_SAFE_INT},
                              {"type": "boolean"}]}),
]
ScalarKey = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.\-]+$")]

# --- codes -----------------------------------------------------------------------------------------
# Identifiers keep to the character sets their registration allows, so a reference to them is
# bounded the same way (nothing outside the set can name a stored object). Digits are [0-9]:
# the patterns' `\d` matched any Unicode digit ("٤١٠١٠٠" passed as a district code).
ALNUM = r"^[A-Za-z0-9]+$"
ID_CHARS = r"^[A-Za-z0-9_\-]+$"
PsnNo = Annotated[str, StringConstraints(min_length=1, max_length=30, pattern=ALNUM)]  # 人员编号
InstitutionCode = Annotated[str, StringConstraints(min_length=1, max_length=30, pattern=ALNUM)]  # 定点机构编号
DistrictCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]  # 医保区划, 6 digits
VisitId = Annotated[str, StringConstraints(min_length=1, max_length=30, pattern=ID_CHARS)]  # 就诊ID
SettlementId = VisitId  # 结算ID: the same form
TerminalId = Annotated[str, StringConstraints(min_length=3, max_length=64, pattern=ID_CHARS)]
SenderId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_CHARS)]  # any account
ModelId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")]
RuleId = Annotated[str, StringConstraints(max_length=60, pattern=r"^[A-Z]{2,4}(-[A-Z0-9]+)+$")]
ReleaseVersion = Annotated[str, StringConstraints(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9.\-_]+$")]


def _certno(v: str) -> str:
    try:
        return validate_certno(v)
    except CertnoError as exc:
        raise ValueError(str(exc)) from None


# Resident ID number (公民身份号码): shape, province, birth date and check digit (reference.idcard).
# The pattern approximates what the server checks: JSON Schema cannot say the check digit (ISO 7064
# MOD 11-2), a real province (the first two digits) or a birth date neither in the future nor more
# than 130 years ago; `x-server-checks` names those (tools that read the document see them).
CertNo = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{17}[0-9Xx]$"), AfterValidator(_certno),
    SchemaAdds(x_server_checks=["GB 11643-1999: digits 1-2 a real province code, digits 7-14 a real birth date "
                                "neither in the future nor more than 130 years ago, the last character the "
                                "ISO 7064 MOD 11-2 check digit (X for 10)"]),
]


def exactly_one_of(*names: str) -> dict[str, Any]:
    """JSON Schema for "exactly one of these optional fields is given (not null)": a model
    validator's rule, stated in the model's schema (`model_config`'s json_schema_extra)."""
    return {"oneOf": [{"required": [n], "properties": {n: {"not": {"type": "null"}}}} for n in names]}


def required_with(name: str, *needed: str) -> dict[str, Any]:
    """JSON Schema for "when `name` is given (not null), `needed` are given too" (dependentRequired
    would also fire on an explicit null, which the server takes as absent)."""
    return {"if": {"required": [name], "properties": {name: {"not": {"type": "null"}}}},
            "then": {"required": list(needed), "properties": {n: {"not": {"type": "null"}} for n in needed}}}

# A code-table value (an Enum made by reference.codes.code_enum). Strict models accept only
# Enum instances from Python data; the code's text is what JSON carries, so this one type takes
# the text (and still refuses a number or anything not in the table).
Coded = Annotated[T, Strict(False)]

# --- business dates and times -------------------------------------------------------------------------
# Business years: 2000-2099, the span the manual clock may take (reference.clock). Rules add days
# to years to these values (deadlines, a month's cap, a year's review) and store them as ISO
# text with four-digit years; within this span every such sum and every conversion to China
# Standard Time stays far inside Python's years 1-9999 (0001-01-01 or 9999-12-31 overflowed).
FIRST_YEAR, LAST_YEAR = 2000, 2099
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=CST)
LATEST = datetime(LAST_YEAR, 12, 31, 23, 59, 59, 999999, tzinfo=CST)
# The patterns say as much as a regular expression can (month 01-12, day 01-31, hour 00-23, …);
# what is left — a real date (no 30 February), the span in China Standard Time — is named in the
# schema's `x-server-checks`. The server matches the same patterns (the spec site's tables
# show `|` inside code spans).
_YMD = r"20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_HM = r"([01][0-9]|2[0-3]):[0-5][0-9]"
DATE_PATTERN = rf"^{_YMD}$"
DATETIME_PATTERN = rf"^{_YMD}[T ]{_HM}(:[0-5][0-9](\.[0-9]{{1,6}})?)?(Z|[+-]{_HM})?$"
# The national platform's time format (yyyy-MM-dd HH:mm:ss, China Standard Time): the envelope's
# inf_time and every time field of a national-shape message.
NATIONAL_DATETIME_PATTERN = rf"^{_YMD} {_HM}:[0-5][0-9]$"
NATIONAL_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
REAL_DATE_CHECK = "a real calendar date (the pattern lets 29-31 through for every month)"
_DATE = re.compile(DATE_PATTERN)
_DATETIME = re.compile(DATETIME_PATTERN)


def _iso(v: Any, kind: type, text: re.Pattern, form: str) -> Any:
    """A date or date-time: an instance from Python callers, or ISO text (what JSON carries) of
    the given form; the year within the business years."""
    if type(v) is kind or (kind is datetime and isinstance(v, datetime)):
        value = v
    elif isinstance(v, str):
        if not text.match(v):
            raise ValueError(f"must be {form} within {FIRST_YEAR}-{LAST_YEAR}")
        try:
            value = kind.fromisoformat(v)
        except ValueError:
            raise ValueError(f"{v} is not a real {'date' if kind is date else 'date and time'}") from None
    else:
        raise ValueError(f"must be {form} as text")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:  # checked before any conversion: no overflow
        raise ValueError(f"must be within {FIRST_YEAR}-{LAST_YEAR}")
    return value


def _business_date(v: Any) -> Any:
    return _iso(v, date, _DATE, "a date yyyy-mm-dd")


def _business_datetime(v: Any) -> Any:
    value = to_cst(_iso(v, datetime, _DATETIME, "an ISO date-time yyyy-mm-ddThh:mm[:ss][±hh:mm]"))
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be within {FIRST_YEAR}-{LAST_YEAR} in China Standard Time")
    return value


BizDate = Annotated[
    date, BeforeValidator(_business_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN, "x-server-checks": [REAL_DATE_CHECK]}),
]
# Naive times are China Standard Time; the value is always returned in CST. No `format: date-time`:
# RFC 3339 requires seconds and a zone, which this field does not (the pattern is its one format).
BizDateTime = Annotated[
    datetime, BeforeValidator(_business_datetime),
    WithJsonSchema({"type": "string", "pattern": DATETIME_PATTERN,
                    "x-time-format": "ISO 8601 yyyy-MM-ddTHH:mm[:ss[.ffffff]][Z|±hh:mm] (a space may stand for T); "
                                     "without a zone: China Standard Time (UTC+8)",
                    "x-server-checks": [REAL_DATE_CHECK, f"within {FIRST_YEAR}-{LAST_YEAR} once converted to China "
                                                         "Standard Time"]}),
]


def _national_datetime(v: str) -> str:
    try:
        datetime.strptime(v, NATIONAL_DATETIME_FORMAT)
    except ValueError:
        raise ValueError(f"{v} is not a real date and time") from None
    return v


# A national-shape time (yyyy-MM-dd HH:mm:ss, China Standard Time), kept as the text it was sent as.
NationalDateTime = Annotated[
    str, StringConstraints(pattern=NATIONAL_DATETIME_PATTERN), AfterValidator(_national_datetime),
    SchemaAdds(x_time_format="yyyy-MM-dd HH:mm:ss, China Standard Time (UTC+8)", x_server_checks=[REAL_DATE_CHECK]),
]
MONTH_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
Month = Annotated[str, StringConstraints(pattern=MONTH_PATTERN)]  # yyyy-mm, a business month

__all__ = [
    "MAX_AMOUNT_YUAN", "MAX_COUNT", "MAX_QTY", "MAX_ROW_ID", "FIRST_YEAR", "LAST_YEAR",
    "Amount", "BizDate", "BizDateTime", "CertNo", "Coded", "Count", "Cursor", "DistrictCode",
    "InstitutionCode", "LongText", "ModelId", "Month", "PsnNo", "Qty", "Reference", "ReleaseVersion", "RowId",
    "RuleId", "Scalar", "ScalarKey", "SenderId", "SettlementId", "TerminalId", "Text", "VisitId",
    "ANY_TEXT_PATTERN", "NATIONAL_DATETIME_PATTERN", "NationalDateTime", "REAL_DATE_CHECK", "SINGLE_LINE_PATTERN",
    "SchemaAdds",
    "exactly_one_of", "required_with",
]
