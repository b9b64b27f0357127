"""The requirements list, the generated spec pages and the mkdocs build of the spec site."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from reference import signing
from reference.envelope import Empty, RequestEnvelope
from reference.paths import DOCS, INTERFACE_SPEC, REPO_ROOT
from reference.requirements import (
    RequirementsError,
    covered_requirements,
    load_list,
    load_requirements,
)
from reference.spec_site import (
    MKDOCS_YML,
    Spec,
    build_nav,
    build_site,
    field_rows,
    generate_pages,
    load_spec,
    update_mkdocs_nav,
)
from reference.spec_site import _Types as Types

BRIEF = REPO_ROOT.parent / "shared" / "requirements.md"


# -- the requirements list ----------------------------------------------------------------------


def test_requirements_file_loads_and_ids_are_unique():
    reqs = load_requirements()
    ids = [r.id for r in reqs]
    assert len(ids) == len(set(ids))
    assert {r.level for r in reqs} <= {"SHALL", "SHOULD"}


@pytest.mark.skipif(not BRIEF.exists(), reason=f"the product brief {BRIEF} is not checked out here")
def test_requirements_file_has_every_id_of_the_brief_exactly_once():
    brief_ids = re.findall(r"\*\*([A-Z]+-\d+)\*\*", BRIEF.read_text(encoding="utf-8"))
    listed = [r.id for r in load_requirements()]
    assert sorted(listed) == sorted(set(brief_ids))
    assert len(listed) == len(set(listed))


def test_every_requirement_cited_by_a_transaction_exists():
    known = set(load_list().by_id())
    txs = yaml.safe_load((INTERFACE_SPEC / "transactions.yaml").read_text(encoding="utf-8"))
    cited = {(t["infno"], r) for t in txs["transactions"] for r in t["requirements"]}
    assert [c for c in sorted(cited) if c[1] not in known] == []


GOOD_ENTRY = {"id": "GEN-1", "group": "GEN", "source": "000 art. 3", "text_en": "Roles.",
              "level": "SHALL", "actor": "system", "not_tested_reason": ""}


def _write_list(tmp_path: Path, *entries: dict) -> Path:
    path = tmp_path / "requirements.yaml"
    path.write_text(yaml.safe_dump({
        "groups": [{"id": "GEN", "en": "Roles", "zh": "角色", "source": "000"}],
        "requirements": list(entries),
    }, allow_unicode=True), encoding="utf-8")
    return path


def test_malformed_requirement_entry_is_refused_naming_it(tmp_path):
    bad_level = dict(GOOD_ENTRY, id="GEN-2", level="MUST")
    no_actor = {k: v for k, v in GOOD_ENTRY.items() if k != "actor"} | {"id": "GEN-3"}
    path = _write_list(tmp_path, GOOD_ENTRY, bad_level, no_actor, dict(GOOD_ENTRY))
    with pytest.raises(RequirementsError) as err:
        load_list(path)
    message = str(err.value)
    assert "requirements[1] (GEN-2): level must be SHALL or SHOULD, got 'MUST'" in message
    assert "requirements[2] (GEN-3): missing actor" in message
    assert "requirements[3] (GEN-1): id GEN-1 appears twice" in message


def test_requirement_id_must_match_its_group(tmp_path):
    path = _write_list(tmp_path, dict(GOOD_ENTRY, id="INP-1"))
    with pytest.raises(RequirementsError, match=r"\(INP-1\): id prefix 'INP' differs from group 'GEN'"):
        load_list(path)


def test_covered_requirements_reads_markers_without_importing_the_tests(tmp_path):
    (tmp_path / "test_sample.py").write_text(textwrap.dedent('''
        import pytest
        from pytest import mark

        raise SystemExit("importing this file would stop the test run")

        pytestmark = pytest.mark.req("GEN-5")

        @pytest.mark.req("HD-2", "HD-5")
        def test_checkout_before_120_minutes_is_refused():
            pass

        def test_only_the_module_marker():
            pass

        def helper():
            pass

        @pytest.mark.req("PH-3")
        class TestPharmacy:
            @mark.req("PH-4")
            def test_proxy_purchase(self):
                pass

            def test_face_over_1000_yuan(self):
                pass
    '''), encoding="utf-8")
    f = "test_sample.py"
    assert {k: [n.rsplit("/", 1)[-1] for n in v] for k, v in covered_requirements([tmp_path]).items()} == {
        "GEN-5": [f"{f}::TestPharmacy::test_face_over_1000_yuan", f"{f}::TestPharmacy::test_proxy_purchase",
                  f"{f}::test_checkout_before_120_minutes_is_refused", f"{f}::test_only_the_module_marker"],
        "HD-2": [f"{f}::test_checkout_before_120_minutes_is_refused"],
        "HD-5": [f"{f}::test_checkout_before_120_minutes_is_refused"],
        "PH-3": [f"{f}::TestPharmacy::test_face_over_1000_yuan", f"{f}::TestPharmacy::test_proxy_purchase"],
        "PH-4": [f"{f}::TestPharmacy::test_proxy_purchase"],
    }


def test_coverage_node_ids_are_relative_to_the_repository():
    nodeids = [n for tests in covered_requirements().values() for n in tests]
    assert all("::" in n for n in nodeids)
    assert "tests/reference/test_spec_site.py::test_covered_requirements_reads_markers_without_importing_the_tests" \
        not in nodeids, "only tests with a req marker are listed"
    assert all(n.startswith(("tests/", "conformance/")) for n in nodeids)


# -- the signing page's worked example -----------------------------------------------------------


def _example_value(page: str, label: str) -> str:
    match = re.search(rf"^- \*\*{re.escape(label)}\*\*: `([^`]+)`", page, re.M)
    assert match, f"signing.md has no '- **{label}**: `…`' line"
    return match.group(1)


def test_signing_page_worked_example_matches_reference_signing():
    page = (DOCS / "interface" / "signing.md").read_text(encoding="utf-8")
    body_text = re.search(r"^- \*\*body\*\*.*?```json\n(.*?)\n```", page, re.S | re.M).group(1)
    body = body_text.encode("utf-8")
    # the stated byte count is right, and the body is a valid ping envelope
    assert f"({len(body)} bytes of UTF-8" in page
    RequestEnvelope[Empty].model_validate_json(body)
    expected = signing.signature(
        _example_value(page, "secret"),
        _example_value(page, "X-SM-Timestamp"),
        _example_value(page, "X-SM-Nonce"),
        body,
    )
    assert signing.NONCE_RE.match(_example_value(page, "X-SM-Nonce"))
    assert _example_value(page, "X-SM-Signature") == expected
    # the Python and shell snippets sign the same bytes
    assert page.count(body_text) == 3


# -- generated pages -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="module")
def pages(spec) -> dict[str, str]:
    return generate_pages(spec)


def test_generated_pages_include_every_transaction_number(spec, pages):
    for t in spec.transactions:
        tag_page = pages[f"transactions/{t['tag']}.md"]
        assert f"\n## {t['infno']} " in tag_page and f"{{#tx-{t['infno']}}}" in tag_page
        assert t["zh"] in tag_page
        assert f"[{t['infno']}]({t['tag']}.md#tx-{t['infno']})" in pages["transactions/index.md"]


def test_generated_pages_include_every_error_code(spec, pages):
    for row in spec.error_codes["error_codes"]:
        assert f'<span id="e{row["code"]}"></span>`{row["code"]}`' in pages["error-codes.md"]
        assert row["zh"] in pages["error-codes.md"]


def test_requirements_page_lists_every_requirement_and_marks_the_uncovered(spec, pages):
    page = pages["requirements.md"]
    for r in spec.requirements.requirements:
        assert f'<span id="req-{r.id.lower()}"></span>**{r.id}**' in page
    uncovered = [r for r in spec.requirements.requirements
                 if not spec.coverage.get(r.id) and not r.not_tested_reason]
    assert page.count("⚠ **not yet covered**") == len(uncovered)


def test_code_tables_and_configuration_pages_are_complete(spec, pages):
    for table in spec.tables.values():
        assert f"{{#{table.name}}}" in pages["code-tables.md"]
        for code in table.codes:
            assert f"| `{code.code}` | " in pages["code-tables.md"] and code.zh in pages["code-tables.md"]
    from reference.config import Settings

    for name in Settings.model_fields:
        assert f"`SCENEMON_{name.upper()}`" in pages["configuration.md"]


MINI_OPENAPI = {
    "components": {"schemas": {
        "PersonFlag": {"enum": ["past_violator"], "title": "PersonFlag", "type": "string"},
        "Mode": {"enum": ["a", "b"], "title": "Mode", "type": "string"},
        "Liveness": {"type": "object", "required": ["passed"],
                     "properties": {"passed": {"type": "boolean"}}},
        "Capture": {"type": "object", "description": "One capture.", "properties": {
            "liveness": {"anyOf": [{"$ref": "#/components/schemas/Liveness"}, {"type": "null"}]},
        }},
        "In": {"type": "object", "required": ["psn_no", "captures"], "properties": {
            "psn_no": {"type": "string", "maxLength": 30},
            "captures": {"type": "array", "items": {"$ref": "#/components/schemas/Capture"}},
            "flags": {"type": "array", "items": {"$ref": "#/components/schemas/PersonFlag"}},
            "mode": {"$ref": "#/components/schemas/Mode"},
        }},
        "Other": {"type": "object", "properties": {
            "psn_no": {"type": "string", "description": "Person number (人员编号)"}}},
    }},
}


def test_field_tables_resolve_nested_models_enums_and_shared_descriptions(spec):
    mini = Spec(openapi=MINI_OPENAPI, transactions=[], error_codes={}, tables=spec.tables,
                requirements=spec.requirements, coverage={})
    rows = {r.path: r for r in field_rows(mini, MINI_OPENAPI["components"]["schemas"]["In"], Types(mini, "../"))}
    assert list(rows) == ["psn_no", "captures", "captures[].liveness", "captures[].liveness.passed",
                          "flags", "mode"]
    assert rows["psn_no"].required and rows["psn_no"].description == "Person number (人员编号)"
    assert rows["captures"].type == "array of object `Capture`" and rows["captures"].description == "One capture."
    assert rows["captures[].liveness.passed"].required and not rows["captures[].liveness"].required
    assert "(../code-tables.md#person_flag)" in rows["flags"].type
    assert rows["mode"].type == "one of `a`, `b`"


# -- nav and build -------------------------------------------------------------------------------


def _nav_paths(nav) -> list[str]:
    out = []
    for entry in nav:
        for value in entry.values():
            out += _nav_paths(value) if isinstance(value, list) else [value]
    return out


def test_nav_lists_only_hand_written_pages_that_exist(spec, tmp_path):
    (tmp_path / "interface").mkdir()
    (tmp_path / "index.md").write_text("# Home\n", encoding="utf-8")
    (tmp_path / "interface" / "signing.md").write_text("# Signing\n", encoding="utf-8")
    paths = _nav_paths(build_nav(spec, tmp_path))
    assert "face-models.md" not in paths and "architecture.md" not in paths
    assert {"index.md", "interface/signing.md", "generated/requirements.md"} <= set(paths)
    assert {f"generated/transactions/{tag}.md" for tag in spec.tags()} <= set(paths)
    (tmp_path / "face-models.md").write_text("# Face models\n", encoding="utf-8")
    (tmp_path / "rollout.md").write_text("# Roll-out plans\n", encoding="utf-8")
    nav = build_nav(spec, tmp_path)
    assert "face-models.md" in _nav_paths(nav)
    assert {"Guides": [{"Roll-out plans": "rollout.md"}]} in nav


def test_nav_block_is_rewritten_only_when_it_changes(spec, tmp_path):
    config = tmp_path / "mkdocs.yml"
    config.write_text(MKDOCS_YML.read_text(encoding="utf-8"), encoding="utf-8")
    nav = build_nav(spec)
    update_mkdocs_nav(nav, config)
    assert update_mkdocs_nav(nav, config) is False
    assert update_mkdocs_nav(nav[:1], config) is True
    assert config.read_text(encoding="utf-8").count("\nnav:\n") == 1


def test_build_site_strict_produces_the_site(tmp_path, capsys):
    # about 1-2 s on the 2-core CI machine (pages, then mkdocs in a subprocess)
    assert build_site(strict=True, site_dir=tmp_path / "site") == 0
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "generated" / "requirements" / "index.html").exists()
    assert "site built in" in capsys.readouterr().out
