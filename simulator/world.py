"""The simulator's world: the region a scenario runs in (districts, institutions, insured persons).

`WorldSpec` is the `world:` section of a scenario (pydantic, strict): districts with their share of
the population, institution groups (a roll-out group each: county hospitals, township health centres,
village clinics, rehab rooms, pharmacies …) with beds, departments, dialysis stations, equipment, staff
and terminals, and the population (age structure, chronic conditions, flags, mortality, look-alike
faces). Every number carries its source — `{value: 0.275, source: "中国居民营养与慢性病状况报告(2020)"}` —
and a bare number is refused, naming the field. The presets are YAML files in `simulator/worlds/`
(`WorldSpec.preset("county")`).

`generate_region(spec, seed, start=..., days=...)` turns a spec into plain data (`Region`), the same
for the same seed: numpy streams for every random draw, and names sampled from Faker's zh_CN surname
and given-name lists (read once, sampled with numpy: 100,000 persons take well under a second).

Codes (what the server sees):

- institutions: ``H`` + district + type letter + 4 digits (T tertiary, S secondary, P primary, W township
  health centre 乡镇卫生院, C village clinic 村卫生室), retail pharmacies ``P`` + district + 4 digits;
- terminals: ``T`` + institution code + 2 digits; staff: institution code + role letter + 3 digits;
- persons: ``P`` + 12 digits drawn without replacement from a seeded range, so a number reveals nothing
  about its person (not order of generation, district, age or flags);
- resident ID numbers (GB 11643): area = the insured district (out-of-area persons: their home city's
  district), the birth date, a sequence whose parity is the gender; unique across the region.

Out-of-area persons (异地就医人员, flag ``out_of_area``) live and are treated here but are insured in
another city: their `insuplc_admdvs` is a district code of that city (`WorldSpec.out_of_area_codes`,
e.g. 410202 开封市龙亭区), so no district bureau of this region has them in scope — only city-wide
accounts (the city bureau, the city audit centre) see them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

import numpy as np
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from reference.codes import table

WORLDS_DIR = Path(str(resources.files("simulator") / "worlds"))
MODELLING = "scenemon modelling choice"

T = TypeVar("T")


def _range(v: tuple[int, int]) -> tuple[int, int]:
    if v[0] > v[1]:
        raise ValueError(f"a range is [low, high] with low <= high, not {list(v)}")
    return v


Share = Annotated[float, Field(ge=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
IntRange = Annotated[tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]], AfterValidator(_range)]
Role = Literal["doctor", "nurse", "pharmacist", "therapist"]
Condition = Literal["hypertension", "diabetes", "copd", "stroke_sequelae", "esrd", "cancer"]
Channel = Literal["outpatient_pooling", "dual_channel"]
CONDITIONS: tuple[str, ...] = ("hypertension", "diabetes", "copd", "stroke_sequelae", "esrd", "cancer")
_ROLE_LETTER = {"doctor": "D", "nurse": "N", "pharmacist": "Y", "therapist": "K"}
_TYPE_LETTER = {"tertiary_hospital": "T", "secondary_hospital": "S", "primary_hospital": "P",
                "township_health_centre": "W", "village_clinic": "C"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict, Generic[T]):
    """A number (or a [low, high] range) with where it comes from: a publication, or
    "scenemon modelling choice" when it is one."""

    value: T
    source: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _needs_source(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(f"{data!r} has no source: write {{value: {data!r}, source: <where it comes from>}}")
        return data

    @field_validator("source")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the source must say where the number comes from")
        return v


def _check_code(table_name: str, v: str) -> str:
    codes = table(table_name).labels()
    if v not in codes:
        raise ValueError(f"{v!r} is not in code table {table_name} ({', '.join(codes)})")
    return v


def _sums_to_one(what: str, values: list[float]) -> None:
    if values and abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"{what} must sum to 1, not {sum(values):.6g}")


class DistrictSpec(_Strict):
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    name: str = Field(min_length=1, max_length=50)
    population_share: Sourced[Share]


class DepartmentSpec(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,30}$")]
    name: str = Field(min_length=1, max_length=100)
    bed_share: Sourced[Share]


class GroupSpec(_Strict):
    """One roll-out group of institutions of one type (8014 go-lives are given per group)."""

    group: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    inst_type: str
    level: str
    speciality: str = "general"
    names: list[str] = Field(default_factory=list, description="Names of the first institutions (the rest generated)")
    count: Sourced[Count]
    districts: list[str] | None = Field(None, description="Only in these districts (default: all, by population)")
    beds: Sourced[IntRange] | None = None
    departments: list[DepartmentSpec] = Field(default_factory=list)
    equipped_share: Sourced[Share] | None = Field(None, description="Share of departments with monitoring equipment")
    terminals_per_equipped_department: Sourced[Count] | None = None
    counter_terminals: Sourced[Count] | None = Field(None, description="Terminals outside departments (counter)")
    dialysis_stations: Sourced[IntRange] | None = None
    rehab_rooms: Sourced[IntRange] | None = None
    channels: dict[Channel, Sourced[Share]] = Field(default_factory=dict, description="Share in each channel")
    equipment: dict[str, Sourced[IntRange]] = Field(default_factory=dict)
    staff_per_bed: dict[Role, Sourced[NonNeg]] = Field(default_factory=dict)
    staff_base: dict[Role, Sourced[IntRange]] = Field(default_factory=dict)
    attractiveness: Sourced[Positive]

    _inst_type = field_validator("inst_type")(lambda v: _check_code("institution_type", v))
    _level = field_validator("level")(lambda v: _check_code("institution_level", v))
    _speciality = field_validator("speciality")(lambda v: _check_code("speciality", v))

    @model_validator(mode="after")
    def _consistent(self) -> GroupSpec:
        has_beds = self.beds is not None and self.beds.value[1] > 0
        if has_beds and not self.departments:
            raise ValueError(f"group {self.group}: an institution with beds needs departments")
        if self.departments:
            _sums_to_one(f"group {self.group}: departments' bed_share", [d.bed_share.value for d in self.departments])
            if len({d.code for d in self.departments}) != len(self.departments):
                raise ValueError(f"group {self.group}: department codes repeat")
        if self.terminals_per_equipped_department and not self.departments:
            raise ValueError(f"group {self.group}: terminals_per_equipped_department needs departments")
        return self


class AgeBand(_Strict):
    ages: Annotated[str, Field(pattern=r"^[0-9]{1,3}-[0-9]{1,3}$", description="'lo-hi', both included")]
    share: Sourced[Share]
    mortality: Sourced[Share] = Field(description="Annual probability of death (年死亡率)")

    @property
    def bounds(self) -> tuple[int, int]:
        lo, hi = self.ages.split("-")
        return int(lo), int(hi)


class ChronicSpec(_Strict):
    prevalence: Sourced[Share] = Field(description="Share of persons from `from_age` with the condition")
    from_age: Sourced[Count]


class PopulationSpec(_Strict):
    persons: Sourced[Annotated[int, Field(ge=1, le=20_000_000)]]
    male_share: Sourced[Share]
    age_bands: list[AgeBand] = Field(min_length=1)
    chronic: dict[Condition, ChronicSpec] = Field(default_factory=dict)
    major_disease_share: Sourced[Share]
    kidney_transplant_share_of_esrd: Sourced[Share]
    out_of_area_share: Sourced[Share]
    lookalike_pairs_per_100k: Sourced[NonNeg]

    @model_validator(mode="after")
    def _bands(self) -> PopulationSpec:
        _sums_to_one("population.age_bands' share", [b.share.value for b in self.age_bands])
        expect = 0
        for b in self.age_bands:
            lo, hi = b.bounds
            if lo != expect or hi < lo:
                raise ValueError(f"age bands must be contiguous from 0 ({b.ages} after {expect - 1})")
            expect = hi + 1
        if expect > 130:
            raise ValueError("ages above 129 cannot be carried by an ID number (GB 11643 check: 130 years)")
        return self


class WorldSpec(_Strict):
    """The `world:` section of a scenario."""

    name: str = "world"
    description: str = ""
    region_code: Annotated[str, Field(pattern=r"^[0-9]{4}00$")] = "410100"
    region_name: str = "郑州市"
    districts: list[DistrictSpec] = Field(min_length=1)
    out_of_area_codes: list[Annotated[str, Field(pattern=r"^[0-9]{6}$")]] = Field(
        min_length=1, description="Insured areas (参保地) of out-of-area persons: districts of other cities")
    institutions: list[GroupSpec] = Field(min_length=1)
    population: PopulationSpec

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        # `x-…` keys hold YAML anchors (shared source texts) and are not part of the spec
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> WorldSpec:
        prefix = self.region_code[:4]
        codes = [d.code for d in self.districts]
        for c in codes:
            if not c.startswith(prefix):
                raise ValueError(f"district {c} is outside region {self.region_code} (first four digits {prefix})")
        if len(set(codes)) != len(codes):
            raise ValueError("district codes repeat")
        _sums_to_one("districts' population_share", [d.population_share.value for d in self.districts])
        for c in self.out_of_area_codes:
            if c.startswith(prefix):
                raise ValueError(f"out-of-area code {c} is inside the region {self.region_code}")
        groups = [g.group for g in self.institutions]
        if len(set(groups)) != len(groups):
            raise ValueError("institution group names repeat")
        for g in self.institutions:
            for d in g.districts or ():
                if d not in codes:
                    raise ValueError(f"group {g.group}: district {d} is not one of the world's districts")
        return self

    # -- presets and helpers ------------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str) -> WorldSpec:
        """A shipped world: `small` (tests, demo), `county`, `city` (simulator/worlds/NAME.yaml)."""
        path = WORLDS_DIR / f"{name}.yaml"
        if not path.exists():
            raise ValueError(f"no world preset {name!r} (have: {', '.join(preset_names())})")
        return cls.load(path)

    @classmethod
    def load(cls, path: str | Path) -> WorldSpec:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return cls.model_validate(data)

    def with_persons(self, n: int, *, scale_institutions: bool = False, source: str | None = None) -> WorldSpec:
        """The same world with `n` persons; with `scale_institutions`, every group's count scales by
        the same factor (at least 1 where there was one) — the benchmark's scaled county."""
        factor = n / self.population.persons.value
        note = source or f"scaled from {self.population.persons.value} ({self.population.persons.source})"
        data = self.model_dump(mode="json")
        data["population"]["persons"] = {"value": int(n), "source": note}
        if scale_institutions:
            for g in data["institutions"]:
                c = g["count"]["value"]
                g["count"] = {"value": max(1, round(c * factor)) if c else 0,
                              "source": f"{g['count']['source']}; scaled by {factor:.4g} with the population"}
        return WorldSpec.model_validate(data)


