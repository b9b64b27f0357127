"""The action vocabulary: what an `action:` state may do, declared with its arguments.

An action is a Python function registered under a dotted name (`inpatient.admit`), taking the
running case's context and its evaluated `with:` arguments, and answering a mapping that later
expressions see as `last`. Scenes add their actions in their own module of this package
(`simulator/actions/inpatient.py`, `pharmacy.py`, …); the engine and the module format do not
change — a new scene brings its actions, its behaviour modules and its driver, nothing else.

Each argument is declared so that a module is checked when it loads, not when a case first
reaches the state: `word=(...)` arguments take a bare word from that list (`who: patient`),
others an expression (`amount: v.amount`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Arg:
    required: bool = False
    words: tuple[str, ...] | None = None  # a bare word from this list instead of an expression
    doc: str = ""


@dataclass(frozen=True)
class ActionSpec:
    name: str
    fn: Callable[..., Mapping[str, Any] | None]
    args: Mapping[str, Arg] = field(default_factory=dict)
    doc: str = ""


ACTIONS: dict[str, ActionSpec] = {}


def action(name: str, **args: Arg) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `fn(ctx, **with_args)` as the action `name` with its declared arguments."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in ACTIONS:
            raise ValueError(f"action {name} is registered twice")
        ACTIONS[name] = ActionSpec(name, fn, args, (fn.__doc__ or "").strip().split("\n\n")[0])
        return fn

    return register


def all_actions() -> dict[str, ActionSpec]:
    """Every registered action (importing the scene modules registers theirs)."""
    from simulator.actions import inpatient, pharmacy, sim  # noqa: F401 — registration on import

    return ACTIONS
