"""The spec site's generated rule catalogue shows every rule with its parameters, defaults,
overrides, stages, outcomes and requirement IDs."""

from __future__ import annotations

from reference.rules.library import load_library
from reference.spec_site import page_rules


def test_catalogue_lists_every_rule_with_its_parameters_and_requirements():
    page = page_rules()
    lib = load_library()
    for rule in lib.rules.values():
        assert f"## {rule.id} {{#{rule.id.lower()}}}" in page
        section = page.split(f"## {rule.id} ", 1)[1].split("\n## ", 1)[0]
        for stage, outcome in rule.stages.items():
            assert f"{stage} → `{outcome}`" in section
        for rid in rule.requirements:
            assert f"[{rid}](requirements.md#req-{rid.lower()})" in section
        for name, p in rule.params.items():
            assert f"| `{name}` | {p.type} |" in section, (rule.id, name)
        for o in rule.overrides:
            for k, v in o.when.items():
                assert f"{k} = `{v}`" in section
    assert "Lead workflow" in page and "Knowledge base" in page and "尸体料理" in page
