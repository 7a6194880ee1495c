"""Regions: shapes, masks, mask files, the default reference ring and the errors measure/compare raise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

import texturecmp as tc
from texturecmp.errors import BadMaskError, TextureCmpError
from texturecmp.regions import (MIN_LESION_PIXELS, MIN_REFERENCE_PIXELS, MIN_ROI_PIXELS, MIN_TILES, reference_ring,
                                resolve_region, resolve_regions)

from conftest import SMALL, phantom

H, W = SMALL


def disc(cx: float, cy: float, r: float, shape=SMALL) -> np.ndarray:
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


# ----------------------------------------------------------------------------- shapes

@given(x=st.integers(0, W - 1), y=st.integers(0, H - 1), w=st.integers(1, W), h=st.integers(1, H))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_rect_rasterises_to_width_times_height(x, y, w, h):
    w = min(w, W - x)
    h = min(h, H - y)
    m = tc.Rect(x, y, w, h).rasterize(SMALL)
    assert m.dtype == bool and m.shape == SMALL
    assert int(m.sum()) == w * h
    ys, xs = np.nonzero(m)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (x, x + w - 1, y, y + h - 1)


@pytest.mark.parametrize("rx,ry,angle", [(60, 35, 0), (60, 35, 30), (25.5, 80.2, -70), (100, 100, 0)])
def test_ellipse_area_is_pi_rx_ry(rx, ry, angle):
    m = resolve_region(tc.Ellipse(256.3, 190.7, rx, ry, angle), SMALL, name="lesion")
    assert m.sum() == pytest.approx(math.pi * rx * ry, rel=0.02)


def test_ellipse_rotation_turns_the_major_axis():
    flat = tc.Ellipse(256, 192, 80, 20, 0).rasterize(SMALL)
    upright = tc.Ellipse(256, 192, 80, 20, 90).rasterize(SMALL)
    ys, xs = np.nonzero(flat)
    assert np.ptp(xs) > 3 * np.ptp(ys)
    ys, xs = np.nonzero(upright)
    assert np.ptp(ys) > 3 * np.ptp(xs)


def shoelace(pts) -> float:
    a = np.asarray(pts, float)
    x, y = a[:, 0], a[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


@pytest.mark.parametrize("pts", [
    [(50, 50), (350, 50), (350, 250), (50, 250)],
    [(100, 40), (400, 300), (60, 330)],
    [(200, 20), (330, 120), (280, 300), (120, 300), (70, 120)],
])
def test_polygon_area_matches_the_shoelace_formula(pts):
    m = resolve_region(tc.Polygon(pts), SMALL, name="roi")
    assert m.sum() == pytest.approx(shoelace(pts), rel=0.02)


def test_polygon_keeps_its_vertices_inside():
    m = tc.Polygon([(10, 10), (100, 10), (100, 50), (10, 50)]).rasterize(SMALL)
    ys, xs = np.nonzero(m)
    assert xs.min() >= 10 and xs.max() <= 100 and ys.min() >= 10 and ys.max() <= 50


@pytest.mark.parametrize("make", [
    lambda: tc.Rect(0, 0, 0, 10), lambda: tc.Rect(0, 0, 10, -1), lambda: tc.Rect(0, float("nan"), 10, 10),
    lambda: tc.Ellipse(10, 10, 0, 5), lambda: tc.Ellipse(10, 10, 5, float("inf")),
    lambda: tc.Polygon([(0, 0), (1, 1)]), lambda: tc.Polygon("abc"),
])
def test_invalid_shapes_raise_bad_mask_error(make):
    with pytest.raises(BadMaskError):
        make()


# ----------------------------------------------------------------------------- resolve_region errors

@pytest.mark.parametrize("name", ["roi", "lesion", "reference"])
@pytest.mark.parametrize("shape", [tc.Rect(400, 300, 200, 200), tc.Ellipse(-30, 100, 60, 40),
                                   tc.Polygon([(10, 10), (600, 10), (300, 200)])])
def test_out_of_bounds_shape_names_the_argument(name, shape):
    with pytest.raises(BadMaskError) as e:
        resolve_region(shape, SMALL, name=name)
    assert str(e.value).startswith(name)
    assert f"{W}x{H}" in str(e.value)


def test_shape_touching_the_border_is_accepted():
    m = resolve_region(tc.Rect(0, 0, W, H), SMALL, name="roi")
    assert m.all()


@pytest.mark.parametrize("empty", [np.zeros(SMALL, bool), np.zeros(SMALL, np.uint8), np.zeros(SMALL, np.float32)])
def test_empty_mask_says_empty(empty):
    with pytest.raises(BadMaskError, match="empty") as e:
        resolve_region(empty, SMALL, name="lesion")
    assert str(e.value).startswith("lesion")


def test_wrong_shape_mask_gives_both_sizes():
    with pytest.raises(BadMaskError) as e:
        resolve_region(np.ones((100, 200), bool), SMALL, name="roi")
    msg = str(e.value)
    assert msg.startswith("roi") and "200x100" in msg and f"{W}x{H}" in msg


def test_transposed_mask_is_refused():
    with pytest.raises(BadMaskError, match=f"{H}x{W}"):
        resolve_region(np.ones((W, H), bool), SMALL, name="lesion")


@pytest.mark.parametrize("name,minimum", [("roi", MIN_ROI_PIXELS), ("lesion", MIN_LESION_PIXELS),
                                          ("reference", MIN_REFERENCE_PIXELS)])
def test_too_small_region_says_the_minimum(name, minimum):
    m = np.zeros(SMALL, bool)
    m.flat[: minimum - 1] = True
    with pytest.raises(BadMaskError, match=f"at least {minimum}") as e:
        resolve_region(m, SMALL, name=name)
    assert str(e.value).startswith(name)
    m.flat[: minimum] = True
    assert resolve_region(m, SMALL, name=name).sum() == minimum


def test_nan_mask_is_refused():
    m = disc(256, 192, 40).astype(np.float32)
    m[0, 0] = np.nan
    with pytest.raises(BadMaskError, match="NaN"):
        resolve_region(m, SMALL, name="lesion")


def test_mask_of_numbers_is_nonzero_inside():
    m = disc(256, 192, 40).astype(np.float32) * 0.5
    assert (resolve_region(m, SMALL, name="lesion") == disc(256, 192, 40)).all()


def test_unsupported_region_type():
    with pytest.raises(BadMaskError, match="lesion"):
        resolve_region(12345, SMALL, name="lesion")


def test_mask_image_file_works(tmp_path):
    les = disc(256, 192, 40)
    path = tmp_path / "lesion.png"
    PILImage.fromarray(np.where(les, 255, 0).astype(np.uint8)).save(path)
    assert (resolve_region(path, SMALL, name="lesion") == les).all()
    assert (resolve_region(str(path), SMALL, name="lesion") == les).all()
    assert (resolve_region(path.read_bytes(), SMALL, name="lesion") == les).all()


def test_mask_image_of_the_wrong_size(tmp_path):
    path = tmp_path / "lesion.png"
    PILImage.fromarray(np.full((100, 200), 255, np.uint8)).save(path)
    with pytest.raises(BadMaskError) as e:
        resolve_region(path, SMALL, name="lesion")
    assert "200x100" in str(e.value) and f"{W}x{H}" in str(e.value)


def test_shape_dict_round_trip():
    for shp in (tc.Rect(10, 20, 100, 50), tc.Ellipse(200, 150, 40, 30, 15), tc.Polygon([(10, 10), (100, 10), (50, 90)])):
        assert (resolve_region(shp.to_dict(), SMALL, name="roi" if isinstance(shp, tc.Rect) else "lesion")
                == shp.rasterize(SMALL)).all()


# ----------------------------------------------------------------------------- default reference ring

@pytest.mark.parametrize("r", [20.0, 40.0])
def test_reference_ring_of_a_disc(r):
    les = disc(256, 192, r)
    roi = np.ones(SMALL, bool)
    ring = reference_ring(les, roi)
    assert not (ring & les).any()
    # the ring spans radius r .. 2r (1x to 2x the equivalent radius) minus a gap of max(2 px, 0.1 r)
    # next to the border: area pi ((2r)^2 - (r + gap)^2), i.e. about 3x the lesion minus the gap.
    req = math.sqrt(les.sum() / math.pi)
    gap = max(2.0, 0.1 * req)
    expected = math.pi * ((2 * req) ** 2 - (req + gap) ** 2)
    assert ring.sum() == pytest.approx(expected, rel=0.05)
    assert 2.0 < ring.sum() / les.sum() < 3.0
    yy, xx = np.nonzero(ring)
    dist = np.hypot(xx - 256, yy - 192)
    assert dist.min() >= r + gap - 1.5 and dist.max() <= 2 * r + 1.5


def test_reference_ring_stays_inside_the_roi():
    les = disc(256, 192, 40)
    roi = np.zeros(SMALL, bool)
    roi[:, :270] = True
    ring = reference_ring(les & roi, roi)
    assert ring.any()
    assert not (ring & ~roi).any()
    assert not (ring & les).any()


def test_measure_uses_the_default_ring():
    ph = phantom(SMALL, 0)
    m = tc.measure(ph.rgb, lesion=ph.lesion)
    ring = reference_ring(ph.lesion, np.ones(SMALL, bool))
    assert m.regions["reference"] == {"default": "ring", "area_px": int(ring.sum())}


def test_resolve_regions_takes_the_excluded_pixels_out_of_every_region():
    """resolve_regions: the roi defaults to the photo minus ``exclude``; the lesion is clipped
    to it; the default reference is the settings' ring around the clipped lesion, in that roi."""
    les = disc(256, 192, 40)
    chart = np.zeros(SMALL, bool)
    chart[:, 280:] = True  # a chart over the lesion's right edge
    s = tc.Settings(reference_ring=(1.5, 2.5))
    r = resolve_regions(SMALL, None, les, None, s, exclude=chart)
    assert np.array_equal(r.roi, ~chart)
    assert np.array_equal(r.lesion, les & ~chart)
    assert np.array_equal(r.reference, reference_ring(les & ~chart, ~chart, inner=1.5, outer=2.5))
    assert r.info["roi"]["area_px"] == int((~chart).sum())
    assert r.info["reference"] == {"default": "ring", "area_px": int(r.reference.sum())}
    assert resolve_regions(SMALL, None, None, None, s).roi.all()  # no exclusion: the whole photo


