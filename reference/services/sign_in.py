"""Sign-in sessions (签到 / 签退): the national platform's 9001 and 9002, and the sign-in policy.

An institution's operator (or a self-service terminal) signs in with 9001 and gets a sign-in
number, `sign_no`, which its later envelopes carry; 9002 signs that session out. A session
belongs to the sender (signing account) that opened it: another sender's sign_no is answered
like one that does not exist (3003), never with a hint that it exists.

The server's `sign_in_policy` (reference.config.Settings) decides what a sign_no is for:

- ``off`` (the default): 9001 and 9002 work, the envelope's sign_no is not read. Deployed
  clients send "" or a stale number there; a reference that refused them would break adapters
  that never sign in against a platform that does not ask them to.
- ``required``: an institution or terminal must carry a live sign_no of its own in every
  envelope, or the transaction is refused with 2008 (not_signed_in, err_field `sign_no`).
  Exempt: ping (8000: it proves the connection before anything else), 9001 (one cannot carry
  a sign_no before having one) and 9002 (it names its session in its input). Bureau users
  never sign in: the national sign-in is the institution side's.

A sign_no is a session number, not a credential: every request is authenticated by its
signature whatever the policy. A session stays live until it is signed out (the national
platform's own expiry is not public; see the sign-in page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reference import errors as E
from reference.context import Principal
from reference.envelope import INF_TIME_FORMAT
from reference.store import Db

#: Transactions that never need a sign_no (see the module docstring for why each).
EXEMPT = frozenset({"8000", "9001", "9002"})
#: Sender kinds the policy applies to (bureau users do not sign in).
SIGNING_KINDS = frozenset({"institution", "terminal"})


@dataclass(frozen=True)
class Session:
    sign_no: str
    sender: str
    opter_no: str
    signed_in_at: str
    signed_out_at: str | None


def national_time(when: datetime) -> str:
    """A time in the national form, yyyy-MM-dd HH:mm:ss (China Standard Time)."""
    return when.strftime(INF_TIME_FORMAT)


def sign_in(db: Db, sender: str, *, region_code: str, opter_no: str, mac: str, ip: str, now: datetime) -> Session:
    """Open a session. The sign_no is region (6) + yyyyMMddHHmmss (14) + a 10-digit sequence:
    30 characters, the national length, unique without randomness (the same form as the
    platform's inf_refmsgid)."""
    seq = int(db.scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM sign_ins"))
    sign_no = f"{region_code[:6]:0>6}{now:%Y%m%d%H%M%S}{seq:010d}"
    at = now.isoformat(timespec="seconds")
    db.execute(
        "INSERT INTO sign_ins(seq, sign_no, sender, opter_no, mac, ip, signed_in_at) VALUES (?,?,?,?,?,?,?)",
        (seq, sign_no, sender, opter_no, mac, ip, at),
    )
    return Session(sign_no, sender, opter_no, at, None)


def session(db: Db, sender: str, sign_no: str) -> Session | None:
    """The sender's session with this number, live or signed out; None if absent or another's."""
    row = db.one("SELECT sign_no, sender, opter_no, signed_in_at, signed_out_at FROM sign_ins"
                 " WHERE sender=? AND sign_no=?", (sender, sign_no))
    return Session(**row) if row else None


def sign_out(db: Db, sender: str, *, sign_no: str, opter_no: str, now: datetime) -> None:
    """Close the sender's live session `sign_no`, signed in by operator `opter_no`."""
    s = session(db, sender, sign_no)
    if s is None:
        raise E.NotFound(f"no sign-in {sign_no}", field="input.signOut.sign_no")
    if s.signed_out_at is not None:
        raise E.InvalidState(f"{sign_no} was signed out at {s.signed_out_at}", field="input.signOut.sign_no")
    if s.opter_no != opter_no:
        raise E.InvalidField(f"{sign_no} was signed in by another operator", field="input.signOut.opter_no")
    db.execute("UPDATE sign_ins SET signed_out_at=? WHERE sender=? AND sign_no=?",
               (now.isoformat(timespec="seconds"), sender, sign_no))


def require_live(db: Db, p: Principal, infno: str, sign_no: str | None, policy: str) -> None:
    """The gateway's check (inside the write transaction, before the handler): under policy
    ``required`` an institution or terminal must carry a live sign_no of its own."""
    if policy != "required" or p.kind not in SIGNING_KINDS or infno in EXEMPT:
        return
    if sign_no is None:
        raise E.NotSignedIn("required: sign in with 9001 and send its sign_no", field="sign_no")
    live = db.scalar("SELECT signed_out_at IS NULL FROM sign_ins WHERE sender=? AND sign_no=?", (p.id, sign_no))
    if live is None:
        raise E.NotSignedIn(f"{sign_no} is not a sign-in of this sender; sign in with 9001", field="sign_no")
    if not live:
        raise E.NotSignedIn(f"{sign_no} is signed out; sign in again with 9001", field="sign_no")
