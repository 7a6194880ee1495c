"""compare() and compare_series(): treatment response, nuisance invariance, registration, maps, verdict rules."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import texturecmp as tc
from texturecmp.errors import MismatchedImagesError
from texturecmp.compare import COLOUR_TRUTH_METRICS

from conftest import (NATIVE, SMALL, TREATMENTS, assert_same_comparison, finite, phantom, photo_metrics, retake,
                      series_photos)

# ----------------------------------------------------------------------------- treatment response
# Metrics whose response to the phantom treatment is sound by construction (the treatment scales
# exactly the feature each one reads) and that were checked to be strictly monotonic over several
# scene seeds. Deliberately left out: wrinkle.depth (mean darkening of the *detected* ridges: the
# faint ones drop out first, so it need not fall), pore.mean_diameter (same selection effect),
# scar.visible_fraction/_area (saturate at 1 for a clearly visible scar), scar.delta_L (small and
# dominated by the mottling of the ring for some seeds).
ORDERED = [
    "texture.sq", "texture.sa", "texture.band_fine", "texture.band_medium",
    "texture.glcm_contrast", "texture.glcm_homogeneity", "texture.glcm_energy", "texture.glcm_entropy",
    "wrinkle.density", "wrinkle.length_density",
    "pore.density", "pore.area_fraction",
    "color.unevenness",
    "scar.delta_e00", "scar.delta_a", "scar.border_sharpness", "scar.texture_ratio",
]


def goodness(name: str, value: float) -> float:
    """Larger is better, per the catalogue's direction."""
    better = tc.METRICS[name].better
    return {"lower": -value, "higher": value, "toward 0": -abs(value), "toward 1": -abs(value - 1.0)}[better]


@pytest.mark.parametrize("name", ORDERED)
def test_treatment_moves_the_metric_the_right_way_in_rank_order(name, treatment_series):
    chs = [c.changes[name] for c in treatment_series.vs_baseline]
    base = goodness(name, chs[0].before)
    g = [goodness(name, c.after) for c in chs]
    assert base < g[0] < g[1] < g[2], [(c.before, c.after) for c in chs]


@pytest.mark.parametrize("name", ORDERED)
def test_strongest_treatment_is_improved(name, treatment_series):
    ch = treatment_series.vs_baseline[-1].changes[name]
    assert ch.detectable
    assert ch.verdict == "improved", ch


@pytest.mark.parametrize("name", ORDERED)
def test_treatment_change_is_consistent_with_the_measurements(name, treatment_series):
    for c, m in zip(treatment_series.vs_baseline, treatment_series.measurements[1:]):
        ch = c.changes[name]
        assert ch.before == treatment_series.measurements[0].value(name)
        assert ch.after == m.value(name)
        assert ch.delta == pytest.approx(ch.after - ch.before)
        assert ch.percent == pytest.approx(100 * ch.delta / abs(ch.before))
        assert finite(ch.uncertainty) and ch.uncertainty > 0
        assert ch.threshold >= tc.Settings().z * ch.uncertainty - 1e-12


@pytest.mark.parametrize("k_index", range(len(TREATMENTS)))
def test_texture_sq_falls_by_about_k(k_index, treatment_series):
    """The phantom scales every texture component of D by (1 - k); only the sensor noise and the
    residue of the (unscaled) mottling are left, so Sq after/before is (1 - k) or slightly above."""
    k = TREATMENTS[k_index]
    ch = treatment_series.vs_baseline[k_index].changes["texture.sq"]
    ratio = ch.after / ch.before
    assert (1 - k) - 0.03 <= ratio <= (1 - k) + 0.08, ratio
    fine = treatment_series.vs_baseline[k_index].changes["texture.band_fine"]
    assert (1 - k) - 0.03 <= fine.after / fine.before <= (1 - k) + 0.05


@pytest.mark.parametrize("k_index", range(len(TREATMENTS)))
def test_scar_colour_difference_falls_by_about_k(k_index, treatment_series):
    """The scar's Lab offset is scaled by (1 - k). ΔE00 is close to linear at these sizes; the
    reference ring's mottling (unscaled) keeps it from being exactly proportional."""
    k = TREATMENTS[k_index]
    for name in ("scar.delta_e00", "scar.delta_a"):
        ch = treatment_series.vs_baseline[k_index].changes[name]
        assert abs(ch.after / ch.before - (1 - k)) <= 0.10, (name, ch.after / ch.before)


