"""scenemon — the open reference implementation of medical-insurance smart scene monitoring.

This package holds only the command-line entry point (`scenemon ...`); the product lives in
the top-level packages `reference`, `device_mocks`, `conformance`, `simulator` and `loadtests`.
"""

__version__ = "0.1.0"
