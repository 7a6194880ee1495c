"""Tests of the public comparison engine (texturecmp.Baseline) and the measurement detail it reads.

A Baseline is measured once and compared with many follow-ups; every comparison must be
the one :func:`texturecmp.compare` (or :func:`texturecmp.compare_series`) makes for the
same photos, to the last bit, and a follow-up that fails must fail alone.
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import importlib
import math
from pathlib import Path

import numpy as np
import pytest

import texturecmp as tc
from texturecmp.errors import BadMaskError, BadSettingsError, MismatchedImagesError, UnreadableImageError
from texturecmp.measure import LesionVisibility, MapLayer, MeasurementDetail

from conftest import SMALL, assert_same_comparison, series_photos

compare_module = importlib.import_module("texturecmp.compare")  # texturecmp.compare is the function
LABELS = ["s0", "s1", "s2"]


_same = assert_same_comparison


@pytest.fixture(scope="module")
def photos():
    """(baseline phantom, the two follow-ups' pixels, the baseline repeat's pixels)."""
    base, images, repeat = series_photos()
    return base, images[1:], repeat


@pytest.fixture(scope="module")
def baseline(photos):
    base = photos[0]
    return tc.Baseline(base.rgb, lesion=base.lesion, label=LABELS[0])


# ----------------------------------------------------------------------------- the same numbers as compare


def test_compare_equals_tc_compare(photos, baseline):
    base, fus, _ = photos
    _same(baseline.compare(fus[0], label="s1"), tc.compare(base.rgb, fus[0], lesion=base.lesion, labels=("s0", "s1")))


def test_compare_with_repeat_colour_reference_and_pixel_size_equals_tc_compare(photos):
    base, fus, repeat = photos
    h, w = SMALL
    kw = dict(roi=tc.Rect(0, 0, w - 120, h), lesion=base.lesion, colour_reference=tc.Rect(w - 110, 10, 100, h - 20),
              baseline_repeat=repeat, pixel_size_mm=0.05)
    c = tc.Baseline(base.rgb, **kw).compare(fus[1])
    assert c.colour_truth == "colour reference" and c.test_retest is not None  # the options were used
    _same(c, tc.compare(base.rgb, fus[1], **kw))


def test_each_follow_ups_own_grey_card_equals_tc_compare(photos):
    base, fus, _ = photos
    cards, images = [], []
    for img, (x, y) in zip((base.rgb, fus[0]), ((20, 20), (26, 16))):
        px = np.array(img)
        card = np.zeros(SMALL, bool)
        card[y : y + 24, x : x + 24] = True
        px[card] = (0.52, 0.50, 0.47)  # a grey card under slightly warm light
        cards.append(tc.GreyCard(card))
        images.append(px)
    c = tc.Baseline(images[0], calibration=cards[0]).compare(images[1], calibration=cards[1])
    assert c.colour_truth == "grey card" and c.after.calibrated
    _same(c, tc.compare(images[0], images[1], calibration=cards))
    # "baseline" (the default) gives the follow-up the baseline's own argument: here its card's mask
    _same(tc.Baseline(images[0], calibration=cards[0]).compare(images[1]),
          tc.compare(images[0], images[1], calibration=cards[0]))


def test_compare_each_equals_compare_series(photos, baseline):
    base, fus, _ = photos
    series = tc.compare_series([base.rgb] + fus, labels=LABELS, lesion=base.lesion)
    outs = list(baseline.compare_each(fus, labels=LABELS[1:], maps=True))
    assert [o.label for o in outs] == LABELS[1:] and all(o.ok for o in outs)
    for o, c in zip(outs, series.vs_baseline):
        _same(o.comparison, c)
    assert baseline.measurement.to_dict() == series.measurements[0].to_dict()


def test_without_maps_the_numbers_are_the_same(photos, baseline):
    fus = photos[1]
    with_maps, without = baseline.compare(fus[0]), baseline.compare(fus[0], maps=False)
    assert "delta_e00" in with_maps.maps and dict(without.maps) == {}
    assert with_maps.to_dict() == without.to_dict()
    assert not next(baseline.compare_each(fus[:1])).comparison.maps  # compare_each makes none by default


# ----------------------------------------------------------------------------- failures stay with their photo


def test_a_failed_follow_up_fails_alone_and_leaves_the_baseline_as_it_was(photos, baseline):
    fus = photos[1]
    first = baseline.compare(fus[0], maps=False)
    outs = list(baseline.compare_each([fus[0], b"this is not a photo", np.zeros((8, 8, 3)), fus[1]],
                                      labels=["w1", "w2", "w3", "w4"]))
    assert [o.ok for o in outs] == [True, False, False, True]
    assert isinstance(outs[1].error, UnreadableImageError) and outs[1].comparison is None
    assert str(outs[1].error).startswith("photo 'w2'")  # the error names the photo
    assert isinstance(outs[2].error, tc.errors.TextureCmpError)
    assert outs[3].comparison.labels == ("s0", "w4")
    again = baseline.compare(fus[0], maps=False)
    assert again.to_dict() == first.to_dict()
    # the same numbers under its own label (to_dict: NaN as None, so that NaN equals NaN)
    assert {k: c.to_dict() for k, c in outs[0].comparison.changes.items()} == {k: c.to_dict() for k, c in first.changes.items()}


def test_compare_each_is_lazy(photos, baseline, monkeypatch):
    """One follow-up is compared per item taken, so only one of their photos is in memory at a time."""
    calls = []
    real = baseline.compare
    monkeypatch.setattr(baseline, "compare", lambda *a, **k: calls.append(k["label"]) or real(*a, **k))
    it = baseline.compare_each(photos[1], labels=["a", "b"])
    assert calls == []
    assert next(it).label == "a" and calls == ["a"]
    assert next(it).label == "b" and calls == ["a", "b"]


def test_name_is_the_photos_provenance_and_error_prefix(photos, baseline):
    c = baseline.compare(photos[1][0], label="w1", name="P-7/w1", maps=False)
    assert c.after.image["source"] == "P-7/w1" and c.labels == ("s0", "w1")
    out = next(baseline.compare_each([b"junk"], labels=["w2"], names=["P-7/w2"]))
    assert str(out.error).startswith("P-7/w2")
    assert tc.Baseline(photos[0].rgb, name="P-7/w0").measurement.image["source"] == "P-7/w0"


# ----------------------------------------------------------------------------- bad input


def test_error_bad_regions_are_raised_by_the_constructor(photos):
    with pytest.raises(BadMaskError, match="lesion"):
        tc.Baseline(photos[0].rgb, lesion=np.zeros(SMALL, bool))


def test_error_calibration_list(photos):
    with pytest.raises(BadSettingsError, match="calibration"):
        tc.Baseline(photos[0].rgb, calibration=["auto", None])


def test_error_labels_count_and_duplicates(photos, baseline):
    fus = photos[1]
    with pytest.raises(MismatchedImagesError, match="labels"):
        baseline.compare_each(fus, labels=["a"])
    with pytest.raises(MismatchedImagesError, match="names"):
        baseline.compare_each(fus, names=["a"])
    with pytest.raises(MismatchedImagesError, match="unique"):
        baseline.compare_each(fus, labels=["a", "a"])


def test_error_unaligned_follow_up_of_another_size(photos):
    b = tc.Baseline(photos[0].rgb, align=False)
    with pytest.raises(MismatchedImagesError, match="same size"):
        b.compare(photos[1][0][:-10])


def test_docstring_examples_run():
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = finder.find(compare_module.Baseline, "Baseline", globs={})
    assert tests and tests[0].examples
    for t in tests:
        runner.run(t)
    assert runner.failures == 0


# ----------------------------------------------------------------------------- what the engine reads


def test_measurement_detail_is_typed_frozen_and_left_out_of_to_dict(photos, baseline):
    m = baseline.measurement
    d = m.detail
    assert isinstance(d, MeasurementDetail)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.scale = 2.0
    photo_metrics = [n for n, info in tc.METRICS.items() if info.scope != "pair"]
    assert set(d.replicates) == set(photo_metrics)
    assert len(d.replicates["texture.sq"]) == d.grid.n  # one replicate per tile of the roi grid
    assert isinstance(d.small_lin, MapLayer) and isinstance(d.texture_rms, MapLayer)
    for layer in (d.small_lin, d.texture_rms):  # map pixel = factor x photo pixel (sizes rounded down)
        assert all(abs(n - s * layer.factor) <= 1 for n, s in zip(layer.pixels.shape[:2], SMALL)), layer.factor
    assert isinstance(d.visibility, LesionVisibility) and d.visibility.map.ndim == 2
    assert d.gains == (1.0, 1.0, 1.0) and d.scale == 1.0 and d.colour is None
    np.testing.assert_array_equal(d.regions.lesion, photos[0].lesion)
    assert "detail" not in m.to_dict() and "detail=" not in repr(m)
    # a follow-up's detail carries its own gains and registration scale
    c = baseline.compare(photos[1][0], maps=False)
    a = c.after.detail
    assert a.gains == c.photometric.gains and a.gains != (1.0, 1.0, 1.0)  # exposed 8 % brighter
    assert a.scale == c.alignment.scale and math.isfinite(a.scale)


def test_the_batch_drives_only_the_public_engine():
    """No module of texturecmp.batch imports a private name (``_x``) of texturecmp.compare or texturecmp.measure."""
    batch = Path(tc.__file__).parent / "batch"
    reach_ins = []
    for path in sorted(batch.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in ("texturecmp.compare", "texturecmp.measure"):
                reach_ins += [f"{path.name}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert not reach_ins, reach_ins