def test_treatment_series_is_aligned_without_warnings(treatment_series):
    for c in treatment_series.vs_baseline:
        assert c.alignment.ok, c.alignment.message
        assert not any("align" in w for w in c.warnings), c.warnings


# ----------------------------------------------------------------------------- nuisance-only retakes
# These depend on the calibrated capture model (src/texturecmp/data/capture.json): without it the
# threshold is 1.96 SE alone, which nuisances (exposure, JPEG, resampling) exceed for GLCM and colour.

NUISANCE_FAMILIES = ("texture", "wrinkle", "pore", "color", "scar")
NUISANCE_METRICS = [n for n in photo_metrics() if n.split(".")[0] in NUISANCE_FAMILIES]


@pytest.mark.parametrize("name", NUISANCE_METRICS)
def test_mild_nuisance_retake_has_no_detectable_change(name, mild_retake_comparison):
    ch = mild_retake_comparison.changes[name]
    if name in COLOUR_TRUTH_METRICS:  # no chart, colour reference or fixed light: never a verdict
        assert ch.verdict == "not comparable" and ch.rule.startswith("no colour reference"), ch
        return
    assert ch.verdict == "no detectable change", ch


@pytest.mark.parametrize("name", NUISANCE_METRICS)
def test_sample_retake_pair_has_no_detectable_change(name, sample_retake_comparison):
    ch = sample_retake_comparison.changes[name]
    expected = "not comparable" if name in COLOUR_TRUTH_METRICS else "no detectable change"
    assert ch.verdict == expected, ch


def test_nuisance_retake_is_aligned(mild_retake_comparison):
    b, r = retake(1001, NATIVE, "mild", 101)
    dx, dy = r.truth["shift_px"]
    al = mild_retake_comparison.alignment
    assert al.ok
    assert al.shift_px[0] == pytest.approx(dx, abs=0.5)
    assert al.shift_px[1] == pytest.approx(dy, abs=0.5)
    assert al.rotation_deg == pytest.approx(r.truth["rotation_deg"], abs=0.1)


# ----------------------------------------------------------------------------- exposure invariance

@pytest.fixture(scope="module", params=[0.9, 1.1])
def exposure_pair(request):
    e = request.param
    base = phantom(SMALL, 3, noise_seed=11)
    fol = phantom(SMALL, 3, exposure=e, noise_seed=11)
    return e, tc.compare(base.rgb, fol.rgb, lesion=base.lesion)


def test_exposure_ratio_is_recovered(exposure_pair):
    e, c = exposure_pair
    assert c.photometric.exposure_ratio == pytest.approx(e, rel=0.02)
    for g in c.photometric.gains:
        assert g == pytest.approx(1 / e, rel=0.02)
    assert c.photometric.exposure_shift_L * (e - 1) > 0  # darker photo -> negative shift


@pytest.mark.parametrize("name", ["texture.sq", "texture.band_fine", "texture.glcm_contrast", "scar.delta_e00",
                                  "scar.delta_a", "color.unevenness"])
def test_metrics_are_exposure_invariant_after_normalisation(name, exposure_pair):
    _, c = exposure_pair
    ch = c.changes[name]
    assert abs(ch.after / ch.before - 1) < 0.03, ch


def test_mean_colour_is_restored_by_the_gains(exposure_pair):
    _, c = exposure_pair
    for name in ("color.L", "color.a", "color.b"):
        assert abs(c.changes[name].delta) < 0.1, c.changes[name]


def test_exposure_difference_is_warned_about(exposure_pair):
    _, c = exposure_pair
    assert any("exposure" in w for w in c.warnings), c.warnings
    assert c.changes["quality.exposure_shift"].after == pytest.approx(c.photometric.exposure_shift_L)


def test_equal_exposure_gives_no_exposure_warning():
    base = phantom(SMALL, 3, noise_seed=11)
    c = tc.compare(base.rgb, phantom(SMALL, 3, noise_seed=12).rgb, lesion=base.lesion)
    assert not any("exposure" in w for w in c.warnings), c.warnings
    assert c.photometric.exposure_ratio == pytest.approx(1.0, abs=0.005)


# ----------------------------------------------------------------------------- registration

