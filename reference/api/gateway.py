"""The gateway (网关): the only way into the server over HTTP.

For each request, in this order:

1. size limit                         → 1004 body_too_large
2. signature headers, sender, HMAC,   → 2001 unauthenticated, 2002 bad_signature,
   clock skew, terminal certified       2003 stale_timestamp, 2007 device_not_certified
   (X-SM-* with HMAC-SHA256 or HMAC-SM3; or, for a sender switched to it by 8016, the national
   x-tif-* headers, whose nonce is used up here → 2004, since their signature does not cover the
   body; such an answer warns so in warn_msg: reference/signing.py)
3. JSON and envelope validation       → 1002 malformed_json, 1001 invalid_field; unknown top-level
                                        fields (local extensions) are named in warn_msg, not refused;
                                        `signtype` other than SM3 under HMAC-SM3 → 1001
4. transaction lookup, role, own      → 1003 unknown_transaction, 2005 forbidden,
   institution in `fixmedins_code`      2006 out_of_scope
5. typed input validation             → 1001 invalid_field (err_field = input.<path>); inside a
                                        national-shape input (reference.national) unknown fields are
                                        named in warn_msg and their values dropped
6. `prepare` (slow pure work, e.g. face embedding) outside the write lock; `read` (a long scan,
   e.g. the day end's) on a read snapshot, query-only, unless the msgid was answered already
7. one write transaction: nonce       → 2004 replayed_nonce
   (sender, msgid) seen before?       → the stored response again, or 3001 duplicate_message
   a live sign_no, if the policy says → 2008 not_signed_in (institutions and terminals, 9001)
   the transaction's scene monitored  → 3004 invalid_state (institutions and terminals, 8014)
   the handler (scope rendered into its reads and writes: reference/scope.py; out of scope is
   3003 like an absent object), an access-log read for every person the answer names, then the
   response stored with the msgid, then COMMIT, then the answer, then `ctx.after_commit` work.

Because steps 7's check, effect and record commit together, a retried or concurrently repeated
message has exactly one effect. Refusals before step 7 have no effect and are not recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from reference import errors as E
from reference import signing
from reference.context import Ctx, Principal
from reference.envelope import INF_TIME_FORMAT, Model, RequestEnvelope, envelope_dict
from reference.fields import CONTROL, CONTROL_BUT_LINES
from reference.national import forget_unknown, has_national_part, unknown_fields, unknown_fields_warning
from reference.services import access_log, monitoring, sign_in
from reference.state import AppState
from reference.transactions import DEPRECATED_NUMBERS, Transaction, deprecation_warning, load_all

log = logging.getLogger("scenemon.gateway")
NONCE_PURGE_EVERY = 1000


class RawEnvelope(RequestEnvelope[dict[str, Any]]):
    """The envelope with its input still untyped (validated against the transaction next)."""


@dataclass(frozen=True)
class Auth:
    """An authenticated request: who sent it, its nonce and timestamp, and how it was signed
    (one of signing.MODES: HMAC-SHA256, HMAC-SM3 or x-tif)."""

    principal: Principal
    nonce: str
    ts: int
    mode: str


def _use_nonce(db: Any, sender: str, nonce: str, ts: int, *, field: str) -> None:
    db.execute("INSERT INTO nonces(sender, nonce, seen_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
               (sender, nonce, ts))
    if not db.changes:  # the (sender, nonce) row existed: nothing inserted
        raise E.ReplayedNonce("already used by this sender", field=field)


def _check_signtype(env: RequestEnvelope, mode: str, notes: list[str]) -> None:
    """The envelope's `signtype` (national: the type of `cainfo`'s signature) must not contradict an
    HMAC-SM3 body signature. Under HMAC-SHA256 an "SM3" is only noted: deployed clients send it as a
    fixed value with an empty `cainfo`, and the HMAC covers the body either way."""
    given = (env.signtype or "").strip().upper()
    if mode == signing.ALG_SM3 and given and given != "SM3":
        raise E.InvalidField(f"{env.signtype} does not agree with {signing.HEADER_ALG} {signing.ALG_SM3}: "
                             "send SM3 or leave it out", field="signtype")
    if mode == signing.ALG_SHA256 and given == "SM3":
        notes.append(f"signtype SM3, but the body was signed with {signing.ALG_SHA256}; send "
                     f"{signing.HEADER_ALG}: {signing.ALG_SM3} to sign it with SM3")


def _with_notes(payload: dict, notes: list[str]) -> dict:
    """The answer with `notes` first in its warn_msg (each once)."""
    existing = payload.get("warn_msg")
    new = [n for n in dict.fromkeys(notes) if not (existing and n in existing)]
    if not new:
        return payload
    return {**payload, "warn_msg": "; ".join([*new, *([existing] if existing else [])])}


def _pydantic_error(exc: ValidationError, prefix: str) -> E.InvalidField:
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first["loc"])
    path = f"{prefix}.{path}" if prefix and path else (prefix or path)
    msg, kind, ctx = first["msg"], first["type"], first.get("ctx") or {}
    if kind == "extra_forbidden":
        msg = "unknown field (not part of this transaction's interface)"
    elif kind == "value_error":
        msg = str(ctx.get("error", msg))  # our validators' own words, without "Value error, "
    elif kind in {"too_long", "too_short"} and isinstance(first.get("input"), str):
        # a length bound on an optional text is checked after its own validator: say characters
        bound = ctx.get("max_length") if kind == "too_long" else ctx.get("min_length")
        msg = f"must have {'at most' if kind == 'too_long' else 'at least'} {bound} characters"
    return E.InvalidField(msg, field=path or None)


# -- JSON: what a body may be (GEN-2) -----------------------------------------------------------
# The deepest interface model nests 8 levels (envelope → input → changes[] → overrides[] → params
# → a list value); 16 leaves room and refuses a 1,000-deep list long before it costs anything.
MAX_JSON_DEPTH = 16
# How a control character (but tab, LF, CR) can appear in JSON text: as an escape (\u0000-\u001f,
# \u007f-\u009f, \b, \f), or raw as DEL or a C1 character (UTF-8 0xC2 0x80-0x9F). Raw C0
# characters are not JSON: the parser refuses them.
_ESCAPED_CONTROL = re.compile(rb"\\(?:u00(?:[01][0-9a-fA-F]|7[fF]|[89][0-9a-fA-F])|[bf])")
_RAW_C1 = re.compile(rb"\xc2[\x80-\x9f]")


def _parse_json(body: bytes) -> Any:
    """pydantic-core's parser only: UTF-8 (RFC 8259), no Infinity or NaN, at most 200 levels deep
    (it never recurses without bound). It takes half the time of the stdlib's on a 512-float
    embedding (14 against 28 µs)."""
    try:
        return from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise E.MalformedJson("the body must be JSON encoded in UTF-8", field="body") from None
        if "recursion limit" in str(exc):
            raise E.MalformedJson(f"nested deeper than {MAX_JSON_DEPTH} levels", field="body") from None
        raise E.MalformedJson(f"body is not JSON: {exc}", field="body") from None


def _check_json(data: Any, body: bytes) -> None:
    """Refuse control characters (but tab and line breaks) in any string or name, and nesting
    deeper than MAX_JSON_DEPTH, naming the field. The walk over the parsed value runs only when the
    text may hold either (a scan of the bytes, ~1 µs for a 512-float embedding, against ~20 µs)."""
    if _few_containers(body) and not _may_hold_control(body):
        return
    stack: list[tuple[Any, tuple]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) >= MAX_JSON_DEPTH:
            raise E.InvalidField(f"nested deeper than {MAX_JSON_DEPTH} levels", field=_dotted(path))
        for key, v in value.items() if type(value) is dict else enumerate(value):
            if type(key) is str and CONTROL.search(key):
                raise E.InvalidField("a field name holds a control character", field=_dotted(path) or "body")
            t = type(v)
            if t is str:
                if CONTROL_BUT_LINES.search(v):
                    raise E.InvalidField("must not contain control characters", field=_dotted((*path, key)))
            elif t is dict or t is list:
                stack.append((v, (*path, key)))


JSON_MEDIA_TYPES = frozenset({"application/json", "text/json"})


def _check_media_type(headers: Mapping[str, str]) -> None:
    """A body declared as something other than JSON is refused (1002), as the OpenAPI document
    says; a request without Content-Type is read as JSON (clients of release 0.1 send none)."""
    declared = headers.get("content-type") or headers.get("Content-Type")
    if declared is None:
        return
    media = declared.split(";", 1)[0].strip().lower()
    if media not in JSON_MEDIA_TYPES and not media.endswith("+json"):
        raise E.MalformedJson(f"{declared[:100]} is not JSON: send application/json", field="Content-Type")


def _few_containers(body: bytes) -> bool:
    """At most MAX_JSON_DEPTH objects and arrays in all, so none nests deeper (bytes.find is fast)."""
    n = 0
    for opener in (b"{", b"["):
        i = body.find(opener)
        while i >= 0:
            n += 1
            if n > MAX_JSON_DEPTH:
                return False
            i = body.find(opener, i + 1)
    return True


def _may_hold_control(body: bytes) -> bool:
    return ((b"\\" in body and _ESCAPED_CONTROL.search(body) is not None) or b"\x7f" in body
            or (b"\xc2" in body and _RAW_C1.search(body) is not None))


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


class Gateway:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.transactions: dict[str, Transaction] = load_all()
        self._requests = 0

    # -- public -------------------------------------------------------------------------
    def handle(self, path_infno: str | None, headers: Mapping[str, str], body: bytes) -> tuple[int, dict]:
        received = self._now_str()
        started = time.perf_counter()
        msgid: str | None = None
        # Warnings that do not stop the transaction (warn_msg): a deprecated number, fields a
        # national-shape input does not know, a weaker signing mode; handlers add theirs (ctx.warn).
        warnings: list[str] = []
        # How this request was signed, said on its answer even when the msgid's stored answer is
        # served again (a retry may be signed otherwise than the first try): reference/signing.py.
        signing_notes: list[str] = []
        sender = (headers.get(signing.HEADER_SENDER) or headers.get(signing.HEADER_SENDER.lower())
                  or headers.get(signing.TIF_PAASID))
        try:
            if len(body) > self.state.settings.max_body_bytes:
                raise E.BodyTooLarge(
                    f"{len(body)} bytes, limit {self.state.settings.max_body_bytes}", field="body"
                )
            auth = self._authenticate(headers, body)
            principal, nonce, ts = auth.principal, auth.nonce, auth.ts
            if auth.mode == signing.MODE_TIF:
                signing_notes.append(signing.TIF_WARNING)
                # The nonce is all that binds x-tif headers to one request: use it up before the body
                # is read, so that headers of a request refused below cannot carry another body.
                with self.state.store.write() as db:
                    _use_nonce(db, principal.id, auth.nonce, ts, field=signing.TIF_NONCE)
                nonce = None
            _check_media_type(headers)
            env = self._parse_envelope(body)
            msgid = env.msgid
            _check_signtype(env, auth.mode, signing_notes)
            _note_unknown(env, "", warnings)
            tx = self._resolve(path_infno, env, principal, warnings)
            inp = self._typed_input(tx, env.input)
            if has_national_part(tx.input_model):
                _note_unknown(inp, "input", warnings)
            prepared = tx.prepare(self.state, inp) if tx.prepare else None
            snapshot = self._read_phase(tx, principal, env, inp, prepared) if tx.read else None
            status, payload = self._execute(tx, principal, env, inp, prepared, body, nonce, ts, received,
                                            snapshot=snapshot, warnings=warnings)
        except E.ScenemonError as exc:
            status, payload = exc.http_status, self._error(exc, msgid, received, warnings)
        except Exception:  # a bug: answer with 9999 and keep the msgid in the log
            log.exception("internal error sender=%s msgid=%s", sender, msgid)
            exc = E.InternalError("internal error; quote this msgid to the operator")
            status, payload = exc.http_status, self._error(exc, msgid, received)
        payload = _with_notes(payload, signing_notes)
        log.info(
            "tx sender=%s infno=%s msgid=%s infcode=%s ms=%.1f",
            sender, path_infno, msgid, payload["infcode"], (time.perf_counter() - started) * 1000,
        )
        return status, payload

    # -- steps ----------------------------------------------------------------------------
    def _authenticate(self, headers: Mapping[str, str], body: bytes) -> Auth:
        low = {k.lower(): v for k, v in headers.items()}  # header names are case-insensitive

        def h(name: str) -> str | None:
            return low.get(name.lower()) or None

        tif = [name for name in signing.TIF_HEADERS if h(name) is not None]
        if tif and h(signing.HEADER_SIGNATURE) is not None:
            raise E.Unauthenticated("sign with either X-SM-* or x-tif-* headers, not both", field=tif[0])
        if tif:
            return self._authenticate_tif(h)
        sender, ts, nonce, sig = (
            h(signing.HEADER_SENDER), h(signing.HEADER_TIMESTAMP),
            h(signing.HEADER_NONCE), h(signing.HEADER_SIGNATURE),
        )
        for name, value in (
            (signing.HEADER_SENDER, sender), (signing.HEADER_TIMESTAMP, ts),
            (signing.HEADER_NONCE, nonce), (signing.HEADER_SIGNATURE, sig),
        ):
            if not value:
                raise E.Unauthenticated("header missing", field=name)
        assert sender and ts and nonce and sig
        alg = (h(signing.HEADER_ALG) or signing.ALG_SHA256).upper()
        if alg not in signing.ALGORITHMS:
            raise E.Unauthenticated(f"must be one of {', '.join(signing.ALGORITHMS)}", field=signing.HEADER_ALG)
        if not signing.NONCE_RE.match(nonce):
            raise E.Unauthenticated("must be 16-64 characters [A-Za-z0-9_-]", field=signing.HEADER_NONCE)
        if not ts.isdigit():
            raise E.Unauthenticated("must be Unix time in whole seconds", field=signing.HEADER_TIMESTAMP)
        if alg == signing.ALG_SM3 and signing.sm3_backend() == "gmssl" and len(body) > signing.PURE_SM3_MAX_BODY:
            raise E.BodyTooLarge(f"{len(body)} bytes signed with HMAC-SM3, limit {signing.PURE_SM3_MAX_BODY} on this "
                                 "server (its OpenSSL has no SM3); sign with HMAC-SHA256", field="body")
        row = self._sender(sender, signing.HEADER_SENDER)
        if not signing.verify(row["secret"], ts, nonce, body, sig, alg):
            raise E.BadSignature(f"{alg} signature does not match the body", field=signing.HEADER_SIGNATURE)
        return self._admit(row, ts, nonce, alg, signing.HEADER_TIMESTAMP, signing.HEADER_SENDER)

    def _authenticate_tif(self, h: Callable[[str], str | None]) -> Auth:
        """The national gateway's headers, from a sender switched to them (8016): SHA-256 over
        timestamp + secret + nonce + timestamp, the body not covered (reference/signing.py)."""
        paasid, ts, nonce, sig = (h(name) for name in signing.TIF_HEADERS)
        for name, value in zip(signing.TIF_HEADERS, (paasid, ts, nonce, sig), strict=True):
            if not value:
                raise E.Unauthenticated("header missing", field=name)
        assert paasid and ts and nonce and sig
        if not signing.TIF_NONCE_RE.match(nonce):
            raise E.Unauthenticated("must be 8-64 characters [A-Za-z0-9_-]", field=signing.TIF_NONCE)
        if not ts.isdigit():
            raise E.Unauthenticated("must be Unix time in whole seconds", field=signing.TIF_TIMESTAMP)
        row = self._sender(paasid, signing.TIF_PAASID)
        if not row["x_tif_enabled"]:
            raise E.Unauthenticated(
                f"sender {paasid} is not switched to the x-tif gateway headers (a city bureau's 8016); "
                "sign with X-SM-* headers", field=signing.TIF_PAASID)
        if not signing.tif_verify(row["secret"], ts, nonce, sig):
            raise E.BadSignature("does not match SHA-256(timestamp + token + nonce + timestamp)",
                                 field=signing.TIF_SIGNATURE)
        return self._admit(row, ts, nonce, signing.MODE_TIF, signing.TIF_TIMESTAMP, signing.TIF_PAASID)

    def _sender(self, sender: str, field: str) -> Any:
        # One statement for the sender and, for a terminal, its certification status.
        row = self.state.store.db().one(
            "SELECT p.*, t.status AS terminal_status, t.terminal_id IS NOT NULL AS terminal_known"
            " FROM principals p LEFT JOIN terminals t ON p.kind = 'terminal' AND t.terminal_id = p.id"
            " WHERE p.id = ?",
            (sender,),
        )
        if row is None or not row["active"]:
            raise E.Unauthenticated("unknown or disabled sender", field=field)
        return row

    def _admit(self, row: Any, ts: str, nonce: str, mode: str, ts_field: str, sender_field: str) -> Auth:
        """After a matching signature: the clock skew and, for a terminal, its certification."""
        skew = abs(self.state.wall_time() - int(ts))
        if skew > self.state.settings.signature_max_skew_s:
            hint = "; send seconds, not milliseconds" if len(ts) >= 13 else ""
            raise E.StaleTimestamp(
                f"{int(skew)} s from server time, allowed {self.state.settings.signature_max_skew_s} s{hint}",
                field=ts_field,
            )
        if row["kind"] == "terminal" and row["terminal_status"] != "certified":
            status = row["terminal_status"] if row["terminal_known"] else "unregistered"
            raise E.DeviceNotCertified(f"terminal {row['id']} is {status}", field=sender_field)
        principal = Principal(
            id=row["id"], kind=row["kind"], role=row["role"],
            institution_code=row["institution_code"], district_code=row["district_code"],
            display_name=row["display_name"],
        )
        return Auth(principal, nonce, int(ts), mode)

    def _parse_envelope(self, body: bytes) -> RawEnvelope:
        data = _parse_json(body)
        if not isinstance(data, dict):
            raise E.MalformedJson("body must be a JSON object", field="body")
        _check_json(data, body)
        try:
            return RawEnvelope.model_validate(data)
        except ValidationError as exc:
            raise _pydantic_error(exc, "") from None

    def _resolve(self, path_infno: str | None, env: RawEnvelope, p: Principal,
                 warnings: list[str]) -> Transaction:
        if path_infno is not None and path_infno != env.infno:
            raise E.InvalidField(f"{env.infno} does not match the URL's {path_infno}", field="infno")
        tx = self.transactions.get(env.infno)
        if tx is None and env.infno in DEPRECATED_NUMBERS:
            tx = self.transactions.get(DEPRECATED_NUMBERS[env.infno])
            if tx is not None:
                warnings.append(deprecation_warning(env.infno, tx.infno))
        if tx is None:
            raise E.UnknownTransaction(f"no transaction {env.infno}", field="infno")
        if p.role not in tx.roles:
            raise E.Forbidden(f"role {p.role} may not run {tx.infno} ({tx.title_en})", field="infno")
        if p.kind in {"institution", "terminal"}:
            if env.fixmedins_code is None:
                raise E.InvalidField("required for institutions and terminals", field="fixmedins_code")
            if env.fixmedins_code != p.institution_code:
                raise E.OutOfScope(
                    f"{env.fixmedins_code} is not the sender's institution", field="fixmedins_code"
                )
        return tx

    def _typed_input(self, tx: Transaction, raw: dict[str, Any]) -> BaseModel:
        try:
            return tx.input_model.model_validate(raw)
        except ValidationError as exc:
            raise _pydantic_error(exc, "input") from None

    def _read_phase(self, tx: Transaction, p: Principal, env: RawEnvelope, inp: BaseModel, prepared: Any) -> Any:
        """The transaction's `read` on a read snapshot (no write lock, no writes). Nothing it does
        is an effect: a refusal here is left to the write phase, which decides again and records
        the answer with the msgid, so a message still has exactly one effect."""
        assert tx.read is not None
        with self.state.store.read() as db:
            if db.scalar("SELECT 1 FROM messages WHERE sender=? AND msgid=?", (p.id, env.msgid)):
                return None  # a retry: the write phase answers it from the message log
            db.execute("PRAGMA query_only=ON")
            try:
                return tx.read(Ctx(principal=p, db=db, state=self.state, infno=tx.infno, msgid=env.msgid,
                                   prepared=prepared), inp)
            except E.ScenemonError:
                return None
            finally:
                db.execute("PRAGMA query_only=OFF")

    def _execute(
        self, tx: Transaction, p: Principal, env: RawEnvelope, inp: BaseModel, prepared: Any,
        body: bytes, nonce: str | None, ts: int, received: str, *, snapshot: Any = None,
        warnings: list[str] | None = None,
    ) -> tuple[int, dict]:
        body_hash = hashlib.sha256(body).hexdigest()
        store = self.state.store
        after: list = []
        with store.write() as db:
            if nonce is not None:  # None: used up at authentication (x-tif headers)
                _use_nonce(db, p.id, nonce, ts, field=signing.HEADER_NONCE)
            self._requests += 1
            if self._requests % NONCE_PURGE_EVERY == 0:
                horizon = int(self.state.wall_time()) - 2 * self.state.settings.signature_max_skew_s
                db.execute("DELETE FROM nonces WHERE seen_at < ?", (horizon,))
            seen = db.one(
                "SELECT body_sha256, http_status, response FROM messages WHERE sender=? AND msgid=?",
                (p.id, env.msgid),
            )
            if seen is not None:
                if seen["body_sha256"] != body_hash:
                    raise E.DuplicateMessage(
                        "this msgid was already used with a different body", field="msgid"
                    )
                return seen["http_status"], _rehydrate_secret(db, json.loads(seen["response"]))
            ctx = Ctx(principal=p, db=db, state=self.state, infno=tx.infno, msgid=env.msgid,
                      prepared=prepared, snapshot=snapshot, warnings=list(warnings or ()))
            db.execute("SAVEPOINT handler")
            try:
                sign_in.require_live(db, p, tx.infno, env.sign_no, self.state.settings.sign_in_policy)
                if tx.scene is not None and p.kind in {"institution", "terminal"}:
                    monitoring.require_monitored(db, p.institution_code or "", tx.scene, ctx.now().date())
                out = tx.handler(ctx, inp)
                status, payload = 200, self._ok(out, env.msgid, received, ctx.warnings)
                if tx.log_person_reads:
                    _log_persons_read(ctx, payload["output"])
                db.execute("RELEASE handler")
                after = ctx.post_commit
            except E.ScenemonError as exc:
                db.execute("ROLLBACK TO handler")
                db.execute("RELEASE handler")
                status, payload = exc.http_status, self._error(exc, env.msgid, received, warnings)
            db.execute(
                "INSERT INTO messages(sender, msgid, infno, body_sha256, http_status, response, created_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (p.id, env.msgid, tx.infno, body_hash, status,
                 json.dumps(_redact_secret(db, payload), ensure_ascii=False), received),
            )
        for fn in after:  # committed: now the follow-up work (outside the write lock)
            fn()
        return status, payload

    # -- envelopes --------------------------------------------------------------------------
    def _now_str(self) -> str:
        return self.state.clock.now().strftime(INF_TIME_FORMAT)

    def _ok(self, out: BaseModel, msgid: str, received: str, warnings: list[str] | None = None) -> dict:
        return envelope_dict(
            infcode=0, inf_refmsgid=uuid.uuid4().hex, msgid=msgid, refmsg_time=received,
            respond_time=self._now_str(), output=out.model_dump(mode="json"),
            warn_msg=_warn_msg(warnings),
        )

    def _error(self, exc: E.ScenemonError, msgid: str | None, received: str,
               warnings: list[str] | None = None) -> dict:
        return envelope_dict(
            infcode=exc.code, inf_refmsgid=uuid.uuid4().hex, msgid=msgid, refmsg_time=received,
            respond_time=self._now_str(), err_msg=exc.err_msg, err_field=exc.field,
            warn_msg=_warn_msg(warnings),
        )


def _note_unknown(model: BaseModel, prefix: str, warnings: list[str]) -> None:
    """Name the fields `model` accepted without knowing them in warn_msg and forget their values
    (never read, stored or echoed). The envelope's own unknown fields are its top level's; an
    input's are those inside its national-shape parts (reference.national)."""
    if isinstance(model, RawEnvelope):
        paths = list(model.model_extra or {})
        if model.__pydantic_extra__:
            model.__pydantic_extra__.clear()
    else:
        paths = unknown_fields(model, prefix)
        forget_unknown(model)
    if (text := unknown_fields_warning(paths)) is not None:
        warnings.append(text)


