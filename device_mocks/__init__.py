"""Clients that speak the institution interface: a signed-envelope client (`client`), a
terminal (`terminal`), and a CLI (`python -m device_mocks` / `scenemon mock`). They use only
HTTP and the normative signing module, so they work against any implementation."""

from device_mocks.client import Client, TxError, TxResult

__all__ = ["Client", "TxError", "TxResult"]
