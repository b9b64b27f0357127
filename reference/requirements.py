"""The requirements list (需求清单) and which tests cover each requirement.

`interface_spec/requirements.yaml` holds every normative statement of the product brief with an
ID (`GEN-1`, `INP-3`, …), its seed article, its level (SHALL / SHOULD) and its actor. Loading
refuses a malformed file at once and names every bad entry, so a typo never silently drops a
requirement from the coverage matrix.

Tests cite requirements with the registered pytest marker::

    @pytest.mark.req("HD-2", "HD-5")
    def test_checkout_before_120_minutes_is_refused(): ...

`covered_requirements()` finds those markers by reading the test files with `ast` (the tests are
never imported, so building the spec site cannot run or break them) and maps each ID to the
tests that cite it. The spec site shows the result as a coverage matrix with a visible
"not yet covered" marker.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from reference.paths import INTERFACE_SPEC, REPO_ROOT

REQUIREMENTS_FILE = INTERFACE_SPEC / "requirements.yaml"
LEVELS = ("SHALL", "SHOULD")
ACTORS = (
    "institution", "bureau", "city_bureau", "district_bureau", "agency", "audit_centre",
    "ops_vendor", "terminal", "system",
)
ID_RE = re.compile(r"^([A-Z]+)-([1-9][0-9]*)$")
ENTRY_KEYS = ("id", "group", "source", "text_en", "level", "actor", "not_tested_reason")
GROUP_KEYS = ("id", "en", "zh", "source")
# Where tests live, relative to the repository root (the project's own tests and the kit).
TEST_ROOTS = ("tests", "conformance")


class RequirementsError(ValueError):
    """The requirements file is malformed; the message lists every problem found."""


@dataclass(frozen=True)
class Group:
    id: str
    en: str
    zh: str
    source: str


@dataclass(frozen=True)
class Requirement:
    id: str
    group: str
    source: str
    text_en: str
    level: str
    actor: str
    not_tested_reason: str = ""

    @property
    def number(self) -> int:
        """The n of `GROUP-n`, for natural ordering (HD-2 before HD-10)."""
        match = ID_RE.match(self.id)
        return int(match.group(2)) if match else 0


@dataclass(frozen=True)
class RequirementsList:
    groups: tuple[Group, ...]
    requirements: tuple[Requirement, ...]

    def by_id(self) -> dict[str, Requirement]:
        return {r.id: r for r in self.requirements}

    def in_group(self, group_id: str) -> list[Requirement]:
        return [r for r in self.requirements if r.group == group_id]


def _check_keys(where: str, entry: dict, keys: tuple[str, ...], problems: list[str]) -> bool:
    missing = [k for k in keys if k not in entry]
    unknown = sorted(set(entry) - set(keys))
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)}")
    return not missing


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def load_list(path: Path = REQUIREMENTS_FILE) -> RequirementsList:
    """Load and validate the whole file; raise `RequirementsError` naming every bad entry."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RequirementsError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("groups"), list) \
            or not isinstance(raw.get("requirements"), list):
        raise RequirementsError(f"{path}: expected a mapping with lists 'groups' and 'requirements'")

    problems: list[str] = []
    groups: list[Group] = []
    for i, entry in enumerate(raw["groups"]):
        where = f"groups[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping, got {entry!r}")
            continue
        where = f"groups[{i}] ({entry.get('id', '?')})"
        if _check_keys(where, entry, GROUP_KEYS, problems):
            groups.append(Group(*(_text(entry[k]) for k in GROUP_KEYS)))
    group_ids = [g.id for g in groups]
    for gid in {g for g in group_ids if group_ids.count(g) > 1}:
        problems.append(f"group {gid} is defined twice")

    requirements: list[Requirement] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw["requirements"]):
        if not isinstance(entry, dict):
            problems.append(f"requirements[{i}]: expected a mapping, got {entry!r}")
            continue
        rid = _text(entry.get("id")) or "?"
        where = f"requirements[{i}] ({rid})"
        if not _check_keys(where, entry, ENTRY_KEYS, problems):
            continue
        req = Requirement(**{k: _text(entry[k]) for k in ENTRY_KEYS})
        bad = len(problems)
        match = ID_RE.match(req.id)
        if not match:
            problems.append(f"{where}: id must look like GROUP-n (e.g. INP-3), got {req.id!r}")
        elif match.group(1) != req.group:
            problems.append(f"{where}: id prefix {match.group(1)!r} differs from group {req.group!r}")
        if req.group not in group_ids:
            problems.append(f"{where}: group {req.group!r} is not one of {', '.join(group_ids)}")
        if req.id in seen:
            problems.append(f"{where}: id {req.id} appears twice")
        seen.add(req.id)
        if req.level not in LEVELS:
            problems.append(f"{where}: level must be SHALL or SHOULD, got {req.level!r}")
        if req.actor not in ACTORS:
            problems.append(f"{where}: actor must be one of {', '.join(ACTORS)}, got {req.actor!r}")
        if not req.text_en:
            problems.append(f"{where}: text_en is empty")
        if not req.source:
            problems.append(f"{where}: source is empty (cite the seed document and article)")
        if len(problems) == bad:
            requirements.append(req)

    if problems:
        raise RequirementsError(
            f"{path} is malformed ({len(problems)} problem(s)):\n  " + "\n  ".join(problems)
        )
    return RequirementsList(tuple(groups), tuple(requirements))


