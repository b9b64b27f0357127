"""Expressions in behaviour modules: a small, safe subset of Python.

Conditions (`if:`), action arguments (`with:`), values (`set:`) and trigger eligibility (`when:`)
are expressions such as

    v.day >= v.stay_days
    person.age >= p.min_age and 'diabetes' in person.chronic
    monitored('inpatient') and not v.present

They are parsed once when the module loads and refused with a clear message when they use
anything outside the subset: names are the context's (`person`, `institution`, `age`, `v` — the case's
own variables, `pv` / `iv` — the person's / institution's variables, `p` — the module's parameters, `last` — the last action's answer, `today`, `now`,
`case_id`, …) and the functions `monitored`, `min`, `max`, `abs`, `len`, `round`, `days_since`,
`months_since`; no imports, no attribute starting with `_`, no lambdas or comprehensions.

Every number in a module carries its source, so a numeric literal other than 0, 1 and -1 is
refused in an expression: put the number in `params:` with its source and write `p.name`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

#: Names every expression may use (the engine supplies them).
CONTEXT_NAMES = frozenset({
    "person", "institution", "v", "pv", "iv", "age", "p", "last", "today", "now", "case_id", "region", "arm",
    "monitored", "min", "max", "abs", "len", "round", "days_since", "months_since", "True", "False", "None",
})
#: Methods that may be called on values (dict.get, str.startswith).
METHODS = frozenset({"get", "startswith", "endswith"})
FUNCTIONS = frozenset({"monitored", "min", "max", "abs", "len", "round", "days_since", "months_since"})
_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Add,
    ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt,
    ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.IfExp, ast.Call, ast.Attribute, ast.Subscript, ast.Name,
    ast.Load, ast.Constant, ast.Tuple, ast.List,
)
_SAFE_NUMBERS = {0, 1, -1}


class ExprError(ValueError):
    """An expression outside the subset (the message says what and where)."""


def _problems(tree: ast.AST, extra_names: Iterable[str]) -> list[str]:
    names = CONTEXT_NAMES | set(extra_names)
    out: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            out.append(f"{type(node).__name__} is not allowed")
        elif isinstance(node, ast.Name) and node.id not in names:
            out.append(f"unknown name {node.id!r} (known: {', '.join(sorted(names - {'True', 'False', 'None'}))})")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            out.append(f"attribute {node.attr!r}: names starting with _ are private")
        elif isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
                and not isinstance(node.value, bool) and node.value not in _SAFE_NUMBERS:
            out.append(f"the number {node.value!r} has no source: put it in params with its source and use p.NAME")
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id not in FUNCTIONS:
                out.append(f"function {f.id!r} is not available")
            elif isinstance(f, ast.Attribute) and f.attr not in METHODS:
                out.append(f"method {f.attr!r} is not available (only {', '.join(sorted(METHODS))})")
            elif not isinstance(f, ast.Name | ast.Attribute):
                out.append("only named functions may be called")
            if node.keywords:
                out.append("keyword arguments are not allowed in expressions")
    # 0/1 in a unary minus appear as UnaryOp(USub, Constant): fine; anything else was reported above.
    return out


class Expr:
    """A parsed, checked expression; `eval(ns)` evaluates it in a namespace of context names."""

    __slots__ = ("text", "code", "names")

    def __init__(self, text: str, *, extra_names: Iterable[str] = ()) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ExprError("an expression must be a non-empty string")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExprError(f"{text!r}: not an expression ({exc.msg})") from None
        problems = _problems(tree, extra_names)
        if problems:
            raise ExprError(f"{text!r}: " + "; ".join(dict.fromkeys(problems)))
        self.text = text.strip()
        self.code = compile(tree, f"<expr {self.text}>", "eval")
        self.names = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))

    def eval(self, ns: dict[str, Any]) -> Any:
        return eval(self.code, {"__builtins__": {}}, ns)  # noqa: S307 — the tree was checked above

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"

