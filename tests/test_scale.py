"""Camera distance (issue 12, part 1): a follow-up taken closer or farther is measured at the
baseline's physical scale, and reads no change where the skin did not change.

The follow-up's pixel size is the baseline's divided by the registration scale, so its filter
scales, tiles, lengths and areas follow the skin (``texturecmp.metrics.pixel_length``); where
its resolution cannot carry a metric's finest scale, that metric is "not comparable".

Checked on the project's phantoms, on the independent generator ``tests/skin2.py`` (which
shares no code with ``texturecmp.phantoms``) and on real photos of one face at 15-60 cm
(``../shared/data/real/webmorph_same_person/zoom/``, landmarks as truth).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pytest

import texturecmp as tc
from texturecmp.compare import _unresolved
from texturecmp.errors import BadSettingsError
from texturecmp.metrics import MIN_RESOLVED_PX, pixel_length
from texturecmp.phantoms import skin_phantom

import skin2
from conftest import NATIVE, REPO, photo_metrics

SCALES = (0.9, 0.95, 1.05, 1.1)
ZOOM = REPO.parent / "shared" / "data" / "real" / "webmorph_same_person" / "zoom"

#: Metrics that still move with the distance, with the figures measured at scales
#: 0.9 / 0.95 / 1.05 / 1.1 (phantoms: seed 3; skin2: seed 5; 768 x 1024, lossless): xfail,
#: not loosened (docs/method.md, "Camera distance"). A filter support held at whole pixels,
#: few-pixel blobs, or the generators' Lanczos resampling (which attenuates detail near the
#: pixel scale) is the cause of each.
_BOTH = {
    "texture.glcm_correlation": "GLCM distance mixed from whole pixels, correlation is not linear in it: "
                                "+9/+5/+4/+7 % (phantoms), +13/+6/+10/+18 % (skin2)",
    "texture.lbp_entropy": "LBP radius held at 1 px (it cannot go below): +3.5/+1.8/-1.8/-3.5 %",
    "pore.density": "pore count of blobs 3-12 px across: +9/+6/+15/+6 % (phantoms), +9/0/+7/+4 % (skin2)",
    "pore.mean_diameter": "equivalent diameter of few-pixel blobs after resampling: -4/-2/-4/-3 %",
}
KNOWN = {
    "phantom": {**_BOTH,
                "texture.band_fine": "Lanczos upsampling of the phantom attenuates the finest band: -0.9/-1.3 % "
                                     "at 1.05/1.1, beyond its small capture floor",
                "wrinkle.density": "-7.5 % at 0.9 (ridges of the finest scale, 1.8 px, fall below the threshold)",
                "scar.delta_b": "+0.6/+0.4 % at 1.05/1.1 (0.015 b*), just beyond its floor",
                "scar.border_sharpness": "+0.9/-0.3/+0.5/+0.8 %: the warped lesion mask's pixel steps"},
    "skin2": {**_BOTH,
              "texture.band_coarse": "+3.4/+5.6 % at 1.05/1.1",
              "color.unevenness": "+3.8/+7.4 % at 1.05/1.1 (smoothing on a 640 px image)",
              "scar.visible_fraction": "+0.1 % at 1.1, beyond a floor of 0.1 %",
              "scar.border_sharpness": "-0.5/+0.6 % at 0.95/1.1: the warped lesion mask's pixel steps"},
}


@lru_cache(maxsize=None)
def _phantom_pair(scale: float, seed: int = 3) -> tc.Comparison:
    base = skin_phantom(NATIVE, seed=seed)
    fol = skin_phantom(NATIVE, seed=seed, scale=scale)
    return tc.compare(base.rgb, fol.rgb, lesion=base.lesion, labels=("baseline", "photo 2"))


@lru_cache(maxsize=None)
def _skin2_pair(scale: float, seed: int = 5) -> tc.Comparison:
    spec = skin2.Skin2Spec()
    scene = skin2.render(spec, shape=NATIVE, seed=seed)
    base = skin2.capture(scene.rgb, seed=seed, noise=1.0)
    fol = skin2.capture(scene.rgb, seed=seed + 100, noise=1.0, scale=scale)
    return tc.compare(base, fol, lesion=scene.lesion, labels=("baseline", "photo 2"))


def _cases(gen: str):
    for name in photo_metrics():
        marks = [pytest.mark.xfail(reason=KNOWN[gen][name], strict=False)] if name in KNOWN[gen] else []
        for sc in SCALES:
            yield pytest.param(name, sc, marks=marks, id=f"{name}-{sc}")


@pytest.mark.parametrize("name,scale", list(_cases("phantom")))
def test_a_phantom_at_another_distance_reads_no_change(name, scale):
    c = _phantom_pair(scale)
    assert c.alignment.ok and c.alignment.scale == pytest.approx(scale, abs=0.005)
    ch = c.changes[name]
    # the verdict is the product: the same skin must not read improved, worsened or changed
    assert ch.verdict in ("no detectable change", "not computable"), (ch.before, ch.after, ch.percent, ch.rule)


@pytest.mark.parametrize("name,scale", list(_cases("skin2")))
def test_skin2_at_another_distance_reads_no_change(name, scale):
    c = _skin2_pair(scale)
    assert c.alignment.ok and c.alignment.scale == pytest.approx(scale, abs=0.005)
    ch = c.changes[name]
    assert ch.verdict in ("no detectable change", "not computable"), (ch.before, ch.after, ch.percent, ch.rule)


@pytest.mark.parametrize("scale", [1.05, 1.1, 0.9])
def test_scar_area_follows_the_skin_not_the_pixels(scale):
    # before: +10.4 / +21.1 / -19.1 % (filters and areas in the follow-up's own pixels)
    ch = _phantom_pair(scale).changes["scar.visible_area"]
    assert abs(ch.percent) < 2.0, ch  # the area in baseline px^2 = follow-up px^2 / scale^2: within 2 %


def test_pixel_length_is_the_baseline_pixel_size_over_the_scale():
    s = tc.Settings()
    assert pixel_length(1.0, settings=s, pixel_size_mm=None) == pytest.approx(1.0 / s.nominal_pixel_size_mm)
    assert pixel_length(0.5, settings=s, pixel_size_mm=0.1, scale=2.0) == pytest.approx(10.0)
    assert pixel_length(0.5, settings=s, pixel_size_mm=0.1, scale=0.5) == pytest.approx(2.5)


def test_lengths_and_areas_come_back_in_baseline_units():
    # the same skin at twice the resolution: pore diameter (px) and area (px^2) in baseline pixels
    base = skin_phantom(NATIVE, seed=4)
    big = cv2.resize(np.asarray(base.rgb), (2 * NATIVE[1], 2 * NATIVE[0]), interpolation=cv2.INTER_CUBIC)
    c = tc.compare(base.rgb, big, lesion=base.lesion)
    assert c.alignment.scale == pytest.approx(2.0, abs=0.01)
    assert c.changes["scar.visible_area"].percent == pytest.approx(0.0, abs=3.0)
    assert c.changes["scar.visible_area"].unit == "px²"


def test_twice_the_distance_makes_the_fine_band_not_comparable():
    base = skin_phantom(NATIVE, seed=2)
    far = cv2.resize(np.asarray(base.rgb), (NATIVE[1] // 2, NATIVE[0] // 2), interpolation=cv2.INTER_AREA)
    c = tc.compare(base.rgb, far, lesion=base.lesion, labels=("baseline", "photo 2"))
    assert c.alignment.ok and c.alignment.scale == pytest.approx(0.5, abs=0.01)
    fine = c.changes["texture.band_fine"]
    assert fine.verdict == "not comparable"
    assert "photo 'photo 2' (taken about 2.0 times as far) has pixels of 0.1 mm" in fine.rule, fine.rule
    assert fine.rule_kind == "not_comparable"
    # colour is a mean over the region: still judged, and the skin did not change
    assert c.changes["color.L"].verdict == "no detectable change"
    assert c.changes["scar.delta_e00"].verdict == "no detectable change"
    assert any("about 50 % farther" in w for w in c.warnings), c.warnings


def test_unresolved_names_each_metric_below_the_limit():
    s = tc.Settings()
    assert _unresolved(s, None, (("b", 1.0), ("a", 1.0))) == {}
    far = _unresolved(s, None, (("b", 1.0), ("a", 0.5)))
    assert {"texture.band_fine", "texture.sq", "texture.lbp_entropy", "pore.density"} <= set(far)
    assert "texture.band_medium" not in far and "color.L" not in far and "scar.visible_area" not in far
    # the limit: band_fine's lower sigma (0.05 mm = 1 nominal px) is resolved down to MIN_RESOLVED_PX
    edge = MIN_RESOLVED_PX + 0.01
    assert "texture.band_fine" not in _unresolved(s, None, (("a", edge),))
    assert "texture.band_fine" in _unresolved(s, None, (("a", MIN_RESOLVED_PX - 0.01),))


@pytest.mark.parametrize("scale,words", [(1.12, "about 12 % closer"), (0.9, "about 10 % farther")])
def test_the_distance_warning_is_in_plain_words(scale, words):
    base = skin_phantom(NATIVE, seed=6)
    fol = skin_phantom(NATIVE, seed=6, scale=scale)
    c = tc.compare(base.rgb, fol.rgb, labels=("baseline", "photo 2"))
    assert any(w.startswith(f"photo 'photo 2' was taken {words} than the baseline; it is measured at the baseline's scale")
               for w in c.warnings), c.warnings
    same = _phantom_pair(1.05)  # 5 % is within the limit: no warning
    assert not any("than the baseline;" in w for w in same.warnings)


def test_error_scale_out_of_range():
    from texturecmp.measure import make_grids, measure_photo, resolve_regions

    ph = skin_phantom((256, 256), seed=1)
    img = tc.load_image(ph.rgb)
    s = tc.Settings()
    r = resolve_regions(img.shape, None, None, None, s)
    g, sg = make_grids(r, s, None)
    for bad in (0.0, -1.0, math.nan, "2", True):
        with pytest.raises(BadSettingsError, match="scale"):
            measure_photo(img, r, settings=s, pixel_size_mm=None, grid=g, scar_grid=sg, scale=bad)


# ----------------------------------------------------------------------------- real photos

def _landmark_scale(a: int, b: int) -> float:
    p, q = (skin2.read_tem(ZOOM / f"{d}cm.tem").astype(np.float32) for d in (a, b))
    m, _ = cv2.estimateAffinePartial2D(p, q)
    return float(math.sqrt(abs(np.linalg.det(m[:, :2]))))


@lru_cache(maxsize=None)
def _zoom_pair(a: int, b: int) -> tc.Comparison:
    img = tc.load_image(ZOOM / f"{a}cm.jpg")
    roi = skin2.face_skin_mask(skin2.read_tem(ZOOM / f"{a}cm.tem"), img.shape)
    return tc.compare(img, ZOOM / f"{b}cm.jpg", roi=roi, labels=(f"{a} cm", f"{b} cm"))


needs_zoom = pytest.mark.skipif(not ZOOM.is_dir(), reason="the real zoom photos are not on this machine")


@needs_zoom
@pytest.mark.parametrize("a,b", [(15, 30), (30, 45), (45, 60)])
def test_real_zoom_pairs_register_on_the_face(a, b):
    # whole-photo registration gave 0.756 / 0.811 / 0.916 (failed): the background moves by parallax
    c = _zoom_pair(a, b)
    assert c.alignment.ok, c.alignment.message
    assert c.alignment.scale == pytest.approx(_landmark_scale(a, b), abs=0.015)  # landmarks: 0.720 / 0.807 / 0.782
    far = round(100 * (1 - c.alignment.scale))
    assert any(f"was taken about {far} % farther" in w for w in c.warnings), c.warnings


@needs_zoom
def test_real_zoom_30_to_45_cm_reads_no_texture_change():
    c = _zoom_pair(30, 45)
    for name in ("texture.sa", "texture.sq", "texture.band_fine", "texture.band_medium", "pore.area_fraction",
                 "wrinkle.density"):
        assert c.changes[name].verdict == "no detectable change", (name, c.changes[name].percent)


@needs_zoom
@pytest.mark.xfail(reason="the 60 cm photo reads 13-16 % smoother in every texture band: at 22 % more distance the "
                          "lens and JPEG blur cover more skin, which the scale cannot give back", strict=True)
def test_real_zoom_45_to_60_cm_reads_no_texture_change():
    c = _zoom_pair(45, 60)
    for name in ("texture.sq", "texture.band_fine", "texture.band_medium"):
        assert c.changes[name].verdict == "no detectable change", (name, c.changes[name].percent)


@needs_zoom
def test_real_zoom_15_to_30_cm_fine_scales_are_not_comparable():
    # scale 0.72: the fine band's 0.05 mm sigma spans 0.72 of the 30 cm photo's pixels
    c = _zoom_pair(15, 30)
    for name in ("texture.band_fine", "texture.sq", "texture.lbp_entropy"):
        assert c.changes[name].verdict == "not comparable", name