def test_explicit_reference_changes_scar_metrics():
    ph = phantom(SMALL, 0)
    a = tc.measure(ph.rgb, lesion=ph.lesion)
    b = tc.measure(ph.rgb, lesion=ph.lesion, reference=tc.Rect(0, 0, 80, 80))
    assert b.regions["reference"]["area_px"] == 6400
    assert a.value("scar.delta_e00") != b.value("scar.delta_e00")


def test_reference_overlapping_the_lesion_excludes_it():
    ph = phantom(SMALL, 0)
    m = tc.measure(ph.rgb, lesion=ph.lesion, reference=np.ones(SMALL, bool))
    assert np.isfinite(m.value("scar.delta_e00"))


# ----------------------------------------------------------------------------- measure / compare raise the right types

def _lesion_errors():
    return [
        (tc.Rect(400, 300, 200, 200), "lesion", "beyond"),
        (np.zeros(SMALL, bool), "lesion", "empty"),
        (np.ones((10, 10), bool), "lesion", "10x10"),
        (tc.Rect(10, 10, 5, 5), "lesion", "at least"),
    ]


@pytest.mark.parametrize("lesion,arg,text", _lesion_errors())
def test_measure_raises_bad_mask_error(lesion, arg, text):
    with pytest.raises(BadMaskError, match=text) as e:
        tc.measure(phantom(SMALL, 0).rgb, lesion=lesion)
    assert str(e.value).startswith(arg)
    assert isinstance(e.value, TextureCmpError) and isinstance(e.value, ValueError)


