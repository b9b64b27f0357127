"""The seams stay seams: transaction handlers parse, call a service and shape the output — no
SQL in a scene module, and no handler calls another handler (issue 11). A new scene that copies
either habit fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from reference.transactions import load_all

SCENES = Path(__file__).resolve().parents[2] / "reference" / "scenes"
SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE ", "DROP ")


def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(SCENES.glob("*.py"))}


def test_scene_modules_hold_no_sql():
    found = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.lstrip().upper().startswith(SQL_WORDS):
                found.append(f"{name}.py:{node.lineno}: {node.value[:50]!r}")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "db" and node.attr in {"all", "one", "scalar", "execute", "insert"}:
                found.append(f"{name}.py:{node.lineno}: .db.{node.attr}(…) — storage belongs in a service")
    assert not found, "SQL in scene modules (move it into reference/services or the rules package):\n  " + \
        "\n  ".join(found)


def test_no_handler_calls_another_handler():
    handlers = {(t.handler.__module__.rsplit(".", 1)[-1], t.handler.__name__) for t in load_all().values()}
    found = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id, f.attr) in handlers:
                found.append(f"{name}.py:{node.lineno}: calls handler {f.value.id}.{f.attr}")
            elif isinstance(f, ast.Name) and (name, f.id) in handlers:
                found.append(f"{name}.py:{node.lineno}: calls handler {f.id}")
    assert not found, "handlers calling handlers (call the shared service instead):\n  " + "\n  ".join(found)