@pytest.fixture(scope="module")
def shifted():
    base = phantom(SMALL, 3)
    fol = phantom(SMALL, 3, shift=(7.0, -4.0), rotation=1.0)
    return base, fol, tc.compare(base.rgb, fol.rgb, lesion=base.lesion)


def test_applied_shift_and_rotation_are_recovered(shifted):
    _, _, c = shifted
    al = c.alignment
    assert al.ok, al.message
    assert al.shift_px[0] == pytest.approx(7.0, abs=0.5)
    assert al.shift_px[1] == pytest.approx(-4.0, abs=0.5)
    assert al.rotation_deg == pytest.approx(1.0, abs=0.1)
    assert al.scale == pytest.approx(1.0, abs=0.005)
    assert al.correlation_after > al.correlation_before


def test_lesion_is_carried_into_the_follow_up(shifted):
    base, fol, c = shifted
    carried = c.after.detail.regions.lesion  # the follow-up's own lesion mask
    assert abs(int(carried.sum()) - int(base.lesion.sum())) <= 0.03 * base.lesion.sum()
    iou = (carried & fol.lesion).sum() / (carried | fol.lesion).sum()
    assert iou > 0.95, iou  # the phantom's own lesion in the follow-up grid is the ground truth


def test_misalignment_alone_is_not_a_scar_change(shifted):
    _, _, c = shifted
    for name in ("scar.delta_e00", "scar.delta_a", "texture.sq"):
        assert abs(c.changes[name].percent) < 3.0, c.changes[name]


# ----------------------------------------------------------------------------- maps

MAP_KEYS = {"before_rgb", "after_rgb_aligned", "valid", "delta_e00", "texture_change", "visibility_before",
            "visibility_after", "roi", "lesion", "reference"}


def test_maps_share_one_grid(treatment_series):
    maps = treatment_series.vs_baseline[-1].maps
    assert set(maps) >= MAP_KEYS
    shape = maps["before_rgb"].shape[:2]
    assert max(shape) <= tc.Settings().map_max_side
    for k, v in maps.items():
        assert v.shape[:2] == shape, k
    assert maps["after_rgb_aligned"].shape == maps["before_rgb"].shape


def test_maps_are_nan_outside_the_valid_area(shifted):
    maps = shifted[2].maps
    valid = maps["valid"]
    assert (~valid).any() and valid.mean() > 0.9  # a 7 px shift leaves a border without data
    for k in ("delta_e00", "texture_change", "visibility_after"):
        assert np.isnan(maps[k][~valid]).all(), k
    assert np.isfinite(maps["delta_e00"][valid]).all()


def test_delta_e_map_is_small_for_a_nuisance_retake(mild_retake_comparison):
    assert np.nanmedian(mild_retake_comparison.maps["delta_e00"]) < 1.0


def test_delta_e_map_is_largest_where_the_scar_faded(treatment_series):
    maps = treatment_series.vs_baseline[-1].maps
    de, les, roi = maps["delta_e00"], maps["lesion"], maps["roi"]
    inside, outside = np.nanmedian(de[les]), np.nanmedian(de[roi & ~les])
    assert inside > 2.0 and inside > 2 * outside, (inside, outside)


def test_texture_change_map_is_negative_for_smoothing(treatment_series):
    maps = treatment_series.vs_baseline[-1].maps
    tcm = maps["texture_change"]
    assert np.nanmean(tcm) < 0
    assert np.nanmean(tcm < 0) > 0.8


def test_visibility_falls_inside_the_lesion(treatment_series):
    maps = treatment_series.vs_baseline[-1].maps
    les = maps["lesion"]
    assert np.nanmean(maps["visibility_after"][les]) < np.nanmean(maps["visibility_before"][les])


# ----------------------------------------------------------------------------- baseline_repeat (test-retest)

@pytest.fixture(scope="module")
def with_repeat():
    base = phantom(SMALL, 4)
    fol = phantom(SMALL, 4, treatment=0.3, shift=(2.0, 1.0))
    rep = phantom(SMALL, 4, shift=(-1.5, 2.0), rotation=0.3, exposure=1.02)
    return tc.compare(base.rgb, fol.rgb, lesion=base.lesion, baseline_repeat=rep.rgb)


