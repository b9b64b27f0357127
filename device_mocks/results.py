"""What a transaction answered, and the two errors a caller of the device mocks can meet:

    Exception
    ├── TxError          the server refused: a coded error (infcode ≠ 0) with err_field, err_msg
    └── ValueError
        └── OutputMismatch   the server accepted, but its output does not fit the output model

A failure to reach the server at all is the carrier's own error (httpx's for HTTP); input that
does not fit a transaction's input model is refused before sending (pydantic's ValidationError).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TxResult:
    """One answer: the HTTP status (or the gateway's, in process), the response envelope, and
    how many attempts it took (a retry re-sends the same msgid)."""

    status: int
    envelope: dict[str, Any]
    attempts: int = 1

    @property
    def infcode(self) -> int:
        return int(self.envelope.get("infcode", -1))

    @property
    def ok(self) -> bool:
        return self.infcode == 0

    @property
    def output(self) -> dict[str, Any]:
        return self.envelope.get("output") or {}


class TxError(Exception):
    """A refusal: the transaction `infno` answered with a coded error.

    `infcode`, `err_field` (e.g. ``input.capture.image_b64``) and `err_msg` come from the
    response envelope; `envelope` is the whole envelope and `result` the `TxResult`."""

    def __init__(self, result: TxResult, infno: str) -> None:
        env = result.envelope
        super().__init__(f"{infno}: infcode {env.get('infcode')} — {env.get('err_msg')}")
        self.result = result
        self.infno = infno
        self.infcode = result.infcode
        self.err_field: str | None = env.get("err_field")
        self.err_msg: str | None = env.get("err_msg")

    @property
    def envelope(self) -> dict[str, Any]:
        return self.result.envelope


class OutputMismatch(ValueError):
    """The server accepted `infno`, but its output does not validate against the transaction's
    output model (an implementation that drifted from the interface). The pydantic error is the
    `__cause__`; `result` holds the answer as received."""

    def __init__(self, result: TxResult, infno: str, model: str, detail: str) -> None:
        super().__init__(f"{infno}: the output does not match {model}: {detail}")
        self.result = result
        self.infno = infno
