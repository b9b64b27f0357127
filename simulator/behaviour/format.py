"""The behaviour-module format (`format: scenemon-behaviour/1`): care pathways, fraud patterns,
decoys and operations as state machines, one YAML file each.

A module is a set of named states, one of them `initial`. The engine runs one *case* of a module
at a time (an admission, a purchase, an institution's day-end routine, one person's life-long
admission generator) as a SimPy process, state by state:

    type       what the state does                                        fields
    initial    where a case starts                                         —
    delay      waits: a duration drawn from a distribution, or until a    duration | until
               time of day (a window, drawn uniformly) / a date expression
    set        stores values in the case (`x`, read as `v.x`), the person    values: {name: dist | expr}
               (`pv.x`) or the institution (`iv.x`)
    action     does something through the server's typed drivers          action, with: {arg: expr}
               (`inpatient.admit`, `pharmacy.purchase`, `sim.spawn`, …);
               its answer is `last` in later expressions
    call       runs another module's states inside this case              module
    terminal   the case ends                                              —

and leaves by one transition: `direct: State`, `distributed: [{to, p, source}]` (probabilities,
each number with its source, or `p: p.param`), or `conditional: [{if: expr, to}, …, {else: State}]`.

A module's `trigger` says when cases start: `on: person` / `on: institution` / `on: region` (one
case per eligible person / institution / one for the region, at the start), or `on: EVENT` — a
candidate whenever a case spawns that event (`sim.spawn`, e.g. `admission`, `purchase`,
`death`); the engine then picks among the event's candidates by their rates (`rate: {value,
source}` or `rate: rest` for the honest pathway that takes what is left), multiplied by
`multiplier` and, for fraud, by the deterrence model. `deterred: drop` means a deterred fraud
case does not happen at all (a ghost admission); `deterred: honest` means the honest pathway
runs instead (a staff member who checks properly after all).

Every number carries its source: distributions and rates have a `source`, parameters are
`{value, source}`, and expressions may not contain numbers other than 0, 1 and -1.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FORMAT = "scenemon-behaviour/1"
Kind = Literal["pathway", "fraud", "decoy", "operations"]
Actor = Literal["patient", "staff", "institution", "ring", "bureau", "none"]
Unit = Literal["minute", "hour", "day"]
MINUTES: dict[str, float] = {"minute": 1.0, "hour": 60.0, "day": 1440.0}
Source = Annotated[str, Field(min_length=3, description="Where the number comes from")]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_STATE = r"^[A-Z][A-Za-z0-9_]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- distributions -------------------------------------------------------------------------------
class _Dist(Strict):
    unit: Unit | None = Field(None, description="For durations: the unit of the drawn number")
    source: Source


class Fixed(_Dist):
    dist: Literal["fixed"]
    value: float


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self):
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self


class Exponential(_Dist):
    dist: Literal["exponential"]
    mean: float = Field(gt=0)


class LogNormal(_Dist):
    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)
    min: float | None = None
    max: float | None = None


class Normal(_Dist):
    dist: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)
    min: float | None = None
    max: float | None = None


class Poisson(_Dist):
    dist: Literal["poisson"]
    mean: float = Field(ge=0)


class Bernoulli(_Dist):
    dist: Literal["bernoulli"]
    p: float = Field(ge=0, le=1)


class Choice(_Dist):
    dist: Literal["choice"]
    options: dict[str, float] = Field(min_length=1)

    @model_validator(mode="after")
    def _sum(self):
        if any(w < 0 for w in self.options.values()) or abs(sum(self.options.values()) - 1) > 1e-6:
            raise ValueError("choice weights must be >= 0 and sum to 1")
        return self


Dist = Annotated[Fixed | Uniform | Exponential | LogNormal | Normal | Poisson | Bernoulli | Choice,
                 Field(discriminator="dist")]


# -- parameters and triggers ---------------------------------------------------------------------
class Param(Strict):
    value: float | int | bool | str | list[str]
    source: Source
    description: str | None = None


class Rate(Strict):
    value: float = Field(ge=0, le=1)
    source: Source
    per: str | None = Field(None, description="What the rate is a share of, in words")


class Trigger(Strict):
    on: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    when: str | None = None
    rate: Rate | Literal["rest"] | None = None
    multiplier: str | None = Field(None, description="Expression multiplying the rate (collusion, targeting)")
    deterred: Literal["drop", "honest"] = "honest"

    @property
    def is_event(self) -> bool:
        return self.on not in ("person", "institution", "region")

    @model_validator(mode="after")
    def _rate(self):
        if self.is_event and self.rate is None:
            raise ValueError(f"an event trigger (on: {self.on}) needs a rate (or rate: rest)")
        if not self.is_event and self.rate not in (None, "rest") and self.on == "region":
            raise ValueError("on: region starts exactly one case; it takes no rate")
        return self


# -- transitions ---------------------------------------------------------------------------------
class Weighted(Strict):
    to: str
    p: float | str = Field(description="A probability with its source, or an expression such as p.share")
    source: str | None = None

    @model_validator(mode="after")
    def _sourced(self):
        if isinstance(self.p, float | int) and not (self.source and len(self.source) >= 3):
            raise ValueError(f"the probability {self.p} for {self.to} needs a source")
        if isinstance(self.p, float | int) and not 0 <= self.p <= 1:
            raise ValueError("a probability is between 0 and 1")
        return self


class Branch(Strict):
    if_: str | None = Field(None, alias="if")
    to: str | None = None
    else_: str | None = Field(None, alias="else")

    @model_validator(mode="after")
    def _shape(self):
        if (self.else_ is None) == (self.if_ is None) or (self.if_ is not None and self.to is None) \
                or (self.else_ is not None and self.to is not None):
            raise ValueError("a branch is {if: EXPR, to: STATE} or {else: STATE}")
        return self


class Until(Strict):
    window: tuple[str, str] | None = Field(None, description="Time of day, drawn uniformly in [from, to)")
    day: Literal["today", "next"] = "next"
    date: str | None = Field(None, description="An expression giving a date (start of that day)")
    source: str | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.window is None) == (self.date is None):
            raise ValueError("until is a window of the day or a date expression")
        if self.window is not None:
            if not all(_HHMM.match(t) for t in self.window) or self.window[0] > self.window[1]:
                raise ValueError("a window is two times HH:MM, the first not after the second")
            if not (self.source and len(self.source) >= 3):
                raise ValueError("a time window needs a source")
        return self


class State(Strict):
    type: Literal["initial", "terminal", "delay", "set", "action", "call"]
    remarks: str | None = None
    direct: str | None = None
    distributed: list[Weighted] | None = Field(None, min_length=1)
    conditional: list[Branch] | None = Field(None, min_length=2)
    duration: Dist | None = None
    until: Until | None = None
    values: dict[str, Dist | str | bool] | None = None
    action: str | None = None
    with_: dict[str, str | bool | None] = Field(default_factory=dict, alias="with")
    module: str | None = None

    def transitions(self) -> list[str]:
        if self.direct:
            return [self.direct]
        if self.distributed:
            return [w.to for w in self.distributed]
        if self.conditional:
            return [b.to or b.else_ for b in self.conditional]  # type: ignore[misc]
        return []

    @model_validator(mode="after")
    def _shape(self):
        forms = [f for f in ("direct", "distributed", "conditional") if getattr(self, f)]
        if self.type == "terminal":
            if forms:
                raise ValueError("a terminal state has no transition")
        elif len(forms) != 1:
            raise ValueError("a state leaves by exactly one of direct, distributed, conditional")
        if self.conditional and self.conditional[-1].else_ is None:
            raise ValueError("a conditional ends with {else: STATE}")
        if self.conditional and any(b.else_ is not None for b in self.conditional[:-1]):
            raise ValueError("only the last branch of a conditional is else")
        need = {"delay": ("duration", "until"), "set": ("values",), "action": ("action",), "call": ("module",)}
        if self.type in need and not any(getattr(self, f) for f in need[self.type]):
            raise ValueError(f"a {self.type} state needs {' or '.join(need[self.type])}")
        if self.type == "delay" and self.duration is not None and self.until is not None:
            raise ValueError("a delay has a duration or an until, not both")
        if self.type == "delay" and self.duration is not None and self.duration.unit is None:
            raise ValueError("a delay's duration needs a unit (minute, hour, day)")
        return self


class Module(Strict):
    format: Literal["scenemon-behaviour/1"]
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", description="scene.name")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    kind: Kind
    scene: str
    name_en: str = Field(min_length=3)
    name_zh: str = Field(min_length=2)
    description: str = Field(min_length=10)
    actor: Actor = "none"
    mimics: str | None = Field(None, description="Decoys: the fraud pattern this honest behaviour looks like")
    detected_by: list[str] = Field(default_factory=list, description="Rules expected to flag this pattern")
    trigger: Trigger
    params: dict[str, Param] = Field(default_factory=dict)
    states: dict[Annotated[str, Field(pattern=_STATE)], State] = Field(min_length=2)

    @model_validator(mode="after")
    def _kind(self):
        if self.kind == "decoy" and not self.mimics:
            raise ValueError("a decoy names the fraud pattern it mimics (mimics: scene.pattern)")
        if self.kind != "decoy" and self.mimics:
            raise ValueError("only decoys mimic a pattern")
        if self.kind == "fraud" and self.actor == "none":
            raise ValueError("a fraud pattern names its actor (patient, staff, institution, ring)")
        return self


def overridable(module: Module, params: dict[str, Any]) -> Module:
    """The module with some parameters' values replaced (a scenario's override), sources kept
    and marked as overridden."""
    unknown = set(params) - set(module.params)
    if unknown:
        raise ValueError(f"{module.id} has no parameter {', '.join(sorted(unknown))}")
    new = {k: Param(value=v, source=f"scenario override (module default: {module.params[k].source})",
                    description=module.params[k].description) for k, v in params.items()}
    return module.model_copy(update={"params": {**module.params, **new}})
