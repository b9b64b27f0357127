"""Keeps the kit out of any pytest run that is not the kit's own (`scenemon conformance`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.plugin import LEVEL_MARKER_LINE, MARKER_LINE, SETTINGS_KEY


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_LINE)
    config.addinivalue_line("markers", LEVEL_MARKER_LINE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SETTINGS_KEY not in config.stash:
        skip = pytest.mark.skip(reason="run the conformance kit with `scenemon conformance`")
        here = Path(__file__).parent
        for item in items:
            if item.path.is_relative_to(here):
                item.add_marker(skip)