@pytest.mark.parametrize("lesion,arg,text", _lesion_errors())
def test_compare_raises_bad_mask_error(lesion, arg, text):
    a = phantom(SMALL, 0).rgb
    with pytest.raises(BadMaskError, match=text):
        tc.compare(a, a, lesion=lesion)


def test_roi_too_small_in_measure():
    with pytest.raises(BadMaskError, match=f"roi.*at least {MIN_ROI_PIXELS}"):
        tc.measure(phantom(SMALL, 0).rgb, roi=tc.Rect(0, 0, 30, 30))


def test_roi_of_too_few_tiles_names_the_minimum():
    """40 x 40 px holds 2 x 2 tiles of 20 px (1 mm at the nominal pixel size): fewer than MIN_TILES."""
    with pytest.raises(BadMaskError, match=rf"covers 4 tiles of 20 px .* at least {MIN_TILES} .* about 3,200 px"):
        tc.measure(phantom(SMALL, 0).rgb, roi=tc.Rect(0, 0, 40, 40))


def test_roi_of_enough_tiles_is_measured_with_a_t_quantile():
    """A 60 x 60 px roi (9 tiles) is small but measurable: its changes get Student-t thresholds
    (fewer than 10 degrees of freedom) instead of a refusal."""
    ph = phantom(SMALL, 0)
    roi = tc.Rect(100, 100, 60, 60)
    c = tc.compare(ph.rgb, phantom(SMALL, 0, treatment=0.5).rgb, roi=roi, align=False)
    ch = c.changes["texture.sq"]
    assert ch.verdict == "improved"
    assert "df" in ch.rule and ch.threshold > 1.96 * ch.uncertainty


