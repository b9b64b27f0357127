"""The knowledge base (知识库): code lists the rules refer to, loaded from interface_spec/knowledge/.

Item categories match settlement items by national code prefix or by a name fragment; each file
states its source. Loading refuses malformed files with the file and entry named.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from reference.paths import INTERFACE_SPEC

KNOWLEDGE_DIR = INTERFACE_SPEC / "knowledge"


class KnowledgeError(ValueError):
    pass


@dataclass(frozen=True)
class ItemCategory:
    code: str
    zh: str
    en: str
    code_prefixes: tuple[str, ...]
    name_contains: tuple[str, ...]

    def matches(self, item_code: str, item_name: str) -> bool:
        return any(item_code.startswith(p) for p in self.code_prefixes) or any(
            s in item_name for s in self.name_contains)


@dataclass(frozen=True)
class Knowledge:
    item_categories: dict[str, ItemCategory]
    major_diseases: dict[str, dict]
    sources: dict[str, str]

    def categories_of(self, item_code: str, item_name: str) -> list[str]:
        return [c.code for c in self.item_categories.values() if c.matches(item_code, item_name)]


def _read(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: {exc}") from None
    if not isinstance(raw, dict) or "source" not in raw:
        raise KnowledgeError(f"{path}: needs a mapping with a `source`")
    return raw


@cache
def load_knowledge(root: Path = KNOWLEDGE_DIR) -> Knowledge:
    items_raw = _read(root / "item_categories.yaml")
    cats = {}
    for i, c in enumerate(items_raw.get("categories") or []):
        if not {"code", "zh", "en"} <= set(c) or not (c.get("code_prefixes") or c.get("name_contains")):
            raise KnowledgeError(f"item_categories.yaml: categories[{i}] needs code, zh, en and "
                                 "code_prefixes or name_contains")
        cats[c["code"]] = ItemCategory(c["code"], c["zh"], c["en"], tuple(c.get("code_prefixes") or ()),
                                       tuple(c.get("name_contains") or ()))
    dis_raw = _read(root / "major_diseases.yaml")
    diseases = {}
    for i, d in enumerate(dis_raw.get("diseases") or []):
        if not {"code", "zh", "en", "icd10_prefixes"} <= set(d):
            raise KnowledgeError(f"major_diseases.yaml: diseases[{i}] needs code, zh, en, icd10_prefixes")
        diseases[d["code"]] = d
    return Knowledge(cats, diseases, {"item_categories": items_raw["source"], "major_diseases": dis_raw["source"]})
