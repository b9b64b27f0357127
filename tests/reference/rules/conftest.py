"""Fixtures of the per-rule tests: `env`, the world with its scenes enabled and rule helpers."""

from __future__ import annotations

import pytest
from rule_support import RuleEnv


@pytest.fixture
def env(world, admin) -> RuleEnv:
    return RuleEnv(world, admin)