def load_requirements(path: Path = REQUIREMENTS_FILE) -> list[Requirement]:
    """Every requirement in file order (validated; see `load_list`)."""
    return list(load_list(path).requirements)


# -- coverage ------------------------------------------------------------------------------------


def _is_req_marker(node: ast.expr) -> bool:
    """`pytest.mark.req(...)` or `mark.req(...)` (after `from pytest import mark`)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "req"):
        return False
    owner = node.func.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "mark") or (
        isinstance(owner, ast.Name) and owner.id == "mark"
    )


def _marker_ids(nodes: Iterable[ast.expr]) -> list[str]:
    """Requirement IDs of every req marker in `nodes` (decorators, or a `pytestmark` value)."""
    ids: list[str] = []
    for top in nodes:
        for node in ast.walk(top):
            if _is_req_marker(node):
                assert isinstance(node, ast.Call)
                ids.extend(a.value for a in node.args
                           if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return ids


def _module_marks(tree: ast.Module) -> list[str]:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets
        ):
            return _marker_ids([stmt.value])
    return []


def _class_marks(cls: ast.ClassDef) -> list[str]:
    ids = _marker_ids(cls.decorator_list)
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets
        ):
            ids += _marker_ids([stmt.value])
    return ids


def _scan(tree: ast.Module, prefix: str, inherited: list[str], out: dict[str, list[str]]) -> None:
    def add(ids: Iterable[str], nodeid: str) -> None:
        for rid in dict.fromkeys(ids):  # one entry per test even if an ID is repeated
            out.setdefault(rid, []).append(nodeid)

    def walk(body: list[ast.stmt], prefix: str, inherited: list[str]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                own = _marker_ids(stmt.decorator_list)
                if own or (inherited and stmt.name.startswith("test")):
                    add(inherited + own, f"{prefix}::{stmt.name}")
            elif isinstance(stmt, ast.ClassDef):
                walk(stmt.body, f"{prefix}::{stmt.name}", inherited + _class_marks(stmt))

    walk(tree.body, prefix, inherited)


def _test_files(paths: Iterable[Path | str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*.py") if "__pycache__" not in f.parts))
        elif p.suffix == ".py" and p.exists():
            files.append(p)
    return files


def covered_requirements(paths: Iterable[Path | str] | None = None) -> dict[str, list[str]]:
    """Map each requirement ID cited by a `req` marker to the tests citing it.

    `paths` are test files or folders (searched for `*.py` recursively); by default the
    repository's `tests/` and `conformance/`. Test names read like pytest node ids
    (`tests/reference/test_x.py::TestY::test_z`), relative to the repository when they are
    inside it. Markers apply from the module (`pytestmark`), the class and the function.
    IDs are returned as cited, so a caller can also spot IDs that are not in the list.
    A file that does not parse is refused with its name: the coverage matrix would be wrong.
    """
    roots = [REPO_ROOT / r for r in TEST_ROOTS] if paths is None else list(paths)
    out: dict[str, list[str]] = {}
    for file in _test_files(roots):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except SyntaxError as exc:
            raise RequirementsError(f"{file}: cannot scan for req markers: {exc}") from exc
        try:
            name = file.resolve().relative_to(REPO_ROOT).as_posix()
        except ValueError:
            name = file.as_posix()
        _scan(tree, name, _module_marks(tree), out)
    return {rid: sorted(tests) for rid, tests in sorted(out.items())}


__all__ = [
    "ACTORS", "LEVELS", "REQUIREMENTS_FILE", "Group", "Requirement", "RequirementsError",
    "RequirementsList", "covered_requirements", "load_list", "load_requirements",
]
