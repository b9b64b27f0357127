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
from typing import Any

from pydantic import BaseModel, ConfigDict

# At most this many unknown-field paths are named in warn_msg; the count says how many in all.
MAX_NAMED_UNKNOWN = 20


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


def unknown_fields_warning(paths: list[str]) -> str | None:
    """The warn_msg text for unknown fields, or None when there are none."""
    if not paths:
        return None
    named = ", ".join(paths[:MAX_NAMED_UNKNOWN])
    more = f" and {len(paths) - MAX_NAMED_UNKNOWN} more" if len(paths) > MAX_NAMED_UNKNOWN else ""
    return f"ignored {len(paths)} unknown field(s) (local extensions are not read): {named}{more}"
