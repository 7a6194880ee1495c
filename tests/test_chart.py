"""Colour chart calibration (texturecmp.chart) on synthetic photos rendered from spectra (tests/chart_render.py)."""

from __future__ import annotations

import functools
import json
import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

import chart_render as cr
from texturecmp import chart
from texturecmp._filters import linearize
from texturecmp.color import delta_e00
from texturecmp.errors import BadMaskError, BadSettingsError

REF = "BabelColor Average"  # the chart the renders show
SHAPE = (600, 800)


@functools.cache
def shot(**kw) -> cr.Render:
    base = dict(shape=SHAPE, pitch_px=32.0, centre=(560.0, 300.0), noise=1.5, jpeg=90, seed=3)
    base.update(kw)
    return cr.render(cr.Shot(**base))


def corner_error(c: chart.ChartCorners, r: cr.Render) -> float:
    return float(np.abs(np.array(c.points) - np.array(r.corners)).max() / r.shot.pitch_px)


def skin_error(r: cr.Render, cal: chart.Calibration) -> float:
    lin = linearize(r.rgb[r.skin_mask][None], 8)[0]
    corr = chart.apply_calibration(lin, cal).astype(np.float64).mean(axis=0)
    return float(delta_e00(chart.lin_to_lab(corr), r.skin_lab))


# ----------------------------------------------------------------------------- reference data


def test_reference_neutrals_are_neutral_in_d65():
    # D50 data sets are adapted to D65: without the adaptation the white patch would read b* ~ +9 in D65 Lab
    for name in chart.REFERENCES:
        _, lab = chart.reference_patches(name)
        assert 94.0 < lab[18, 0] < 97.5, name  # white 9.5
        # the published neutrals are within ~3 a*/b* of grey (the 2014 white: a* -1, b* +3)
        assert np.abs(lab[18:, 1:]).max() < 3.5, name


def test_reference_babelcolor_is_its_spectra_under_d65():
    colour = chart._colour()
    sds = colour.SDS_COLOURCHECKERS[REF]
    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
    d65 = colour.SDS_ILLUMINANTS["D65"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trimming the 380-730 nm spectra to the observer
        xyz = np.array([colour.sd_to_XYZ(sd, cmfs, d65) for sd in sds.values()]) / 100.0
    lab_colour = colour.XYZ_to_Lab(xyz, colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"])
    _, lab = chart.reference_patches(REF)
    # colour-science's D65 white (0.3127, 0.3290) and OpenCV's differ in the 4th decimal: < 0.1 ΔE00
    assert np.max(delta_e00(lab, lab_colour)) < 0.1


def test_reference_unknown_name():
    with pytest.raises(BadSettingsError, match="reference must be one of"):
        chart.reference_patches("ColorChecker 1492")


# ----------------------------------------------------------------------------- corners


def test_chart_corners_validation_and_parse():
    c = chart.ChartCorners.parse("10,10, 110,10, 110,70, 10,70")
    assert c.points[2] == (110.0, 70.0)
    assert c.pitch_px() == pytest.approx(20.0)
    assert np.allclose(c.patch_centres()[7], (30.0, 30.0))  # patch 8: column 1, row 1
    with pytest.raises(BadSettingsError, match="8 numbers"):
        chart.ChartCorners.parse("1,2,3")
    with pytest.raises(BadSettingsError, match="convex"):
        chart.ChartCorners(((0, 0), (100, 100), (100, 0), (0, 100)))  # a bow tie
    with pytest.raises(BadSettingsError, match="convex"):
        chart.ChartCorners(((0, 0), (100, 0), (0, 60), (100, 80)))  # patches 24 and 19 swapped
    assert chart.ChartCorners(((100, 0), (0, 0), (0, 60), (100, 60))).pitch_px() == pytest.approx(20.0)  # mirrored
    with pytest.raises(BadSettingsError, match="4 finite"):
        chart.ChartCorners(((0, 0), (1, 0), (1, float("nan")), (0, 1)))


# ----------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(rotation_deg=20.0, perspective=0.04, blur_px=1.5, jpeg=75, noise=3.0),
        dict(rotation_deg=-20.0, perspective=0.03, camera="nikon", cct_k=2700.0),
        dict(rotation_deg=90.0, centre=(400.0, 300.0), camera="sigma", cct_k=4500.0),  # portrait
        dict(rotation_deg=180.0, crosstalk=cr.crosstalk(1), exposure=0.6),  # upside down: patch 1 bottom right
        dict(pitch_px=20.0, centre=(150.0, 480.0), rotation_deg=8.0),  # small, near a corner
    ],
    ids=["upright", "20deg-persp-blur-jpeg75", "minus20-nikon-2700K", "portrait-sigma", "upside-down", "small"],
)
def test_find_chart_recovers_corners(kw):
    r = shot(**kw)
    c = chart.find_chart(r.rgb, reference=REF)
    assert c is not None
    # a quarter pitch keeps every read window inside its patch
    assert corner_error(c, r) < 0.25


