"""The row-strip machinery (texturecmp._parallel, TileGrid.row_sums, GaussRows) and its promise:
the same numbers whatever the number of threads."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import texturecmp as tc
from texturecmp._filters import GaussRows, TileGrid, components, down_exact, enlarge, gauss
from texturecmp._parallel import STRIP_ROWS, enlarge_rows, map_rows, n_threads, pool_map, row_spans, sum_parts
from texturecmp.phantoms import skin_phantom


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sh=st.integers(1, 9), sw=st.integers(1, 9), k=st.integers(1, 6), extra_h=st.integers(0, 5), extra_w=st.integers(0, 5),
       y0=st.integers(0, 60), n=st.integers(1, 60), seed=st.integers(0, 2**16))
def test_enlarge_rows_is_the_matching_rows_of_the_whole_enlargement(sh, sw, k, extra_h, extra_w, y0, n, seed):
    small = np.random.default_rng(seed).random((sh, sw), dtype=np.float32)
    h, w = sh * k + extra_h % max(k, 1), sw * k + extra_w % max(k, 1)
    y0 = min(y0, h - 1)
    y1 = min(h, y0 + n)
    whole = enlarge(small, k, (h, w))
    assert whole.shape == (h, w)
    np.testing.assert_allclose(enlarge_rows(small, k, y0, y1, w), whole[y0:y1], rtol=0, atol=1e-6)  # SIMD tails differ in the last bit


def test_enlarge_is_bilinear_at_the_box_centres():
    small = np.array([[0.0, 4.0]], np.float32)
    up = enlarge(small, 2, (2, 4))
    # full-resolution x sits at (x + 0.5) / 2 - 0.5 in the small grid: -0.25, 0.25, 0.75, 1.25 -> clamped ends
    np.testing.assert_allclose(up[0], [0.0, 1.0, 3.0, 4.0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x0=st.integers(-30, 30), y0=st.integers(-30, 30), t=st.integers(3, 40), nx=st.integers(1, 6), ny=st.integers(1, 6),
       rows=st.integers(1, 50), seed=st.integers(0, 2**16), channels=st.sampled_from([None, 3]))
def test_strip_tile_sums_add_up_to_the_whole_field(x0, y0, t, nx, ny, rows, seed, channels):
    h, w = 97, 83
    shape = (h, w) if channels is None else (h, w, channels)
    field = np.random.default_rng(seed).random(shape, dtype=np.float32)
    g = TileGrid(x0, y0, t, nx, ny)
    parts = [{"s": g.row_sums(field[a:b], a)} for a, b in row_spans(h, rows)]
    np.testing.assert_allclose(sum_parts(parts)["s"], g.sums(field), rtol=1e-5, atol=1e-4)


def test_gauss_rows_match_the_whole_blur_for_small_and_large_sigmas():
    L = skin_phantom(shape=(301, 257), seed=3).rgb[..., 1].copy()
    for sigma in (1.0, 3.0, 4.5, 12.0):
        g = GaussRows(L, sigma)
        rows = np.concatenate([g.rows(a, b) for a, b in row_spans(L.shape[0], 37)])
        np.testing.assert_allclose(rows, gauss(L, sigma), atol=1e-6)


def test_down_exact_is_the_box_mean_of_the_kept_part():
    a = np.arange(7 * 9, dtype=np.float32).reshape(7, 9)
    d = down_exact(a, 3)
    assert d.shape == (2, 3)
    assert d[1, 2] == pytest.approx(a[3:6, 6:9].mean())


def test_row_spans_cover_the_image_once():
    spans = row_spans(130, STRIP_ROWS)
    assert spans[0][0] == 0 and spans[-1][1] == 130
    assert all(b == c for (_, b), (c, _) in zip(spans, spans[1:]))
    assert map_rows(lambda a, b: b - a, 130) == [b - a for a, b in spans]


def test_pool_map_keeps_order_and_runs_serially_when_nested():
    assert pool_map(lambda x: x * x, range(20)) == [x * x for x in range(20)]
    nested = pool_map(lambda x: pool_map(lambda y: x + y, range(3)), range(4))
    assert nested == [[x + y for y in range(3)] for x in range(4)]


def test_thread_count_follows_opencv():
    prev = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        assert n_threads() == 1
    finally:
        cv2.setNumThreads(prev)


def test_components_match_opencv_default_labelling_with_any_thread_count():
    rng = np.random.default_rng(7)
    mask = (cv2.GaussianBlur(rng.random((301, 409), dtype=np.float32), (0, 0), 1.5) > 0.52).astype(np.uint8)
    prev = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        ref = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
        assert ref[0] > 50  # many components, some touching only at corners
        for threads in (1, 2, 4):
            cv2.setNumThreads(threads)
            got = components(mask)
            assert got[0] == ref[0]
            for a, b in zip(got[1:], ref[1:]):
                np.testing.assert_array_equal(a, b)
    finally:
        cv2.setNumThreads(prev)


def test_metrics_are_bit_identical_with_one_or_more_threads():
    ph = skin_phantom(shape=(700, 900), seed=5)
    follow = skin_phantom(shape=(700, 900), seed=5, treatment=0.3)
    roi = tc.Ellipse(450, 350, 400, 300)
    prev = cv2.getNumThreads()
    try:
        runs = []
        for threads in (1, 2, 4):
            cv2.setNumThreads(threads)
            c = tc.compare(ph.rgb, follow.rgb, roi=roi, lesion=ph.lesion)
            runs.append({k: (v.before, v.after, v.uncertainty) for k, v in c.changes.items()})
    finally:
        cv2.setNumThreads(prev)
    assert runs[0] == runs[1] == runs[2]


def test_8_bit_images_are_kept_as_codes_and_give_the_float_results(tmp_path):
    ph = skin_phantom(shape=(300, 400), seed=2)
    u8 = np.round(ph.rgb * 255).astype(np.uint8)
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), cv2.cvtColor(u8, cv2.COLOR_RGB2BGR))
    img = tc.load_image(path)
    assert img.rgb8 is not None and img.rgb8.dtype == np.uint8 and not img.rgb8.flags.writeable
    assert img.bit_depth == 8 and img.shape == (300, 400)
    np.testing.assert_array_equal(img.rgb, u8 / np.float32(255))
    from_codes = tc.measure(img, lesion=ph.lesion)
    from_float = tc.measure(tc.load_image(u8), lesion=ph.lesion)
    for name, v in from_codes.metrics.items():
        assert v.value == pytest.approx(from_float[name].value, rel=1e-6, abs=1e-9, nan_ok=True), name


def test_image_needs_exactly_one_pixel_array():
    with pytest.raises(TypeError):
        tc.Image(sha256="0" * 64, source="x", format=None, bit_depth=8)
    with pytest.raises(ValueError, match="bit_depth"):
        tc.Image(rgb8=np.zeros((8, 8, 3), np.uint8), sha256="0" * 64, source="x", format=None, bit_depth=16)


@pytest.mark.parametrize("with_mask", [False, True])
def test_strip_glcm_equals_the_tile_glcm(with_mask):
    from texturecmp.glcm import glcm, glcm_grid_rows, glcm_offsets

    rng = np.random.default_rng(7)
    h, w = 150, 130
    q = rng.integers(0, 8, (h, w)).astype(np.uint8)
    mask = rng.random((h, w)) > 0.2 if with_mask else None
    g = TileGrid(-5, 7, 23, 6, 6)
    offsets = glcm_offsets((0, 45, 90, 135), distance=2)
    acc = np.zeros((g.n, 4, 8, 8), np.int64)
    for a, b in row_spans(h, 17):
        b2 = min(h, b + 2)
        glcm_grid_rows(q[a:b2], a, b, height=h, n_levels=8, grid=(g.x0, g.y0, g.t, g.nx, g.ny), offsets=offsets,
                       mask=None if mask is None else mask[a:b2], out=acc)
    ref = glcm(q, n_levels=8, mask=mask, distance=2, symmetric=False, tile_labels=g.labels((h, w)), n_tiles=g.n)
    np.testing.assert_array_equal(acc, ref)
    assert acc.sum() > 0


def test_tiny_photo_with_a_fine_pixel_size_has_a_defined_anisotropy():
    # the tensor's box (sigma / 2 = 250 px at 0.001 mm/px) is larger than the 64 x 80 photo;
    # other work in between leaves other values in freed memory, which must never be read
    # (tiles of 0.01 mm: at the default 1 mm the photo would be one tile, below the minimum)
    ph = skin_phantom(shape=(64, 80), seed=1)
    other = skin_phantom(shape=(96, 120), seed=2)
    s = tc.Settings(min_tile_mm=0.01)
    values = []
    for _ in range(4):
        tc.measure(other.rgb, pixel_size_mm=0.002, settings=s)
        values.append(tc.measure(ph.rgb, pixel_size_mm=0.001, settings=s)["texture.anisotropy"].value)
    assert 0.0 <= values[0] <= 1.0 and len(set(values)) == 1, values
