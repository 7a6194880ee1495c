"""measure(): one photo, every photo-scope metric, units, NaN rules, provenance and known answers."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from PIL import Image as PILImage
from skimage.color import rgb2lab

import texturecmp as tc
from texturecmp.phantoms import jpeg_roundtrip, to_uint8

from conftest import SMALL, finite, measured, phantom, photo_metrics

SCAR = [n for n in photo_metrics() if n.startswith("scar.")]
NON_SCAR = [n for n in photo_metrics() if not n.startswith("scar.")]


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


# ------------------------------------------------------------------------ catalogue coverage

def test_every_photo_metric_is_measured_in_catalogue_order():
    m = measured(SMALL, 0)
    assert list(m.metrics) == photo_metrics()


@pytest.mark.parametrize("name", photo_metrics())
def test_unit_is_the_catalogue_pixel_unit_without_pixel_size(name):
    m = measured(SMALL, 0)
    assert m.metrics[name].unit == tc.METRICS[name].unit_px


@pytest.fixture(scope="module")
def with_pixel_size():
    """The seed-0 phantom measured with pixel_size_mm = the nominal pixel size (0.05 mm).

    With the nominal size, every mm setting maps to the same number of pixels as without a
    pixel size, so the detections are identical and only the units and the scaling differ.
    """
    ph = phantom(SMALL, 0)
    assert tc.Settings().nominal_pixel_size_mm == 0.05
    return tc.measure(ph.rgb, lesion=ph.lesion, pixel_size_mm=0.05)


@pytest.mark.parametrize("name", photo_metrics())
def test_unit_is_the_catalogue_unit_with_pixel_size(name, with_pixel_size):
    assert with_pixel_size.metrics[name].unit == tc.METRICS[name].unit


# Scale factor value(pixel_size_mm=p) / value(no pixel size), derived from the definitions:
#   pore.density: count / (n px * p^2 mm^2/px) per mm^2 * 100 mm^2/cm^2, versus count / n px * 1e4
#     -> 100 / (p^2 * 1e4) = 4 at p = 0.05  (src/texturecmp/metrics/pore.py)
#   pore.mean_diameter: px * p mm/px;  wrinkle.length_density: px/px^2 -> mm/mm^2 is 1 / p;
#   scar.visible_area: px^2 * p^2;     scar.border_sharpness: L*/px -> L*/mm is 1 / p.
P = 0.05
SCALES = {
    "pore.density": 100.0 / (P**2 * 1e4),
    "pore.mean_diameter": P,
    "wrinkle.length_density": 1.0 / P,
    "scar.visible_area": P**2,
    "scar.border_sharpness": 1.0 / P,
}


@pytest.mark.parametrize("name", photo_metrics())
def test_pixel_size_scales_lengths_and_areas(name, with_pixel_size):
    px = measured(SMALL, 0).metrics[name]
    mm = with_pixel_size.metrics[name]
    f = SCALES.get(name, 1.0)
    if not finite(px.value):
        assert not finite(mm.value)
        return
    assert mm.value == pytest.approx(px.value * f, rel=1e-6, abs=1e-12)
    if finite(px.uncertainty):
        assert mm.uncertainty == pytest.approx(px.uncertainty * f, rel=1e-6, abs=1e-12)


def test_pore_density_per_cm2_is_four_times_per_1e4_px2_at_0_05_mm():
    px = measured(SMALL, 0).value("pore.density")
    mm = tc.measure(phantom(SMALL, 0).rgb, pixel_size_mm=0.05).value("pore.density")
    assert px > 0
    assert mm == pytest.approx(4.0 * px, rel=1e-9)


def test_units_with_pixel_size_name_millimetres_not_pixels(with_pixel_size):
    """Only the focus measure stays per pixel (it describes the photo's pixel grid, not the skin)."""
    in_px = {name for name, mv in with_pixel_size.metrics.items() if "px" in mv.unit}
    assert in_px == {"quality.sharpness"}
    for name, mv in with_pixel_size.metrics.items():
        if tc.METRICS[name].unit != tc.METRICS[name].unit_px:
            assert "mm" in mv.unit or "cm" in mv.unit, name


@pytest.mark.parametrize("bad", [0, -0.05, float("nan"), float("inf"), 10.0, "0.05", True])
def test_invalid_pixel_size_is_rejected(bad):
    with pytest.raises(tc.errors.BadSettingsError, match="pixel_size_mm"):
        tc.measure(phantom(SMALL, 0).rgb, pixel_size_mm=bad)


# ------------------------------------------------------------------------ NaN rules, uncertainties

@pytest.mark.parametrize("name", SCAR)
def test_scar_metrics_are_nan_with_a_note_without_lesion(name):
    mv = measured(SMALL, 0, lesion=False).metrics[name]
    assert math.isnan(mv.value)
    assert math.isnan(mv.uncertainty)
    assert "lesion" in mv.note


@pytest.mark.parametrize("name", SCAR)
def test_scar_metrics_are_finite_with_a_lesion(name):
    mv = measured(SMALL, 0).metrics[name]
    assert finite(mv.value), mv
    assert mv.note == ""


@pytest.mark.parametrize("name", NON_SCAR)
def test_family_metrics_do_not_depend_on_the_lesion(name):
    """Family metrics describe the whole roi, lesion included (docs/method.md section 3, "Regions")."""
    a = measured(SMALL, 0).metrics[name].value
    b = measured(SMALL, 0, lesion=False).metrics[name].value
    assert a == pytest.approx(b, rel=1e-9, abs=1e-12) or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("name", photo_metrics())
def test_uncertainties_are_finite_and_non_negative(name):
    mv = measured(SMALL, 0).metrics[name]
    assert finite(mv.value), f"{name} is NaN on a standard phantom ({mv.note})"
    assert finite(mv.uncertainty) and mv.uncertainty >= 0, mv


def test_nan_values_always_carry_a_note():
    ph = phantom(SMALL, 0)
    flat = np.full(SMALL + (3,), 0.6, np.float32)
    for m in (measured(SMALL, 0), measured(SMALL, 0, lesion=False), tc.measure(flat, lesion=ph.lesion)):
        for name, mv in m.metrics.items():
            if not finite(mv.value):
                assert mv.note, f"{name} is NaN without a note"


def test_uncertainty_is_positive_for_textured_skin():
    m = measured(SMALL, 0)
    for name in ("texture.sq", "texture.glcm_contrast", "pore.density", "color.L", "scar.delta_e00"):
        assert m.metrics[name].uncertainty > 0, name


# ------------------------------------------------------------------------ serialisation, provenance

@pytest.mark.parametrize("lesion", [True, False])
def test_to_dict_is_strict_json(lesion):
    d = measured(SMALL, 0, lesion=lesion).to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert set(back["metrics"]) == set(photo_metrics())
    for name, v in back["metrics"].items():
        assert set(v) >= {"value", "unit", "uncertainty", "note"}
    if not lesion:
        assert back["metrics"]["scar.delta_e00"]["value"] is None


def test_to_dict_values_match_the_metrics():
    m = measured(SMALL, 0)
    d = m.to_dict()
    for name, mv in m.metrics.items():
        assert d["metrics"][name]["value"] == pytest.approx(mv.value)
        assert d["metrics"][name]["unit"] == mv.unit


def test_provenance_of_a_file(tmp_path):
    ph = phantom(SMALL, 0)
    path = tmp_path / "photo.png"
    PILImage.fromarray(to_uint8(ph.rgb)).save(path)
    s = tc.Settings()
    m = tc.measure(path, lesion=ph.lesion)
    prov = json.loads(json.dumps(m.to_dict(), allow_nan=False))["provenance"]
    assert prov["texturecmp_version"] == tc.__version__
    assert prov["image"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prov["settings"] == s.to_dict()
    assert prov["settings_sha256"] == s.hash
    assert prov["pixel_size_mm"] is None
    assert prov["regions"]["lesion"]["area_px"] == int(ph.lesion.sum())
    assert prov["regions"]["roi"]["area_px"] == SMALL[0] * SMALL[1]


def test_array_provenance_hash_identifies_the_pixels():
    a = tc.measure(phantom(SMALL, 0).rgb).image["sha256"]
    b = tc.measure(phantom(SMALL, 0).rgb.copy()).image["sha256"]
    c = tc.measure(phantom(SMALL, 1).rgb).image["sha256"]
    assert len(a) == 64 and a == b != c


# ------------------------------------------------------------------------ known answers

RGB_FLAT = (0.7, 0.5, 0.4)


@pytest.fixture(scope="module")
def flat():
    rgb = np.empty(SMALL + (3,), np.float32)
    rgb[...] = RGB_FLAT
    return tc.measure(rgb)


def test_flat_image_has_no_texture(flat):
    for name in ("texture.sa", "texture.sq", "texture.band_fine", "texture.band_medium", "texture.band_coarse"):
        assert abs(flat.value(name)) < 1e-3, name
    assert flat.value("texture.glcm_contrast") == pytest.approx(0.0, abs=1e-9)
    assert flat.value("wrinkle.density") == 0
    assert flat.value("pore.density") == 0
    assert math.isnan(flat.value("pore.mean_diameter")) and "pore" in flat["pore.mean_diameter"].note


def test_flat_image_colour_is_its_lab(flat):
    lab = rgb2lab(np.array([[RGB_FLAT]], dtype=np.float64))[0, 0]
    assert flat.value("color.L") == pytest.approx(lab[0], abs=0.01)
    assert flat.value("color.a") == pytest.approx(lab[1], abs=0.01)
    assert flat.value("color.b") == pytest.approx(lab[2], abs=0.01)
    ita = math.degrees(math.atan2(lab[0] - 50, lab[2]))
    assert flat.value("color.ita_deg") == pytest.approx(ita, abs=0.02)


def test_flat_image_erythema_and_melanin_indices(flat):
    lin = np.where(np.array(RGB_FLAT) <= 0.04045, np.array(RGB_FLAT) / 12.92, ((np.array(RGB_FLAT) + 0.055) / 1.055) ** 2.4)
    assert flat.value("color.erythema_index") == pytest.approx(100 * math.log10(lin[0] / lin[1]), abs=0.01)
    assert flat.value("color.melanin_index") == pytest.approx(100 * math.log10(1 / lin[0]), abs=0.01)


def test_flat_image_has_no_colour_unevenness(flat):
    """A single colour has ΔE00 0 against its own mean everywhere."""
    assert flat.value("color.unevenness") == pytest.approx(0.0, abs=1e-3)


def test_doubled_fine_texture_raises_texture_metrics():
    base = measured(SMALL, 0, lesion=False)
    rough = tc.measure(phantom(SMALL, 0, fine_amplitude=2 * 2.0).rgb)  # SkinParams default fine_amplitude = 2.0
    assert rough.value("texture.sq") > 1.3 * base.value("texture.sq")
    assert rough.value("texture.band_fine") > 1.5 * base.value("texture.band_fine")
    assert rough.value("texture.glcm_contrast") > 1.5 * base.value("texture.glcm_contrast")


@pytest.fixture(scope="module")
def rotated():
    return tc.measure(np.ascontiguousarray(np.rot90(phantom(SMALL, 0).rgb)))


@pytest.mark.parametrize("name", ["texture.sq", "texture.sa", "texture.band_fine", "texture.glcm_contrast",
                                  "texture.glcm_homogeneity", "texture.lbp_entropy", "pore.density",
                                  "pore.area_fraction", "color.L", "color.unevenness"])
def test_isotropic_metrics_survive_a_90_degree_rotation(name, rotated):
    base = measured(SMALL, 0, lesion=False).value(name)
    rot = rotated.value(name)
    assert rel_diff(base, rot) < 0.03, (base, rot)


@pytest.fixture(scope="module")
def bit_depths():
    ph = phantom(SMALL, 0)
    rgb = np.clip(ph.rgb, 0, 1)
    u8 = tc.measure(to_uint8(rgb), lesion=ph.lesion)
    u16 = tc.measure((rgb * 65535.0 + 0.5).astype(np.uint16), lesion=ph.lesion)
    return u8, u16


BIT_DEPTH_METRICS = ["texture.sa", "texture.sq", "texture.band_fine", "texture.band_medium", "texture.glcm_contrast",
                     "texture.glcm_homogeneity", "texture.glcm_entropy", "texture.lbp_entropy",
                     "color.L", "color.a", "color.b", "color.unevenness", "scar.delta_e00", "scar.delta_a",
                     "scar.texture_ratio", "scar.border_sharpness"]


@pytest.mark.parametrize("name", BIT_DEPTH_METRICS)
def test_8_bit_and_16_bit_give_the_same_metrics(name, bit_depths):
    u8, u16 = bit_depths
    assert rel_diff(u8.value(name), u16.value(name)) < 0.01


@pytest.mark.parametrize("name", ["pore.density", "pore.area_fraction", "wrinkle.density"])
def test_8_bit_and_16_bit_agree_on_detection_counts(name, bit_depths):
    """Thresholded detections move by a few blobs with the quantisation noise of 8 bits (sd 1/255/sqrt(12),
    a quarter of the sensor noise): within 1 % or half their own standard error."""
    u8, u16 = bit_depths
    tol = max(0.01 * abs(u16.value(name)), 0.5 * u16[name].uncertainty)
    assert abs(u8.value(name) - u16.value(name)) <= tol


def test_16_bit_input_matches_the_float_image():
    ph = phantom(SMALL, 0)
    u16 = tc.measure((np.clip(ph.rgb, 0, 1) * 65535.0 + 0.5).astype(np.uint16))
    ref = measured(SMALL, 0, lesion=False)
    for name in ("texture.sq", "texture.glcm_contrast", "color.L"):
        assert rel_diff(u16.value(name), ref.value(name)) < 1e-3


def test_jpeg_q90_changes_texture_sq_by_less_than_5_percent():
    ph = phantom(SMALL, 0)
    j = tc.measure(jpeg_roundtrip(ph.rgb, 90))
    base = measured(SMALL, 0, lesion=False)
    assert rel_diff(j.value("texture.sq"), base.value("texture.sq")) < 0.05
    assert rel_diff(j.value("texture.band_medium"), base.value("texture.band_medium")) < 0.05


def test_measure_reads_paths_and_arrays_alike(tmp_path):
    ph = phantom(SMALL, 0)
    u8 = to_uint8(ph.rgb)
    path = tmp_path / "p.png"
    PILImage.fromarray(u8).save(path)
    a, b = tc.measure(u8), tc.measure(str(path))
    for name in photo_metrics():
        va, vb = a.value(name), b.value(name)
        assert va == pytest.approx(vb, rel=1e-9, abs=1e-12) or (math.isnan(va) and math.isnan(vb)), name


def test_measurement_is_frozen():
    m = measured(SMALL, 0)
    with pytest.raises((AttributeError, TypeError)):
        m.metrics["texture.sq"] = None  # type: ignore[index]
    with pytest.raises(AttributeError):
        m.metrics["texture.sq"].value = 0.0  # type: ignore[misc]


def test_fast_detail_quantisation_equals_the_reference_quantiser():
    from texturecmp.glcm import quantize_fixed_bin
    from texturecmp.metrics.texture import quantize_detail

    rng = np.random.default_rng(7)
    for scale in (0.5, 4.0, 40.0):
        D = (rng.standard_normal((300, 400)) * scale).astype(np.float32)
        D[0, :6] = [-16.0, -15.5, 0.0, 15.99, 16.0, -40.0]  # bin edges and both ends
        for bw, levels in ((1.0, 32), (0.5, 64), (2.0, 8)):
            lower = -0.5 * levels * bw
            np.testing.assert_array_equal(quantize_detail(D, bin_width=bw, lower=lower, n_levels=levels),
                                          quantize_fixed_bin(D, bin_width=bw, lower=lower, n_levels=levels))
