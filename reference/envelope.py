"""The message envelope (报文结构), following the national medical-insurance platform.

A request is a JSON object carrying the transaction number (`infno`), a message id (`msgid`)
unique per sender, the sender's institution and operator, the time and an `input` object whose
shape each transaction defines. A response carries `infcode` (0 = success, otherwise a code from
`reference.errors`), `err_msg` (naming the offending field), and the transaction's `output`.
Field names follow the platform's pinyin-initial snake_case so vendors can reuse adapters.

The request envelope takes every field deployed national clients send (their lengths are the
national interface's, corroborated against public HIS integration code: docs/interface/envelope.md).
Deployed clients fill every optional key, often with "" (or null): an empty optional field is
read as absent. A top-level field the envelope does not know (a client's local extension, such
as `idfi_mode`) is accepted and named in `warn_msg`; its value is never read, stored or echoed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reference.fields import (
    FIRST_YEAR,
    LAST_YEAR,
    NATIONAL_DATETIME_PATTERN,
    REAL_DATE_CHECK,
    InstitutionCode,
    LongText,
    Text,
)

INF_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


class Model(BaseModel):
    """Base of every interface model: unknown fields are refused, not silently dropped, and values
    are taken strictly — a number is never read from a string, a boolean only from true/false,
    Infinity and NaN are refused. Bounded field types are in `reference.fields`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True, allow_inf_nan=False)


# Optional envelope fields a deployed client may send as "" meaning "not given".
BLANK_IS_ABSENT = ("mdtrtarea_admvs", "insuplc_admdvs", "recer_sys_code", "dev_no", "dev_safe_info", "cainfo",
                   "signtype", "infver", "fixmedins_code", "fixmedins_name", "sign_no")


def _blank_allowed(schema: dict[str, Any]) -> None:
    """The schema of an optional field with a pattern also allows "" (read as absent)."""
    schema["anyOf"].append({"type": "string", "maxLength": 0, "description": "empty: read as absent"})


