"""Schemathesis against the live reference server with only a signing hook (issue 12): a smaller
version of `python -m conformance.schemathesis_run` (which runs 300 cases per operation). Every
operation is generated from interface_spec/openapi.json, positive and negative, with every check:
no server error, no schema-valid request refused as malformed, no schema-invalid request accepted,
every answer valid against its response schema. Slow: run with `-m slow`."""

from __future__ import annotations

import pytest

pytest.importorskip("schemathesis")

from conformance.schemathesis_run import run_against_reference  # noqa: E402


@pytest.mark.slow
@pytest.mark.req("GEN-2")
def test_schemathesis_finds_nothing_against_the_reference_server(tmp_path):
    figures = run_against_reference(tmp_path, max_examples=5, extra=["--seed", "12"])
    assert len(figures.operations) >= 50, figures.summary()
    assert not figures.failures and not figures.errors and figures.exit_code == 0, figures.summary()
