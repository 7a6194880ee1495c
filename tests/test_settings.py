"""Settings: defaults, validation (errors name the setting), serialisation, hash, files, provenance."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

import texturecmp as tc
from texturecmp.errors import BadSettingsError
from texturecmp.settings import coerce_settings

from conftest import SMALL, measured, phantom

NAMES = [f.name for f in dataclasses.fields(tc.Settings)]


def test_defaults_validate_and_are_documented():
    s = tc.Settings()
    doc = tc.Settings.__doc__
    for name in NAMES:
        assert name in doc, f"setting {name} is not documented in the Settings docstring"
    assert s.nominal_pixel_size_mm == 0.05
    assert s.glcm_levels == 32 and s.z == 1.96


def test_to_dict_is_json_ready_and_round_trips():
    s = tc.Settings()
    d = s.to_dict()
    assert list(d) == NAMES
    back = tc.Settings.from_dict(json.loads(json.dumps(d, allow_nan=False)))
    assert back == s and back.hash == s.hash
    assert isinstance(d["band_fine_mm"], list)


def test_hash_is_stable_and_changes_with_each_setting():
    s = tc.Settings()
    assert s.hash == tc.Settings().hash
    assert len(s.hash) == 64 and int(s.hash, 16) >= 0
    changed = {
        "glcm_levels": 64, "detail_sigma_mm": 1.5, "band_fine_mm": (0.05, 0.2), "wrinkle_sigmas_mm": (0.1, 0.3),
        "z": 2.5, "map_max_side": 1024, "reference_ring": (1.2, 2.0), "capture_multiplier": 1.5,
    }
    hashes = {s.hash}
    for k, v in changed.items():
        h = s.replace(**{k: v}).hash
        assert h not in hashes, k
        hashes.add(h)


def test_hash_does_not_depend_on_int_or_float_spelling():
    assert tc.Settings(detail_sigma_mm=2).hash == tc.Settings(detail_sigma_mm=2.0).hash
    assert tc.Settings(band_fine_mm=[0.05, 0.15]).hash == tc.Settings().hash


def test_replace_validates():
    with pytest.raises(BadSettingsError, match="glcm_levels"):
        tc.Settings().replace(glcm_levels=1)
    with pytest.raises(BadSettingsError, match="no_such_setting"):
        tc.Settings().replace(no_such_setting=1)


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        tc.Settings().z = 3.0  # type: ignore[misc]


@pytest.mark.parametrize("data", [{"bogus": 1}, {"glcm_levels": 16, "detail_sigma": 2.0}])
def test_unknown_key_is_named(data):
    unknown = [k for k in data if k not in NAMES][0]
    with pytest.raises(BadSettingsError, match=unknown):
        tc.Settings.from_dict(data)


def test_from_dict_needs_a_mapping():
    with pytest.raises(BadSettingsError):
        tc.Settings.from_dict([("z", 2.0)])  # type: ignore[arg-type]


@pytest.mark.parametrize("name,value", [
    ("detail_sigma_mm", -1.0), ("detail_sigma_mm", 0.0), ("detail_sigma_mm", float("nan")),
    ("nominal_pixel_size_mm", float("inf")), ("unevenness_sigma_mm", -0.5), ("z", 0.0), ("z", "1.96"),
    ("glcm_levels", 1), ("glcm_levels", 300), ("glcm_levels", 32.0), ("glcm_levels", True),
    ("target_tiles", 2), ("band_fine_mm", (0.15, 0.05)), ("band_fine_mm", (0.0, 0.1)), ("band_fine_mm", 0.1),
    ("pore_diameter_mm", (0.1, float("nan"))), ("wrinkle_sigmas_mm", ()), ("wrinkle_sigmas_mm", (0.1, -0.2)),
    ("min_overlap", 0.0), ("min_correlation", 1.0), ("align_max_side", 32), ("map_max_side", 10),
    ("jnd_delta_e00", -2.3), ("capture_multiplier", float("nan")),
])
def test_invalid_value_names_the_setting(name, value):
    with pytest.raises(BadSettingsError, match=name):
        tc.Settings(**{name: value})
    with pytest.raises(BadSettingsError, match=name):
        tc.Settings.from_dict({name: value})


def test_errors_are_value_errors():
    with pytest.raises(ValueError):
        tc.Settings(glcm_levels=1)


# Settings drawn from valid ranges: they must validate, serialise and round-trip exactly.
valid_settings = st.fixed_dictionaries({}, optional={
    "detail_sigma_mm": st.floats(0.1, 10, allow_nan=False),
    "glcm_levels": st.integers(2, 256),
    "glcm_bin_width": st.floats(0.05, 5),
    "band_medium_mm": st.tuples(st.floats(0.01, 1), st.floats(1.01, 3)),
    "wrinkle_sigmas_mm": st.lists(st.floats(0.01, 2), min_size=1, max_size=5).map(tuple),
    "target_tiles": st.integers(4, 400),
    "z": st.floats(0.5, 4),
    "capture_multiplier": st.floats(0, 5),
    "map_max_side": st.integers(64, 8000),
    "min_overlap": st.floats(0.01, 1),
})


@given(valid_settings)
@hsettings(max_examples=60, deadline=None)
def test_settings_round_trip_property(kw):
    s = tc.Settings(**kw)
    d = s.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = tc.Settings.from_dict(json.loads(text))
    assert back == s
    assert back.hash == s.hash
    assert (s.hash == tc.Settings().hash) == (s == tc.Settings())


def test_from_file_json(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"glcm_levels": 64, "band_fine_mm": [0.04, 0.12]}))
    s = tc.Settings.from_file(p)
    assert s.glcm_levels == 64 and s.band_fine_mm == (0.04, 0.12)
    assert s == tc.Settings(glcm_levels=64, band_fine_mm=(0.04, 0.12))


def test_from_file_toml(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('glcm_levels = 64\nband_fine_mm = [0.04, 0.12]\nwrinkle_sigmas_mm = [0.1, 0.3]\n')
    s = tc.Settings.from_file(p)
    assert s == tc.Settings(glcm_levels=64, band_fine_mm=(0.04, 0.12), wrinkle_sigmas_mm=(0.1, 0.3))


@pytest.mark.parametrize("fname,text,match", [
    ("bad.json", "{not json", "not valid JSON"),
    ("bad.toml", "glcm_levels = = 3", "not valid TOML"),
    ("unknown.json", '{"glcm_level": 3}', "glcm_level"),
    ("invalid.toml", "glcm_levels = 1", "glcm_levels"),
])
def test_from_file_errors(tmp_path, fname, text, match):
    p = tmp_path / fname
    p.write_text(text)
    with pytest.raises(BadSettingsError, match=match):
        tc.Settings.from_file(p)


def test_missing_file(tmp_path):
    with pytest.raises(BadSettingsError, match="cannot be read"):
        tc.Settings.from_file(tmp_path / "nope.json")


def test_coerce_accepts_every_form(tmp_path):
    p = tmp_path / "s.json"
    p.write_text('{"z": 2.5}')
    want = tc.Settings(z=2.5)
    for form in (want, {"z": 2.5}, p, str(p)):
        assert coerce_settings(form) == want
    assert coerce_settings(None) == tc.Settings()
    with pytest.raises(BadSettingsError):
        coerce_settings(2.5)


# ----------------------------------------------------------------------------- settings in measurements

def test_settings_change_the_provenance_hash(tmp_path):
    ph = phantom(SMALL, 0)
    s = tc.Settings(glcm_levels=64)
    m = tc.measure(ph.rgb, settings=s)
    prov = m.to_dict()["provenance"]
    assert prov["settings_sha256"] == s.hash != tc.Settings().hash
    assert prov["settings"]["glcm_levels"] == 64
    assert measured(SMALL, 0).to_dict()["provenance"]["settings_sha256"] == tc.Settings().hash
    # the same settings given as a mapping or a file give the same record
    p = tmp_path / "s.toml"
    p.write_text("glcm_levels = 64\n")
    for form in ({"glcm_levels": 64}, p):
        assert tc.measure(ph.rgb, settings=form).to_dict()["provenance"]["settings_sha256"] == s.hash


def test_settings_change_the_metrics():
    ph = phantom(SMALL, 0)
    base = measured(SMALL, 0, lesion=False)
    wide = tc.measure(ph.rgb, settings={"glcm_bin_width": 2.0})
    assert wide.value("texture.glcm_contrast") < base.value("texture.glcm_contrast")
    strict = tc.measure(ph.rgb, settings={"pore_threshold": 5.0})
    assert strict.value("pore.density") < base.value("pore.density")
    # Sq of the detail layer does not depend on the GLCM or pore settings
    assert wide.value("texture.sq") == pytest.approx(base.value("texture.sq"), rel=1e-9)


def test_bad_settings_in_measure_and_compare():
    a = phantom(SMALL, 0).rgb
    with pytest.raises(BadSettingsError, match="bogus"):
        tc.measure(a, settings={"bogus": 1})
    with pytest.raises(BadSettingsError, match="glcm_levels"):
        tc.compare(a, a, settings={"glcm_levels": 1})


def test_comparison_records_its_settings():
    base = phantom(SMALL, 3, noise_seed=1)
    s = tc.Settings(z=2.5)
    c = tc.compare(base.rgb, phantom(SMALL, 3, noise_seed=2).rgb, lesion=base.lesion, settings=s)
    assert c.to_dict()["provenance"]["settings_sha256"] == s.hash
    zse = [ch for ch in c.changes.values() if "SE" in ch.rule and math.isfinite(ch.uncertainty)]
    # Student t at z = 2.5's confidence: 2.5 u with many degrees of freedom, more with few
    assert zse and all(ch.threshold >= 2.5 * ch.uncertainty * (1 - 1e-9) for ch in zse)
    assert all(ch.threshold == pytest.approx(2.5 * ch.uncertainty, rel=3e-3) for ch in zse if "df" not in ch.rule)  # t(1000 df) within 0.2 % of z
    assert all(("2.5·√(SE²" in ch.rule or "2.5·SE" in ch.rule) for ch in zse if "df" not in ch.rule)