def test_find_chart_mirrored_photo():
    r = shot(rotation_deg=10.0)
    c = chart.find_chart(np.ascontiguousarray(r.rgb[:, ::-1]), reference=REF)
    truth = np.array(r.corners)
    truth[:, 0] = SHAPE[1] - 1 - truth[:, 0]
    assert c is not None and np.abs(np.array(c.points) - truth).max() < 0.25 * 32.0


def test_find_chart_none_without_chart():
    from skin2 import SKINS, render

    skin = render(replace(SKINS["fair_lined"], scar=False), shape=SHAPE, seed=2).rgb
    assert chart.find_chart(skin) is None
    cal = chart.calibrate(skin)
    assert not cal.ok and cal.matrix is None and "no colour chart found" in cal.message


# ----------------------------------------------------------------------------- calibration


def test_calibrate_meets_the_targets_crosstalk_camera_3000k():
    # the model: a cast (channel gains of 3000 K light) and a crosstalk matrix, rendered from Lab
    r = shot(camera="lab", cct_k=3000.0, crosstalk=cr.crosstalk(5), exposure=0.7, blur_px=0.8)
    cal = chart.calibrate(r.rgb, reference=REF)
    assert cal.ok, cal.reasons
    assert cal.source == "auto" and corner_error(cal.corners, r) < 0.25
    # the targets: leave-one-out mean <= 1.0, max <= 2.5; skin within 1.0 of its true Lab
    assert cal.loo_mean <= 1.0 and cal.loo_max <= 2.5
    assert skin_error(r, cal) <= 1.0
    assert cal.de00_before_mean > 5.0  # the cast and exposure were real
    assert cal.message.startswith("chart found; patches ΔE00")


def test_spectral_camera_under_tungsten():
    # spectral rendering at 3000 K: the chart's colours under tungsten are no 3 x 3 map of their D65
    # colours (illuminant metamerism), so the patches fit less well; skin, near the chart's skin
    # patches, still lands within 1 ΔE00 of its true colour
    r = shot(camera="ideal", cct_k=3000.0, crosstalk=cr.crosstalk(5), exposure=0.7)
    cal = chart.calibrate(r.rgb, reference=REF)
    assert cal.ok, cal.reasons
    assert cal.loo_mean < 2.5
    assert skin_error(r, cal) <= 1.0


@pytest.mark.parametrize("method", ["Finlayson 2015", "Vandermonde"])
def test_other_methods(method):
    r = shot(cct_k=4000.0, camera="nikon")
    cal = chart.calibrate(r.rgb, method=method, reference=REF, max_loo_mean=np.inf, max_loo_max=np.inf)
    assert cal.method == method and np.asarray(cal.matrix).shape[1] == {"Finlayson 2015": 6, "Vandermonde": 4}[method]
    # the chunked application equals colour-science's in one call (float32 output: 1e-5 relative)
    lin = linearize(r.rgb[::7, ::7], 8)
    colour = chart._colour()
    want = colour.characterisation.apply_matrix_colour_correction(lin, np.asarray(cal.matrix), method=method,
                                                                   **cal.method_options)
    got = chart.apply_calibration(lin, cal)
    assert np.allclose(got, np.maximum(want, 0), rtol=1e-5, atol=1e-6)


