"""The engine: behaviour modules run as SimPy processes on the simulation's clock.

Simulated time is in minutes from the scenario's start (00:00 CST of `start`); it is also the
server's business time — before an action calls the server, `ServerLink.sync` moves the
server's manual clock to it (8901). One *case* is one run of one module (an admission, a
purchase, a person's lifelong admission generator, an institution's nightly day end): a
generator that walks the module's states. Cases start from the triggers (`on: person`,
`on: institution`, `on: region`) when the run starts, or when another case spawns an event
(`sim.spawn`), which picks among the event's candidate modules by their rates.

Randomness is per case (`random.Random` seeded from the run's seed and the case's key: module
and person, or the spawning case's key and spawn count), so the monitored run and its
unmonitored counterfactual see the same people fall ill on the same days (common random
numbers), and the same seed gives the same run bit for bit.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import simpy

from simulator.behaviour.expr import Expr
from simulator.behaviour.format import MINUTES, Bernoulli, Choice, Exponential, Fixed, LogNormal, Normal, Poisson
from simulator.behaviour.loader import CModule, CState, Library

if TYPE_CHECKING:
    from simulator.labels import Labels
    from simulator.link import ServerLink
    from simulator.scenario import Scenario
    from simulator.world import Institution, Person, Region


class Vars(dict):
    """A case's (or person's, institution's) variables: `v.name` in expressions, None when unset."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name)


def seed_of(*parts: Any) -> int:
    return int.from_bytes(hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest(), "little")


@dataclass(eq=False)
class Case:
    """One run of one module for one person and/or institution."""

    key: str
    module: CModule
    person: Person | None
    institution: Institution | None
    rng: random.Random
    label: str = "none"  # honest | fraud | decoy | none (operations and generators)
    pattern: str = ""
    actor: str = "none"
    ring_id: str = ""
    case_id: str = ""
    v: Vars = field(default_factory=Vars)
    last: Vars = field(default_factory=Vars)
    spawned: int = 0
    encounters: list = field(default_factory=list)
    ns: dict[str, Any] = field(default_factory=dict)

    @property
    def p(self) -> Vars:
        return self.ns["p"]


