"""Evaluators, one module per scene (plus `general`). Importing this package registers them."""

from reference.rules.checks import general, hemodialysis, inpatient, pharmacy  # noqa: F401
