"""National-shape models (issue 12, GEN-2): unknown fields are found wherever they nest, named in
warn_msg (at most 20, long names cut) and their values forgotten."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from reference import national
from reference.envelope import Model
from reference.national import NationalModel

pytestmark = pytest.mark.req("GEN-2")


class Order(NationalModel):
    rx_id: str


class Encounter(NationalModel):
    mdtrt_id: str
    orders: list[Order] = []


class Wrapper(BaseModel):  # a plain model holding national parts
    data: Encounter
    tag: str = "x"


def _enc() -> Wrapper:
    return Wrapper.model_validate({"data": {"mdtrt_id": "V1", "local_a": 1,
                                            "orders": [{"rx_id": "R1"}, {"rx_id": "R2", "local_b": "z"}]}})


def test_unknown_fields_are_found_through_plain_models_and_lists_with_their_paths():
    assert national.unknown_fields(_enc()) == ["input.data.local_a", "input.data.orders.1.local_b"]
    assert national.unknown_fields(_enc(), prefix="") == ["data.local_a", "data.orders.1.local_b"]


def test_a_top_level_national_model_without_prefix_names_the_bare_field():
    assert national.unknown_fields(Order.model_validate({"rx_id": "R", "zz": 1}), prefix="") == ["zz"]


def test_a_model_without_unknown_fields_has_none():
    assert national.unknown_fields(Wrapper.model_validate({"data": {"mdtrt_id": "V"}})) == []


def test_forget_unknown_drops_values_but_keeps_known_fields():
    w = _enc()
    national.forget_unknown(w)
    assert national.unknown_fields(w) == []
    assert w.data.orders[1].rx_id == "R2" and "local_b" not in w.data.orders[1].model_dump()


def test_the_warning_names_at_most_twenty_and_counts_the_rest():
    paths = [f"input.f{i}" for i in range(25)]
    text = national.unknown_fields_warning(paths)
    assert text == ("ignored 25 unknown field(s) (local extensions are not read): "
                    + ", ".join(paths[:20]) + " and 5 more")
    exactly = national.unknown_fields_warning(paths[:20])
    assert exactly.endswith("input.f19") and "more" not in exactly
    assert national.unknown_fields_warning([]) is None


def test_a_long_unknown_name_is_cut_in_the_warning():
    long = "x" * 100
    text = national.unknown_fields_warning([f"input.{long}"])
    assert text.endswith("input." + "x" * 63 + "…")


def test_only_models_holding_a_national_part_are_walked():
    class Ext(Model):
        n: int

    class Holder(Model):
        items: list[Encounter | None] = []

    assert national.has_national_part(Wrapper) and national.has_national_part(Holder)
    assert not national.has_national_part(Ext)
