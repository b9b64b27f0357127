"""The spec site (规范站点): pages generated from `interface_spec/`, and the mkdocs build.

`scenemon docs build` (→ `build_site`) does three things:

1. generates markdown pages into `docs/generated/` (build products, never edited by hand):

   - `envelope.md`          request and response envelope fields (from `openapi.json`)
   - `error-codes.md`       the error-code table (from `error_codes.yaml`) and the error tree
   - `code-tables.md`       every code table with code, English, 中文, note and source
   - `transactions/*.md`    an overview, then one page per transaction tag: number, titles,
                            roles, requirement IDs, input and output fields (all `$ref`s,
                            nested models and enums resolved)
   - `requirements.md`      every requirement with its source, level, actor, the transactions
                            that cite it and the tests that cover it (coverage matrix)
   - `configuration.md`     every `reference.config.Settings` field with its `SCENEMON_*` variable

2. writes the `nav:` block of `mkdocs.yml` (between the two marker comments) so that it lists
   the hand-written pages that exist and every generated page — the file changes only when
   a page appears or disappears, e.g. a new transaction tag;

3. runs `mkdocs build` (strict by default: any warning, such as a link to a missing
   requirement anchor, fails the build). The build needs no network; the theme loads no web
   fonts, and only the mermaid script is fetched by the reader's browser when a page shows
   a diagram.

The page generators are plain functions of the parsed spec, so tests can check a page's
content without building the site.
"""

from __future__ import annotations

import ast
import html
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import time
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reference import codes
from reference.paths import DOCS, INTERFACE_SPEC, REPO_ROOT
from reference.requirements import RequirementsList, covered_requirements, load_list

GENERATED = DOCS / "generated"
MKDOCS_YML = REPO_ROOT / "mkdocs.yml"
DEFAULT_SITE_DIR = REPO_ROOT / "site"
NAV_BEGIN = "# >>> nav: written by `scenemon docs build` (reference/spec_site.py); edit it there"
NAV_END = "# <<< nav"

# Titles of transaction tags (English, 中文). A tag missing here falls back to the scene code
# table (its tag is a scene code) or to the tag itself, so a new scene never breaks the build.
TAG_TITLES: dict[str, tuple[str, str]] = {
    "admin": ("Administration", "系统管理"),
    "registry": ("Registry", "基础信息登记"),
    "devices": ("Devices", "设备管理"),
    "face": ("Face", "人脸识别"),
    "special-registration": ("Special registration", "特殊登记"),
    "special_registration": ("Special registration", "特殊登记"),
    "settlement": ("Settlement", "结算"),
    "rules": ("Rules", "规则库"),
    "leads": ("Leads and audits", "疑点线索与稽核"),
    "session": ("Sign-in", "签到签退"),
}

# Hand-written pages in the order they appear, (title, path under docs/). Only existing files
# get a nav entry, so a page another engineer has not written yet never breaks --strict.
HOME_PAGES = [("Home", "index.md"), ("Architecture (系统架构)", "architecture.md")]
INTERFACE_PAGES = [
    ("Envelope (报文结构)", "generated/envelope.md"),
    ("Signing (报文签名)", "interface/signing.md"),
    ("Idempotency (幂等)", "interface/idempotency.md"),
    ("Error codes (错误代码)", "generated/error-codes.md"),
    ("Code tables (代码表)", "generated/code-tables.md"),
    ("Data scope (数据权限)", "generated/scope.md"),
    ("Numbering (交易编号)", "generated/numbering.md"),
]
LATER_PAGES = [
    ("Requirements (需求清单)", "generated/requirements.md"),
    ("Rule catalogue (规则目录)", "generated/rules.md"),
    ("Face models (人脸模型)", "face-models.md"),
    ("Configuration (配置)", "generated/configuration.md"),
]


# -- markdown helpers ------------------------------------------------------------------------------


def _text(text: str | None) -> str:
    """Spec text made safe for markdown: HTML escaped and `|` neutralised outside code spans."""
    if not text:
        return ""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unbalanced backtick: treat everything as plain text
        parts = [text]
    for i in range(0, len(parts), 2):
        parts[i] = html.escape(parts[i], quote=False).replace("|", "&#124;").replace("*", r"\*")
    return "`".join(parts)


def _cell(text: str | None) -> str:
    return _text(text).replace("\n\n", "<br>").replace("\n", " ")


def _code(text: object) -> str:
    s = str(text)
    return f"`` {s} ``" if "`" in s else f"`{s}`"


def _table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def req_anchor(rid: str) -> str:
    return "req-" + rid.lower()


def _req_link(rid: str, base: str) -> str:
    return f"[{rid}]({base}requirements.md#{req_anchor(rid)})"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _generated_note(source: str) -> str:
    return (f'\n!!! note "Generated page"\n    Built by `scenemon docs build` from {source}; '
            "do not edit it, edit the source.\n\n")


# -- the spec, as read from interface_spec/ --------------------------------------------------------


@dataclass
class Spec:
    openapi: dict[str, Any]
    transactions: list[dict[str, Any]]
    error_codes: dict[str, Any]
    tables: dict[str, codes.CodeTable]
    requirements: RequirementsList
    coverage: dict[str, list[str]]

    @property
    def schemas(self) -> dict[str, Any]:
        return self.openapi.get("components", {}).get("schemas", {})

    def tags(self) -> list[str]:
        """Transaction tags ordered by their lowest transaction number."""
        first: dict[str, str] = {}
        for t in self.transactions:
            first[t["tag"]] = min(first.get(t["tag"], t["infno"]), t["infno"])
        return sorted(first, key=lambda tag: (first[tag], tag))

    def tag_title(self, tag: str) -> tuple[str, str]:
        if tag in TAG_TITLES:
            return TAG_TITLES[tag]
        scene = self.tables.get("scene")
        if scene and tag in scene.labels():
            label = scene.labels()[tag]
            return label.en, label.zh
        return tag.replace("-", " ").replace("_", " ").capitalize(), ""