class Sim:
    """One run: the environment, the region, the behaviour library, the server link, the labels."""

    def __init__(self, scenario: Scenario, region: Region, library: Library, *, seed: int, arm: str,
                 link: ServerLink | None, labels: Labels, golive: dict[tuple[str, str], date],
                 faces: Any = None, deterrence: Any = None) -> None:
        self.scenario, self.region, self.library = scenario, region, library
        self.seed, self.arm, self.link, self.labels, self.golive = seed, arm, link, labels, golive
        self.faces, self.deterrence = faces, deterrence
        self.env = simpy.Environment()
        self.t0 = datetime.combine(scenario.start, datetime.min.time())
        self.horizon = scenario.days * 1440.0
        self.cases = 0
        self.events = library.events()
        self.errors: list[str] = []

    # -- time ---------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.t0 + timedelta(minutes=math.floor(self.env.now))

    def today(self) -> date:
        return (self.t0 + timedelta(minutes=self.env.now)).date()

    def monitored(self, institution: Institution | None, scene: str, day: date | None = None) -> bool:
        if institution is None:
            return False
        since = self.golive.get((institution.code, scene))
        return since is not None and since <= (day or self.today())

    # -- starting cases -----------------------------------------------------------------------
    def start(self) -> None:
        """The cases that start with the run, in a fixed order: region, institutions, persons."""
        for m in self.library.by_trigger("region"):
            self._begin(m, None, None, f"{m.id}")
        for m in self.library.by_trigger("institution"):
            for inst in self.region.institutions:
                self._begin(m, None, inst, f"{m.id}/{inst.code}")
        for m in self.library.by_trigger("person"):
            for person in self.region.persons:
                self._begin(m, person, None, f"{m.id}/{person.psn_no}")

    def _begin(self, m: CModule, person: Person | None, inst: Institution | None, key: str,
               vars_: dict[str, Any] | None = None, parent: Case | None = None) -> Case | None:
        case = Case(key, m, person, inst, random.Random(seed_of(self.seed, key)))
        if vars_:
            case.v.update(vars_)
        self._bind(case)
        if m.when is not None and not m.when.eval(case.ns):
            return None
        self._label(case, parent)
        self.cases += 1
        case.case_id = f"C{self.cases:07d}"
        case.ns["case_id"] = case.case_id
        self.env.process(self._run(case, m))
        return case

    def _label(self, case: Case, parent: Case | None) -> None:
        kind = case.module.spec.kind
        if kind == "operations" or case.module.spec.trigger.on in ("person", "institution", "region") \
                and kind == "pathway":
            case.label = "none"
            return
        case.label = {"pathway": "honest", "fraud": "fraud", "decoy": "decoy"}[kind]
        case.pattern = case.module.id
        case.actor = case.module.spec.actor
        if kind == "fraud" and case.institution is not None:
            case.ring_id = str(case.institution.vars.get("ring_id") or "")
            if case.ring_id and case.actor in ("institution", "staff"):
                case.actor = "ring"

    def _bind(self, case: Case) -> None:
        person, inst = case.person, case.institution
        ns = case.ns
        ns.update(person=person, institution=inst, v=case.v, last=case.last, p=Vars(case.module.params),
                  pv=Vars() if person is None else _vars(person), iv=Vars() if inst is None else _vars(inst),
                  region=self.region, arm=self.arm, case_id=case.case_id,
                  monitored=lambda scene, _i=inst: self.monitored(case.institution, scene),
                  days_since=lambda d: (self.today() - d).days if d is not None else None,
                  months_since=lambda d: (self.today() - d).days / 30.4375 if d is not None else None,
                  min=min, max=max, abs=abs, len=len, round=round)
        ns["age"] = None

    def refresh(self, case: Case) -> dict[str, Any]:
        ns = case.ns
        ns["today"] = today = self.today()
        ns["now"] = self.now()
        ns["last"] = case.last
        if case.person is not None:
            b = case.person.birth_date
            ns["age"] = today.year - b.year - ((today.month, today.day) < (b.month, b.day))
        return ns

    def spawn(self, parent: Case, event: str, institution: Institution | None,
              vars_: dict[str, Any] | None = None) -> Case | None:
        """Start a case of one of `event`'s candidate modules for the parent's person at
        `institution`; which one is drawn by rate (× multiplier × deterrence for fraud)."""
        parent.spawned += 1
        key = f"{parent.key}/{event}{parent.spawned}"
        rng = random.Random(seed_of(self.seed, key, "choose"))
        u, u_deter = rng.random(), rng.random()
        rest: CModule | None = None
        acc = 0.0
        chosen: CModule | None = None
        probe = Case(key, parent.module, parent.person, institution, rng)
        for m in self.events.get(event, ()):
            rate = m.spec.trigger.rate
            if rate == "rest":
                rest = m
                continue
            probe.module = m
            self._bind(probe)
            self.refresh(probe)
            if m.when is not None and not m.when.eval(probe.ns):
                continue
            r = self.scenario.behaviour.rates.get(m.id, rate.value)  # type: ignore[union-attr]
            if m.multiplier is not None:
                r *= float(m.multiplier.eval(probe.ns) or 0)
            acc += r
            if chosen is None and u < acc:
                chosen = m
        if chosen is not None and chosen.spec.kind == "fraud" and self.deterrence is not None:
            keep = self.deterrence.factor(self, institution, parent.person, chosen)
            if u_deter >= keep:
                self.labels.deterred(chosen.id, self.today())
                if chosen.spec.trigger.deterred == "drop":
                    return None
                chosen = None
        if chosen is None:
            chosen = rest
        if chosen is None:
            return None
        return self._begin(chosen, parent.person, institution, key, vars_, parent)

    # -- running a case -----------------------------------------------------------------------
    def _run(self, case: Case, m: CModule) -> Iterator[simpy.Event]:
        state = m.initial
        while True:
            cs = m.states[state]
            t = cs.spec.type
            if t == "terminal":
                return
            if t == "delay":
                wait = self._delay(cs, case)
                if wait > 0:
                    yield self.env.timeout(wait)
                if self.env.now >= self.horizon:
                    return
            elif t == "set":
                ns = self.refresh(case)
                for k, val in cs.values.items():
                    scope, _, name = k.partition(".")
                    value = self.value(val, case.rng, ns)
                    target = case.v if scope == "v" else ns["pv"] if scope == "pv" else ns["iv"]
                    target[name] = value
            elif t == "action":
                ns = self.refresh(case)
                args = {k: (a.eval(ns) if isinstance(a, Expr) else a) for k, a in cs.args.items()}
                out = cs.action.fn(ActionCtx(self, case), **args)  # type: ignore[union-attr]
                case.last = Vars(out or {})
            elif t == "call":
                yield from self._run(case, self.library.modules[cs.spec.module])  # type: ignore[index]
            state = self._next(cs, case)

    def _next(self, cs: CState, case: Case) -> str:
        if cs.direct:
            return cs.direct
        ns = self.refresh(case)
        if cs.weights:
            u, acc = case.rng.random(), 0.0
            for to, w in cs.weights:
                acc += float(w.eval(ns)) if isinstance(w, Expr) else w
                if u < acc:
                    return to
            return cs.weights[-1][0]
        for cond, to in cs.branches:
            if cond is None or cond.eval(ns):
                return to
        raise AssertionError("a conditional always ends with else")

    def _delay(self, cs: CState, case: Case) -> float:
        spec = cs.spec
        if spec.duration is not None:
            return max(0.0, self.value(spec.duration, case.rng, self.refresh(case)) * MINUTES[spec.duration.unit])
        u = spec.until
        now = self.env.now
        if cs.until_date is not None:
            d = cs.until_date.eval(self.refresh(case))
            if d is None:
                return self.horizon - now + 1  # never: sleeps past the end
            at = (datetime.combine(d, datetime.min.time()) - self.t0).total_seconds() / 60
            return max(0.0, at - now)
        lo, hi = (int(x[:2]) * 60 + int(x[3:]) for x in u.window)  # type: ignore[union-attr]
        day0 = math.floor(now / 1440) * 1440
        at = day0 + (1440 if u.day == "next" else 0) + lo + case.rng.random() * (hi - lo)  # type: ignore[union-attr]
        if at <= now:
            at += 1440
        return math.floor(at) - now

    @staticmethod
    def value(val: Any, rng: random.Random, ns: dict[str, Any]) -> Any:
        if isinstance(val, Expr):
            return val.eval(ns)
        if isinstance(val, bool | str) or val is None:
            return val
        return draw(val, rng)

    def run(self) -> None:
        self.start()
        self.env.run(until=self.horizon)


