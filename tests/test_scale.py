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
#: A region both photos show at every scale tested (a photo 10 % closer shows the central
#: 698 x 931 px of the baseline's 768 x 1024): compared on the same skin.
COMMON = tc.Rect(x=90, y=70, width=840, height=630)
ZOOM = REPO.parent / "shared" / "data" / "real" / "webmorph_same_person" / "zoom"

#: Metrics that still read a change at these scales (phantoms: seed 3; skin2: seed 5;
#: 768 x 1024, lossless), with the figures measured at 0.9 / 0.95 / 1.05 / 1.1: xfail, not
#: loosened (docs/method.md, "Camera distance"). The capture model's distance part
#: (uncertainty.capture_error, ``scale``) is fitted on retakes of other skins; these cases move
#: more than it allows: it holds the held-out false-verdict rate at distance
#: (test_heldout_retakes_from_another_distance_read_no_change), not every skin.
KNOWN = {
    "phantom": {"wrinkle.depth": ((0.9, 0.95), "-13/-17 % at 0.9/0.95: the darkening integrated along fewer "
                                  "detected ridges (the phantom's resampling lowers its finest ridges by 2-6 %); "
                                  "the distance part fitted on drawn skins is 0 for it"),
                "pore.density": ((0.9,), "-10 % at 0.9: fewer 4-5 px pores pass the fixed L* threshold after "
                                 "downsampling; distance part 0"),
                "pore.area_fraction": ((0.9,), "as pore.density: -10 % at 0.9"),
                "pore.mean_diameter": ((0.95, 1.1), "-1.5/-1.2 % at 0.95/1.1, beyond a floor of about 1 %")},
    "skin2": {"pore.area_fraction": ((1.1,), "-4.4 % at 1.1: a closer photo resolves pores the baseline's "
                                     "pixels merge, beyond a lossless capture floor of about 0.6 %")},
}


#: The renders share one light and camera: stating so lets whole-region colour be judged too
#: (without a colour truth it is "not comparable: no colour reference").
FIXED_LIGHT = {"fixed_light": True}


@lru_cache(maxsize=None)
def _phantom_pair(scale: float, seed: int = 3) -> tc.Comparison:
    base = skin_phantom(NATIVE, seed=seed)
    fol = skin_phantom(NATIVE, seed=seed, scale=scale)
    return tc.compare(base.rgb, fol.rgb, roi=COMMON, lesion=base.lesion, labels=("baseline", "photo 2"),
                      settings=FIXED_LIGHT)


@lru_cache(maxsize=None)
def _skin2_pair(scale: float, seed: int = 5) -> tc.Comparison:
    spec = skin2.Skin2Spec()
    scene = skin2.render(spec, shape=NATIVE, seed=seed)
    base = skin2.capture(scene.rgb, seed=seed, noise=1.0)
    fol = skin2.capture(scene.rgb, seed=seed + 100, noise=1.0, scale=scale)
    return tc.compare(base, fol, roi=COMMON, lesion=scene.lesion, labels=("baseline", "photo 2"), settings=FIXED_LIGHT)


#: Where a photo's resolution cannot carry the metric: "not comparable" is the right answer.
NOT_COMPARABLE = {("texture.lbp_entropy", 0.9), ("texture.lbp_entropy", 0.95)}


def _no_change(ch, name: str, scale: float) -> None:
    if (name, scale) in NOT_COMPARABLE:
        assert ch.verdict == "not comparable" and ch.rule_kind == "not_comparable", (ch.verdict, ch.rule)
        return
    # the verdict is the product: the same skin must not read improved, worsened or changed
    assert ch.verdict in ("no detectable change", "not computable"), (ch.before, ch.after, ch.percent, ch.rule)


def _cases(gen: str):
    for name in photo_metrics():
        scales, reason = KNOWN[gen].get(name, ((), ""))
        for sc in SCALES:
            marks = [pytest.mark.xfail(reason=reason, strict=False)] if sc in scales else []
            yield pytest.param(name, sc, marks=marks, id=f"{name}-{sc}")


@pytest.mark.parametrize("name,scale", list(_cases("phantom")))
def test_a_phantom_at_another_distance_reads_no_change(name, scale):
    c = _phantom_pair(scale)
    assert c.alignment.ok and c.alignment.scale == pytest.approx(scale, abs=0.005)
    _no_change(c.changes[name], name, scale)


@pytest.mark.parametrize("name,scale", list(_cases("skin2")))
def test_skin2_at_another_distance_reads_no_change(name, scale):
    c = _skin2_pair(scale)
    assert c.alignment.ok and c.alignment.scale == pytest.approx(scale, abs=0.005)
    _no_change(c.changes[name], name, scale)


@pytest.mark.parametrize("scale", [1.05, 1.1, 0.9])
def test_scar_area_follows_the_skin_not_the_pixels(scale):
    # before: +10.4 / +21.1 / -19.1 % (filters and areas in the follow-up's own pixels)
    ch = _phantom_pair(scale).changes["scar.visible_area"]
    assert abs(ch.percent) < 2.0, ch  # the area in baseline px^2 = follow-up px^2 / scale^2: within 2 %


