"""The gateway (网关): the only way into the server over HTTP.

For each request, in this order:

1. size limit                         → 1004 body_too_large
2. signature headers, sender, HMAC,   → 2001 unauthenticated, 2002 bad_signature,
   clock skew, terminal certified       2003 stale_timestamp, 2007 device_not_certified
3. JSON and envelope validation       → 1002 malformed_json, 1001 invalid_field
4. transaction lookup, role, own      → 1003 unknown_transaction, 2005 forbidden,
   institution in `fixmedins_code`      2006 out_of_scope
5. typed input validation             → 1001 invalid_field (err_field = input.<path>)
6. `prepare` (slow pure work, e.g. face embedding) outside the write lock
7. one write transaction: nonce       → 2004 replayed_nonce
   (sender, msgid) seen before?       → the stored response again, or 3001 duplicate_message
   the handler, then the response stored with the msgid, then COMMIT, then the answer.

Because steps 7's check, effect and record commit together, a retried or concurrently repeated
message has exactly one effect. Refusals before step 7 have no effect and are not recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from reference import errors as E
from reference import signing
from reference.context import Ctx, Principal
from reference.envelope import INF_TIME_FORMAT, Model, RequestEnvelope, envelope_dict
from reference.state import AppState
from reference.transactions import Transaction, load_all

log = logging.getLogger("scenemon.gateway")
NONCE_PURGE_EVERY = 1000


class RawEnvelope(RequestEnvelope[dict[str, Any]]):
    """The envelope with its input still untyped (validated against the transaction next)."""


def _pydantic_error(exc: ValidationError, prefix: str) -> E.InvalidField:
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first["loc"])
    path = f"{prefix}.{path}" if prefix and path else (prefix or path)
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown field (not part of this transaction's interface)"
    return E.InvalidField(msg, field=path or None)


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
        sender = headers.get(signing.HEADER_SENDER) or headers.get(signing.HEADER_SENDER.lower())
        try:
            if len(body) > self.state.settings.max_body_bytes:
                raise E.BodyTooLarge(
                    f"{len(body)} bytes, limit {self.state.settings.max_body_bytes}", field="body"
                )
            principal, nonce, ts = self._authenticate(headers, body)
            env = self._parse_envelope(body)
            msgid = env.msgid
            tx = self._resolve(path_infno, env, principal)
            inp = self._typed_input(tx, env.input)
            prepared = tx.prepare(self.state, inp) if tx.prepare else None
            status, payload = self._execute(tx, principal, env, inp, prepared, body, nonce, ts, received)
        except E.ScenemonError as exc:
            status, payload = exc.http_status, self._error(exc, msgid, received)
        except Exception:  # a bug: answer with 9999 and keep the msgid in the log
            log.exception("internal error sender=%s msgid=%s", sender, msgid)
            exc = E.InternalError("internal error; quote this msgid to the operator")
            status, payload = exc.http_status, self._error(exc, msgid, received)
        log.info(
            "tx sender=%s infno=%s msgid=%s infcode=%s ms=%.1f",
            sender, path_infno, msgid, payload["infcode"], (time.perf_counter() - started) * 1000,
        )
        return status, payload

    # -- steps ----------------------------------------------------------------------------
    def _authenticate(self, headers: Mapping[str, str], body: bytes) -> tuple[Principal, str, int]:
        def h(name: str) -> str | None:
            return headers.get(name) or headers.get(name.lower())

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
        if not signing.NONCE_RE.match(nonce):
            raise E.Unauthenticated("must be 16-64 characters [A-Za-z0-9_-]", field=signing.HEADER_NONCE)
        if not ts.isdigit():
            raise E.Unauthenticated("must be Unix time in whole seconds", field=signing.HEADER_TIMESTAMP)
        db = self.state.store.db()
        # One statement for the sender and, for a terminal, its certification status.
        row = db.one(
            "SELECT p.*, t.status AS terminal_status, t.terminal_id IS NOT NULL AS terminal_known"
            " FROM principals p LEFT JOIN terminals t ON p.kind = 'terminal' AND t.terminal_id = p.id"
            " WHERE p.id = ?",
            (sender,),
        )
        if row is None or not row["active"]:
            raise E.Unauthenticated("unknown or disabled sender", field=signing.HEADER_SENDER)
        if not signing.verify(row["secret"], ts, nonce, body, sig):
            raise E.BadSignature("signature does not match the body", field=signing.HEADER_SIGNATURE)
        skew = abs(self.state.wall_time() - int(ts))
        if skew > self.state.settings.signature_max_skew_s:
            raise E.StaleTimestamp(
                f"{int(skew)} s from server time, allowed {self.state.settings.signature_max_skew_s} s",
                field=signing.HEADER_TIMESTAMP,
            )
        if row["kind"] == "terminal" and row["terminal_status"] != "certified":
            status = row["terminal_status"] if row["terminal_known"] else "unregistered"
            raise E.DeviceNotCertified(f"terminal {sender} is {status}", field=signing.HEADER_SENDER)
        principal = Principal(
            id=row["id"], kind=row["kind"], role=row["role"],
            institution_code=row["institution_code"], district_code=row["district_code"],
            display_name=row["display_name"],
        )
        return principal, nonce, int(ts)

    def _parse_envelope(self, body: bytes) -> RawEnvelope:
        # pydantic-core's parser takes half the time of the stdlib's on a 512-float embedding
        # (14 against 28 µs). Whatever it refuses (UTF-16/32 bodies, lone surrogates, malformed
        # JSON) goes to the stdlib, which accepts or refuses it exactly as before.
        try:
            data = from_json(body)
        except ValueError:
            try:
                data = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise E.MalformedJson(f"body is not JSON: {exc}", field="body") from None
        if not isinstance(data, dict):
            raise E.MalformedJson("body must be a JSON object", field="body")
        try:
            return RawEnvelope.model_validate(data)
        except ValidationError as exc:
            raise _pydantic_error(exc, "") from None

    def _resolve(self, path_infno: str | None, env: RawEnvelope, p: Principal) -> Transaction:
        if path_infno is not None and path_infno != env.infno:
            raise E.InvalidField(f"{env.infno} does not match the URL's {path_infno}", field="infno")
        tx = self.transactions.get(env.infno)
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

    def _execute(
        self, tx: Transaction, p: Principal, env: RawEnvelope, inp: BaseModel, prepared: Any,
        body: bytes, nonce: str, ts: int, received: str,
    ) -> tuple[int, dict]:
        body_hash = hashlib.sha256(body).hexdigest()
        store = self.state.store
        after: list = []
        with store.write() as db:
            db.execute("INSERT INTO nonces(sender, nonce, seen_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
                       (p.id, nonce, ts))
            if not db.changes:  # the (sender, nonce) row existed: nothing inserted
                raise E.ReplayedNonce("already used by this sender", field=signing.HEADER_NONCE)
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
                      prepared=prepared)
            db.execute("SAVEPOINT handler")
            try:
                out = tx.handler(ctx, inp)
                db.execute("RELEASE handler")
                status, payload = 200, self._ok(out, env.msgid, received)
                after = ctx.post_commit
            except E.ScenemonError as exc:
                db.execute("ROLLBACK TO handler")
                db.execute("RELEASE handler")
                status, payload = exc.http_status, self._error(exc, env.msgid, received)
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

    def _ok(self, out: BaseModel, msgid: str, received: str) -> dict:
        return envelope_dict(
            infcode=0, inf_refmsgid=uuid.uuid4().hex, msgid=msgid, refmsg_time=received,
            respond_time=self._now_str(), output=out.model_dump(mode="json"),
        )

    def _error(self, exc: E.ScenemonError, msgid: str | None, received: str) -> dict:
        return envelope_dict(
            infcode=exc.code, inf_refmsgid=uuid.uuid4().hex, msgid=msgid, refmsg_time=received,
            respond_time=self._now_str(), err_msg=exc.err_msg, err_field=exc.field,
        )


__all__ = ["Gateway", "Model"]


# -- one-time secrets in the message log (GEN-5) -----------------------------------------------
# Transactions that create a signing account (1202, 1205, 1301) return its secret once. The
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