class RequestEnvelope(Model, Generic[In]):
    """入参报文 — the request envelope. Unknown top-level fields are allowed (and reported in
    warn_msg by the gateway); everything known is validated strictly."""

    model_config = ConfigDict(extra="allow")

    infno: str = Field(pattern=r"^[0-9]{4}$", description="Transaction number (交易编号), 4 digits")
    msgid: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description=(
            "Message id (报文ID), unique per sender. The platform's form is institution code + "
            "yyyyMMddHHmmss + 4-digit sequence. A retry reuses it and gets the original answer."
        ),
    )
    mdtrtarea_admvs: str | None = Field(
        None, pattern=r"^[0-9]{6}$", description="Area of the visit (就医地医保区划), 6 digits",
        json_schema_extra=_blank_allowed,
    )
    insuplc_admdvs: str | None = Field(
        None, pattern=r"^[0-9]{6}$", description="Insured area (参保地医保区划), 6 digits",
        json_schema_extra=_blank_allowed,
    )
    recer_sys_code: Text | None = Field(
        None, max_length=10, description="Receiving system code (接收方系统代码), e.g. the platform's FSI_LOCAL"
    )
    dev_no: Text | None = Field(None, max_length=100, description="Device number (设备编号)")
    dev_safe_info: LongText | None = Field(
        None, max_length=2000, description="Device security information (设备安全信息); accepted, not read"
    )
    cainfo: LongText | None = Field(
        None, max_length=1024, description="Digital signature information (数字签名信息); accepted, not read"
    )
    signtype: Text | None = Field(
        None, max_length=10,
        description="Signature type (签名类型); the national interface recommends SM2 or SM3. scenemon's request "
                    "signature is in the headers (see the signing page): under X-SM-Signature-Alg HMAC-SM3 a "
                    "signtype other than SM3 is refused; otherwise it is not read (SM3 under HMAC-SHA256 is noted "
                    "in warn_msg)",
    )
    infver: Text | None = Field(None, max_length=6, description="Interface version (接口版本号), e.g. V1.0")
    opter_type: Literal["1", "2", "3", 1, 2, 3] = Field(
        "1",
        description=("Operator type (经办人类别): 1 staff, 2 self-service terminal, 3 mobile. The national form is "
                     "the text \"1\"; the number 1 is accepted too (deployed C# clients declare it an int)"),
    )
    opter: Text = Field(min_length=1, max_length=30, description="Operator id (经办人)")
    opter_name: Text = Field(min_length=1, max_length=50, description="Operator name (经办人姓名)")
    inf_time: str = Field(
        pattern=NATIONAL_DATETIME_PATTERN,
        description=f"Sending time (交易时间), yyyy-MM-dd HH:mm:ss, CST: a real date and time, years "
                    f"{FIRST_YEAR}-{LAST_YEAR}",
        json_schema_extra={"x-time-format": "yyyy-MM-dd HH:mm:ss, China Standard Time (UTC+8)",
                           "x-server-checks": [REAL_DATE_CHECK]},
    )
    fixmedins_code: InstitutionCode | None = Field(
        None,
        description=(
            "Designated institution code (定点医药机构编号). Required for institutions and "
            "terminals and must be the sender's own; bureau users omit it."
        ),
        json_schema_extra=_blank_allowed,
    )
    fixmedins_name: Text | None = Field(None, max_length=200, description="Institution name")
    sign_no: Text | None = Field(
        None, max_length=30,
        description=("Sign-in number (交易签到流水号) from 9001 sign-in. Checked only when the server's "
                     "sign_in_policy is required (see the sign-in page)"),
    )
    input: In = Field(description="Transaction input; its shape is defined per transaction")

    @field_validator(*BLANK_IS_ABSENT, mode="before")
    @classmethod
    def _blank_is_absent(cls, v: Any) -> Any:
        return None if v == "" else v  # only "": "  " is stripped to "" and checked like any text

    @field_validator("opter_type", mode="before")
    @classmethod
    def _opter_type_not_bool(cls, v: Any) -> Any:
        if isinstance(v, bool):  # true == 1 in Python: refuse it before the literal check
            raise ValueError("must be 1, 2 or 3 (text or number), not a boolean")
        return v

    @field_validator("opter_type")
    @classmethod
    def _opter_type_text(cls, v: str | int) -> str:
        return str(v)  # one form inside the server: the national text

    @field_validator("inf_time")
    @classmethod
    def _real_time(cls, v: str) -> str:
        try:  # the pattern bounds the year; this refuses month 13, day 45, 25:61:61
            datetime.strptime(v, INF_TIME_FORMAT)
        except ValueError:
            raise ValueError(f"{v} is not a real date and time") from None
        return v


class ResponseEnvelope(Model, Generic[Out]):
    """出参报文 — the response envelope."""

    infcode: int = Field(description="0 = success; otherwise an error code (see error codes)")
    inf_refmsgid: str = Field(description="The server's id for this response (接收方报文ID)")
    msgid: str | None = Field(None, description="The request's msgid, echoed")
    refmsg_time: str = Field(description="When the server received the request")
    respond_time: str = Field(description="When the server answered")
    err_msg: str | None = Field(None, description="Error text; starts with the offending field")
    err_field: str | None = Field(None, description="The offending field's path, if any")
    warn_msg: str | None = Field(None, description="Warnings that did not stop the transaction")
    output: Out | None = Field(None, description="Transaction output; null on error")


class Empty(Model):
    """A transaction input or output with no fields."""


def envelope_dict(
    *,
    infcode: int,
    inf_refmsgid: str,
    msgid: str | None,
    refmsg_time: str,
    respond_time: str,
    output: dict[str, Any] | None = None,
    err_msg: str | None = None,
    err_field: str | None = None,
    warn_msg: str | None = None,
) -> dict[str, Any]:
    return {
        "infcode": infcode,
        "inf_refmsgid": inf_refmsgid,
        "msgid": msgid,
        "refmsg_time": refmsg_time,
        "respond_time": respond_time,
        "err_msg": err_msg,
        "err_field": err_field,
        "warn_msg": warn_msg,
        "output": output,
    }
