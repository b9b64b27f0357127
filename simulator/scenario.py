"""The scenario file (`format: scenemon-scenario/1`): one YAML file says everything a run needs.

    format: scenemon-scenario/1
    name: county-inpatient-golive
    seed: 7
    start: 2026-01-01
    days: 365
    world: {preset: county, population: {persons: {value: 100000, source: ...}}}   # simulator/worlds/
    behaviour:                       # simulator/behaviour/modules/ plus `dirs`
      params: {inpatient.ghost_bed: {share_absent_days: 0.8}}
      rates: {inpatient.ghost_bed: 0.04}            # a candidate's trigger rate
      disabled: [pharmacy.deceased_card]
    rollout:                          # go-live per scene and institution group (8014 `since`)
      - {scene: inpatient, date: 2026-07-01, groups: [county_hospitals, township_centres]}
    rules:                            # releases published on the server at their dates (8703/8704)
      - {effective_from: 2026-01-01, changes: [{rule_id: INP-ENROL-24H, params: {hours: 12}}]}
    remote_checks: {per_week: 2, share_of_patients: 0.2, targeting: random, deadline_hours: 2}
    audit: {capacity_per_month: 30, sensitivity: 0.9}
    deterrence: {after_go_live: 0.3, ramp_days: 90, after_caught: 0.6}
    faces: {preset: default}

The levers a policy team turns are all here: roll-out dates per scene and institution group,
rule releases and parameter overrides, remote-check frequency and targeting, audit capacity, and
the deterrence model. Shipped scenarios are in `simulator/scenarios/`; `load_scenario("county")`
finds one by name, or give a path.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

FORMAT = "scenemon-scenario/1"
SCENARIO_DIR = Path(str(resources.files("simulator") / "scenarios"))
SCENES = ("inpatient", "pharmacy", "hemodialysis", "rehab")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rollout(Strict):
    """A scene goes live (monitored, 8014 `since`) on `date` for the institutions of `groups`
    (world roll-out groups) or the listed `institutions`, or for a seeded `share` of them."""

    scene: Literal["inpatient", "pharmacy", "hemodialysis", "rehab"]
    date: date
    groups: list[str] | None = None
    institutions: list[str] | None = None
    share: float = Field(1.0, gt=0, le=1)
    label: str | None = Field(None, description="How the go-live is marked on the charts")

    @model_validator(mode="after")
    def _who(self):
        if self.groups is None and self.institutions is None:
            raise ValueError("a roll-out names groups or institutions")
        return self


class Release(Strict):
    """A rule release the bureau publishes on `effective_from` (8703 draft over the release in
    force, 8704 publish): each change as transaction 8703 takes it (rule_id, params, overrides,
    enabled)."""

    effective_from: date
    version: str | None = Field(None, description="Release version; default sim-N")
    notes: str = "scenario release"
    changes: list[dict[str, Any]] = Field(min_length=1)


class RemoteChecks(Strict):
    """Remote bed checks (远程查床, 8211) the bureau issues to monitored hospitals."""

    per_week: float = Field(1.0, ge=0, le=50, description="Tasks per monitored hospital and week")
    share_of_patients: float = Field(0.2, gt=0, le=1, description="Share of in-hospital patients per task")
    targeting: Literal["random", "low_compliance"] = "random"
    deadline_hours: int = Field(2, ge=1, le=24)
    source: str = "scenemon default: one unannounced check a week, a fifth of the ward"


class Audit(Strict):
    """The audit centre: how many planned leads it investigates a month (8813 capacity) and how
    often an audit of a real violation confirms it."""

    capacity_per_month: int = Field(30, ge=0, le=100000)
    sensitivity: float = Field(0.9, ge=0, le=1)
    source: str = "scenemon default: a small county audit team; tune to the local one"


class Deterrence(Strict):
    """Fraud falls after go-live (by `after_go_live`, reached over `ramp_days`) and after an
    institution is caught (a confirmed lead: by `after_caught`, for `caught_memory_days`)."""

    after_go_live: float = Field(0.3, ge=0, le=1)
    ramp_days: int = Field(90, ge=1)
    after_caught: float = Field(0.6, ge=0, le=1)
    caught_memory_days: int = Field(365, ge=1)
    source: str = ("scenemon modelling choice: the county report describes fraud falling after go-live "
                   "and after penalties without a number; set these from local data")


class Faces(Strict):
    """The synthetic face model (reference/face/synthetic.py): never real faces."""

    preset: Literal["default", "arcface-like"] = "default"
    lookalike_similarity: float = Field(0.75, ge=0, lt=1, description="Cosine between look-alike identities")
    ill_quality: float = Field(0.35, gt=0, lt=1, description="Capture quality of a face changed by illness")


class Behaviour(Strict):
    dirs: list[Path] = Field(default_factory=list, description="More module directories")
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rates: dict[str, float] = Field(default_factory=dict)
    disabled: list[str] = Field(default_factory=list)


class Scenario(Strict):
    format: Literal["scenemon-scenario/1"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str = ""
    seed: int = Field(1, ge=0)
    start: date
    days: int = Field(ge=1, le=3660)
    world: dict[str, Any] | str = "small"
    behaviour: Behaviour = Behaviour()
    rollout: list[Rollout] = Field(default_factory=list)
    rules: list[Release] = Field(default_factory=list)
    remote_checks: RemoteChecks = RemoteChecks()
    audit: Audit = Audit()
    deterrence: Deterrence = Deterrence()
    faces: Faces = Faces()

    def world_spec(self):
        """The world section as a `simulator.world.WorldSpec` (a preset with overrides)."""
        from simulator.world import WorldSpec

        w = {"preset": self.world} if isinstance(self.world, str) else dict(self.world)
        preset = w.pop("preset", None)
        base = WorldSpec.preset(preset).model_dump(mode="json") if preset else {}
        return WorldSpec.model_validate(_merge(base, w))

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def unmonitored(self) -> Scenario:
        """The counterfactual: the same scenario with no scene going live."""
        return self.model_copy(update={"rollout": []})


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def scenario_path(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p.expanduser().resolve()
    shipped = SCENARIO_DIR / f"{name_or_path}.yaml"
    if shipped.exists():
        return shipped
    names = ", ".join(sorted(f.stem for f in SCENARIO_DIR.glob("*.yaml")))
    raise FileNotFoundError(f"no scenario file {name_or_path!r} (a path, or a shipped one: {names})")


def load_scenario(source: str | Path | dict[str, Any], **overrides: Any) -> Scenario:
    """A scenario from a path, a shipped name (`county`), or a plain dict; keyword overrides
    replace top-level keys (`seed=3`, `days=30`)."""
    if isinstance(source, dict):
        data = dict(source)
    else:
        path = scenario_path(source)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a scenario is a mapping")
        base = path.parent
        beh = data.get("behaviour") or {}
        if beh.get("dirs"):
            beh["dirs"] = [str((base / d).resolve()) for d in beh["dirs"]]
    data.update(overrides)
    return Scenario.model_validate(data)