def test_corners_given_equal_detected():
    r = shot(rotation_deg=12.0, perspective=0.02)
    auto = chart.calibrate(r.rgb, reference=REF)
    given = chart.calibrate(r.rgb, corners=chart.ChartCorners(r.corners), reference=REF)
    assert given.source == "corners" and given.message.startswith("chart at the given corners")
    # the detected corners are within 0.25 pitch, so the same windows' pixels are read almost exactly
    assert np.allclose(auto.matrix, given.matrix, atol=0.01)


def test_wrong_orientation_is_refused():
    r = shot()
    p = r.corners
    rotated = chart.ChartCorners((p[2], p[3], p[0], p[1]))  # patch 1 put on patch 24
    cal = chart.calibrate(r.rgb, corners=rotated, reference=REF)
    assert not cal.ok and any("fit not good enough" in s for s in cal.reasons)


def test_refuses_small_chart():
    r = shot(pitch_px=10.0, centre=(400.0, 300.0))
    cal = chart.calibrate(r.rgb, corners=chart.ChartCorners(r.corners), reference=REF)
    assert not cal.ok and "chart too small" in cal.reasons[0] and cal.matrix is None


def test_refuses_clipped_white():
    r = shot(exposure=1.9)
    cal = chart.calibrate(r.rgb, corners=chart.ChartCorners(r.corners), reference=REF)
    assert not cal.ok
    assert any(s.startswith("clipped neutral patches") and "19 (white 9.5)" in s for s in cal.reasons)
    assert 19 in cal.excluded


def test_refuses_glare():
    r = shot(glare=(21, 0.12, 0.4))  # a highlight on neutral 6.5 (in 1 of the window's 9 blocks)
    cal = chart.calibrate(r.rgb, corners=chart.ChartCorners(r.corners), reference=REF)
    assert not cal.ok and any(s.startswith("glare on patches") and "21 (neutral 6.5)" in s for s in cal.reasons)
    clean = chart.calibrate(shot().rgb, corners=chart.ChartCorners(shot().corners), reference=REF)
    assert clean.ok, clean.reasons


def test_patch_means_ignore_a_small_highlight():
    # a small highlight on moderate red: its pixels are dropped, the mean stays on the patch
    # (the plain mean of the window moves by 4.6 ΔE00)
    r0, r1 = shot(), shot(glare=(9, 0.06, 0.6))
    c = chart.ChartCorners(r0.corners)
    p0 = chart.read_patches(r0.rgb, c)
    p1 = chart.read_patches(r1.rgb, c)
    assert p1["glare"][8] > 0.01
    # the highlight's faint tail stays (0.5 ΔE00 here); noise and JPEG differ between the renders
    assert delta_e00(chart.lin_to_lab(p1["lin"][8]), chart.lin_to_lab(p0["lin"][8])) < 1.0


def test_options_errors():
    r = shot()
    with pytest.raises(BadSettingsError, match="method must be one of"):
        chart.calibrate(r.rgb, method="Cheung 2005")
    with pytest.raises(BadSettingsError, match="take degree"):
        chart.calibrate(r.rgb, method="Vandermonde", method_options={"terms": 4})
    with pytest.raises(BadSettingsError, match="corners must be a ChartCorners"):
        chart.calibrate(r.rgb, corners=[(0, 0)] * 4)
    with pytest.raises(BadSettingsError, match="window"):
        chart.read_patches(r.rgb, chart.ChartCorners(r.corners), window=0.9)


def test_to_dict_is_json_ready():
    r = shot()
    cal = chart.calibrate(r.rgb, reference=REF)
    d = cal.to_dict()
    text = json.dumps(d, allow_nan=False)  # NaN (unused patches) becomes null
    assert json.loads(text)["reference"] == REF
    assert len(d["patch_de00_loo"]) == 24 and len(d["corners"]) == 4
    refused = chart.calibrate(shot(pitch_px=10.0, centre=(400.0, 300.0)).rgb,
                              corners=chart.ChartCorners(shot(pitch_px=10.0, centre=(400.0, 300.0)).corners))
    json.dumps(refused.to_dict(), allow_nan=False)


