"""Each role runs only the transactions it is allowed to."""

import pytest

from conformance.kit.support import expect_error, send


@pytest.mark.req("GEN-1")
def test_institution_cannot_add_a_district_with_2005(world, config):
    """An institution calling 8011 (add a district, city bureau only) is refused with 2005
    (HTTP 403)."""
    client = world.inst_a.client
    code = f"{config.region_code[:4]}98"
    expect_error(send(client, client.envelope("8011", {"code": code, "name": "越权区"})), 2005)


@pytest.mark.req("GEN-1", "GEN-6")
def test_terminal_cannot_register_a_person_with_2005(world):
    """A certified terminal calling 8001 (register a person: bureaus and institutions only) is
    refused with 2005 (HTTP 403)."""
    client = world.terminal.client
    expect_error(send(client, client.envelope("8001", world.person_input())), 2005)
