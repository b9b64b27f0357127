"""The simulator's world: the spec (every number with its source, code tables, shares) and the
generated region (counts, mixes, valid and unique identifiers, ages, deaths, look-alikes,
determinism)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats

from reference.idcard import birth_date, gender, make_certno, validate_certno
from simulator.world import WorldSpec, generate_region, preset_names

START = date(2026, 1, 1)


def spec_data(name: str = "small") -> dict:
    return WorldSpec.preset(name).model_dump(mode="json")


@pytest.fixture(scope="module")
def county():
    spec = WorldSpec.preset("county").with_persons(40_000)
    return generate_region(spec, 7, start=START, days=365)


@pytest.fixture(scope="module")
def small():
    return generate_region(WorldSpec.preset("small"), 3, start=START, days=90)


# -- the spec -------------------------------------------------------------------------------------------


def test_presets_load_and_every_number_has_a_source():
    assert {"small", "county", "city"} <= set(preset_names())
    for name in ("small", "county", "city"):
        data = spec_data(name)

        def walk(obj, path):
            if isinstance(obj, dict):
                if "value" in obj:
                    assert obj["source"].strip(), path
                    return
                for k, v in obj.items():
                    walk(v, f"{path}.{k}")
            elif isinstance(obj, list):
                for i, v in enumerate(obj):
                    walk(v, f"{path}[{i}]")
            else:
                # bare numbers are not allowed in a spec: only codes and names are plain
                assert not isinstance(obj, (int, float)) or isinstance(obj, bool), path

        walk(data, name)
    county = WorldSpec.preset("county")
    assert county.population.persons.value == 100_000
    assert sum(g.count.value for g in county.institutions if g.inst_type == "village_clinic") == 1000


def test_a_number_without_source_is_refused_naming_the_field():
    data = spec_data()
    data["population"]["persons"] = 1000
    with pytest.raises(ValidationError) as e:
        WorldSpec.model_validate(data)
    assert "population.persons" in str(e.value) and "no source" in str(e.value)
    data["population"]["persons"] = {"value": 1000, "source": "  "}
    with pytest.raises(ValidationError, match="population.persons.source"):
        WorldSpec.model_validate(data)
    data["population"]["persons"] = {"value": 1000, "source": "a choice"}
    assert WorldSpec.model_validate(data).population.persons.value == 1000


def test_unknown_codes_are_refused():
    data = spec_data()
    data["institutions"][0]["inst_type"] = "spa"
    with pytest.raises(ValidationError, match="institution_type"):
        WorldSpec.model_validate(data)
    data = spec_data()
    data["institutions"][0]["level"] = "4A"
    with pytest.raises(ValidationError, match="institution_level"):
        WorldSpec.model_validate(data)


def test_shares_must_sum_to_one():
    data = spec_data()
    data["population"]["age_bands"][0]["share"]["value"] += 0.05
    with pytest.raises(ValidationError, match="age_bands' share must sum to 1"):
        WorldSpec.model_validate(data)
    data = spec_data()
    data["institutions"][0]["departments"][0]["bed_share"]["value"] = 0.9
    with pytest.raises(ValidationError, match="bed_share must sum to 1"):
        WorldSpec.model_validate(data)
    data = spec_data("city")
    data["districts"][0]["population_share"]["value"] = 0.5
    with pytest.raises(ValidationError, match="population_share must sum to 1"):
        WorldSpec.model_validate(data)


def test_districts_must_lie_in_the_region_and_out_of_area_codes_outside():
    data = spec_data()
    data["districts"][0]["code"] = "420102"
    with pytest.raises(ValidationError, match="outside region 410100"):
        WorldSpec.model_validate(data)
    data = spec_data()
    data["out_of_area_codes"] = ["410105"]
    with pytest.raises(ValidationError, match="inside the region"):
        WorldSpec.model_validate(data)


def test_a_preset_round_trips_through_its_dump_and_scales():
    spec = WorldSpec.preset("county")
    assert WorldSpec.model_validate(spec.model_dump(mode="json")) == spec
    scaled = spec.with_persons(10_000, scale_institutions=True)
    assert scaled.population.persons.value == 10_000
    villages = next(g for g in scaled.institutions if g.group == "village_clinics")
    assert villages.count.value == 100 and "scaled" in villages.count.source
    assert spec.with_persons(10_000).institutions == spec.institutions


# -- generation -------------------------------------------------------------------------------------------


def test_counts_and_mixes_follow_the_spec(county):
    spec = county.spec
    for g in spec.institutions:
        members = county.of_group(g.group)
        assert len(members) == g.count.value, g.group
        for inst in members:
            assert inst.inst_type == g.inst_type and inst.level == g.level
            if g.beds:
                lo, hi = g.beds.value
                assert lo <= inst.beds <= hi
                assert [d.code for d in inst.departments] == [d.code for d in g.departments]
            else:
                assert inst.beds == 0 and not inst.departments
            if g.dialysis_stations:
                assert g.dialysis_stations.value[0] <= inst.dialysis_stations <= g.dialysis_stations.value[1]
    county_hospital = county.of_group("county_hospitals")[0]
    assert county_hospital.name == "中牟县人民医院" and county_hospital.dialysis_stations >= 20
    assert all(i.beds == 0 and not i.terminals and i.parent for i in county.of_type("village_clinic"))
    pharmacies = county.pharmacies()
    assert len(pharmacies) == 60 and all(len(p.terminals) == 1 for p in pharmacies)
    pooling = np.mean(["outpatient_pooling" in p.channels for p in pharmacies])
    assert abs(pooling - 0.6) < 0.2  # 60 draws at 0.6: sd 0.063
    # every institution with equipped departments has a terminal there
    for inst in county.hospitals():
        equipped = {d.code for d in inst.departments if d.equipped}
        assert equipped and equipped <= {t.dept_code for t in inst.terminals}
    codes = [i.code for i in county.institutions] + [t.terminal_id for i in county.institutions for t in i.terminals]
    assert len(set(codes)) == len(codes)
    assert all(c.isalnum() and len(c) <= 30 for c in codes)


def test_certnos_valid_unique_and_consistent(county):
    persons = county.persons
    certnos = [p.certno for p in persons]
    assert len(set(certnos)) == len(certnos)
    for p in persons:
        assert validate_certno(p.certno) == p.certno
        assert make_certno(p.insuplc_admdvs, p.birth_date, int(p.certno[14:17])) == p.certno
        assert birth_date(p.certno) == p.birth_date and gender(p.certno) == p.gender
        assert p.certno[:6] == p.insuplc_admdvs
    psn = [p.psn_no for p in persons]
    assert len(set(psn)) == len(psn) and all(len(x) == 13 and x[0] == "P" for x in psn)
    males = np.mean([p.gender == "1" for p in persons])
    assert abs(males - 0.5124) < 0.02


def test_psn_no_reveals_nothing(county):
    persons = county.persons
    num = np.array([int(p.psn_no[1:]) for p in persons])
    n = len(persons)
    age = np.array([p.age_on(START) for p in persons])
    for what, values in [("age", age), ("order", np.arange(n)),
                         ("flagged", np.array([bool(p.flags) for p in persons])),
                         ("chronic", np.array([len(p.chronic) for p in persons]))]:
        rho = stats.spearmanr(num, values).statistic
        assert abs(rho) < 4 / np.sqrt(n), what


def test_ages_follow_the_bands(county):
    bands = county.spec.population.age_bands
    counts = Counter()
    for p in county.persons:
        a = p.age_on(START)
        counts[next(i for i, b in enumerate(bands) if b.bounds[0] <= a <= b.bounds[1])] += 1
    observed = np.array([counts[i] for i in range(len(bands))])
    expected = np.array([b.share.value for b in bands]) * len(county.persons)
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < stats.chi2.ppf(0.999, len(bands) - 1)


def test_conditions_and_flags_at_their_rates(county):
    pop = county.spec.population
    persons = county.persons
    adults = [p for p in persons if p.age_on(START) >= 18]
    for cond in ("hypertension", "diabetes"):
        share = np.mean([cond in p.chronic for p in adults])
        assert abs(share - pop.chronic[cond].prevalence.value) < 0.01, cond
    assert not any(p.chronic for p in persons if p.age_on(START) < 18)
    ooa = [p for p in persons if "out_of_area" in p.flags]
    assert abs(len(ooa) / len(persons) - pop.out_of_area_share.value) < 0.004
    assert all(p.insuplc_admdvs in county.spec.out_of_area_codes for p in ooa)
    assert all(p.insuplc_admdvs == p.district_code for p in persons if "out_of_area" not in p.flags)
    major = np.mean(["major_disease" in p.flags for p in persons])
    assert abs(major - pop.major_disease_share.value) < 0.004
    assert all("major_disease" in p.flags for p in persons if "cancer" in p.chronic or "esrd" in p.chronic)
    assert all("esrd" in p.chronic for p in persons if "kidney_transplant" in p.flags)


def test_deaths_follow_mortality_over_the_span():
    spec = WorldSpec.preset("county").with_persons(40_000)
    for days in (365, 90):
        region = generate_region(spec, 11, start=START, days=days)
        bands = spec.population.age_bands
        expected = 0.0
        dead = 0
        for p in region.persons:
            a = p.age_on(START)
            m = next(b.mortality.value for b in bands if b.bounds[0] <= a <= b.bounds[1])
            expected += 1 - (1 - m) ** (days / 365)
            if p.death_date is not None:
                dead += 1
                assert START <= p.death_date < date.fromordinal(START.toordinal() + days)
        assert abs(dead - expected) < 4 * np.sqrt(expected), (days, dead, expected)


def test_lookalike_pairs_present_at_their_rate():
    spec = WorldSpec.preset("county").with_persons(200_000)
    data = spec.model_dump(mode="json")
    data["population"]["lookalike_pairs_per_100k"]["value"] = 20
    region = generate_region(WorldSpec.model_validate(data), 5, start=START, days=30)
    alikes = [p for p in region.persons if p.lookalike_of]
    assert len(alikes) == 2 * 40
    for p in alikes:
        other = region.person(p.lookalike_of)
        assert other.lookalike_of == p.psn_no and other.gender == p.gender and other.psn_no != p.psn_no


def test_home_institutions_route_to_village_and_township(small):
    for p in small.persons:
        assert p.home_institutions
        village = small.institution(p.home_institutions[0])
        assert village.inst_type == "village_clinic" and village.district_code == p.district_code
        assert p.home_institutions[1:] == (village.parent,)
        assert small.institution(village.parent).inst_type == "township_health_centre"
    used = Counter(p.home_institutions[0] for p in small.persons)
    assert len(used) == len(small.of_type("village_clinic"))


def test_small_preset_shape(small):
    assert 1000 <= len(small.persons) <= 2000 and len(small.districts) == 1
    non_village = [i for i in small.institutions if i.inst_type != "village_clinic"]
    assert len(non_village) == 6 and len(small.pharmacies()) == 2
    assert any(i.beds > 0 and i.dialysis_stations > 0 for i in small.hospitals())
    assert len(small.of_type("village_clinic")) == 10


def test_same_seed_same_region_other_seed_other_region(small):
    again = generate_region(WorldSpec.preset("small"), 3, start=START, days=90)
    assert again.digest() == small.digest() and again.to_data() == small.to_data()
    other = generate_region(WorldSpec.preset("small"), 4, start=START, days=90)
    assert other.digest() != small.digest()
    assert [p.certno for p in other.persons] != [p.certno for p in small.persons]