def load_spec(spec_dir: Path = INTERFACE_SPEC, test_paths: Iterable[Path] | None = None) -> Spec:
    """Read everything the site is built from; a malformed file is refused by its loader."""
    openapi = json.loads((spec_dir / "openapi.json").read_text(encoding="utf-8"))
    txs = yaml.safe_load((spec_dir / "transactions.yaml").read_text(encoding="utf-8"))["transactions"]
    errs = yaml.safe_load((spec_dir / "error_codes.yaml").read_text(encoding="utf-8"))
    tables = {}
    for path in sorted((spec_dir / "code_tables").glob("*.yaml")):
        table = codes.load_table(path)
        tables[table.name] = table
    return Spec(
        openapi=openapi,
        transactions=sorted(txs, key=lambda t: t["infno"]),
        error_codes=errs,
        tables=tables,
        requirements=load_list(spec_dir / "requirements.yaml"),
        coverage=covered_requirements(test_paths),
    )


# -- JSON schema → field tables --------------------------------------------------------------------


def field_glossary(schemas: dict[str, Any]) -> dict[str, str]:
    """The first description each field name has anywhere in the interface.

    The platform's field names are standard (`psn_no` is always the person number, 人员编号),
    so a field left undescribed in one model borrows the description it has in another.
    """
    glossary: dict[str, str] = {}
    for schema in schemas.values():
        for name, prop in schema.get("properties", {}).items():
            if prop.get("description") and name not in glossary and name not in ("input", "output"):
                glossary[name] = prop["description"]
    return glossary


@dataclass
class FieldRow:
    path: str
    type: str
    required: bool
    description: str


