"""Rules as data: loading, validation, parameter resolution, releases as patches, diffs.

A rule file (interface_spec/rules/rules/<ID>.yaml) declares the rule's names, scene, the stages
it runs in with the outcome at each stage (remind / refuse / suspicion), its requirement IDs,
typed parameters with units, defaults and sources, overrides by institution attributes or
district (RULE-2), severity, and — for composite rules (RULE-1) — how it combines other rules.

A post-event rule also declares when it runs (`runs_at`, one of RUNS_AT):

- `day_end` — judged by the day end (日终) of its scene for one closed business day, for the
  institutions that day end closes (reference.services.day_end). Its scan looks only at closed
  days and skips subjects that already have a lead of the rule, so a later batch run over a
  longer period (8801) re-judges closed days without ever duplicating a finding, and adds only
  what the day end could not see (e.g. an admission uploaded after its days were closed).
- `period` — judged by the batch post-event run (8801) over the period it is given.

Loading checks every file and reports *all* problems at once (`LibraryError.problems`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reference.paths import INTERFACE_SPEC

RULES_DIR = INTERFACE_SPEC / "rules"
Stage = Literal["pre_event", "in_event", "post_event"]
Outcome = Literal["remind", "refuse", "suspicion"]
STAGES: tuple[str, ...] = ("pre_event", "in_event", "post_event")
RunsAt = Literal["day_end", "period"]
RUNS_AT: tuple[str, ...] = ("day_end", "period")
SCENES = ("inpatient", "hemodialysis", "rehab", "pharmacy", "registration", "any")
# Override keys from least to most specific at equal key count (documented in library.yaml).
OVERRIDE_KEYS = ("district", "institution_type", "level", "speciality")


class LibraryError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("rule library is invalid:\n  " + "\n  ".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Param(_Strict):
    type: Literal["number", "integer", "string", "boolean", "list"]
    default: Any
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    description: str
    source: str

    @model_validator(mode="after")
    def _default_fits(self) -> Param:
        check_value(self, self.default)
        return self


def check_value(p: Param, value: Any) -> Any:
    ok = {
        "number": isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "list": isinstance(value, list),
    }[p.type]
    if not ok:
        raise ValueError(f"{value!r} is not a {p.type}")
    if p.type in {"number", "integer"}:
        if p.min is not None and value < p.min:
            raise ValueError(f"{value} is below the minimum {p.min:g}")
        if p.max is not None and value > p.max:
            raise ValueError(f"{value} is above the maximum {p.max:g}")
    return value


class Override(_Strict):
    when: dict[str, str]
    params: dict[str, Any]
    note: str = ""

    @field_validator("when")
    @classmethod
    def _keys(cls, v: dict[str, str]) -> dict[str, str]:
        bad = set(v) - set(OVERRIDE_KEYS)
        if bad or not v:
            raise ValueError(f"`when` needs keys from {OVERRIDE_KEYS}, got {sorted(v)}")
        return v

    def rank(self) -> tuple[int, int]:
        return (len(self.when), sum(1 << OVERRIDE_KEYS.index(k) for k in self.when))


class Composite(_Strict):
    op: Literal["all", "any", "at_least"]
    of: list[str] = Field(min_length=1)
    group_by: Literal["person", "institution"]


class Rule(_Strict):
    id: str = Field(pattern=r"^[A-Z]{2,4}(-[A-Z0-9]+)+$")
    name_en: str
    name_zh: str
    scene: Literal["inpatient", "hemodialysis", "rehab", "pharmacy", "registration", "any"]
    requirements: list[str] = Field(min_length=1)
    source: str
    description: str
    stages: dict[Stage, Outcome] = Field(min_length=1)
    severity: Literal["low", "medium", "high"]
    params: dict[str, Param] = Field(default_factory=dict)
    overrides: list[Override] = Field(default_factory=list)
    composite: Composite | None = None
    runs_at: RunsAt | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if "post_event" in self.stages and self.runs_at is None:
            raise ValueError(f"a post-event rule declares when it runs: runs_at {' or '.join(RUNS_AT)}")
        if "post_event" not in self.stages and self.runs_at is not None:
            raise ValueError("runs_at applies to post-event rules only (this rule has no post_event stage)")
        if self.runs_at == "day_end" and self.scene == "any":
            raise ValueError("a day-end rule belongs to one scene's day end; scene any runs at period")
        for i, o in enumerate(self.overrides):
            for name, value in o.params.items():
                if name not in self.params:
                    raise ValueError(f"overrides[{i}] sets unknown parameter {name!r}")
                try:
                    check_value(self.params[name], value)
                except ValueError as exc:
                    raise ValueError(f"overrides[{i}].{name}: {exc}") from None
        for i, a in enumerate(self.overrides):
            for b in self.overrides[i + 1:]:
                if set(a.when) == set(b.when) and a.when == b.when:
                    raise ValueError(f"two overrides with the same condition {a.when}: ambiguous")
        if self.composite is not None:
            need = {"window_days"} | ({"min_hits"} if self.composite.op == "at_least" else set())
            missing = need - set(self.params)
            if missing:
                raise ValueError(f"a composite ({self.composite.op}) needs parameters {sorted(missing)}")
            if set(self.stages) != {"post_event"}:
                raise ValueError("composite rules run at the post_event stage only")
        return self

    def resolve(self, inst: dict[str, Any] | None) -> dict[str, Any]:
        """Parameter values for an institution: defaults, then the most specific matching override."""
        values = {k: copy.deepcopy(p.default) for k, p in self.params.items()}
        if inst is None:
            return values
        attrs = {"district": inst.get("district_code"), "institution_type": inst.get("inst_type"),
                 "level": inst.get("level"), "speciality": inst.get("speciality")}
        applicable = [o for o in self.overrides if all(attrs.get(k) == v for k, v in o.when.items())]
        if applicable:
            best = max(applicable, key=Override.rank)
            values.update(copy.deepcopy(best.params))
        return values


@dataclass(frozen=True)
class RuleSet:
    """One release of the library: a version, when it takes effect, and its rules."""

    version: str
    effective_from: str
    rules: dict[str, Rule]
    review: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    base_version: str | None = None

    def active(self, stage: str, scene: str | None = None) -> list[Rule]:
        return [r for r in self.rules.values() if r.enabled and stage in r.stages
                and (scene is None or r.scene in (scene, "any"))]

    def runs_at(self, when: str, scene: str | None = None) -> RuleSet:
        """The same release with only the rules that run at `when` (and belong to `scene`, if given:
        a day-end rule is judged by its own scene's day end only)."""
        picked = {rid: r for rid, r in self.rules.items()
                  if r.runs_at == when and (scene is None or r.scene == scene)}
        return RuleSet(self.version, self.effective_from, picked, self.review, self.notes, self.base_version)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "effective_from": self.effective_from, "notes": self.notes,
                "base_version": self.base_version, "review": self.review,
                "rules": {k: r.model_dump(mode="json", exclude_none=True) for k, r in self.rules.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RuleSet:
        rules, problems = _parse_rules(d["rules"].items())
        if problems:
            raise LibraryError(problems)
        _check_set(rules)
        return cls(d["version"], d["effective_from"], rules, d.get("review", {}), d.get("notes", ""),
                   d.get("base_version"))


def _parse_rules(items) -> tuple[dict[str, Rule], list[str]]:
    rules: dict[str, Rule] = {}
    problems: list[str] = []
    for where, raw in items:
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(str(p) for p in e["loc"]) or "(file)"
                problems.append(f"{where}: {loc}: {e['msg']}")
            continue
        if rule.id in rules:
            problems.append(f"{where}: rule id {rule.id} is defined twice")
        rules[rule.id] = rule
    return rules, problems


def _check_set(rules: dict[str, Rule]) -> None:
    problems = []
    for r in rules.values():
        if r.composite:
            for c in r.composite.of:
                if c not in rules:
                    problems.append(f"{r.id}: composite refers to unknown rule {c}")
                elif rules[c].composite is not None:
                    problems.append(f"{r.id}: composite of composite {c} is not supported")
    if problems:
        raise LibraryError(problems)


def load_library(root: Path = RULES_DIR) -> RuleSet:
    """Load and validate the library; raises LibraryError listing every problem found."""
    problems: list[str] = []
    meta_path = root / "library.yaml"
    try:
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LibraryError([f"{meta_path}: {exc}"]) from None
    items = []
    for path in sorted((root / "rules").glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            problems.append(f"{path.name}: not valid YAML: {exc}")
            continue
        if not isinstance(raw, dict):
            problems.append(f"{path.name}: expected a mapping")
            continue
        if raw.get("id") != path.stem:
            problems.append(f"{path.name}: id {raw.get('id')!r} must equal the file name")
        items.append((path.name, raw))
    rules, more = _parse_rules(items)
    problems += more
    if problems:
        raise LibraryError(problems)
    _check_set(rules)
    return RuleSet(str(meta["version"]), str(meta["effective_from"]), rules, meta.get("review", {}),
                   meta.get("notes", ""))


class RuleChange(BaseModel):
    """One change in a release patch: new parameter defaults, new overrides, or (dis)abling.
    Part of transaction 8703's input, so strict like every interface model (reference.fields)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    rule_id: str = Field(max_length=60)
    params: dict[str, Any] = Field(default_factory=dict, max_length=100, description="New default values")
    overrides: list[dict[str, Any]] | None = Field(None, max_length=200, description="Replaces the rule's overrides")
    enabled: bool | None = None


def apply_patch(base: RuleSet, *, version: str, effective_from: str, changes: list[RuleChange],
                notes: str = "") -> RuleSet:
    """A new release: `base` with the changes applied; every change is validated."""
    rules = dict(base.rules)
    problems = []
    for i, ch in enumerate(changes):
        rule = rules.get(ch.rule_id)
        if rule is None:
            problems.append(f"changes[{i}].rule_id: no rule {ch.rule_id}")
            continue
        raw = rule.model_dump(mode="json", exclude_none=True)
        for name, value in ch.params.items():
            if name not in raw["params"]:
                problems.append(f"changes[{i}].params.{name}: {ch.rule_id} has no such parameter")
                continue
            raw["params"][name]["default"] = value
        if ch.overrides is not None:
            raw["overrides"] = ch.overrides
        if ch.enabled is not None:
            raw["enabled"] = ch.enabled
        try:
            rules[ch.rule_id] = Rule.model_validate(raw)
        except ValidationError as exc:
            e = exc.errors()[0]
            problems.append(f"changes[{i}] ({ch.rule_id}): {'.'.join(map(str, e['loc']))}: {e['msg']}")
    if problems:
        raise LibraryError(problems)
    _check_set(rules)
    return RuleSet(version, effective_from, rules, base.review, notes, base.version)


def diff(a: RuleSet, b: RuleSet) -> list[str]:
    """Human-readable differences from release `a` to release `b`."""
    out = []
    for rid in sorted(set(a.rules) | set(b.rules)):
        ra, rb = a.rules.get(rid), b.rules.get(rid)
        if ra is None:
            out.append(f"+ {rid}: added ({rb.name_en})")
            continue
        if rb is None:
            out.append(f"- {rid}: removed")
            continue
        if ra.enabled != rb.enabled:
            out.append(f"~ {rid}: {'enabled' if rb.enabled else 'disabled'}")
        for name in sorted(set(ra.params) | set(rb.params)):
            pa, pb = ra.params.get(name), rb.params.get(name)
            da = pa.default if pa else None
            db = pb.default if pb else None
            if da != db:
                unit = f" {pb.unit}" if pb and pb.unit else ""
                out.append(f"~ {rid}.{name}: {da} → {db}{unit}")
        if [o.model_dump() for o in ra.overrides] != [o.model_dump() for o in rb.overrides]:
            out.append(f"~ {rid}: overrides {len(ra.overrides)} → {len(rb.overrides)}: "
                       + "; ".join(f"when {o.when} set {o.params}" for o in rb.overrides))
        if ra.stages != rb.stages:
            out.append(f"~ {rid}: stages {ra.stages} → {rb.stages}")
    return out
