"""Subcommands that live in their own module.

Each module here defines ``register(sub, groups)``: ``sub`` is the top-level subparsers object
and ``groups`` maps a command group that already exists (``"face"``, ``"spec"``, ``"docs"``) to
its subparsers, so a module can add ``scenemon face calibrate`` without touching ``cli.py``.
Modules are loaded in name order.
"""
