"""Sign-in and sign-out (签到 9001 / 签退 9002), in the national platform's shape.

    9001  input  {"signIn": {"opter_no", "mac", "ip"}}   →  output {"signinoutb": {"sign_time", "sign_no"}}
    9002  input  {"signOut": {"sign_no", "opter_no"}}    →  output {"signoutoutb": {"sign_time"}}

Field names, nesting and lengths follow public HIS integration code that talks to the national
platform (opter_no, mac, ip 20 characters; sign_no 30; times yyyy-MM-dd HH:mm:ss); what could not
be corroborated is on the sign-in page. The sessions and the sign-in policy are in
reference.services.sign_in. A retried 9001 (same msgid) is answered from the message log with
the same sign_no, like every retried message.
"""

from __future__ import annotations

from pydantic import Field

from reference.context import Ctx
from reference.fields import Text
from reference.national import NationalModel
from reference.services import sign_in as svc
from reference.transactions import transaction

SIGN_ROLES = frozenset({"institution", "terminal"})


class SignInData(NationalModel):
    """签到信息 — who signs in, from which workstation."""

    opter_no: Text = Field(min_length=1, max_length=20, description="Operator number (操作员编号)")
    mac: Text = Field(max_length=20, description="MAC address of the workstation (签到MAC地址); stored, not checked")
    ip: Text = Field(max_length=20, description="IP address of the workstation (签到IP地址); stored, not checked")


class SignInIn(NationalModel):
    signIn: SignInData = Field(description="签到信息")  # noqa: N815  (the national field name)


class SignInResult(NationalModel):
    sign_time: str = Field(description="Sign-in time (签到时间), yyyy-MM-dd HH:mm:ss, CST (business time)")
    sign_no: str = Field(description="Sign-in number (签到编号), 30 characters: send it as the envelope's sign_no")


class SignInOut(NationalModel):
    signinoutb: SignInResult = Field(description="签到结果 — the sign-in's time and number")


class SignOutData(NationalModel):
    """签退信息 — the session to close and its operator."""

    sign_no: Text = Field(min_length=1, max_length=30, description="Sign-in number from 9001 (签到编号)")
    opter_no: Text = Field(min_length=1, max_length=20,
                           description="Operator number (操作员编号): the one who signed in",
                           json_schema_extra={"x-server-checks": ["the operator who signed this session in"]})


class SignOutIn(NationalModel):
    signOut: SignOutData = Field(description="签退信息")  # noqa: N815  (the national field name)


class SignOutResult(NationalModel):
    sign_time: str = Field(description="Sign-out time (签退时间), yyyy-MM-dd HH:mm:ss, CST (business time)")


class SignOutOut(NationalModel):
    signoutoutb: SignOutResult = Field(description="签退结果 — the sign-out's time")


@transaction("9001", "session-sign-in", en="Sign in", zh="签到", roles=SIGN_ROLES, tag="session",
             reqs=("GEN-2",), national=True)
def sign_in(ctx: Ctx, inp: SignInIn) -> SignInOut:
    """Open a sign-in session for the sender (an institution's operator or a terminal) and return its
    sign_no. Each 9001 opens a new session; earlier ones stay live until signed out. Under the
    sign_in_policy `required`, every other transaction of the sender must carry a live sign_no."""
    now = ctx.now()
    s = svc.sign_in(ctx.db, ctx.principal.id, region_code=ctx.settings.region_code, opter_no=inp.signIn.opter_no,
                    mac=inp.signIn.mac, ip=inp.signIn.ip, now=now)
    return SignInOut(signinoutb=SignInResult(sign_time=svc.national_time(now), sign_no=s.sign_no))


@transaction("9002", "session-sign-out", en="Sign out", zh="签退", roles=SIGN_ROLES, tag="session",
             reqs=("GEN-2",), national=True)
def sign_out(ctx: Ctx, inp: SignOutIn) -> SignOutOut:
    """Close one of the sender's live sessions. Another sender's sign_no is answered like an absent
    one (3003); a session signed out already is 3004; an operator other than the one who signed in
    is 1001 naming input.signOut.opter_no."""
    now = ctx.now()
    svc.sign_out(ctx.db, ctx.principal.id, sign_no=inp.signOut.sign_no, opter_no=inp.signOut.opter_no, now=now)
    return SignOutOut(signoutoutb=SignOutResult(sign_time=svc.national_time(now)))
