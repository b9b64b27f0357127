"""Sign-in sessions (tag `session`): the national 9001 签到 and 9002 签退.

`sign_in` keeps the returned sign_no on the transport, so that every later envelope of that
transport carries it (what a HIS adapter does after signing in); `sign_out` forgets it again.
Under the server's sign_in_policy `required` an institution or terminal needs that to work at all.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from device_mocks.drivers._base import Fields, SceneDriver, tx
from reference.scenes.sign_in import SignInIn, SignInOut, SignOutIn, SignOutOut


class _SignsIn(Protocol):
    """A transport that sends a sign_no in its envelopes (device_mocks.transport.Transport)."""

    sign_no: str | None


class SessionDriver(SceneDriver):
    tag = "session"

    @tx("9001")
    def sign_in(self, inp: SignInIn | Fields | None = None, /, **kw: Any) -> SignInOut:
        """9001 签到 — sign in (`signIn={"opter_no", "mac", "ip"}`); the transport then sends the
        returned sign_no in every envelope."""
        out = self._call(self.sign_in, inp, kw)
        cast(_SignsIn, self.transport).sign_no = out.signinoutb.sign_no
        return out

    @tx("9002")
    def sign_out(self, inp: SignOutIn | Fields | None = None, /, **kw: Any) -> SignOutOut:
        """9002 签退 — sign out (`signOut={"sign_no", "opter_no"}`); the transport stops sending
        that sign_no."""
        out = self._call(self.sign_out, inp, kw)
        sent = self._binding(self.sign_out).request(inp, kw).get("signOut", {}).get("sign_no")
        transport = cast(_SignsIn, self.transport)
        if getattr(transport, "sign_no", None) == sent:
            transport.sign_no = None
        return out