def _warn_msg(warnings: list[str] | None) -> str | None:
    """warn_msg: the warnings in the order they arose, each once, joined by '; '."""
    return "; ".join(dict.fromkeys(warnings)) if warnings else None


__all__ = ["Gateway", "Model"]


# -- every person an answer names is a read (GEN-5) ---------------------------------------------
PERSON_KEYS = frozenset({"psn_no", "other_psn_no"})


def _persons_named(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in PERSON_KEYS and isinstance(v, str):
                found.add(v)
            elif isinstance(v, (dict, list)):
                _persons_named(v, found)
    elif isinstance(value, list):
        for v in value:
            _persons_named(v, found)


def _log_persons_read(ctx: Ctx, output: Any) -> None:
    """Record a read of each person the answer names that the handler has not logged already, so
    that no transaction returns a person's data without an access-log entry."""
    found: set[str] = set()
    _persons_named(output, found)
    if not found:
        return
    done = {p for p, _ in access_log.logged(ctx.db, ctx.msgid, ctx.principal.id)}
    for psn_no in sorted(found - done):
        ctx.log_access(psn_no, "read")


# -- one-time secrets in the message log (GEN-5) -----------------------------------------------
# Transactions that create a signing account (8012, 8015, 8101) return its secret once. The
# message log keeps responses for idempotent replay; it must not become a second copy of every
# secret, so the stored response names the account instead, and a replay reads the secret back
# from the account (a retried creation still gets its secret, the log never holds one).
SECRET_REF = "$secret_of"


def _redact_secret(db, payload: dict) -> dict:
    out = payload.get("output")
    if not isinstance(out, dict) or not isinstance(out.get("secret"), str):
        return payload
    owner = db.scalar("SELECT id FROM principals WHERE secret=?", (out["secret"],))
    return {**payload, "output": {**out, "secret": {SECRET_REF: owner}}}


def _rehydrate_secret(db, payload: dict) -> dict:
    out = payload.get("output")
    if not isinstance(out, dict) or not isinstance(out.get("secret"), dict):
        return payload
    owner = out["secret"].get(SECRET_REF)
    secret = db.scalar("SELECT secret FROM principals WHERE id=?", (owner,)) if owner else None
    return {**payload, "output": {**out, "secret": secret}}