def test_baseline_repeat_pools_the_capture_sd_per_metric(with_repeat):
    """One repeat pair is pooled with the calibrated capture SD as a prior worth capture_prior_df
    retakes: the pooled SD lies between sqrt(nu0 / (nu0 + 1)) times the prior and the prior
    enlarged by the repeat's excess difference."""
    from texturecmp.compare import QUALITY_LIMITS
    from texturecmp.uncertainty import capture_error

    pooled = with_repeat.test_retest
    nu0 = with_repeat.settings.capture_prior_df
    assert pooled is not None
    assert set(pooled) == set(photo_metrics()) - set(QUALITY_LIMITS)
    for name, sd in pooled.items():
        prior = capture_error(name, with_repeat.changes[name].before)
        assert finite(sd) and sd >= math.sqrt(nu0 / (nu0 + 1)) * prior * (1 - 1e-9), name
    mdc = with_repeat.test_retest_mdc95()
    assert set(mdc) == set(pooled) and all(v is None or v >= 0 for v in mdc.values())


def test_rule_says_which_term_decided(with_repeat):
    """threshold = t * sqrt(SE^2 + pooled SD^2); rule_kind names the larger term."""
    from texturecmp.uncertainty import load_capture_model, t_quantile

    s = with_repeat.settings
    kinds = set()
    limits = {"quality.clipped_fraction": "clipped_max", "quality.specular_fraction": "specular_max"}
    for name in photo_metrics():
        ch = with_repeat.changes[name]
        if name in limits:  # quality metrics are judged against their warning limits
            limit = getattr(s, limits[name])
            assert ch.threshold == pytest.approx(max(s.z * ch.se, limit)), name
            assert ch.rule_kind == "quality_setting" or ch.threshold > limit, (name, ch.rule)
            continue
        if ch.verdict in ("not computable", "not comparable"):  # not comparable: no colour truth
            continue
        sd = with_repeat.test_retest[name]
        u = math.sqrt(ch.se ** 2 + sd ** 2)
        # exact where the capture model has no distance part; else the follow-up's SD is the pooled
        # one times its model SD over the repeat's, whose registration scales differ (both within
        # 1 % of 1 here, so the distance part moves it by well under 1 %)
        exact = load_capture_model()[name].sd_scale == 0
        assert ch.uncertainty == pytest.approx(u, rel=1e-9 if exact else 1e-2), name
        assert ch.threshold >= s.z * u * (1 - 1e-9), name  # Student t quantile >= the normal one
        assert ch.threshold <= t_quantile(s.z, s.capture_prior_df + 1.0) * u * (1 + 1e-9), name
        assert ch.rule_kind == ("standard_error" if ch.se >= sd else "test_retest_pooled"), (name, ch.rule)
        assert ch.detectable == (abs(ch.delta) > ch.threshold)
        kinds.add(ch.rule_kind)
    assert "test_retest_pooled" in kinds


def test_without_repeat_the_capture_model_or_se_decides():
    base = phantom(SMALL, 4)
    c = tc.compare(base.rgb, phantom(SMALL, 4, treatment=0.3, shift=(2.0, 1.0)).rgb, lesion=base.lesion)
    assert c.test_retest is None and c.test_retest_mdc95() is None
    for name in photo_metrics():
        ch = c.changes[name]
        kinds = ("not_comparable",) if name in COLOUR_TRUTH_METRICS else ("standard_error", "capture_model",
                                                                           "quality_setting", "value_missing")
        assert ch.rule_kind in kinds, ch.rule



# ----------------------------------------------------------------------------- unaligned / mismatched

def test_unrelated_photos_are_reported_not_aligned():
    base = phantom(SMALL, 3)
    other = phantom(SMALL, 9)
    c = tc.compare(base.rgb, other.rgb, lesion=base.lesion)
    assert not c.alignment.ok
    assert any("could not be aligned" in w for w in c.warnings), c.warnings
    assert "delta_e00" not in c.maps and "texture_change" not in c.maps
    assert finite(c.changes["texture.sq"].delta)  # region metrics are still compared


def test_align_false_with_different_sizes_raises():
    a = phantom(SMALL, 3).rgb
    b = phantom((400, 512), 3).rgb
    with pytest.raises(MismatchedImagesError, match="align=False"):
        tc.compare(a, b, align=False)