def test_a_closer_photo_that_shows_less_of_the_region_is_warned_about():
    # a whole-photo region: 10 % closer shows 83 % of it, and skin2's coarse band and colour
    # unevenness then moved +6 / +7 % ("worsened"), measured on partly different skin
    spec = skin2.Skin2Spec()
    scene = skin2.render(spec, shape=(384, 512), seed=5)
    fol = skin2.capture(scene.rgb, seed=6, scale=1.1)
    c = tc.compare(skin2.capture(scene.rgb, seed=5), fol, labels=("baseline", "photo 2"))
    assert any("photo 'photo 2' shows only 83 % of the region to measure" in w for w in c.warnings), c.warnings
    inside = tc.compare(skin2.capture(scene.rgb, seed=5), fol, roi=tc.Rect(x=45, y=35, width=420, height=315))
    assert not any("of the region to measure" in w for w in inside.warnings), inside.warnings


@pytest.mark.parametrize("name", ["wrinkle.density", "texture.glcm_correlation", "scar.delta_e00"])
def test_capture_error_grows_with_the_camera_distance(name):
    """sigma^2 gains (mu b ln s)^2 (absolute metrics: (mu ln s)^2): the same distance adds
    nothing, 10 % closer and 10 % farther (as a ratio) add the same, farther adds more."""
    from texturecmp.uncertainty import capture_error, load_capture_model

    ce = load_capture_model()[name]
    assert ce.sd_scale > 0, "the distance moves this metric: it needs a calibrated distance part"
    b = 0.5
    same = capture_error(name, b)
    assert capture_error(name, b, scale=1.0) == same
    near, far, farther = (capture_error(name, b, scale=s) for s in (1 / 0.9, 0.9, 0.8))
    assert same < far < farther
    assert near == pytest.approx(far, rel=1e-12)  # |ln s| alike: the same to rounding
    x = b if ce.kind == "rel" else 1.0
    assert far == pytest.approx(math.hypot(same, ce.sd_scale * x * math.log(0.9)), rel=1e-12)
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(BadSettingsError, match="registration scale"):
            capture_error(name, b, scale=bad)


@pytest.mark.slow
def test_heldout_retakes_from_another_distance_read_no_change():
    """Held-out retakes (skin2 presets, held-out real photos) whose second photo was taken
    0.86-0.97 or 1.03-1.16 times as far (benchmarks/validate_verdicts.py, none used to
    calibrate): every metric's false-verdict count consistent with at most 5 %."""
    import sys

    from scipy.stats import binom

    sys.path.insert(0, str(REPO / "benchmarks"))
    import validate_verdicts as vv

    results = [vv.run_retake(j, far=True) for j in vv.retake_jobs(20, len(vv.REAL_HELDOUT))]
    assert not [r for r in results if "error" in r]
    per, (k_head, n_head), _, _ = vv.false_rates(results)
    allowed = lambda n: int(binom.ppf(0.99, n, 0.05))  # noqa: E731 (one-sided test at 1 %)
    too_many = {m: f"{k}/{n}" for m, (k, n) in per.items() if m not in vv.CAPTURE_MEASURES and k > allowed(n)}
    assert not too_many, f"metrics flagged in too many retakes from another distance: {too_many}"
    assert k_head <= allowed(n_head), f"the headline claimed a change in {k_head} of {n_head} retakes"


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
    c = tc.compare(base.rgb, far, lesion=base.lesion, labels=("baseline", "photo 2"), settings=FIXED_LIGHT)
    assert c.alignment.ok and c.alignment.scale == pytest.approx(0.5, abs=0.01)
    fine = c.changes["texture.band_fine"]
    assert fine.verdict == "not comparable"
    assert "photo 'photo 2' (taken about 2.0 times as far) has pixels of 0.1 mm" in fine.rule, fine.rule
    assert fine.rule_kind == "not_comparable"
    # colour is a mean over the region: still judged, and the skin did not change
    assert c.changes["color.L"].verdict == "no detectable change"
    assert c.changes["scar.delta_e00"].verdict == "no detectable change"
    assert any("about 50 % farther" in w for w in c.warnings), c.warnings


@pytest.mark.parametrize("scale", [0.9, 0.95])
def test_a_farther_photo_cannot_read_the_lbp_radius(scale):
    # the 1 px ring cannot shrink: +3.5 / +1.8 % ("changed") before
    ch = _phantom_pair(scale).changes["texture.lbp_entropy"]
    assert ch.verdict == "not comparable" and "needs 0.97" in ch.rule, ch.rule


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
    near = tc.compare(base.rgb, skin_phantom(NATIVE, seed=6, scale=1.03).rgb)  # within the 5 % limit
    assert not any("than the baseline;" in w for w in near.warnings), near.warnings


def test_error_scale_out_of_range():
    from texturecmp.measure import make_grids, measure_photo
    from texturecmp.regions import resolve_regions

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