def test_lesion_outside_the_roi():
    with pytest.raises(BadMaskError, match="lesion"):
        tc.measure(phantom(SMALL, 0).rgb, roi=tc.Rect(0, 0, 200, 200), lesion=disc(400, 300, 30))


def test_reference_outside_the_roi():
    ph = phantom(SMALL, 0)
    with pytest.raises(BadMaskError, match="reference"):
        tc.measure(ph.rgb, roi=tc.Rect(0, 0, 300, 384), lesion=disc(150, 192, 30), reference=tc.Rect(400, 0, 100, 100))


def test_roi_restricts_the_measurement():
    ph = phantom(SMALL, 0)
    left = tc.measure(ph.rgb, roi=tc.Rect(0, 0, 256, 384))
    assert left.regions["roi"]["area_px"] == 256 * 384
    assert left.value("color.L") != tc.measure(ph.rgb).value("color.L")


# ----------------------------------------------------------------------------- the caller's masks are not touched

def test_measure_does_not_modify_the_callers_lesion_mask():
    ph = phantom(SMALL, 0)
    lesion = ph.lesion.copy()
    before = lesion.copy()
    roi = np.zeros(SMALL, bool)
    roi[:, : W // 2 + 40] = True  # cuts through the lesion
    assert (lesion & ~roi).any()
    tc.measure(ph.rgb, roi=roi, lesion=lesion)
    assert (lesion == before).all(), "measure() wrote into the lesion array it was given"


def test_measure_accepts_read_only_masks():
    ph = phantom(SMALL, 0)
    lesion = ph.lesion.copy()
    lesion.flags.writeable = False
    m = tc.measure(ph.rgb, lesion=lesion)
    assert np.isfinite(m.value("scar.delta_e00"))
