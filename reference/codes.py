"""Code tables (代码表): loaded from `interface_spec/code_tables/*.yaml`, the source of truth.

Each file names a table, its source document and its codes with English and Chinese labels.
Loading refuses a malformed file at once, naming the file and the problem. Each table is also
an `Enum` (e.g. `Role.city_bureau`) so interface models validate against it and the OpenAPI
document lists the allowed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

import yaml

from reference.paths import INTERFACE_SPEC

CODE_TABLE_DIR = INTERFACE_SPEC / "code_tables"


@dataclass(frozen=True)
class Code:
    code: str
    en: str
    zh: str
    note: str = ""


@dataclass(frozen=True)
class CodeTable:
    name: str
    title_en: str
    title_zh: str
    source: str
    codes: tuple[Code, ...]

    def labels(self) -> dict[str, Code]:
        return {c.code: c for c in self.codes}


class CodeTableError(ValueError):
    pass


def load_table(path: Path) -> CodeTable:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CodeTableError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CodeTableError(f"{path}: expected a mapping at top level")
    missing = {"name", "title_en", "title_zh", "source", "codes"} - raw.keys()
    if missing:
        raise CodeTableError(f"{path}: missing keys {sorted(missing)}")
    if raw["name"] != path.stem:
        raise CodeTableError(f"{path}: name {raw['name']!r} must equal the file name")
    codes = []
    seen = set()
    for i, entry in enumerate(raw["codes"] or []):
        if not isinstance(entry, dict) or not {"code", "en", "zh"} <= entry.keys():
            raise CodeTableError(f"{path}: codes[{i}] needs code, en and zh")
        unknown = entry.keys() - {"code", "en", "zh", "note"}
        if unknown:
            raise CodeTableError(f"{path}: codes[{i}] has unknown keys {sorted(unknown)}")
        code = str(entry["code"])
        if code in seen:
            raise CodeTableError(f"{path}: code {code!r} appears twice")
        seen.add(code)
        codes.append(Code(code, str(entry["en"]), str(entry["zh"]), str(entry.get("note", ""))))
    if not codes:
        raise CodeTableError(f"{path}: a code table needs at least one code")
    return CodeTable(raw["name"], raw["title_en"], raw["title_zh"], raw["source"], tuple(codes))


@cache
def all_tables() -> dict[str, CodeTable]:
    tables = {}
    for path in sorted(CODE_TABLE_DIR.glob("*.yaml")):
        table = load_table(path)
        tables[table.name] = table
    return tables


def table(name: str) -> CodeTable:
    try:
        return all_tables()[name]
    except KeyError:
        raise CodeTableError(f"no code table {name!r} in {CODE_TABLE_DIR}") from None


def code_enum(name: str, class_name: str) -> type[Enum]:
    """An str-Enum whose members are the table's codes (member names are made identifiers)."""
    t = table(name)
    members = {}
    for c in t.codes:
        key = c.code if c.code.isidentifier() else f"v_{c.code}"
        members[key] = c.code
    enum = Enum(class_name, members, type=str)  # type: ignore[misc]
    enum.__doc__ = f"{t.title_en} ({t.title_zh}). Source: {t.source}"
    return enum


Role = code_enum("role", "Role")
InstitutionType = code_enum("institution_type", "InstitutionType")
InstitutionLevel = code_enum("institution_level", "InstitutionLevel")
Speciality = code_enum("speciality", "Speciality")
Scene = code_enum("scene", "Scene")
TerminalStatus = code_enum("terminal_status", "TerminalStatus")
DeviceKind = code_enum("device_kind", "DeviceKind")
PersonFlag = code_enum("person_flag", "PersonFlag")
