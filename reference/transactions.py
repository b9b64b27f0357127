"""The transaction registry (交易目录): every transaction number with its models, roles and handler.

A scene module declares a transaction with the `@transaction` decorator:

    @transaction("8000", "admin-ping", en="Ping", zh="连通性测试", roles=ANY_ROLE, tag="admin",
                 reqs=("GEN-2",))
    def ping(ctx: Ctx, inp: Empty) -> PingOut: ...

The handler's type hints give the typed input and output models; the gateway validates the input
against them, and the OpenAPI document and the spec site are generated from this registry.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from reference.codes import Role

ANY_ROLE: frozenset[str] = frozenset(r.value for r in Role)
BUREAU_ROLES: frozenset[str] = frozenset({"city_bureau", "district_bureau", "agency", "audit_centre"})


@dataclass(frozen=True)
class Transaction:
    infno: str
    operation_id: str
    title_en: str
    title_zh: str
    tag: str
    roles: frozenset[str]
    requirements: tuple[str, ...]
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    handler: Callable[..., BaseModel]
    description: str
    # Optional pure computation run before the write transaction opens (e.g. face embedding),
    # so slow work never holds the database's write lock. Its result is `ctx.prepared`.
    prepare: Callable[[Any, BaseModel], Any] | None = field(default=None, compare=False)
    # The monitored scene (code table scene) this transaction belongs to, if any: an institution or
    # terminal may run it only while the scene is enabled for its institution (8014).
    scene: str | None = None
    # Whether the gateway logs a read (GEN-5) for every person the answer names. Off only for the
    # access log itself, whose entries name persons as the subject of an audit, not as their data.
    log_person_reads: bool = True
    # Optional read phase (e.g. the day end's scan): run on a read snapshot with the sender's
    # context before the write transaction opens, so long reads never hold the write lock. It must
    # not write (the connection is query-only while it runs). Its result is `ctx.snapshot` in the
    # handler, which must check that the facts it was read from are unchanged (or read them
    # again); a refusal or a replayed msgid in the read phase leaves the snapshot None.
    read: Callable[[Any, BaseModel], Any] | None = field(default=None, compare=False)
    # The transaction has the national platform's number, meaning and field names (its entry in
    # interface_spec/national/transactions.yaml); otherwise it is a scenemon extension in 8xxx.
    national: bool = False


REGISTRY: dict[str, Transaction] = {}

# -- numbering (交易编号) -------------------------------------------------------------------------
# National numbers (interface_spec/national/transactions.yaml) are used only with their national
# meaning (`national=True`). scenemon's own transactions are in 8xxx, which the national list does
# not use; the second digit tells the group, a scene's transactions are in that scene's group.
EXTENSION_GROUPS: dict[str, str] = {
    "80": "platform: registry, accounts and ping",
    "81": "terminals and face recognition (every scene)",
    "82": "inpatient scene",
    "83": "hemodialysis scene",
    "84": "rehabilitation scene",
    "85": "pharmacy scene",
    "86": "special registration (every scene)",
    "87": "rules: releases, pre-settlement check, review, appeals, statistics",
    "88": "big data: post-event analysis and leads",
    "89": "operations and audit: business clock, access log",
}
SCENE_GROUP: dict[str, str] = {"inpatient": "82", "hemodialysis": "83", "rehabilitation": "84", "pharmacy": "85"}

# Release 0.1's numbers that have no national meaning keep working for one release (answering
# with a deprecation warning in warn_msg); those with a national meaning (1101, 1201, 1301-1307,
# 2001, 7101-7104, 7201, 9001, 9002) stopped meaning ours at once.
DEPRECATED_NUMBERS: dict[str, str] = {
    "1001": "8000", "1102": "8002", "1103": "8003", "1202": "8012", "1203": "8013", "1204": "8014",
    "1205": "8015", "2002": "8122", "2003": "8123", "2004": "8124", "2005": "8125",
    "3001": "8201", "3002": "8202", "3003": "8203", "3004": "8204", "3005": "8205", "3006": "8206",
    "3009": "8209", "3011": "8211", "3012": "8212", "3021": "8601", "3022": "8602", "3023": "8603",
    "3024": "8604", "3025": "8605", "3031": "8231", "7001": "8701", "7002": "8702", "7003": "8703",
    "7004": "8704", "7005": "8705", "7301": "8811", "7302": "8812", "7303": "8813", "7401": "8721",
    "7501": "8722",
}
DEPRECATED_UNTIL = "0.3.0"


def deprecation_warning(old: str, new: str) -> str:
    return (f"infno {old} is deprecated: use {new} (the old number works until release "
            f"{DEPRECATED_UNTIL}; see the numbering page)")


def transaction(
    infno: str,
    operation_id: str,
    *,
    en: str,
    zh: str,
    roles: frozenset[str] | set[str],
    tag: str,
    reqs: tuple[str, ...] = (),
    prepare: Callable[[Any, BaseModel], Any] | None = None,
    scene: str | None = None,
    log_person_reads: bool = True,
    read: Callable[[Any, BaseModel], Any] | None = None,
    national: bool = False,
) -> Callable[[Callable[..., BaseModel]], Callable[..., BaseModel]]:
    unknown = set(roles) - ANY_ROLE
    if unknown:
        raise ValueError(f"transaction {infno}: unknown roles {sorted(unknown)}")

    def register(fn: Callable[..., BaseModel]) -> Callable[..., BaseModel]:
        hints = typing.get_type_hints(fn)
        params = [p for p in fn.__code__.co_varnames[: fn.__code__.co_argcount]]
        if len(params) != 2 or "return" not in hints:
            raise TypeError(f"{fn.__name__}: a handler is (ctx, inp: InputModel) -> OutputModel")
        if infno in REGISTRY:
            raise ValueError(f"transaction {infno} registered twice")
        REGISTRY[infno] = Transaction(
            infno=infno,
            operation_id=operation_id,
            title_en=en,
            title_zh=zh,
            tag=tag,
            roles=frozenset(roles),
            requirements=tuple(reqs),
            input_model=hints[params[1]],
            output_model=hints["return"],
            handler=fn,
            description=inspect.cleandoc(fn.__doc__ or ""),
            prepare=prepare,
            scene=scene,
            log_person_reads=log_person_reads,
            read=read,
            national=national,
        )
        return fn

    return register


def load_all() -> dict[str, Transaction]:
    """Import every scene module so that its transactions register; return the registry."""
    from reference import scenes  # noqa: F401  (scenes/__init__ imports each scene module)

    return dict(sorted(REGISTRY.items()))
