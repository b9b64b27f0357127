"""Clients that speak the institution interface, as a HIS, a terminal or a bureau would.

- `transport`: one account's signed envelopes, over HTTP (`Client`, in `client`) or in process
  (`InProcess`, straight into the gateway: the same authentication, scope, idempotency and
  access log); retries reuse the msgid.
- `drivers`: a typed driver per scene, one method per transaction (`client.inpatient.admit(...)`).
- `world`: a small synthetic world built through the interface; `inpatient_day`: a full
  inpatient day; `cli`: `python -m device_mocks` / `scenemon mock`.

Over HTTP they use only the interface models and the normative signing module, so they work
against any implementation.
"""

from device_mocks.client import Client
from device_mocks.results import OutputMismatch, TxError, TxResult
from device_mocks.transport import InProcess, Transport

__all__ = ["Client", "InProcess", "OutputMismatch", "Transport", "TxError", "TxResult"]
