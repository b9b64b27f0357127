"""The error hierarchy and the envelope's error-code table (错误代码表) — defined only here.

Every refusal the server gives is one of these exceptions, turned into a response envelope
with `infcode` = the error's code and `err_msg` naming the offending field or object. The
table is exported to `interface_spec/error_codes.yaml` and shown on the spec site.

    ScenemonError                        infcode  HTTP
    ├── RequestError                      (the message itself is wrong)
    │   ├── InvalidField                  1001    422   a field is missing, malformed or out of range
    │   ├── MalformedJson                 1002    400   the body is not a JSON object
    │   ├── UnknownTransaction            1003    404   no transaction has this infno
    │   └── BodyTooLarge                  1004    413   the body exceeds the configured limit
    ├── AuthError                         (who sends it, and may they)
    │   ├── Unauthenticated               2001    401   signature headers missing or sender unknown
    │   ├── BadSignature                  2002    401   the HMAC does not match
    │   ├── StaleTimestamp                2003    401   timestamp outside the allowed clock skew
    │   ├── ReplayedNonce                 2004    401   the nonce was already used by this sender
    │   ├── Forbidden                     2005    403   the sender's role may not run this transaction
    │   ├── OutOfScope                    2006    403   the envelope's fixmedins_code is not the sender's own
    │   ├── DeviceNotCertified            2007    403   terminal unregistered, uncertified or disabled
    │   └── NotSignedIn                   2008    403   sign-in required: sign_no missing, unknown or signed out
    ├── StateError                        (the request is well formed but clashes with stored data)
    │   ├── DuplicateMessage              3001    409   msgid reused with a different body
    │   ├── Conflict                      3002    409   the object already exists / clashes
    │   ├── NotFound                      3003    404   a referenced object does not exist (or is out of scope)
    │   └── InvalidState                  3004    409   not allowed in the object's current state
    ├── RuleRefusal                       4001    422   a supervision rule refuses the operation
    ├── FaceError                         (face pipeline)
    │   ├── NoFaceFound                   5001    422   no face in the image
    │   ├── ModelUnavailable              5002    503   the configured model pack is not installed
    │   └── TemplateMissing               5003    404   the person has no template for this model
    └── InternalError                     9999    500   a bug; the message id is logged for follow-up

`infcode` 0 means success. Codes never change meaning once published; new ones are appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class ScenemonError(Exception):
    """Base of every coded error. `field` names the offending field when there is one."""

    code: ClassVar[int] = 9999
    http_status: ClassVar[int] = 500
    name_en: ClassVar[str] = "error"
    name_zh: ClassVar[str] = "错误"
    meaning: ClassVar[str] = ""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def err_msg(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def _coded(code: int, http: int, en: str, zh: str, meaning: str):
    def wrap(cls):
        cls.code, cls.http_status, cls.name_en, cls.name_zh, cls.meaning = code, http, en, zh, meaning
        cls._coded = True
        return cls

    return wrap


class RequestError(ScenemonError):
    """The message itself is wrong."""


@_coded(1001, 422, "invalid_field", "字段校验失败", "A field is missing, malformed or out of range; err_msg names it.")
class InvalidField(RequestError):
    pass


@_coded(1002, 400, "malformed_json", "报文格式错误", "The body is not a JSON object.")
class MalformedJson(RequestError):
    pass


@_coded(1003, 404, "unknown_transaction", "交易编号不存在", "No transaction has this infno.")
class UnknownTransaction(RequestError):
    pass


@_coded(1004, 413, "body_too_large", "报文过大", "The body exceeds the configured size limit.")
class BodyTooLarge(RequestError):
    pass


class AuthError(ScenemonError):
    """Who sends the message, and whether they may."""


@_coded(2001, 401, "unauthenticated", "未认证",
        "Signature headers are missing or the sender is unknown or disabled.")
class Unauthenticated(AuthError):
    pass


@_coded(2002, 401, "bad_signature", "签名错误", "The HMAC-SHA256 signature does not match the body.")
class BadSignature(AuthError):
    pass


@_coded(2003, 401, "stale_timestamp", "时间戳超出允许偏差", "The request timestamp is outside the allowed clock skew.")
class StaleTimestamp(AuthError):
    pass


@_coded(2004, 401, "replayed_nonce", "重放请求", "The nonce was already used by this sender.")
class ReplayedNonce(AuthError):
    pass


@_coded(2005, 403, "forbidden", "无权执行该交易", "The sender's role may not run this transaction.")
class Forbidden(AuthError):
    pass


@_coded(2006, 403, "out_of_scope", "超出数据权限范围",
        "The envelope's fixmedins_code is not the sender's own institution. (Data outside the sender's scope "
        "is answered like data that does not exist: 3003.)")
class OutOfScope(AuthError):
    pass


@_coded(2007, 403, "device_not_certified", "终端未注册或未认证",
        "The terminal is unregistered, uncertified or disabled.")
class DeviceNotCertified(AuthError):
    pass


@_coded(2008, 403, "not_signed_in", "未签到或签到已失效",
        "The server requires sign-in (sign_in_policy required) and the envelope's sign_no is missing, unknown "
        "(another sender's counts as unknown) or signed out; sign in with 9001.")
class NotSignedIn(AuthError):
    pass


class StateError(ScenemonError):
    """Well formed, but clashes with stored data."""


@_coded(3001, 409, "duplicate_message", "报文ID重复",
        "The msgid was already used by this sender with a different body.")
class DuplicateMessage(StateError):
    pass


@_coded(3002, 409, "conflict", "数据冲突", "The object already exists or clashes with another.")
class Conflict(StateError):
    pass


@_coded(3003, 404, "not_found", "数据不存在",
        "A referenced object does not exist, or is outside the sender's scope (the two are not distinguished).")
class NotFound(StateError):
    pass


@_coded(3004, 409, "invalid_state", "状态不允许该操作", "The operation is not allowed in the object's current state.")
class InvalidState(StateError):
    pass


@_coded(4001, 422, "rule_refusal", "规则拒绝", "A supervision rule refuses the operation; err_msg names the rule.")
class RuleRefusal(ScenemonError):
    pass


class FaceError(ScenemonError):
    """Face pipeline problems."""


@_coded(5001, 422, "no_face_found", "未检测到人脸", "No face was found in the image.")
class NoFaceFound(FaceError):
    pass


@_coded(5002, 503, "model_unavailable", "模型不可用", "The configured face model is not installed on the server.")
class ModelUnavailable(FaceError):
    pass


@_coded(5003, 404, "template_missing", "未采集人脸模板", "The person has no face template for the active model.")
class TemplateMissing(FaceError):
    pass


@_coded(9999, 500, "internal_error", "系统内部错误", "A server bug; the msgid is logged for follow-up.")
class InternalError(ScenemonError):
    pass


@dataclass(frozen=True)
class ErrorCode:
    code: int
    name_en: str
    name_zh: str
    http_status: int
    meaning: str
    exception: str


def error_table() -> list[ErrorCode]:
    """Every concrete error code, ordered by code (the exported table)."""
    seen: dict[int, ErrorCode] = {}
    stack: list[type[ScenemonError]] = [ScenemonError]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if "_coded" in cls.__dict__:
            if cls.code in seen:
                raise RuntimeError(f"error code {cls.code} defined twice")
            seen[cls.code] = ErrorCode(
                cls.code, cls.name_en, cls.name_zh, cls.http_status, cls.meaning, cls.__name__
            )
    return [seen[c] for c in sorted(seen)]