def test_align_false_takes_the_photos_as_aligned():
    base = phantom(SMALL, 3, noise_seed=1)
    c = tc.compare(base.rgb, phantom(SMALL, 3, noise_seed=2).rgb, lesion=base.lesion, align=False)
    assert c.alignment.method == "identity"
    assert c.alignment.shift_px == (0.0, 0.0)
    assert "delta_e00" in c.maps


# ----------------------------------------------------------------------------- compare_series

FRAME_COLUMNS = ["session", "index", "metric", "family", "value", "unit", "uncertainty",
                 "delta_vs_baseline", "percent_vs_baseline", "uncertainty_vs_baseline", "verdict_vs_baseline",
                 "delta_vs_previous", "percent_vs_previous", "uncertainty_vs_previous", "verdict_vs_previous"]
LABELS = ["2024-01", "2024-04", "2024-07"]


@pytest.fixture(scope="module")
def small_series():
    base = phantom(SMALL, 5)
    f1 = phantom(SMALL, 5, treatment=0.3, shift=(2.0, -1.0))
    f2 = phantom(SMALL, 5, treatment=0.6, shift=(-1.0, 2.0), rotation=0.3)
    return tc.compare_series([base.rgb, f1.rgb, f2.rgb], lesion=base.lesion, labels=LABELS)


def test_series_structure_and_labels(small_series):
    s = small_series
    assert s.labels == tuple(LABELS)
    assert len(s.measurements) == 3
    assert len(s.vs_baseline) == 2 and len(s.vs_previous) == 1
    assert [c.labels for c in s.vs_baseline] == [(LABELS[0], LABELS[1]), (LABELS[0], LABELS[2])]
    assert s.vs_previous[0].labels == (LABELS[1], LABELS[2])


def test_series_frame_is_tidy(small_series):
    df = small_series.to_frame()
    names = photo_metrics()
    assert list(df.columns) == FRAME_COLUMNS
    assert len(df) == 3 * len(names)
    assert not df.duplicated(["session", "metric"]).any()
    assert list(df["session"].unique()) == LABELS
    assert set(df["metric"]) == set(names)
    assert (df["family"] == df["metric"].str.split(".").str[0]).all()


def test_series_frame_values(small_series):
    s = small_series
    df = s.to_frame().set_index(["session", "metric"])
    for name in ("texture.sq", "scar.delta_e00"):
        b, s1, s2 = (df.loc[(lab, name)] for lab in LABELS)
        assert math.isnan(b["delta_vs_baseline"]) and b["verdict_vs_baseline"] == ""
        assert math.isnan(s1["delta_vs_previous"]) and s1["verdict_vs_previous"] == ""
        assert s1["delta_vs_baseline"] == pytest.approx(s1["value"] - b["value"])
        assert s2["delta_vs_baseline"] == pytest.approx(s2["value"] - b["value"])
        assert s2["delta_vs_previous"] == pytest.approx(s.vs_previous[0].changes[name].delta)
        assert s2["delta_vs_previous"] == pytest.approx(s2["value"] - s1["value"])
        assert s2["verdict_vs_baseline"] == s.vs_baseline[1].changes[name].verdict


def test_series_vs_previous_composes_the_alignment(small_series):
    al = small_series.vs_previous[0].alignment
    assert al.ok
    # follow-up 1 is shifted (2, -1) and follow-up 2 (-1, 2) from the baseline (plus a 0.3 deg rotation)
    assert al.shift_px[0] == pytest.approx(-3.0, abs=0.6)
    assert al.shift_px[1] == pytest.approx(3.0, abs=0.6)
    assert al.rotation_deg == pytest.approx(0.3, abs=0.1)


def test_series_default_labels():
    a, b = phantom(SMALL, 5).rgb, phantom(SMALL, 5, noise_seed=3).rgb
    s = tc.compare_series([a, b])
    assert s.labels == ("session 0", "session 1")


@pytest.mark.parametrize("labels", [["a"], ["a", "b", "c"], ["a", "a"]])
def test_series_rejects_bad_labels(labels):
    a, b = phantom(SMALL, 5).rgb, phantom(SMALL, 5, noise_seed=3).rgb
    with pytest.raises(MismatchedImagesError, match="labels"):
        tc.compare_series([a, b], labels=labels)


@pytest.mark.parametrize("n", [0, 1])
def test_series_needs_two_photos(n):
    with pytest.raises(MismatchedImagesError, match="at least 2"):
        tc.compare_series([phantom(SMALL, 5).rgb] * n)