def preset_names() -> list[str]:
    return sorted(p.stem for p in WORLDS_DIR.glob("*.yaml"))


# -- the generated region (plain data; the engine's objects) ---------------------------------------------------


@dataclass(slots=True)
class District:
    code: str
    name: str
    population_share: float


@dataclass(slots=True)
class Department:
    code: str
    name: str
    beds: int
    equipped: bool
    ward: str


@dataclass(slots=True)
class Staff:
    staff_id: str
    name: str
    role: str
    dept_code: str | None


@dataclass(slots=True)
class Terminal:
    terminal_id: str
    location: str
    dept_code: str | None
    model: str
    serial_no: str
    cert_class: str
    certification_id: str


@dataclass(slots=True)
class Institution:
    code: str
    name: str
    inst_type: str
    level: str
    speciality: str
    district_code: str
    group: str
    departments: list[Department]
    dialysis_stations: int
    rehab_rooms: int
    channels: tuple[str, ...]
    equipment: dict[str, int]
    staff: list[Staff]
    terminals: list[Terminal]
    attractiveness: float
    #: the township health centre a village clinic belongs to (乡村一体化管理), else None
    parent: str | None = None
    vars: dict = field(default_factory=dict)  # the engine's scratch space (fraud rings etc.)

    @property
    def beds(self) -> int:
        return sum(d.beds for d in self.departments)

    def department(self, code: str) -> Department:
        return next(d for d in self.departments if d.code == code)


