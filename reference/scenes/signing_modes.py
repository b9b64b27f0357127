"""Signing modes (签名方式), transaction 8016: a city bureau switches an institution or a terminal to the
national gateway's x-tif headers as well as scenemon's X-SM-* HMAC (reference/signing.py).

The national gateway's signature does not cover the body, so the mode is off for every sender until
the city bureau switches it on, one sender at a time, for a vendor whose adapter cannot yet sign the
body; the bureau that did it and when are kept (principals.x_tif_changed_by / _at). Only the city
bureau: a weaker way in is a decision for the whole city, like the bureau accounts of 8015.
"""

from __future__ import annotations

from pydantic import Field

from reference.context import Ctx
from reference.envelope import Model
from reference.fields import SenderId
from reference.services import registry as svc
from reference.transactions import transaction


class TifModeIn(Model):
    sender: SenderId = Field(description="The institution code or terminal id whose signing mode changes "
                                         "(its x-tif-paasid)",
                             json_schema_extra={"x-server-checks": [
                                 "an institution or a terminal: user accounts sign only with X-SM-* headers"]})
    x_tif_enabled: bool = Field(description="true: the sender may also sign with the x-tif gateway headers; "
                                            "false: only X-SM-* again")


class TifModeOut(Model):
    sender: str
    kind: str = Field(description="institution or terminal")
    x_tif_enabled: bool
    changed_at: str = Field(description="Business time of this change")


@transaction("8016", "registry-signing-mode", en="Switch a sender's x-tif gateway-header mode",
             zh="设置发送方网关签名兼容模式", roles={"city_bureau"}, tag="registry", reqs=("GEN-1", "GEN-2"))
def set_tif_mode(ctx: Ctx, inp: TifModeIn) -> TifModeOut:
    """Off by default. While on, the sender may sign with x-tif-paasid (its sender id),
    x-tif-timestamp, x-tif-nonce and x-tif-signature = SHA-256(timestamp + secret + nonce + timestamp);
    every such request is answered with a warning that its body was not signed. X-SM-* keeps working."""
    row = svc.set_tif_mode(ctx.db, sender=inp.sender, enabled=inp.x_tif_enabled, by=ctx.principal.id,
                           now=ctx.now_iso())
    return TifModeOut(sender=row["id"], kind=row["kind"], x_tif_enabled=inp.x_tif_enabled,
                      changed_at=row["x_tif_changed_at"])
