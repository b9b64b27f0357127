"""Loading behaviour modules: every file parsed, checked and compiled at once, every problem
reported together (`BehaviourError` lists them all, file by file), Synthea-style.

Checks beyond the format's own: exactly one initial state, every transition's target exists,
every state is reachable from the initial one, probabilities of a `distributed` transition sum to
1 where they are numbers, every expression is in the safe subset and uses only the module's
parameters, every action exists and gets the arguments it declares, every `call` names a
module that exists, a decoy mimics a fraud pattern that exists, and the numeric rates of one
event's candidates leave room (sum ≤ 1), with at most one `rest`.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulator.actions.registry import ActionSpec, all_actions
from simulator.behaviour.expr import Expr, ExprError
from simulator.behaviour.format import Branch, Module, State, Weighted

_PARAM_REF = re.compile(r"\bp\.([A-Za-z_][A-Za-z0-9_]*)")
MODULE_DIR = Path(str(resources.files("simulator.behaviour") / "modules"))


class BehaviourError(ValueError):
    """Behaviour modules that did not load; `problems` lists every one as 'file: where: what'."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the behaviour modules:\n  " + "\n  ".join(problems))


@dataclass
class CState:
    """A state compiled for the engine: expressions parsed, transitions resolved."""

    name: str
    spec: State
    direct: str | None = None
    weights: list[tuple[str, Expr | float]] = field(default_factory=list)
    branches: list[tuple[Expr | None, str]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # name → Dist | Expr | bool
    args: dict[str, Any] = field(default_factory=dict)  # name → Expr | literal word | bool | None
    action: ActionSpec | None = None
    until_date: Expr | None = None


@dataclass
class CModule:
    spec: Module
    path: str
    states: dict[str, CState]
    initial: str
    when: Expr | None
    multiplier: Expr | None
    params: dict[str, Any]

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass
class Library:
    """All loaded modules by id, and the candidates of each spawned event."""

    modules: dict[str, CModule]
    digest: str

    def by_trigger(self, on: str) -> list[CModule]:
        return [m for m in self.modules.values() if m.spec.trigger.on == on]

    def events(self) -> dict[str, list[CModule]]:
        out: dict[str, list[CModule]] = defaultdict(list)
        for m in self.modules.values():
            if m.spec.trigger.is_event:
                out[m.spec.trigger.on].append(m)
        return dict(out)


def module_files(dirs: Iterable[Path] = ()) -> list[Path]:
    files = sorted(MODULE_DIR.rglob("*.yaml"))
    for d in dirs:
        files += sorted(Path(d).rglob("*.yaml"))
    return files


def _loc(err: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in err["loc"]) or "(file)"


def load_library(dirs: Iterable[Path] = (), *, only: Iterable[str] | None = None,
                 params: Mapping[str, Mapping[str, Any]] | None = None,
                 disabled: Iterable[str] = ()) -> Library:
    """Load the shipped modules and those under `dirs`; `only` keeps the named ids (and what they
    call); `params` overrides module parameters by module id; `disabled` drops modules by id."""
    problems: list[str] = []
    raw: list[tuple[str, Module]] = []
    digest = hashlib.sha256()
    for f in module_files(dirs):
        text = f.read_bytes()
        digest.update(f.name.encode() + b"\0" + text)
        where = f.relative_to(MODULE_DIR).as_posix() if f.is_relative_to(MODULE_DIR) else str(f)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problems.append(f"{where}: not YAML ({exc})")
            continue
        try:
            raw.append((where, Module.model_validate(data)))
        except ValidationError as exc:
            problems += [f"{where}: {_loc(e)}: {e['msg']}" for e in exc.errors()]
    ids: dict[str, str] = {}
    for where, m in raw:
        if m.id in ids:
            problems.append(f"{where}: id {m.id} is also used by {ids[m.id]}")
        ids[m.id] = where
    for mid in set(params or {}) - set(ids):
        problems.append(f"scenario: params for unknown module {mid}")
    for mid in set(disabled) - set(ids):
        problems.append(f"scenario: cannot disable unknown module {mid}")
    actions = all_actions()
    compiled: dict[str, CModule] = {}
    for where, m in raw:
        over = dict((params or {}).get(m.id, {}))
        unknown = set(over) - set(m.params)
        if unknown:
            problems.append(f"scenario: {m.id} has no parameter {', '.join(sorted(unknown))}")
            over = {k: v for k, v in over.items() if k in m.params}
        cm = _compile(where, m, over, actions, ids, problems)
        if cm is not None:
            compiled[m.id] = cm
    for where, m in raw:
        if m.mimics and (m.mimics not in ids or next(x for w, x in raw if x.id == m.mimics).kind != "fraud"):
            problems.append(f"{where}: mimics {m.mimics}, which is not a fraud pattern")
    _check_events([m for _, m in raw if m.id not in set(disabled)], problems)
    if problems:
        raise BehaviourError(problems)
    keep = {k: v for k, v in compiled.items() if k not in set(disabled)}
    if only is not None:
        wanted = set(only)
        missing = wanted - set(keep)
        if missing:
            raise BehaviourError([f"scenario: unknown module {x}" for x in sorted(missing)])
        for m in list(wanted):
            wanted |= _called(keep, m)
        keep = {k: v for k, v in keep.items() if k in wanted}
    return Library(keep, digest.hexdigest())


def _called(mods: Mapping[str, CModule], mid: str, seen: set[str] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    for s in mods[mid].states.values():
        if s.spec.module and s.spec.module not in seen:
            seen.add(s.spec.module)
            _called(mods, s.spec.module, seen)
    return seen


def _check_events(mods: list[Module], problems: list[str]) -> None:
    per: dict[str, list[Module]] = defaultdict(list)
    for m in mods:
        if m.trigger.is_event:
            per[m.trigger.on].append(m)
    for event, ms in per.items():
        rests = [m.id for m in ms if m.trigger.rate == "rest"]
        if len(rests) > 1:
            problems.append(f"event {event}: only one module may take rate: rest ({', '.join(rests)})")
        total = sum(m.trigger.rate.value for m in ms if m.trigger.rate not in (None, "rest"))  # type: ignore[union-attr]
        if total > 1 + 1e-9:
            problems.append(f"event {event}: the candidates' rates sum to {total:.3f} > 1")


def _compile(where: str, m: Module, over: Mapping[str, Any], actions: Mapping[str, ActionSpec],
             ids: Mapping[str, str], problems: list[str]) -> CModule | None:
    before = len(problems)

    def expr(text: str, loc: str) -> Expr | None:
        try:
            e = Expr(text)
        except ExprError as exc:
            problems.append(f"{where}: {loc}: {exc}")
            return None
        for pn in _PARAM_REF.findall(e.text):
            if pn not in m.params:
                problems.append(f"{where}: {loc}: unknown parameter p.{pn}")
        return e

    initial = [n for n, s in m.states.items() if s.type == "initial"]
    if len(initial) != 1:
        problems.append(f"{where}: states: exactly one initial state is needed, found {len(initial)}")
    states: dict[str, CState] = {}
    for name, s in m.states.items():
        cs = CState(name, s)
        loc = f"states.{name}"
        for target in s.transitions():
            if target not in m.states:
                problems.append(f"{where}: {loc}: transition to unknown state {target}")
        cs.direct = s.direct
        if s.distributed:
            cs.weights = [(w.to, _weight(w, expr, f"{loc}.distributed")) for w in s.distributed]
            nums = [w for _, w in cs.weights if isinstance(w, float)]
            if len(nums) == len(cs.weights) and abs(sum(nums) - 1) > 1e-6:
                problems.append(f"{where}: {loc}: probabilities sum to {sum(nums):.4f}, not 1")
        if s.conditional:
            cs.branches = [_branch(b, expr, f"{loc}.conditional") for b in s.conditional]
        if s.values:
            for k, val in s.values.items():
                if not ("." not in k or k.count(".") == 1 and k.split(".")[0] in ("v", "pv", "iv")):
                    problems.append(f"{where}: {loc}.values: {k}: set NAME (the case's), pv.NAME (the person's) "
                                    "or iv.NAME (the institution's)")
                cs.values[k if "." in k else f"v.{k}"] = expr(val, f"{loc}.values.{k}") if isinstance(val, str) else val
        if s.until and s.until.date:
            cs.until_date = expr(s.until.date, f"{loc}.until.date")
        if s.type == "action":
            spec = actions.get(s.action or "")
            if spec is None:
                problems.append(f"{where}: {loc}: unknown action {s.action} (known: {', '.join(sorted(actions))})")
            else:
                cs.action = spec
                for a, arg in spec.args.items():
                    if arg.required and a not in s.with_:
                        problems.append(f"{where}: {loc}: action {s.action} needs argument {a}")
                for a, val in s.with_.items():
                    arg = spec.args.get(a)
                    if arg is None:
                        problems.append(f"{where}: {loc}: action {s.action} has no argument {a} "
                                        f"(it takes {', '.join(spec.args) or 'none'})")
                    elif arg.words is not None and isinstance(val, str) and val in arg.words:
                        cs.args[a] = val
                    elif arg.words is not None and isinstance(val, str) and val.isidentifier() \
                            and val not in ("v", "p", "last", "person", "institution"):
                        problems.append(f"{where}: {loc}: {a}: {val!r} is not one of {', '.join(arg.words)}")
                    elif isinstance(val, str):
                        cs.args[a] = expr(val, f"{loc}.with.{a}")
                    else:
                        cs.args[a] = val
        if s.type == "call" and s.module not in ids:
            problems.append(f"{where}: {loc}: calls unknown module {s.module}")
        states[name] = cs
    if m.trigger.when:
        when = expr(m.trigger.when, "trigger.when")
    else:
        when = None
    mult = expr(m.trigger.multiplier, "trigger.multiplier") if m.trigger.multiplier else None
    if len(initial) == 1:
        seen, todo = set(), [initial[0]]
        while todo:
            n = todo.pop()
            if n in seen or n not in m.states:
                continue
            seen.add(n)
            todo += m.states[n].transitions()
        for n in m.states:
            if n not in seen:
                problems.append(f"{where}: states.{n}: unreachable from {initial[0]}")
    if len(problems) > before:
        return None
    params = {k: (over[k] if k in over else p.value) for k, p in m.params.items()}
    return CModule(m, where, states, initial[0], when, mult, params)


def _weight(w: Weighted, expr, loc: str) -> Expr | float:
    if isinstance(w.p, str):
        e = expr(w.p, f"{loc}.{w.to}.p")
        return e if e is not None else 0.0
    return float(w.p)


def _branch(b: Branch, expr, loc: str) -> tuple[Expr | None, str]:
    if b.else_ is not None:
        return None, b.else_
    return expr(b.if_, f"{loc}.if"), b.to  # type: ignore[arg-type,return-value]