def _deref(schema: dict[str, Any], schemas: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    ref = schema.get("$ref")
    if not ref:
        return None, schema
    name = ref.rsplit("/", 1)[-1]
    if name not in schemas:
        raise KeyError(f"openapi.json: unresolved $ref {ref}")
    return name, schemas[name]


def _non_null(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives of a schema without the `null` one (pydantic's `X | None`)."""
    alts = schema.get("anyOf") or schema.get("oneOf")
    if not alts:
        return [schema]
    return [a for a in alts if a.get("type") != "null"]


def _constraints(s: dict[str, Any]) -> list[str]:
    out = []
    lo, hi = s.get("minLength"), s.get("maxLength", s.get("x-max-length-stripped"))
    if lo is not None and hi is not None:
        out.append(f"{lo}–{hi} chars")
    elif hi is not None:
        out.append(f"≤ {hi} chars")
    elif lo is not None:
        out.append(f"≥ {lo} chars")
    lo, hi = s.get("minimum", s.get("exclusiveMinimum")), s.get("maximum", s.get("exclusiveMaximum"))
    if lo is not None or hi is not None:
        out.append(f"range {'' if lo is None else lo}–{'' if hi is None else hi}")
    lo, hi = s.get("minItems"), s.get("maxItems")
    if lo is not None or hi is not None:
        out.append(f"{'' if lo is None else lo}–{'' if hi is None else hi} items")
    if "pattern" in s:
        out.append("pattern " + _code(s["pattern"]))
    return out


class _Types:
    """Renders schema types with links to code tables for enums that have one."""

    def __init__(self, spec: Spec, base: str) -> None:
        self.spec, self.base = spec, base
        self.glossary = field_glossary(spec.schemas)

    def enum(self, name: str | None, s: dict[str, Any]) -> str:
        table = _snake(name) if name else None
        if table and table in self.spec.tables:
            t = self.spec.tables[table]
            return f"code: [{t.title_en} ({t.title_zh})]({self.base}code-tables.md#{t.name})"
        return "one of " + ", ".join(_code(v) for v in s["enum"])

    def render(self, schema: dict[str, Any]) -> str:
        parts = []
        for alt in _non_null(schema):
            name, s = _deref(alt, self.spec.schemas)
            if "enum" in s:
                parts.append(self.enum(name, s))
            elif "const" in s:
                parts.append("constant " + _code(json.dumps(s["const"], ensure_ascii=False)))
            elif s.get("type") == "array":
                item = self.render(s.get("items", {}))
                parts.append(f"array of {item}")
            elif name and (s.get("type") == "object" or "properties" in s):
                parts.append(f"object `{name}`")
            elif s.get("type") == "object":
                parts.append("object")
            elif "type" in s:
                kind = s["type"] if isinstance(s["type"], str) else " or ".join(s["type"])
                parts.append(f"{kind} ({s['format']})" if "format" in s else kind)
            else:
                parts.append("any")
            extra = _constraints(s)
            if extra:
                parts[-1] += "<br>" + ", ".join(extra)
        return " or ".join(parts) if parts else "null"


def _model_of(schema: dict[str, Any], schemas: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None, str]:
    """The nested object model a field holds, if any, and the path suffix to reach its fields."""
    for alt in _non_null(schema):
        name, s = _deref(alt, schemas)
        if s.get("type") == "array":
            iname, item = _deref(s.get("items", {}), schemas)
            if "properties" in item:
                return iname, item, "[]."
        elif "properties" in s:
            return name, s, "."
    return None, None, ""


def field_rows(spec: Spec, schema: dict[str, Any], types: _Types, prefix: str = "",
               seen: tuple[str, ...] = ()) -> list[FieldRow]:
    """Every field of an object schema, nested models flattened as `a.b` / `a[].b`."""
    rows: list[FieldRow] = []
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        desc = prop.get("description", "")
        model, sub, sep = _model_of(prop, spec.schemas)
        if not desc and sub is not None:
            desc = sub.get("description", "")
        desc = inspect.cleandoc(desc or types.glossary.get(name, ""))
        if "default" in prop and prop["default"] is not None and name not in required:
            if desc and not desc.endswith((".", ")")):
                desc += "."
            desc = (desc + " " if desc else "") + f"Default {_code(json.dumps(prop['default'], ensure_ascii=False))}."
        rows.append(FieldRow(prefix + name, types.render(prop), name in required, desc))
        if sub is not None and model not in seen:
            rows += field_rows(spec, sub, types, prefix + name + sep, seen + (model or "",))
    return rows


def _field_table(rows: list[FieldRow]) -> str:
    if not rows:
        return "No fields: send `{}` (an empty object).\n"
    return _table(
        ["Field", "Type", "Required", "Description"],
        ([_code(r.path), r.type, "**yes**" if r.required else "no", _cell(r.description)] for r in rows),
    )


# -- pages -----------------------------------------------------------------------------------------


def _envelope_schema(spec: Spec, prefix: str) -> dict[str, Any]:
    for name, s in sorted(spec.schemas.items()):
        if name.startswith(prefix):
            return s
    raise KeyError(f"openapi.json has no {prefix}* schema")


def page_envelope(spec: Spec) -> str:
    from reference.envelope import Empty, RequestEnvelope, ResponseEnvelope

    types = _Types(spec, "")
    req_rows = [r for r in field_rows(spec, _envelope_schema(spec, "RequestEnvelope_"), types)
                if r.path == "input" or not r.path.startswith("input")]
    resp_rows = [r for r in field_rows(spec, _envelope_schema(spec, "ResponseEnvelope_"), types)
                 if r.path == "output" or not r.path.startswith("output")]
    for r in req_rows + resp_rows:
        if r.path in ("input", "output"):
            r.type = "object (per transaction)"
    headers = spec.openapi.get("components", {}).get("securitySchemes", {})
    purposes = _signing_headers()
    example_req = RequestEnvelope[Empty].model_validate({
        "infno": "8000", "msgid": "H41010200001202405061030000001", "opter": "0001",
        "opter_name": "张三", "inf_time": "2024-05-06 10:30:00", "fixmedins_code": "H41010200001",
        "input": {},
    }).model_dump(mode="json", exclude_none=True)
    example_resp = ResponseEnvelope[Empty].model_validate({
        "infcode": 0, "inf_refmsgid": "8f14e45fceea167a5a36dedd4bea2543",
        "msgid": "H41010200001202405061030000001", "refmsg_time": "2024-05-06 10:30:00",
        "respond_time": "2024-05-06 10:30:00", "output": {},
    }).model_dump(mode="json")
    out = ["# Envelope (报文结构)\n", _generated_note("`interface_spec/openapi.json`")]
    out.append(
        "Every transaction (交易) is one HTTP `POST` of a JSON request envelope (入参报文), "
        "answered by a response envelope (出参报文). The shape follows the national "
        "medical-insurance platform, so adapters that institutions' HIS already have can be "
        "reused: `infno` names the transaction, `msgid` identifies the message, `input` carries "
        "the transaction's fields and `output` its result.\n\n"
        "- `POST /tx/{infno}` — one URL per transaction (the OpenAPI document lists each), or\n"
        "- `POST /tx` — the platform's single endpoint; the body's `infno` decides.\n\n"
        "The body is UTF-8 JSON (`Content-Type: application/json`). The envelope takes every field "
        "of the national platform's envelope; an empty optional field (`\"\"`, as deployed clients "
        "send) is read as absent. Deployed clients add local fields, so an unknown top-level field, "
        "and an unknown field inside a national-shape input (9001, 9002, 3101 …), is accepted and "
        "named in `warn_msg` — its value is never read, stored or echoed. Unknown fields in the input "
        "of a scenemon extension (8xxx) are refused (error 1001), never silently dropped. Lengths, "
        "sources and what stays unconfirmed: [National envelope](../interface/national-envelope.md); "
        "the `sign_no`: [Sign-in](../interface/sign-in.md). The request is signed: see "
        "[Signing](../interface/signing.md). A retry reuses the `msgid`: see "
        "[Idempotency](../interface/idempotency.md).\n"
    )
    if headers:
        out.append("\n## Headers\n\n")
        out.append(_table(["Header", "Purpose"], (
            [_code(h.get("name", k)), _cell(purposes.get(h.get("name", k), k))]
            for k, h in headers.items())))
        out.append("\nHow the signature is computed: [Signing](../interface/signing.md).\n")
    out.append("\n## Request envelope (入参) {#request}\n\n")
    out.append(_field_table(req_rows))
    out.append("\n## Response envelope (出参) {#response}\n\n")
    out.append(_field_table(resp_rows))
    out.append(
        "\n`infcode` 0 means success; any other value is a code from the "
        "[error-code table](error-codes.md), with `err_msg` naming the offending field first and "
        "`err_field` giving its path (e.g. `input.certno`). The HTTP status mirrors the code's "
        "class, but clients should decide on `infcode`.\n"
    )
    out.append("\n## Example\n\nA ping (8000) from an institution, and its answer (both validated "
               "against the models when this page is built):\n\n")
    out.append("```json\n" + json.dumps(example_req, ensure_ascii=False, indent=2) + "\n```\n\n")
    out.append("```json\n" + json.dumps(example_resp, ensure_ascii=False, indent=2) + "\n```\n")
    return "".join(out)


def _signing_headers() -> dict[str, str]:
    """Header → purpose, as listed in `reference/signing.py`'s docstring.

    Read from the source text, not the evaluated docstring, so that the `"\\n"` of the
    signature formula stays a visible escape instead of becoming a line break.
    """
    source = (REPO_ROOT / "reference" / "signing.py").read_text(encoding="utf-8")
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^ {4}(X-SM-[A-Za-z-]+|x-tif-[a-z]+) +(.+)$", source, re.M)}


def _error_tree() -> str:
    """The hierarchy drawn in `reference.errors`' docstring, read without importing it."""
    source = (REPO_ROOT / "reference" / "errors.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source)) or ""
    lines = [ln[4:] for ln in doc.splitlines() if ln.startswith("    ")]
    return "\n".join(lines)


def page_error_codes(spec: Spec) -> str:
    rows = spec.error_codes["error_codes"]
    out = ["# Error codes (错误代码表)\n", _generated_note("`interface_spec/error_codes.yaml`")]
    out.append(
        f"`infcode` {spec.error_codes.get('success_code', 0)} means success. Any other value is "
        "one of the codes below; `err_msg` starts with the offending field or object and "
        "`err_field` gives its path. Codes never change meaning once published; new ones are "
        "appended.\n\n"
    )
    out.append(_table(
        ["infcode", "Name", "中文", "HTTP", "Meaning"],
        ([f'<span id="e{r["code"]}"></span>{_code(r["code"])}', _code(r["name"]), _cell(r["zh"]),
          str(r["http_status"]), _cell(r["meaning"])] for r in rows),
    ))
    tree = _error_tree()
    if tree:
        out.append("\n## The error hierarchy\n\nEach code is an exception class of "
                   "`reference.errors`; the classes group the codes by what went wrong.\n\n")
        out.append("```text\n" + tree + "\n```\n")
    return "".join(out)


def page_code_tables(spec: Spec) -> str:
    out = ["# Code tables (代码表)\n", _generated_note("`interface_spec/code_tables/*.yaml`")]
    out.append("Every coded field of the interface takes its values from one of these tables. "
               "Each carries English and Chinese labels and the source of its codes.\n\n")
    out.append(_table(["Table", "English", "中文"], (
        [f"[{_code(t.name)}](#{t.name})", _cell(t.title_en), _cell(t.title_zh)]
        for t in spec.tables.values())))
    for t in spec.tables.values():
        out.append(f"\n## {_text(t.title_en)} — {_text(t.title_zh)} {{#{t.name}}}\n\n")
        out.append(f"Table `{t.name}`. Source: {_text(t.source)}\n\n")
        out.append(_table(["Code", "English", "中文", "Note"], (
            [_code(c.code), _cell(c.en), _cell(c.zh), _cell(c.note)] for c in t.codes)))
    return "".join(out)


def _roles(spec: Spec, roles: list[str]) -> str:
    labels = spec.tables["role"].labels() if "role" in spec.tables else {}
    return ", ".join(
        f"{r} ({labels[r].zh})" if r in labels else r for r in roles
    )


def _number_ranges() -> str:
    path = REPO_ROOT / "reference" / "scenes" / "__init__.py"
    if not path.exists():
        return ""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    match = re.search(r"Number ranges:(.*?)(?:\n\n|$)", doc, re.S)
    return " ".join(match.group(1).split()) if match else ""


def page_transactions_index(spec: Spec) -> str:
    out = ["# Transactions (交易目录)\n", _generated_note("`interface_spec/transactions.yaml`")]
    out.append(
        "Every transaction is one signed [envelope](../envelope.md) sent to `POST /tx/{infno}`. "
        "The roles column lists who may send it (anyone else gets error 2005); the requirement "
        "IDs say which normative statements it implements.\n\n"
    )
    ranges = _number_ranges()
    if ranges:
        out.append(f"Number ranges: {_text(ranges)}\n\n")
    for tag in spec.tags():
        en, zh = spec.tag_title(tag)
        out.append(f"## [{_text(en)}{f' ({zh})' if zh else ''}]({tag}.md)\n\n")
        out.append(_table(["No.", "Transaction", "交易名称", "Roles", "Requirements"], (
            [f"[{t['infno']}]({tag}.md#tx-{t['infno']})", _cell(t["en"]), _cell(t["zh"]),
             _cell(", ".join(t["roles"])),
             ", ".join(_req_link(r, "../") for r in t["requirements"]) or "—"]
            for t in spec.transactions if t["tag"] == tag)))
        out.append("\n")
    return "".join(out)


def _operation(spec: Spec, infno: str) -> dict[str, Any]:
    for path in (f"/tx/{infno}",):
        op = spec.openapi.get("paths", {}).get(path, {}).get("post")
        if op:
            return op
    raise KeyError(f"openapi.json has no POST /tx/{infno} (run `scenemon spec export`)")


def _envelope_part(spec: Spec, op: dict[str, Any], which: str) -> dict[str, Any]:
    """The `input` (request) or `output` (response) schema of one operation."""
    if which == "input":
        env = op["requestBody"]["content"]["application/json"]["schema"]
    else:
        env = op["responses"]["200"]["content"]["application/json"]["schema"]
    _, env_schema = _deref(env, spec.schemas)
    part = env_schema["properties"][which]
    for alt in _non_null(part):
        _, s = _deref(alt, spec.schemas)
        return s
    return {}


def page_transactions_tag(spec: Spec, tag: str) -> str:
    en, zh = spec.tag_title(tag)
    types = _Types(spec, "../")
    txs = [t for t in spec.transactions if t["tag"] == tag]
    out = [f"# {_text(en)} transactions{f' ({zh})' if zh else ''}\n",
           _generated_note("`interface_spec/openapi.json` and `transactions.yaml`")]
    out.append(
        f"Transactions tagged `{tag}`. Each is `POST /tx/{{infno}}` with a signed "
        "[envelope](../envelope.md); the tables below describe its `input` and `output` objects. "
        "Refusals are [error codes](../error-codes.md).\n\n"
    )
    out.append(_table(["No.", "Transaction", "交易名称"], (
        [f"[{t['infno']}](#tx-{t['infno']})", _cell(t["en"]), _cell(t["zh"])] for t in txs)))
    for t in txs:
        op = _operation(spec, t["infno"])
        infno = t["infno"]
        out.append(f"\n## {infno} {_text(t['en'])} — {_text(t['zh'])} {{#tx-{infno}}}\n\n")
        desc = op.get("description", "")
        desc = inspect.cleandoc(re.split(r"\n\nRoles: ", desc)[0])  # roles and IDs are shown below
        if desc:
            out.append(_text(desc) + "\n\n")
        reqs = ", ".join(_req_link(r, "../") for r in t["requirements"]) or "— (infrastructure)"
        out.append(
            f"- **Endpoint**: `POST /tx/{infno}` (or `POST /tx` with `\"infno\": \"{infno}\"`)\n"
            f"- **Operation id**: {_code(t['operation_id'])}\n"
            f"- **Roles** (who may send it): {_cell(_roles(spec, t['roles']))}\n"
            f"- **Requirements**: {reqs}\n"
        )
        if t.get("scene"):
            out.append(f"- **Scene**: `{t['scene']}` — institutions and terminals may send it only while the "
                       "scene is monitored for their institution (8014); see [data scope](../scope.md)\n")
        for which, label, model in (("input", "Input", t["input"]), ("output", "Output", t["output"])):
            out.append(f"\n### {label} (`{which}`: `{model}`) {{#tx-{infno}-{which}}}\n\n")
            out.append(_field_table(field_rows(spec, _envelope_part(spec, op, which), types)))
    return "".join(out)


def _tests_cell(nodeids: list[str]) -> str:
    """Tests grouped by file: `file`: `test_a`, `test_b`."""
    by_file: dict[str, list[str]] = {}
    for nodeid in nodeids:
        file, _, name = nodeid.partition("::")
        by_file.setdefault(file, []).append(name)
    return "<br>".join(f"{_code(f)}: " + ", ".join(_code(n) for n in names)
                       for f, names in by_file.items())


def page_requirements(spec: Spec) -> str:
    reqs = spec.requirements
    known = reqs.by_id()
    cited_by: dict[str, list[dict[str, Any]]] = {}
    for t in spec.transactions:
        for rid in t["requirements"]:
            cited_by.setdefault(rid, []).append(t)
    covered = [r for r in reqs.requirements if spec.coverage.get(r.id)]
    excused = [r for r in reqs.requirements if not spec.coverage.get(r.id) and r.not_tested_reason]
    missing = [r for r in reqs.requirements if not spec.coverage.get(r.id) and not r.not_tested_reason]

    out = ["# Requirements (需求清单)\n",
           _generated_note("`interface_spec/requirements.yaml` and the `req` markers of the tests")]
    out.append(
        "Every normative statement of the product brief, with its source article in the seed "
        "documents (000 = Zhengzhou 2023 management rules, 002 = MOHRSS 2015, 003 = Jinan 2024, "
        "004 = Xuzhou 2023 terminals). Transactions cite these IDs, and tests cite them with "
        "`@pytest.mark.req(\"ID\")`; the *Tests* column is read from the test files "
        "(`tests/` and `conformance/`).\n\n"
        "SHALL is an obligation; SHOULD is encouraged (鼓励), a target or a recommendation.\n\n"
    )
    out.append(_table(["", "Count"], [
        ["Requirements", str(len(reqs.requirements))],
        ["Covered by at least one test", str(len(covered))],
        ["Not tested, with a stated reason", str(len(excused))],
        ["**Not yet covered**", str(len(missing))],
    ]))
    if missing:
        out.append("\nNot yet covered: " + ", ".join(f"[{r.id}](#{req_anchor(r.id)})" for r in missing)
                   + "\n")
    unknown = sorted(set(spec.coverage) - set(known))
    if unknown:
        out.append('\n!!! warning "Tests cite IDs that are not in the list"\n')
        for rid in unknown:
            out.append(f"    - `{rid}`: " + ", ".join(_code(n) for n in spec.coverage[rid]) + "\n")
    for g in reqs.groups:
        out.append(f"\n## {g.id} — {_text(g.en)} ({_text(g.zh)}) {{#grp-{g.id.lower()}}}\n\n")
        out.append(f"Source: {_text(g.source)}\n\n")
        rows = []
        for r in sorted(reqs.in_group(g.id), key=lambda r: r.number):
            txs = ", ".join(f"[{t['infno']}](transactions/{t['tag']}.md#tx-{t['infno']})"
                            for t in cited_by.get(r.id, [])) or "—"
            tests = spec.coverage.get(r.id, [])
            if tests:
                test_cell = _tests_cell(tests)
            elif r.not_tested_reason:
                test_cell = "*not tested:* " + _cell(r.not_tested_reason)
            else:
                test_cell = "⚠ **not yet covered**"
            rows.append([f'<span id="{req_anchor(r.id)}"></span>**{r.id}**', r.level,
                         r.actor, _cell(r.text_en), _cell(r.source), txs, test_cell])
        out.append(_table(["ID", "Level", "Actor", "Requirement", "Source", "Transactions", "Tests"],
                          rows))
    return "".join(out)


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(_code(a) for a in args)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return " or ".join(_type_name(a) for a in rest) + " (optional)"
    return {Path: "path", str: "text", int: "integer", float: "number", bool: "boolean"}.get(
        annotation, getattr(annotation, "__name__", str(annotation)))


def page_configuration() -> str:
    from reference.config import Settings

    prefix = Settings.model_config.get("env_prefix", "SCENEMON_")
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if "default_shown" in extra:  # computed per platform (e.g. the per-user data directory)
            shown = _code(str(extra["default_shown"]))
        else:
            shown = "unset" if default is None else _code(default if not isinstance(default, Path)
                                                           else default.as_posix())
        rows.append([f'<span id="{name}"></span>{_code(name)}', _code(prefix + name.upper()),
                     _type_name(field.annotation), shown, _cell(field.description or "")])
    out = ["# Configuration (配置)\n", _generated_note("`reference.config.Settings`")]
    out.append(
        "The reference server reads every setting from an environment variable "
        f"`{prefix}<NAME>` (for example `{prefix}DB_PATH=/data/scenemon.db`); the flags of "
        "`scenemon serve` override them. Defaults suit the embedded single-machine set-up.\n\n"
    )
    out.append(_table(["Setting", "Environment variable", "Type", "Default", "Description"], rows))
    return "".join(out)


def _value(v: Any, unit: str | None = None) -> str:
    shown = ", ".join(map(str, v)) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else str(v)
    return _code(shown) + (f" {unit}" if unit else "")


def page_rules() -> str:
    """The rule catalogue (RULE-1 … RULE-9): every rule of the shipped library in full, the
    override precedence, the lead workflow and the knowledge base, from interface_spec/rules/."""
    from reference.rules.knowledge import load_knowledge
    from reference.rules.leads import workflow
    from reference.rules.library import RULES_DIR, load_library

    lib = load_library()
    meta = yaml.safe_load((RULES_DIR / "library.yaml").read_text(encoding="utf-8"))
    out = ["# Rule catalogue (规则目录)\n", _generated_note("`interface_spec/rules/` and `interface_spec/knowledge/`")]
    out.append(
        f"Baseline release **{lib.version}** (effective {lib.effective_from}), {len(lib.rules)} rules. Every "
        "check is a rule with its parameters here; bureaus publish later releases as patches "
        "(transactions 8703/8704, `scenemon rules diff|simulate`), and every decision records the release "
        "and parameter values it used (8722 replays it).\n\n"
        "Stages: **pre_event** — a reminder the institution's system asks for before settling (`remind` "
        "never blocks, 8711); **in_event** — settlement review (8712): `refuse` refuses a clear violation, "
        "`suspicion` suspends the settlement for appeal (8713/8714) and raises a lead; **post_event** — "
        "batch analysis on the business clock (8801), every hit a lead.\n\n"
        f"**Override precedence.** {_text(meta.get('override_precedence', ''))}\n\n")
    out.append(_table(["Rule", "Scene", "Stages → outcome", "Severity", "Requirements"], [
        [f"[{_code(r.id)}](#{r.id.lower()})<br>{_cell(r.name_en)}<br>{_cell(r.name_zh)}", r.scene,
         "<br>".join(f"{s}: {o}" for s, o in r.stages.items()), r.severity,
         ", ".join(_req_link(q, "") for q in r.requirements)]
        for r in sorted(lib.rules.values(), key=lambda r: (r.scene, r.id))]))
    for r in sorted(lib.rules.values(), key=lambda r: (r.scene, r.id)):
        out.append(f"\n## {r.id} {{#{r.id.lower()}}}\n\n**{_text(r.name_en)}** / {_text(r.name_zh)}"
                   + ("" if r.enabled else " — *disabled*") + "\n\n")
        out.append(f"{_text(r.description)}\n\n")
        out.append(f"- Scene: `{r.scene}`; severity: `{r.severity}`\n")
        out.append("- Stages: " + "; ".join(f"{s} → `{o}`" for s, o in r.stages.items()) + "\n")
        out.append("- Requirements: " + ", ".join(_req_link(q, "") for q in r.requirements) + "\n")
        out.append(f"- Source: {_text(r.source)}\n")
        if r.composite:
            c = r.composite
            out.append(f"- Composite: **{c.op}** of " + ", ".join(f"[{_code(x)}](#{x.lower()})" for x in c.of)
                       + f", grouped by {c.group_by}\n")
        out.append("\n")
        if r.params:
            out.append(_table(["Parameter", "Type", "Default", "Range", "Meaning", "Source"], [
                [_code(n), p.type, _value(p.default, p.unit),
                 " … ".join(x for x in (f"≥ {p.min:g}" if p.min is not None else "",
                                        f"≤ {p.max:g}" if p.max is not None else "") if x),
                 _cell(p.description), _cell(p.source)] for n, p in r.params.items()]))
        if r.overrides:
            out.append("\nOverrides:\n\n")
            out.append(_table(["When", "Parameters", "Note"], [
                [", ".join(f"{k} = {_code(v)}" for k, v in o.when.items()),
                 ", ".join(f"{k} = {_value(v)}" for k, v in o.params.items()), _cell(o.note)]
                for o in r.overrides]))
    wf = workflow()
    out.append("\n## Lead workflow (线索流转)\n\nEvery lead of every scene moves only along these edges, "
               "only by these roles (8812); each move is recorded.\n\n")
    out.append(_table(["From", "To", "Roles"], [
        [f"{src} ({wf.statuses[src]['zh']})", f"{dst} ({wf.statuses[dst]['zh']})", ", ".join(sorted(roles))]
        for (src, dst), roles in wf.edges.items()]))
    kb = load_knowledge()
    out.append("\n## Knowledge base (知识库)\n\nItem categories the rules refer to; settlement items are "
               f"tagged by code prefix or name fragment. Source: {_text(kb.sources['item_categories'])}\n\n")
    out.append(_table(["Category", "Name", "Code prefixes", "Name contains"], [
        [_code(c.code), f"{_cell(c.en)} / {_cell(c.zh)}", ", ".join(map(_code, c.code_prefixes)),
         ", ".join(_cell(s) for s in c.name_contains)] for c in kb.item_categories.values()]))
    out.append(f"\nMajor diseases (重大疾病). Source: {_text(kb.sources['major_diseases'])}\n\n")
    out.append(_table(["Code", "Name", "ICD-10 prefixes"], [
        [_code(d["code"]), f"{_cell(d['en'])} / {_cell(d['zh'])}", ", ".join(map(_code, d["icd10_prefixes"]))]
        for d in kb.major_diseases.values()]))
    return "".join(out)


def page_scope() -> str:
    """The per-role scope table (GEN-1, GEN-5), from reference.scope."""
    from reference import scope

    out = [_generated_note("reference/scope.py"), "# Data scope (数据权限)\n\n",
           _text(inspect.getdoc(scope).split("\n\n", 1)[0]), "\n\n",
           "Requirements: [GEN-1](requirements.md#" + req_anchor("GEN-1") + "), [GEN-5](requirements.md#"
           + req_anchor("GEN-5") + ").\n\n## Per role\n\n",
           _table(["role", "level", "institutions", "persons", "notes"],
                  ([_code(r), _cell(level), _cell(inst), _cell(persons), _cell(notes)]
                   for r, level, inst, persons, notes in scope.ROLE_TABLE)),
           "\n## How an institution comes to see a person\n\n"
           "A person is *linked* to an institution by one of these events; the transactions that read or act "
           "on a person by number need the link. Bureau users see persons insured in their district or linked "
           "to one of its institutions.\n\n",
           _table(["link", "created by"], ([_code(k), _cell(v)] for k, v in scope.LINK_SOURCES.items())),
           "\n## Out of scope looks like not found\n\n"
           "An id of an object outside the sender's scope is answered exactly as an id that does not exist: "
           "`3003 not_found` with the same message, so refusals disclose neither ids nor owners. `2006 "
           "out_of_scope` remains only for an envelope whose `fixmedins_code` is not the sender's own "
           "institution. Lists and statistics cover the sender's scope only. The project's test "
           "`tests/reference/api/test_scope_matrix.py` sends every transaction as every kind of account with "
           "targets inside and outside its scope and fails on any difference.\n"]
    return "".join(out)


def page_numbering(spec: Spec) -> str:
    """Every transaction number mapped to its national counterpart or to "scenemon extension"."""
    from reference import numbering, transactions

    nat = numbering.national()
    about = numbering.national_catalogue()
    out = [_generated_note("`interface_spec/national/transactions.yaml` and the transaction registry"),
           "# Numbering (交易编号)\n\n", _text(inspect.getdoc(numbering).split("\n\n", 1)[1]), "\n\n",
           "A national number is used only with its national meaning and field names; a number scenemon "
           "invented is a **scenemon extension** in 8xxx. A test "
           "(`tests/reference/test_numbering.py`) fails when a registered number appears in the national "
           "list with another meaning, when an extension leaves its group, or when a deprecated number "
           "has a national meaning.\n\n## Extension groups\n\n",
           _table(["numbers", "group"], ([f"{g}00–{g}99", _cell(t)] for g, t in transactions.EXTENSION_GROUPS.items())),
           "\n## Every transaction\n\n",
           _table(["No.", "Transaction", "national counterpart", "old number (deprecated)"], (
               [f"[{t['infno']}](transactions/{t['tag']}.md#tx-{t['infno']})", _cell(f"{t['en']} ({t['zh']})"),
                _cell(f"national {t['infno']} {nat[t['infno']]['zh']} ({nat[t['infno']]['en']})"
                      if t.get("national") else "scenemon extension"),
                ", ".join(t.get("deprecated_numbers") or []) or "—"]
               for t in sorted(spec.transactions, key=lambda t: t["infno"]))),
           "\n## Extensions near a national transaction\n\nThese extensions touch a subject a national "
           "transaction also has; they are not that transaction, so they keep an 8xxx number:\n\n",
           _table(["ours", "national", "why it is not the same transaction"], (
               [ours, f"{n} {nat[n]['zh']}", _cell(why)] for ours, (n, why) in numbering.NEAR_NATIONAL.items())),
           f"\n## Deprecated numbers\n\nThe numbers of release 0.1 that have no national meaning keep "
           f"working until release {transactions.DEPRECATED_UNTIL}: the answer is the new transaction's, with "
           f"`warn_msg` naming the new number. Those with a national meaning (1101, 1201, 1301–1307, 2001, "
           f"7101–7104, 7201, 9001, 9002) stopped meaning scenemon's transaction at once: an old client "
           f"sending them reaches the national transaction or `1003 unknown_transaction`.\n\n",
           _table(["old", "now"], ([o, n] for o, n in sorted(transactions.DEPRECATED_NUMBERS.items()))),
           "\n## The national list\n\n", _text(about["about"]), "\n\nSources:\n\n",
           "".join(f"- `{k}`: {_text(v)}\n" for k, v in about["sources"].items()),
           "\nWhat stays unconfirmed:\n\n",
           "".join(f"- {r['infno']} {r['zh']}: {_text(r.get('note') or 'one source only')}\n"
                   for r in about["transactions"] if r["status"] == "unconfirmed"),
           f"\n{sum(r['status'] == 'listed' for r in about['transactions'])} further numbers are *listed* "
           "(one source only); scenemon avoids them all the same.\n\n",
           _table(["No.", "national name", "meaning", "status", "sources"], (
               [r["infno"], _cell(r["zh"]), _cell(r["en"]), r["status"], ", ".join(r["sources"])]
               for r in about["transactions"])), "\n"]
    return "".join(out)


def generate_pages(spec: Spec) -> dict[str, str]:
    """Every generated page: path under `docs/generated/` → markdown."""
    pages = {
        "envelope.md": page_envelope(spec),
        "error-codes.md": page_error_codes(spec),
        "code-tables.md": page_code_tables(spec),
        "transactions/index.md": page_transactions_index(spec),
        "requirements.md": page_requirements(spec),
        "configuration.md": page_configuration(),
        "rules.md": page_rules(),
        "scope.md": page_scope(),
        "numbering.md": page_numbering(spec),
    }
    for tag in spec.tags():
        pages[f"transactions/{tag}.md"] = page_transactions_tag(spec, tag)
    return pages


def write_pages(pages: dict[str, str], target: Path = GENERATED) -> None:
    """Replace the generated folder's content (a tag that disappeared leaves no stale page)."""
    if target.exists():
        shutil.rmtree(target)
    for rel, text in pages.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# -- nav -------------------------------------------------------------------------------------------


def _title_of(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem.replace("-", " ").capitalize()


def build_nav(spec: Spec, docs: Path = DOCS) -> list[Any]:
    """The site's nav: hand-written pages that exist, then the generated ones."""

    def exists(rel: str) -> bool:
        return rel.startswith("generated/") or (docs / rel).exists()

    def entries(pages: list[tuple[str, str]]) -> list[dict[str, str]]:
        return [{title: rel} for title, rel in pages if exists(rel)]

    listed = {rel for _, rel in HOME_PAGES + INTERFACE_PAGES + LATER_PAGES}
    # Interface pages someone adds later under docs/interface/ join that section by themselves.
    more_interface = [(_title_of(p), p.relative_to(docs).as_posix())
                      for p in sorted((docs / "interface").glob("*.md"))
                      if p.relative_to(docs).as_posix() not in listed]
    interface = entries(INTERFACE_PAGES[:3]) + entries(more_interface) + entries(INTERFACE_PAGES[3:])
    listed |= {rel for _, rel in more_interface}
    transactions: list[dict[str, str]] = [{"Overview": "generated/transactions/index.md"}]
    for tag in spec.tags():
        en, zh = spec.tag_title(tag)
        transactions.append({f"{en} ({zh})" if zh else en: f"generated/transactions/{tag}.md"})
    # Scene pages (docs/scenes/) get their own section; any other hand-written page (outside
    # generated/) still gets a place in the nav, under Guides.
    scenes = [(_title_of(p), p.relative_to(docs).as_posix()) for p in sorted((docs / "scenes").glob("*.md"))]
    listed |= {rel for _, rel in scenes}
    others = [(_title_of(p), p.relative_to(docs).as_posix()) for p in sorted(docs.rglob("*.md"))
              if p.relative_to(docs).parts[0] != "generated"
              and p.relative_to(docs).as_posix() not in listed]
    nav: list[Any] = entries(HOME_PAGES)
    nav.append({"Interface (接口规范)": interface})
    nav.append({"Transactions (交易)": transactions})
    if scenes:
        nav.append({"Scenes (监控场景)": entries(scenes)})
    nav += entries(LATER_PAGES[:2])
    if others:
        nav.append({"Guides": entries(others)})
    nav += entries(LATER_PAGES[2:])
    return nav


def nav_block(nav: list[Any]) -> str:
    body = yaml.safe_dump({"nav": nav}, allow_unicode=True, sort_keys=False, width=200)
    return f"{NAV_BEGIN}\n{body}{NAV_END}\n"


def update_mkdocs_nav(nav: list[Any], config: Path = MKDOCS_YML) -> bool:
    """Write the nav between the markers of mkdocs.yml; True if the file changed."""
    text = config.read_text(encoding="utf-8")
    start, end = text.find(NAV_BEGIN), text.find(NAV_END)
    if start < 0 or end < start:
        raise ValueError(f"{config}: the nav markers are missing; the file needs the lines\n"
                         f"{NAV_BEGIN}\n{NAV_END}")
    end = text.index("\n", end) + 1 if "\n" in text[end:] else len(text)
    new = text[:start] + nav_block(nav) + text[end:]
    if new == text:
        return False
    config.write_text(new, encoding="utf-8")
    return True


# -- build -----------------------------------------------------------------------------------------


def _spec_drift() -> list[str]:
    """Generated spec files that differ from the code (the site would document a stale spec)."""
    try:
        from reference import spec_export

        return spec_export.check()
    except Exception as exc:  # the site can still be built from the files as they are
        return [f"(could not check: {exc})"]


def build_site(strict: bool = True, site_dir: Path | None = None) -> int:
    """Generate the pages, update the nav and build the site; return the exit code."""
    started = time.perf_counter()
    site_dir = Path(site_dir or DEFAULT_SITE_DIR).resolve()
    stale = _spec_drift()
    if stale:
        print("WARNING: interface_spec/ is out of date with the code (" + ", ".join(stale)
              + "); run `scenemon spec export` — the site shows the files as they are")
    spec = load_spec()
    pages = generate_pages(spec)
    write_pages(pages)
    print(f"generated {len(pages)} pages from interface_spec/ into {GENERATED.relative_to(REPO_ROOT)}/")
    cited = {r for t in spec.transactions for r in t["requirements"]}
    unknown = sorted(cited - set(spec.requirements.by_id()))
    if unknown:
        print("WARNING: transactions cite requirement IDs missing from requirements.yaml: "
              + ", ".join(unknown))
    changed = update_mkdocs_nav(build_nav(spec))
    print("nav in mkdocs.yml " + ("updated (a page appeared or disappeared; commit it)"
                                  if changed else "is up to date"))
    cmd = [sys.executable, "-m", "mkdocs", "build", "-f", str(MKDOCS_YML), "-d", str(site_dir)]
    if strict:
        cmd.append("--strict")
    print("running: mkdocs build" + (" --strict" if strict else "") + f" -d {site_dir}", flush=True)
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # material's end-of-life banner
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        print(f"mkdocs build failed (exit {result.returncode}) after {elapsed:.1f} s"
              + ("; warnings are errors in strict mode (--no-strict to see the site anyway)"
                 if strict else ""))
        return result.returncode
    print(f"site built in {elapsed:.1f} s: {site_dir / 'index.html'}")
    return 0


__all__ = [
    "GENERATED", "MKDOCS_YML", "Spec", "build_nav", "build_site", "field_rows", "generate_pages",
    "load_spec", "nav_block", "update_mkdocs_nav", "write_pages",
]