@dataclass(slots=True)
class Person:
    psn_no: str
    certno: str
    name: str
    gender: str  # "1" male, "2" female (GB 11643: the sequence's parity)
    birth_date: date
    district_code: str  # where the person lives (and is treated)
    insuplc_admdvs: str  # insured area: the district; another city's district for out-of-area persons
    chronic: tuple[str, ...]
    flags: tuple[str, ...]  # person_flag codes: major_disease, kidney_transplant, out_of_area
    death_date: date | None
    face_key: str  # the key of the synthetic face identity (reference.face.synthetic)
    lookalike_of: str | None  # psn_no of the person this one's face resembles (pairs point at each other)
    home_institutions: tuple[str, ...]  # nearest first: the village clinic, then its township centre
    vars: dict = field(default_factory=dict)

    def age_on(self, day: date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@dataclass
class Region:
    spec: WorldSpec
    seed: int
    start: date
    days: int
    districts: list[District]
    institutions: list[Institution]
    persons: list[Person]
    institutions_by_code: dict[str, Institution] = field(init=False, repr=False)
    persons_by_no: dict[str, Person] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.institutions_by_code = {i.code: i for i in self.institutions}
        self.persons_by_no = {p.psn_no: p for p in self.persons}

    def institution(self, code: str) -> Institution:
        return self.institutions_by_code[code]

    def person(self, psn_no: str) -> Person:
        return self.persons_by_no[psn_no]

    def hospitals(self) -> list[Institution]:
        """Institutions with beds (admissions happen here)."""
        return [i for i in self.institutions if i.beds > 0]

    def pharmacies(self) -> list[Institution]:
        return [i for i in self.institutions if i.inst_type == "retail_pharmacy"]

    def of_group(self, name: str) -> list[Institution]:
        return [i for i in self.institutions if i.group == name]

    def of_type(self, inst_type: str) -> list[Institution]:
        return [i for i in self.institutions if i.inst_type == inst_type]

    def groups(self) -> list[str]:
        return [g.group for g in self.spec.institutions]

    def to_data(self) -> dict[str, Any]:
        """A stable, JSON-ready serialisation (without the engine's `vars`)."""
        def plain(obj: Any) -> dict[str, Any]:
            d = asdict(obj)
            d.pop("vars", None)
            return d
        return {"seed": self.seed, "start": self.start.isoformat(), "days": self.days,
                "districts": [plain(d) for d in self.districts],
                "institutions": [plain(i) for i in self.institutions],
                "persons": [plain(p) for p in self.persons]}

    def digest(self) -> str:
        """sha256 of `to_data()`: equal for equal regions."""
        body = json.dumps(self.to_data(), ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()


# -- generation --------------------------------------------------------------------------------------------

# Independent random streams, one per purpose, so that adding draws to one does not shift another.
_STREAMS = ("institutions", "names", "population", "ids", "deaths", "faces", "homes")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    return {name: np.random.default_rng([seed, k]) for k, name in enumerate(_STREAMS)}


class _Names:
    """Chinese personal and place names from Faker's zh_CN lists, sampled with numpy (Faker itself
    would take tens of seconds for a million names)."""

    def __init__(self, rng: np.random.Generator) -> None:
        from faker.providers.address.zh_CN import Provider as Address
        from faker.providers.company.zh_CN import Provider as Company
        from faker.providers.person.zh_CN import Provider as Person_

        self.rng = rng
        surnames = Person_.last_names
        self.surnames = np.array(list(surnames))
        w = np.array(list(surnames.values()), dtype=float)
        self.surname_p = w / w.sum()
        self.given = {"1": np.array(sorted(set(Person_.first_names_male))),
                      "2": np.array(sorted(set(Person_.first_names_female)))}
        self.single = {g: np.array([x for x in names if len(x) == 1]) for g, names in self.given.items()}
        self.places = list(dict.fromkeys(Address.districts))
        self.shop_prefixes = list(dict.fromkeys(p for p in Company.company_prefixes if 2 <= len(p) <= 4))
        self._village_pool: list[str] | None = None

    def persons(self, genders: np.ndarray) -> list[str]:
        n = len(genders)
        rng = self.rng
        sur = self.surnames[rng.choice(len(self.surnames), n, p=self.surname_p)]
        out = np.empty(n, dtype=object)
        two = rng.random(n) < 0.6  # most given names have two characters
        for g in ("1", "2"):
            idx = np.flatnonzero(genders == g)
            a = self.given[g][rng.integers(0, len(self.given[g]), len(idx))]
            b = self.single[g][rng.integers(0, len(self.single[g]), len(idx))]
            single = np.char.str_len(a.astype(str)) == 1  # a listed two-character name stays as it is
            out[idx] = np.where(two[idx] & single, np.char.add(a.astype(str), b.astype(str)), a)
        return [s + str(x) for s, x in zip(sur.tolist(), out.tolist(), strict=True)]

    def towns(self, n: int) -> list[str]:
        pool = self.places + [s + suf for s in self.surnames[:120] for suf in ("集", "店", "营", "桥", "岗")]
        pool = list(dict.fromkeys(pool))
        return [pool[i] for i in self.rng.permutation(len(pool))[:n]] if n <= len(pool) else \
            [pool[i % len(pool)] + str(i // len(pool) + 1) for i in range(n)]

    def villages(self, n: int) -> list[str]:
        if self._village_pool is None:
            pre = ("", "东", "西", "南", "北", "前", "后", "大", "小")
            suf = ("庄", "营", "寨", "屯", "湾", "楼", "沟", "岗", "店", "集", "庙")
            self._village_pool = [p + s + x for p in pre for s in self.surnames.tolist() for x in suf]
        pool = self._village_pool
        idx = self.rng.choice(len(pool), size=min(n, len(pool)), replace=False)
        names = [pool[i] for i in idx]
        return names + [pool[i % len(pool)] + str(i // len(pool) + 1) for i in range(len(names), n)]

    def shops(self, n: int) -> list[str]:
        pool = self.shop_prefixes
        return [pool[i] for i in self.rng.integers(0, len(pool), n)]


def _apportion(total: int, shares: list[float]) -> list[int]:
    """`total` split by `shares` (largest remainder, ties by position): exact and deterministic."""
    if not shares:
        return []
    s = sum(shares) or 1.0
    raw = [total * x / s for x in shares]
    out = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _draw(rng: np.random.Generator, r: Sourced[tuple[int, int]] | None) -> int:
    return 0 if r is None else int(rng.integers(r.value[0], r.value[1] + 1))


def _institutions(spec: WorldSpec, rng: np.random.Generator, names: _Names) -> list[Institution]:
    districts = {d.code: d for d in spec.districts}
    seq: dict[tuple[str, str], int] = {}
    out: list[Institution] = []
    towns: dict[str, list[str]] = {}  # district → town names of its township centres
    for g in spec.institutions:
        ds = g.districts or [d.code for d in spec.districts]
        per = _apportion(g.count.value, [districts[d].population_share.value for d in ds])
        k_in_group = 0
        for dcode, n in zip(ds, per, strict=True):
            dname = districts[dcode].name
            place_names = _place_names(g, n, names, towns.get(dcode, []), dname)
            if g.inst_type == "township_health_centre":
                towns[dcode] = towns.get(dcode, []) + [p for p in place_names]
            for j in range(n):
                letter = "P" if g.inst_type == "retail_pharmacy" else _TYPE_LETTER[g.inst_type]
                key = (dcode, letter)
                seq[key] = seq.get(key, 0) + 1
                code = (f"P{dcode}{seq[key]:04d}" if g.inst_type == "retail_pharmacy"
                        else f"H{dcode}{letter}{seq[key]:04d}")
                name = g.names[k_in_group] if k_in_group < len(g.names) else _inst_name(g, place_names[j], dname)
                k_in_group += 1
                out.append(_institution(g, code, name, dcode, rng, names))
    _link_villages(out)
    return out


def _place_names(g: GroupSpec, n: int, names: _Names, towns: list[str], dname: str) -> list[str]:
    if g.inst_type == "township_health_centre":
        return names.towns(n)
    if g.inst_type == "village_clinic":
        vs = names.villages(n)
        return [(towns[i % len(towns)] + "镇" if towns else dname) + v + "村" for i, v in enumerate(vs)]
    if g.inst_type == "retail_pharmacy":
        shops, places = names.shops(n), names.towns(n)
        return [f"{s}大药房（{p}店）" for s, p in zip(shops, places, strict=True)]
    return names.towns(n)


def _inst_name(g: GroupSpec, place: str, dname: str) -> str:
    if g.inst_type == "township_health_centre":
        return f"{place}镇卫生院"
    if g.inst_type == "village_clinic":
        return f"{place}卫生室"
    if g.inst_type == "retail_pharmacy":
        return place
    kind = {"rehabilitation": "康复医院", "tcm": "中医院", "nephrology": "肾病医院", "oncology": "肿瘤医院",
            "psychiatry": "精神病医院", "maternal_child": "妇幼保健院"}.get(g.speciality, "医院")
    return f"{dname}{place}{kind}"


def _institution(g: GroupSpec, code: str, name: str, dcode: str, rng: np.random.Generator,
                 names: _Names) -> Institution:
    beds = _draw(rng, g.beds)
    dept_beds = _apportion(beds, [d.bed_share.value for d in g.departments])
    eq_share = g.equipped_share.value if g.equipped_share else 0.0
    equipped = [bool(x) for x in rng.random(len(g.departments)) < eq_share]
    if g.departments and eq_share > 0 and not any(equipped):
        # an institution with monitored wards has at least one equipped department (its largest)
        equipped[int(np.argmax(dept_beds))] = True
    departments = [Department(d.code, d.name, b, e, f"{d.name}病区")
                   for d, b, e in zip(g.departments, dept_beds, equipped, strict=True)]
    stations = _draw(rng, g.dialysis_stations)
    rehab = _draw(rng, g.rehab_rooms)
    channels = tuple(c for c, s in g.channels.items() if rng.random() < s.value)
    equipment = {k: _draw(rng, v) for k, v in g.equipment.items()}
    if stations and "dialysis_machine" not in equipment:
        equipment["dialysis_machine"] = stations
    staff: list[Staff] = []
    roles = list(dict.fromkeys([*g.staff_base, *g.staff_per_bed]))
    for role in roles:
        n = _draw(rng, g.staff_base.get(role)) + round(beds * (g.staff_per_bed[role].value
                                                               if role in g.staff_per_bed else 0.0))
        if role in ("doctor", "nurse") and departments:
            depts = [d.code for d in departments for _ in range(max(d.beds, 1))]
            dept_of = [depts[int(i)] for i in rng.integers(0, len(depts), n)]
        elif role == "therapist":
            kf = [d.code for d in departments if d.code.startswith("KF")]
            dept_of = [kf[0] if kf else None] * n
        else:
            dept_of = [None] * n
        person_names = names.persons(np.where(rng.random(n) < 0.5, "1", "2"))
        staff += [Staff(f"{code}{_ROLE_LETTER[role]}{k + 1:03d}", person_names[k], role, dept_of[k])
                  for k in range(n)]
    terminals: list[Terminal] = []

    def terminal(location: str, dept: str | None) -> None:
        tid = f"T{code}{len(terminals) + 1:02d}"
        terminals.append(Terminal(tid, location, dept, "SM-FaceStation-3", f"SN{rng.integers(0, 16**10):010X}",
                                  "III", f"NHSA-TERM-{tid}"))

    per_dept = g.terminals_per_equipped_department.value if g.terminals_per_equipped_department else 0
    for d in departments:
        if d.equipped:
            for _ in range(per_dept):
                terminal(d.ward, d.code)
    for _ in range(g.counter_terminals.value if g.counter_terminals else 0):
        terminal("收银台" if g.inst_type == "retail_pharmacy" else "门诊大厅", None)
    size = beds / ((g.beds.value[0] + g.beds.value[1]) / 2) if g.beds and g.beds.value[1] > 0 else 1.0
    return Institution(code=code, name=name[:200], inst_type=g.inst_type, level=g.level, speciality=g.speciality,
                       district_code=dcode, group=g.group, departments=departments, dialysis_stations=stations,
                       rehab_rooms=rehab, channels=channels, equipment=equipment, staff=staff, terminals=terminals,
                       attractiveness=round(g.attractiveness.value * size, 6))


def _link_villages(insts: list[Institution]) -> None:
    """Each village clinic belongs to a township centre of its district (round robin)."""
    towns: dict[str, list[Institution]] = {}
    for i in insts:
        if i.inst_type == "township_health_centre":
            towns.setdefault(i.district_code, []).append(i)
    k: dict[str, int] = {}
    for i in insts:
        if i.inst_type == "village_clinic" and towns.get(i.district_code):
            n = k.get(i.district_code, 0)
            i.parent = towns[i.district_code][n % len(towns[i.district_code])].code
            k[i.district_code] = n + 1


def generate_region(spec: WorldSpec, seed: int, *, start: date, days: int) -> Region:
    """The region of `spec` for `seed`, for a simulation of `days` days from `start` (deaths fall
    inside that span). The same arguments give the same region."""
    rs = _streams(seed)
    names = _Names(rs["names"])
    districts = [District(d.code, d.name, d.population_share.value) for d in spec.districts]
    institutions = _institutions(spec, rs["institutions"], names)
    persons = _persons(spec, rs, names, institutions, start, days)
    return Region(spec=spec, seed=seed, start=start, days=days, districts=districts, institutions=institutions,
                  persons=persons)


def _persons(spec: WorldSpec, rs: dict[str, np.random.Generator], names: _Names, insts: list[Institution],
             start: date, days: int) -> list[Person]:
    pop = spec.population
    n = pop.persons.value
    rng = rs["population"]
    dcodes = np.array([d.code for d in spec.districts])
    dist = rng.choice(len(dcodes), n, p=_p([d.population_share.value for d in spec.districts]))
    gender = np.where(rng.random(n) < pop.male_share.value, "1", "2")
    band = rng.choice(len(pop.age_bands), n, p=_p([b.share.value for b in pop.age_bands]))
    lo = np.array([b.bounds[0] for b in pop.age_bands])[band]
    hi = np.array([b.bounds[1] for b in pop.age_bands])[band]
    age = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    # birth = start minus (age + a fraction of a year); birthdays are then spread over the year
    back = np.floor((age + rng.random(n)) * 365.2425).astype(np.int64) + 1
    born_ord = start.toordinal() - back
    out_area = rng.random(n) < pop.out_of_area_share.value
    ooa = np.array(spec.out_of_area_codes)
    insured = dcodes[dist].astype(object)
    insured[out_area] = ooa[rng.integers(0, len(ooa), int(out_area.sum()))]
    # chronic conditions (eligible from an age), flags
    ages_now = _exact_ages(born_ord, start)
    chronic_mask: dict[str, np.ndarray] = {}
    for cond, c in pop.chronic.items():
        chronic_mask[cond] = (ages_now >= c.from_age.value) & (rng.random(n) < c.prevalence.value)
    none = np.zeros(n, bool)
    esrd, cancer = chronic_mask.get("esrd", none), chronic_mask.get("cancer", none)
    transplant = esrd & (rng.random(n) < pop.kidney_transplant_share_of_esrd.value)
    # major disease (重大疾病): every cancer and ESRD patient, plus others at random up to the share
    base = esrd | cancer
    extra = max(0.0, pop.major_disease_share.value - base.mean()) / max(1e-12, 1 - base.mean())
    major = base | (rng.random(n) < extra)
    # identifiers
    ids = rs["ids"]
    psn = ids.choice(9 * 10**11, size=n, replace=False) + 10**11
    psn_nos = [f"P{x:012d}" for x in psn.tolist()]
    seqs = _unique_sequences(ids, insured, born_ord, gender)
    # deaths within the span: annual mortality m gives 1 - (1 - m)^(days/365)
    dr = rs["deaths"]
    m = np.array([b.mortality.value for b in pop.age_bands])[band]
    dies = dr.random(n) < 1 - (1 - m) ** (days / 365.0)
    death_off = np.floor(dr.random(n) * days).astype(np.int64)
    # look-alike pairs (same gender)
    lookalike = _lookalikes(rs["faces"], n, pop.lookalike_pairs_per_100k.value, gender)
    homes = _homes(rs["homes"], dist, dcodes, insts)
    pnames = names.persons(gender)
    persons: list[Person] = []
    conds = [c for c in CONDITIONS if c in chronic_mask]
    start_ord = start.toordinal()
    certnos = _certnos(insured.astype(np.int64), born_ord, seqs)
    for i in range(n):
        area = insured[i]
        born = date.fromordinal(int(born_ord[i]))
        flags = tuple(f for f, on in (("major_disease", major[i]), ("kidney_transplant", transplant[i]),
                                      ("out_of_area", out_area[i])) if on)
        la = lookalike[i]
        persons.append(Person(
            psn_no=psn_nos[i], certno=certnos[i], name=pnames[i], gender=str(gender[i]),
            birth_date=born, district_code=str(dcodes[dist[i]]), insuplc_admdvs=str(area),
            chronic=tuple(c for c in conds if chronic_mask[c][i]), flags=flags,
            death_date=date.fromordinal(start_ord + int(death_off[i])) if dies[i] else None,
            face_key=psn_nos[i], lookalike_of=psn_nos[la] if la >= 0 else None, home_institutions=homes[i]))
    return persons


def _p(shares: list[float]) -> np.ndarray:
    a = np.asarray(shares, dtype=float)
    return a / a.sum()


_EPOCH = date(1970, 1, 1).toordinal()
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK = np.array(list("10X98765432"))


def _ymd(ordinals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = (ordinals - _EPOCH).astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, dd


def _exact_ages(born_ord: np.ndarray, day: date) -> np.ndarray:
    y, m, d = _ymd(born_ord)
    return day.year - y - ((day.month * 100 + day.day) < (m * 100 + d))


def _certnos(area: np.ndarray, born_ord: np.ndarray, seq: np.ndarray) -> list[str]:
    """GB 11643 numbers, vectorised: area, yyyymmdd, sequence, ISO 7064 MOD 11-2 check character
    (the same as `reference.idcard.make_certno`, which the tests hold it to)."""
    y, m, d = _ymd(born_ord)
    first17 = area.astype(np.int64) * 10**11 + (y * 10000 + m * 100 + d) * 1000 + seq.astype(np.int64)
    digits = (first17[:, None] // (10 ** np.arange(16, -1, -1, dtype=np.int64))) % 10
    check = _CHECK[(digits * _WEIGHTS).sum(axis=1) % 11]
    return [f"{a:017d}{c}" for a, c in zip(first17.tolist(), check.tolist(), strict=True)]


def _unique_sequences(rng: np.random.Generator, area: np.ndarray, born_ord: np.ndarray,
                      gender: np.ndarray) -> np.ndarray:
    """GB 11643 sequence numbers (0–999, odd for men) so that no two persons share area, birth date
    and sequence — hence no two share an ID number."""
    male = (gender == "1").astype(np.int64)
    area_i = np.unique(area.astype(str), return_inverse=True)[1].astype(np.int64)
    seq = 2 * rng.integers(0, 500, len(area)) + male
    for _ in range(100):
        key = (area_i * 10**7 + born_ord) * 1000 + seq
        _, first = np.unique(key, return_index=True)
        dup = np.ones(len(key), bool)
        dup[first] = False
        if not dup.any():
            return seq
        seq[dup] = 2 * rng.integers(0, 500, int(dup.sum())) + male[dup]
    raise RuntimeError("could not make ID numbers unique (too many persons born on one day in one area)")


def _lookalikes(rng: np.random.Generator, n: int, per_100k: float, gender: np.ndarray) -> np.ndarray:
    """Index of each person's look-alike (or -1): round(n × rate / 100,000) pairs, each of one gender."""
    out = np.full(n, -1, dtype=np.int64)
    pairs = int(round(n * per_100k / 100_000))
    order = rng.permutation(n)
    for g in ("1", "2"):
        cand = order[gender[order] == g]
        k = min(len(cand) // 2, _apportion(pairs, [float((gender == "1").sum()), float((gender == "2").sum())])
                [0 if g == "1" else 1])
        a, b = cand[:k], cand[k:2 * k]
        out[a], out[b] = b, a
    return out


def _homes(rng: np.random.Generator, dist: np.ndarray, dcodes: np.ndarray,
           insts: list[Institution]) -> list[tuple[str, ...]]:
    """Each person's nearest institutions: a village clinic of their district, then its township
    centre (or a township centre alone where there are no village clinics)."""
    villages: dict[str, list[Institution]] = {}
    towns: dict[str, list[Institution]] = {}
    for i in insts:
        if i.inst_type == "village_clinic":
            villages.setdefault(i.district_code, []).append(i)
        elif i.inst_type == "township_health_centre":
            towns.setdefault(i.district_code, []).append(i)
    options: list[list[tuple[str, ...]]] = []
    for d in dcodes.tolist():
        if villages.get(d):
            options.append([(v.code, v.parent) if v.parent else (v.code,) for v in villages[d]])
        elif towns.get(d):
            options.append([(t.code,) for t in towns[d]])
        else:
            options.append([()])
    u = rng.random(len(dist))
    return [options[d][int(x * len(options[d]))] for d, x in zip(dist.tolist(), u.tolist(), strict=True)]

