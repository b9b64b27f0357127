"""The transaction registry (交易目录): every transaction number with its models, roles and handler.

A scene module declares a transaction with the `@transaction` decorator:

    @transaction("1001", "admin-ping", en="Ping", zh="连通性测试", roles=ANY_ROLE, tag="admin",
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
    # terminal may run it only while the scene is enabled for its institution (1204).
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


REGISTRY: dict[str, Transaction] = {}


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
        )
        return fn

    return register


def load_all() -> dict[str, Transaction]:
    """Import every scene module so that its transactions register; return the registry."""
    from reference import scenes  # noqa: F401  (scenes/__init__ imports each scene module)

    return dict(sorted(REGISTRY.items()))