def test_apply_refuses_a_refused_calibration():
    cal = chart.Calibration(False, "chart refused: x", ("x",))
    with pytest.raises(BadSettingsError, match="refused and cannot be applied: x"):
        chart.apply_calibration(np.zeros((2, 2, 3)), cal)
    with pytest.raises(BadSettingsError, match="must be a Calibration"):
        chart.apply_calibration(np.zeros((2, 2, 3)), {"matrix": np.eye(3)})


# ----------------------------------------------------------------------------- grey card


def test_grey_card_sets_white_balance():
    r = shot(cct_k=3000.0)
    c = chart.ChartCorners(r.corners)
    centre = c.patch_centres()[19]  # neutral 8
    yy, xx = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    mask = (np.abs(xx - centre[0]) < 6) & (np.abs(yy - centre[1]) < 6)
    cal = chart.calibrate_grey(r.rgb, mask)
    assert cal.ok and cal.kind == "grey card" and "white balance set" in cal.message
    lin = linearize(r.rgb[mask][None], 8)[0].astype(np.float64).mean(axis=0)
    before = chart.lin_to_lab(lin)
    after = chart.lin_to_lab(chart.apply_calibration(lin, cal).astype(np.float64))
    assert math.hypot(before[1], before[2]) > 8  # the 3000 K cast
    assert math.hypot(after[1], after[2]) < 0.5  # float32 arithmetic
    assert after[0] == pytest.approx(before[0], abs=0.6)  # white balance only: luminance kept
    exp = chart.calibrate_grey(r.rgb, mask, reflectance=0.59)
    assert chart.lin_to_lab(chart.apply_calibration(lin, exp).astype(np.float64))[0] == pytest.approx(81.2, abs=0.1)
    with pytest.raises(BadMaskError, match="at least 25"):
        chart.calibrate_grey(r.rgb, mask & (xx < centre[0] - 4))


# ----------------------------------------------------------------------------- integration


def test_chart_mask_covers_the_card_and_a_pitch_around_it():
    r = shot(rotation_deg=15.0, perspective=0.02)
    cal, mask = chart.prepare_calibration(r.rgb, "auto", reference=REF)
    assert cal.ok
    inter = (mask & r.chart_mask).sum()
    assert inter / r.chart_mask.sum() > 0.97  # the card is masked (detected corners, so not exactly)
    card = chart.chart_mask(r.rgb.shape[:2], cal.corners)  # the card's own outline (0.85 pitch)
    assert mask.sum() > 1.3 * card.sum()  # and a band beyond it, where its edge still shows
    assert not (card & r.skin_mask).any()  # the card's outline holds no skin half a pitch away


def test_prepare_calibration_inputs():
    r = shot()
    assert chart.prepare_calibration(r.rgb, None) == (None, None)
    cal = chart.calibrate(r.rgb, reference=REF)
    same, mask = chart.prepare_calibration(r.rgb, cal)
    assert same is cal and mask.shape == SHAPE
    given, _ = chart.prepare_calibration(r.rgb, chart.ChartCorners(r.corners), reference=REF)
    assert given.source == "corners"
    with pytest.raises(BadSettingsError, match="calibration must be"):
        chart.prepare_calibration(r.rgb, "yes")


def test_apply_by_strips_equals_whole():
    # measure applies the correction strip by strip: the result must not depend on the strips
    r = shot(camera="nikon", cct_k=3500.0)
    lin = linearize(r.rgb, 8)
    for method in ("Cheung 2004", "Finlayson 2015"):
        cal = chart.calibrate(r.rgb, method=method, reference=REF, max_loo_mean=np.inf, max_loo_max=np.inf)
        whole = chart.apply_calibration(lin, cal)
        strips = np.concatenate([chart.apply_calibration(lin[y : y + 64], cal) for y in range(0, SHAPE[0], 64)])
        assert np.array_equal(whole, strips), method


def test_colour_science_is_imported_on_first_use_only():
    import subprocess
    import sys

    code = "import sys, texturecmp, texturecmp.chart; print('colour' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"  # importing colour-science takes about a second
