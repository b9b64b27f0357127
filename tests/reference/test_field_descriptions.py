"""Every field of the interface is described in openapi.json (from its model or from
interface_spec/field_glossary.yaml), so a vendor never meets an unexplained field."""

from __future__ import annotations

import json

import yaml

from reference import spec_export
from reference.api.openapi import GLOSSARY_FILE


def _schemas() -> dict:
    return json.loads(spec_export.generated_files()["openapi.json"])["components"]["schemas"]


def test_every_property_has_a_description():
    missing = [f"{m}.{n}" for m, s in _schemas().items() for n, p in (s.get("properties") or {}).items()
               if not p.get("description")]
    assert missing == [], f"describe these in their model or in {GLOSSARY_FILE.name}: {missing}"


def test_glossary_entries_name_existing_fields():
    raw = yaml.safe_load(GLOSSARY_FILE.read_text(encoding="utf-8"))
    schemas = _schemas()
    names = {n for s in schemas.values() for n in (s.get("properties") or {})}
    pairs = {f"{m}.{n}" for m, s in schemas.items() for n in (s.get("properties") or {})}
    assert set(raw["fields"]) - names == set(), "glossary names no field of the interface"
    assert set(raw["by_model"]) - pairs == set(), "by_model names no Model.field of the interface"
