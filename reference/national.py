"""National-shape interface models (国家医保平台接口): inputs a deployed HIS adapter already sends.

Deployed clients add local fields inside the national objects (a hospital's own ward code, a
vendor's trace id). A national-shape input therefore accepts fields it does not know and reports
each one in the response's `warn_msg` instead of refusing the message; our own extension
transactions (`reference.envelope.Model`) keep refusing unknown fields. Known fields are still
validated strictly: types are never coerced and every bound holds.

An unknown field's value is never stored or echoed: `unknown_fields` lists only its path.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict

# At most this many unknown-field paths are named in warn_msg; the count says how many in all.
MAX_NAMED_UNKNOWN = 20
# A field name longer than this is cut in warn_msg (a name is the sender's text: warn_msg stays short).
MAX_SHOWN_NAME = 64


class NationalModel(BaseModel):
    """Base of every national-shape input or output object: unknown fields are allowed (and
    reported by the gateway in warn_msg), known ones are strict like `reference.envelope.Model`."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, strict=True, allow_inf_nan=False)


def _walk(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, NationalModel):
        for name in sorted(value.model_extra or {}):
            yield f"{path}.{name}" if path else name
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}.{i}")


def unknown_fields(model: BaseModel, prefix: str = "input") -> list[str]:
    """Paths (like `input.data.patient_dtos.0.local_flag`) of every field a national-shape model
    accepted without knowing it, in document order of the known fields."""
    return list(_walk(model, prefix))


@cache
def has_national_part(model: type[BaseModel]) -> bool:
    """Whether a model is, or holds somewhere in its fields, a national-shape model: only those
    inputs are walked for unknown fields (an extension input refuses them while validating)."""
    return _national_in(model, set())


def _national_in(tp: Any, seen: set[int]) -> bool:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if issubclass(tp, NationalModel):
            return True
        if id(tp) in seen:
            return False
        seen.add(id(tp))
        return any(_national_in(f.annotation, seen) for f in tp.model_fields.values())
    return any(_national_in(arg, seen) for arg in get_args(tp))


def forget_unknown(model: BaseModel) -> None:
    """Drop the values of unknown fields from a validated national-shape model (in place), so that
    no handler can store or echo them: only their paths (`unknown_fields`, taken before) remain."""
    for value in _models(model):
        if isinstance(value, NationalModel) and value.__pydantic_extra__:
            value.__pydantic_extra__.clear()


def _models(value: Any) -> Iterator[BaseModel]:
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from _models(getattr(value, name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _models(item)


def _shown(path: str) -> str:
    return ".".join(n if len(n) <= MAX_SHOWN_NAME else n[: MAX_SHOWN_NAME - 1] + "…" for n in path.split("."))


def unknown_fields_warning(paths: list[str]) -> str | None:
    """The warn_msg text for unknown fields, or None when there are none."""
    if not paths:
        return None
    named = ", ".join(_shown(p) for p in paths[:MAX_NAMED_UNKNOWN])
    more = f" and {len(paths) - MAX_NAMED_UNKNOWN} more" if len(paths) > MAX_NAMED_UNKNOWN else ""
    return f"ignored {len(paths)} unknown field(s) (local extensions are not read): {named}{more}"