# ----------------------------------------------------------------------------- serialisation

def test_comparison_to_dict_is_strict_json(shifted):
    c = shifted[2]
    d = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    assert set(d["changes"]) == set(tc.METRICS)
    assert d["provenance"]["settings_sha256"] == c.settings.hash
    assert d["provenance"]["texturecmp_version"] == tc.__version__
    assert d["alignment"]["shift_px"][0] == pytest.approx(c.alignment.shift_px[0])
    assert d["labels"] == ["baseline", "follow-up"]


def test_unaligned_comparison_to_dict_is_strict_json():
    base = phantom(SMALL, 3)
    c = tc.compare(base.rgb, phantom(SMALL, 9).rgb)  # no lesion: scar metrics are NaN
    json.dumps(c.to_dict(), allow_nan=False)


def test_series_to_dict_is_strict_json(small_series):
    d = json.loads(json.dumps(small_series.to_dict(), allow_nan=False))
    assert d["labels"] == LABELS
    assert len(d["measurements"]) == 3 and len(d["vs_baseline"]) == 2 and len(d["vs_previous"]) == 1


def test_comparison_frame_has_one_row_per_metric(shifted):
    df = shifted[2].to_frame()
    assert len(df) == len(tc.METRICS)
    assert set(df["metric"]) == set(tc.METRICS)


@pytest.mark.parametrize("name", list(tc.METRICS))
def test_every_change_has_a_known_verdict(name, shifted):
    ch = shifted[2].changes[name]
    info = tc.METRICS[name]
    assert ch.unit == info.unit_px and ch.better == info.better
    allowed = {"no detectable change", "not computable"}
    allowed |= {"changed"} if info.better == "none" else {"improved", "worsened"}
    if name in COLOUR_TRUTH_METRICS:  # whole-region colour without a colour truth
        allowed = {"not comparable"}
    assert ch.verdict in allowed


def test_percent_is_nan_with_a_note_when_the_baseline_is_zero():
    flat = np.full(SMALL + (3,), 0.6, np.float32)
    rng = np.random.default_rng(0)
    noisy = np.clip(flat + rng.normal(0, 0.004, flat.shape).astype(np.float32), 0, 1)
    c = tc.compare(flat, noisy, align=False)
    ch = c.changes["pore.density"]
    assert ch.before == 0
    assert math.isnan(ch.percent) and "0" in ch.note


# ----------------------------------------------------------------------------- prepared series


def _same_series(a: tc.Series, b: tc.Series) -> None:
    assert a.to_dict() == b.to_dict()  # every value, uncertainty, verdict, warning and provenance
    for ca, cb in zip(a.vs_baseline + a.vs_previous, b.vs_baseline + b.vs_previous):
        assert_same_comparison(ca, cb)


@pytest.fixture(scope="module")
def prepared_inputs():
    return series_photos()


@pytest.mark.parametrize("with_roi", [False, True])
def test_prepared_series_equals_compare_series(prepared_inputs, with_roi):
    base, images, repeat = prepared_inputs
    h, w = base.lesion.shape
    kw = {"roi": tc.Ellipse(w / 2, h / 2, 0.45 * w, 0.45 * h)} if with_roi else {}
    prep = tc.prepare_series(images, labels=["a", "b", "c"], baseline_repeat=repeat, **kw)
    assert prep.labels == ("a", "b", "c")
    assert math.isnan(prep.baseline.value("scar.delta_e00"))  # measured before the lesion is known
    with_lesion = prep.compare(lesion=base.lesion)
    _same_series(with_lesion, tc.compare_series(images, labels=["a", "b", "c"], baseline_repeat=repeat,
                                                lesion=base.lesion, **kw))
    assert math.isfinite(with_lesion.measurements[0].value("scar.delta_e00"))
    # the same preparation serves another lesion, and none at all
    other = tc.Ellipse(*np.argwhere(base.lesion).mean(axis=0)[::-1], 40, 30)
    _same_series(prep.compare(lesion=other), tc.compare_series(images, labels=["a", "b", "c"], baseline_repeat=repeat,
                                                               lesion=other, **kw))
    _same_series(prep.compare(), tc.compare_series(images, labels=["a", "b", "c"], baseline_repeat=repeat, **kw))