def _vars(obj: Any) -> Vars:
    if not isinstance(obj.vars, Vars):
        obj.vars = Vars(obj.vars)
    return obj.vars


def draw(d: Any, rng: random.Random) -> Any:
    """One value from a distribution of the module format."""
    if isinstance(d, Fixed):
        return d.value
    if isinstance(d, Exponential):
        return rng.expovariate(1.0 / d.mean)
    if isinstance(d, LogNormal):
        x = d.median * math.exp(rng.gauss(0.0, d.sigma))
        return min(max(x, d.min if d.min is not None else x), d.max if d.max is not None else x)
    if isinstance(d, Normal):
        x = rng.gauss(d.mean, d.sd)
        return min(max(x, d.min if d.min is not None else x), d.max if d.max is not None else x)
    if isinstance(d, Poisson):
        # Knuth for small means, normal approximation above (counts, not rare events)
        if d.mean > 30:
            return max(0, round(rng.gauss(d.mean, math.sqrt(d.mean))))
        limit, k, prod = math.exp(-d.mean), 0, rng.random()
        while prod > limit:
            k += 1
            prod *= rng.random()
        return k
    if isinstance(d, Bernoulli):
        return rng.random() < d.p
    if isinstance(d, Choice):
        u, acc = rng.random(), 0.0
        for k, w in d.options.items():
            acc += w
            if u < acc:
                return k
        return k
    return rng.uniform(d.low, d.high)  # Uniform


class ActionCtx:
    """What an action sees: the run (`sim`), the case, and shortcuts to the server link."""

    __slots__ = ("sim", "case")

    def __init__(self, sim: Sim, case: Case) -> None:
        self.sim, self.case = sim, case

    @property
    def link(self) -> ServerLink | None:
        return self.sim.link

    def monitored(self, scene: str) -> bool:
        return self.sim.monitored(self.case.institution, scene)

    def online(self, scene: str) -> bool:
        """The server is to be called for `scene` at this institution now: it is monitored there
        (before go-live an institution does not send that scene's transactions)."""
        return self.sim.link is not None and self.monitored(scene)