def test_prepared_series_raises_where_compare_series_does(prepared_inputs):
    base, images, _ = prepared_inputs
    with pytest.raises(MismatchedImagesError, match="at least 2"):
        tc.prepare_series(images[:1])
    with pytest.raises(MismatchedImagesError, match="same size"):
        tc.prepare_series([images[0], images[1][:-10]], align=False)
    prep = tc.prepare_series(images[:2])
    with pytest.raises(tc.errors.BadMaskError, match="lesion"):
        prep.compare(lesion=np.zeros(base.lesion.shape, bool))


def test_reusing_another_photos_measurement_is_refused(prepared_inputs):
    from texturecmp.measure import make_grids, measure_photo
    from texturecmp.regions import resolve_regions

    base, images, _ = prepared_inputs
    s = tc.Settings()
    other = tc.measure(images[1])
    img = tc.load_image(images[0])
    regions = resolve_regions(img.shape, None, base.lesion, None, s)
    grid, scar_grid = make_grids(regions, s, None)
    with pytest.raises(ValueError, match="reuse"):
        measure_photo(img, regions, settings=s, pixel_size_mm=None, grid=grid, scar_grid=scar_grid, reuse=other)


def test_prepared_compare_measures_only_the_baselines_scar_family_again(prepared_inputs, monkeypatch):
    from texturecmp.metrics import FAMILY_REGISTRY

    base, images, _ = prepared_inputs
    prep = tc.prepare_series(images)
    calls: dict[str, int] = {}
    for name, fam in FAMILY_REGISTRY.items():
        def counted(ctx, _f=fam.stats, _n=name):
            calls[_n] = calls.get(_n, 0) + 1
            return _f(ctx)
        monkeypatch.setattr(fam, "stats", counted)
    import importlib

    measure_module = importlib.import_module("texturecmp.measure")  # texturecmp.measure is the function
    full_passes = []
    real_full_context = measure_module._full_context
    monkeypatch.setattr(measure_module, "_full_context", lambda *a, **k: full_passes.append(1) or real_full_context(*a, **k))
    prep.compare(lesion=base.lesion)
    n_follow = len(images) - 1
    assert len(full_passes) == n_follow  # the baseline's scar family reads its kept colour grids
    assert calls["scar"] == n_follow + 1  # the baseline's too: it needs the lesion
    assert all(calls[n] == n_follow for n in FAMILY_REGISTRY if n != "scar")  # the follow-ups' only
    calls.clear()
    prep.compare()
    assert calls.get("scar", 0) == 0 and all(calls[n] == n_follow for n in FAMILY_REGISTRY if n != "scar")


def test_photos_with_different_colour_profiles_are_warned_about():
    """Both photos are converted to sRGB, but a series taken with two colour settings (an
    untagged baseline, a Display P3 follow-up) gets a warning naming both profiles."""
    from test_io import P3_TO_PCS, _png_with_icc, icc_matrix_profile

    from texturecmp.phantoms import to_uint8

    ph = to_uint8(phantom(SMALL, 5).rgb)
    p3 = _png_with_icc(ph, icc_matrix_profile("Display P3", P3_TO_PCS), 8)
    c = tc.compare(ph, p3, labels=("baseline", "photo 2"))
    assert any("photo 'photo 2' carries the colour profile Display P3" in w and "untagged" in w for w in c.warnings)
    same = tc.compare(ph, ph.copy())
    assert not any("colour profile" in w for w in same.warnings)


@pytest.mark.parametrize("scale,words", [(1.08, "about 8 % closer"), (0.92, "about 8 % farther")])
def test_a_follow_up_taken_at_another_distance_is_warned_about(scale, words):
    from texturecmp.phantoms import skin_phantom

    base = phantom(SMALL, 6)
    fol = skin_phantom(SMALL, seed=6, scale=scale)
    c = tc.compare(base.rgb, fol.rgb, labels=("baseline", "photo 2"))
    assert c.alignment.scale == pytest.approx(scale, abs=0.01)
    assert any(f"photo 'photo 2' was taken {words} than the baseline" in w for w in c.warnings), c.warnings
    same = tc.compare(base.rgb, phantom(SMALL, 6, noise_seed=3).rgb)
    assert not any("than the baseline;" in w for w in same.warnings)
